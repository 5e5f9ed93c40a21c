"""The emulator's own media reading: magic-byte sniffing, data URIs, strict base64, URL forms and extensions."""

from __future__ import annotations

import pytest

from dashscope_embeddings.catalog import MODELS
from dashscope_embeddings.emulator.media import (
    DataURI,
    canonical_format,
    decode_base64,
    is_http_url,
    parse_data_uri,
    same_format,
    sniff_image_format,
    url_extension,
    url_path,
)

from .test_emu_multimodal import jpeg, png


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (png(), "png"),
        (jpeg(), "jpeg"),
        (b"BM\x36\x00\x00\x00", "bmp"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"II*\x00\x08\x00", "tiff"),
        (b"MM\x00*\x00\x00", "tiff"),
        (b"\x00\x00\x01\x00\x01\x00", "ico"),
        (b"icns\x00\x00\x01\x00", "icns"),
        (b"\x01\xda\x01\x01\x00\x03", "sgi"),
        (b"GIF89a\x01\x00", "gif"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00", "avif"),
        (b"", None),
        (b"hello world", None),
        (b"\x00\x00\x02\x00\x01\x00", None),  # a cursor, not an icon
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
    ],
)
def test_sniff(data: bytes, fmt: str | None) -> None:
    assert sniff_image_format(data) == fmt


def test_every_catalog_image_format_can_be_sniffed() -> None:
    samples = [png(), jpeg(), b"BM..", b"RIFF....WEBP", b"II*\x00", b"\x00\x00\x01\x00", b"icns", b"\x01\xda\x00\x01"]
    sniffed = {sniff_image_format(s) for s in samples}
    listed = set().union(*(spec.media.image_formats for spec in MODELS.values() if spec.media is not None))
    assert {canonical_format(f) for f in listed} - {"dib"} <= sniffed
    assert same_format("dib", "bmp")
    assert not same_format("png", "jpeg")


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("JPG", "jpeg"),
        ("jpe", "jpeg"),
        ("pjpeg", "jpeg"),
        ("tif", "tiff"),
        ("x-ms-bmp", "bmp"),
        ("x-icon", "ico"),
        ("vnd.microsoft.icon", "ico"),
        ("x-sgi", "sgi"),
        ("PNG", "png"),
        ("mp4", "mp4"),
    ],
)
def test_canonical_format(name: str, canonical: str) -> None:
    assert canonical_format(name) == canonical


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("data:image/png;base64,iVBORw0KGgo=", DataURI("png", "iVBORw0KGgo=")),
        ("DATA:image/JPG;BASE64,/9j/", DataURI("jpeg", "/9j/")),
        ("data:image/png;base64,", DataURI("png", "")),
        ("data:image/png,iVBORw0KGgo=", None),
        ("data:image/png;charset=utf-8;base64,iVBO", None),
        ("data:;base64,iVBO", None),
        ("data:video/mp4;base64,AAAA", None),
        ("https://x/a.png", None),
    ],
)
def test_parse_data_uri(value: str, parsed: DataURI | None) -> None:
    assert parse_data_uri(value) == parsed


@pytest.mark.parametrize(
    ("payload", "data"),
    [("aGk=", b"hi"), ("", b""), ("aGk", None), ("aG k=", None), ("a-_=", None), ("aGk=\n", None), ("@@@@", None)],
)
def test_base64_is_strict(payload: str, data: bytes | None) -> None:
    assert decode_base64(payload) == data


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://x.com/a.png", True),
        ("http://127.0.0.1:8000/a", True),
        ("HTTPS://X.COM/A.PNG", True),
        ("https://[::1]/a.png", True),
        ("https://", False),
        ("https:///a.png", False),
        ("https://x.com/a b.png", False),
        ("https://x.com/a.png\n", False),
        ("https://[x.com/a.png", False),
        ("ftp://x.com/a.png", False),
        ("file:///a.png", False),
        ("x.com/a.png", False),
        ("", False),
    ],
)
def test_is_http_url(value: str, ok: bool) -> None:
    assert is_http_url(value) is ok


@pytest.mark.parametrize(
    ("url", "extension"),
    [
        ("https://x.com/red_car.png", "png"),
        ("https://x.com/a/b.c/photo.JPG?x=1.gif#y.bmp", "jpeg"),
        ("https://x.com/photo", None),
        ("https://x.com/photo.", None),
        ("https://x.com/.hidden", None),
        ("https://x.com/", None),
        ("https://x.com", None),
        ("https://x.com/clip%2Emp4", "mp4"),
        ("https://x.com/archive.tar.gz", "gz"),
    ],
)
def test_url_extension(url: str, extension: str | None) -> None:
    assert url_extension(url) == extension


def test_url_path_is_decoded_without_query() -> None:
    assert url_path("https://x.com/red%20car/big_wheel.png?Signature=abc#f") == "/red car/big_wheel.png"
