"""CLI argument parsing (serving itself is covered in test_emu_served)."""

from __future__ import annotations

import pytest

from dashscope_embeddings.emulator.__main__ import build_parser, main


def test_defaults() -> None:
    args = build_parser().parse_args([])
    assert args.max_records == 1000
    assert (args.host, args.port, args.api_keys, args.hang, args.shuffle, args.seed) == (
        "127.0.0.1",
        8000,
        None,
        0.0,
        False,
        0,
    )


def test_every_fault_flag() -> None:
    args = build_parser().parse_args(
        ["--latency", "0.1", "--jitter", "0.2", "--rpm", "60", "--tpm", "1000", "--burst", "3", "--error-rate", "0.1",
         "--drop-rate", "0.2", "--malformed-rate", "0.3", "--missing-rate", "0.4", "--shuffle", "--hang",
         "--seed", "5", "--api-key", "a", "--api-key", "b"]
    )  # fmt: skip
    assert (args.latency, args.jitter, args.rpm, args.tpm, args.burst) == (0.1, 0.2, 60, 1000, 3)
    assert (args.error_rate, args.drop_rate, args.malformed_rate, args.missing_rate) == (0.1, 0.2, 0.3, 0.4)
    assert (args.shuffle, args.hang, args.seed, args.api_keys) == (True, 1.0, 5, ["a", "b"])
    assert build_parser().parse_args(["--hang", "0.5"]).hang == 0.5


@pytest.mark.parametrize("argv", [["--error-rate", "2"], ["--rpm", "0"], ["--latency", "-1"]])
def test_bad_values_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_help_exits_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "--drop-rate" in capsys.readouterr().out
