"""media.py: every image and video shape a caller may pass, against the documented limits (seed-spec §1.5–1.6).

Images are made here: hand-written signatures and a hand-made PNG, or Pillow when it is installed. No binaries.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashscope_embeddings import media
from dashscope_embeddings.catalog import MODELS, MediaLimits
from dashscope_embeddings.errors import InputError
from dashscope_embeddings.media import (
    IMAGE_MIME_TYPES,
    image_format_from_name,
    image_to_wire,
    sniff_image_format,
    video_format_from_name,
    video_to_wire,
)

MB = 1024 * 1024
VISION = "tongyi-embedding-vision-plus"
QWEN = "qwen3-vl-embedding"


def limits_of(model: str) -> MediaLimits:
    limits = MODELS[model].media
    assert limits is not None
    return limits


VISION_LIMITS = limits_of(VISION)
QWEN_LIMITS = limits_of(QWEN)
SMALL = dataclasses.replace(VISION_LIMITS, image_bytes=100)
"""The vision family's formats with a 100-byte limit, so size edges need no megabytes."""

VISION_TAKES = "JPEG, PNG, BMP"
QWEN_TAKES = "JPEG, PNG, WEBP, BMP, TIFF, ICO, DIB, ICNS, SGI"
SOURCES = "an http(s) URL, a data: URI, a local file path, bytes, a binary file object or a PIL image"
URL_ONLY = (
    "DashScope takes videos by URL only and fetches them itself: upload the video somewhere the service can reach "
    "(OSS, or any HTTPS host; a signed URL works) and pass that URL"
)

# The shortest prefix each signature check needs (the DIB is a BITMAPINFOHEADER: size 40, 2×2, 1 plane, 24 bits).
HEADERS = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "bmp": b"BM" + bytes(12) + (40).to_bytes(4, "little"),
    "dib": (40).to_bytes(4, "little") + (2).to_bytes(4, "little") * 2 + b"\x01\x00\x18\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "tiff": b"II*\x00\x08\x00\x00\x00",
    "ico": b"\x00\x00\x01\x00\x01\x00",
    "icns": b"icns\x00\x00\x00\x08",
    "sgi": b"\x01\xda\x00\x01",
    "gif": b"GIF89a\x01\x00",
    "heic": b"\x00\x00\x00\x18ftypheic",
    "heif": b"\x00\x00\x00\x18ftypmif1",
    "avif": b"\x00\x00\x00\x1cftypavif",
    "jp2": b"\x00\x00\x00\x0cjP  \r\n\x87\n",
}

# A complete 1×1 RGBA PNG, written out by hand.
PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
PNG = base64.b64decode(PNG_B64)
PNG_URI = "data:image/png;base64," + PNG_B64


def to_wire(source: Any, limits: MediaLimits = VISION_LIMITS, model: str | None = VISION) -> str:
    return image_to_wire(source, limits=limits, where="items[0].image", model=model)


def refusal(source: Any, limits: MediaLimits = VISION_LIMITS, model: str | None = VISION) -> str:
    with pytest.raises(InputError) as caught:
        to_wire(source, limits, model)
    return str(caught.value)


def video_refusal(source: Any, limits: MediaLimits = VISION_LIMITS, model: str | None = VISION) -> str:
    with pytest.raises(InputError) as caught:
        video_to_wire(source, limits=limits, where="items[1].video", model=model)
    return str(caught.value)


def uri(fmt: str, data: bytes) -> str:
    return f"data:{IMAGE_MIME_TYPES[fmt]};base64,{base64.b64encode(data).decode()}"


class Pipe(io.RawIOBase):
    """A non-seekable stream that hands out at most `chunk` bytes a read (short reads) and counts what it gave;
    `endless` pads with zeros forever."""

    def __init__(self, data: bytes, *, endless: bool = False, chunk: int = 7) -> None:
        self.data, self.endless, self.chunk, self.given = data, endless, chunk, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.chunk)
        chunk = self.data[self.given : self.given + n]
        if self.endless:
            chunk = chunk.ljust(n, b"\0")
        buffer[: len(chunk)] = chunk
        self.given += len(chunk)
        return len(chunk)


class CountingBytesIO(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.given = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.given += len(chunk)
        return chunk


# --- sniffing and names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "header"), HEADERS.items())
def test_sniff_names_each_signature(fmt: str, header: bytes) -> None:
    assert sniff_image_format(header) == fmt
    assert sniff_image_format(bytearray(header + b"tail")) == fmt
    assert sniff_image_format(memoryview(header + bytes(100))) == fmt


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"MM\x00*\x00\x00\x00\x08", "tiff"),  # big-endian TIFF
        (b"II+\x00\x08\x00\x00\x00", "tiff"),  # BigTIFF
        (b"GIF87a", "gif"),
        (b"\xff\x4f\xff\x51\x00\x2f", "jp2"),  # raw JPEG 2000 codestream
        (b"BM" + bytes(12) + (124).to_bytes(4, "little"), "bmp"),  # BITMAPV5HEADER
        (b"BM" + bytes(12) + (41).to_bytes(4, "little"), None),  # "BM" then no valid DIB header
        (b"BMP is a format", None),
        (b"\x00\x00\x01\x00\x00\x00", None),  # an ICO header that lists no image
        (b"\x01\xda\x07\x01", None),  # SGI magic with an impossible storage byte
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"\x00\x00\x00\x18ftypisom", None),  # an MP4
        (b"", None),
        (b"\xff\xd8", None),
        (b"%PDF-1.7", None),
        (b"<svg xmlns=", None),
    ],
)
def test_sniff_edge_cases(data: bytes, fmt: str | None) -> None:
    assert sniff_image_format(data) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.jpg", "jpeg"),
        ("A.JPG", "jpeg"),
        (".jpeg", "jpeg"),
        ("x.jpe", "jpeg"),
        ("x.tif", "tiff"),
        ("x.TIFF", "tiff"),
        ("x.dib", "dib"),
        ("dir.d/x.png", "png"),
        ("C:\\pics\\x.Bmp", "bmp"),
        ("x.gif", "gif"),
        ("x.mp4", None),
        ("noext", None),
        ("dir.png/noext", None),
    ],
)
def test_image_format_from_name(name: str, fmt: str | None) -> None:
    assert image_format_from_name(name) == fmt


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("clip.MP4", "mp4"), ("a.mpg", "mpg"), ("a.mpeg", "mpeg"), ("a.wmv", "wmv"), ("a.png", None), ("a", None)],
)
def test_video_format_from_name(name: str, fmt: str | None) -> None:
    assert video_format_from_name(name) == fmt


def test_mime_types() -> None:
    assert IMAGE_MIME_TYPES == {
        "jpeg": "image/jpeg",
        "png": "image/png",
        "bmp": "image/bmp",
        "dib": "image/bmp",
        "webp": "image/webp",
        "tiff": "image/tiff",
        "ico": "image/x-icon",
        "icns": "image/icns",
        "sgi": "image/sgi",
    }
    every_listed = set().union(*(spec.media.image_formats for spec in MODELS.values() if spec.media))
    assert every_listed <= IMAGE_MIME_TYPES.keys()


# --- every format of each family ------------------------------------------------------------------------------------

FAMILY_CASES = [
    (spec.name, fmt)
    for spec in MODELS.values()
    if spec.media is not None
    for fmt in sorted(spec.media.image_formats - {"dib"})  # a .dib file has the BMP header and sniffs as "bmp"
]


@pytest.mark.parametrize(("model", "fmt"), FAMILY_CASES)
def test_every_listed_format_is_inlined(model: str, fmt: str) -> None:
    limits = limits_of(model)
    data = HEADERS[fmt] + b"pixels"
    assert to_wire(data, limits, model) == uri(fmt, data)


REFUSED_CASES = [
    (spec.name, fmt)
    for spec in MODELS.values()
    if spec.media is not None
    for fmt in sorted(HEADERS.keys() - spec.media.image_formats - {"dib"})
]


@pytest.mark.parametrize(("model", "fmt"), REFUSED_CASES)
def test_every_unlisted_format_is_refused(model: str, fmt: str) -> None:
    limits = limits_of(model)
    takes = QWEN_TAKES if "webp" in limits.image_formats else VISION_TAKES
    names = {"jp2": "a JPEG 2000", "icns": "an ICNS", "ico": "an ICO", "sgi": "an SGI", "avif": "an AVIF"}
    name = names.get(fmt, f"a {fmt.upper()}")
    assert refusal(HEADERS[fmt] + b"pixels", limits, model) == (
        f"items[0].image is {name} image, which {model} does not accept (it takes {takes}): convert it to PNG or JPEG"
    )


def test_gif_and_unknown_bytes_are_refused_by_name() -> None:
    assert refusal(b"GIF89a\x01\x00\x01\x00") == (
        f"items[0].image is a GIF image, which {VISION} does not accept (it takes {VISION_TAKES}): "
        "convert it to PNG or JPEG"
    )
    assert refusal(b"%PDF-1.7 and more") == (
        f"items[0].image is not a recognisable image (it starts with b'%PDF-1.7'); {VISION} takes {VISION_TAKES}: "
        "pass the image file's bytes, not another file type or decoded pixels"
    )
    assert refusal(b"%PDF", model=None).startswith(
        "items[0].image is not a recognisable image (it starts with b'%PDF'); the model takes JPEG, PNG, BMP"
    )
    assert refusal(b"GIF89a", model=None) == (
        "items[0].image is a GIF image, which the model does not accept (it takes JPEG, PNG, BMP): "
        "convert it to PNG or JPEG"
    )


# --- the same image from every kind of source -----------------------------------------------------------------------


def test_hand_made_png_from_every_source(tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    path.write_bytes(PNG)
    padded = io.BytesIO(b"junk before the image" + PNG)
    padded.seek(len(b"junk before the image"))
    with path.open("rb") as opened:
        sources: list[Any] = [
            PNG,
            bytearray(PNG),
            memoryview(PNG),
            memoryview(b"xx" + PNG + b"yy")[2:-2],
            io.BytesIO(PNG),
            padded,
            opened,
            Pipe(PNG),
            path,
            str(path),
            path.as_uri(),
            "file://localhost" + str(path),
            PNG_URI,
            "data:image/png;base64," + "\n".join(textwrap.wrap(PNG_B64, 76)),
            "DATA:IMAGE/PNG;BASE64," + PNG_B64,
            "data:image/png;name=dot.png;base64," + PNG_B64,
            "data:image/x-png;base64," + PNG_B64,
        ]
        for source in sources:
            assert to_wire(source) == PNG_URI, source


def test_memoryview_of_any_shape_counts_bytes() -> None:
    data = HEADERS["png"] + bytes(16)  # 32 bytes
    as_ints = memoryview(bytearray(data)).cast("I")
    assert to_wire(as_ints) == uri("png", data)
    spaced = bytearray(64)
    spaced[::2] = data
    strided = memoryview(spaced)[::2]
    assert not strided.c_contiguous
    assert to_wire(strided) == uri("png", data)


def test_stream_is_read_from_its_current_position_to_its_end() -> None:
    stream = io.BytesIO(b"GIF89a" + PNG)
    stream.seek(6)
    assert to_wire(stream) == PNG_URI
    assert stream.read() == b""


def test_jpg_data_uri_is_canonicalised() -> None:
    data = HEADERS["jpeg"] + b"scan"
    b64 = base64.b64encode(data).decode()
    assert to_wire(f"data:image/jpg;base64,{b64}") == f"data:image/jpeg;base64,{b64}"
    assert to_wire(f"data:image/pjpeg;base64,{b64}") == f"data:image/jpeg;base64,{b64}"


@pytest.mark.parametrize("model", [QWEN, VISION])
def test_bitmap_data_without_a_file_header_is_refused_everywhere(model: str) -> None:
    # The Qwen-VL docs list DIB, but a .dib file carries the "BM" header (and sniffs as BMP); bare bitmap data has none.
    dib = HEADERS["dib"] + b"pixels"
    b64 = base64.b64encode(dib).decode()
    fix = "save it as a BMP file (with its header) or as PNG or JPEG"
    expected = f"items[0].image is bitmap data without a BMP file header, which no model can decode: {fix}"
    limits = limits_of(model)
    assert refusal(dib, limits, model) == expected
    assert refusal(f"data:image/bmp;base64,{b64}", limits, model) == expected


@settings(max_examples=60, deadline=None)
@given(
    fmt=st.sampled_from(sorted(QWEN_LIMITS.image_formats - {"dib"})),
    tail=st.binary(max_size=300),
    width=st.integers(4, 80),
)
def test_data_uri_round_trip(fmt: str, tail: bytes, width: int) -> None:
    data = HEADERS[fmt] + tail
    wire = to_wire(data, QWEN_LIMITS, QWEN)
    mime, b64 = wire.split(",", 1)
    assert mime == f"data:{IMAGE_MIME_TYPES[fmt]};base64"
    assert base64.b64decode(b64, validate=True) == data
    assert to_wire(wire, QWEN_LIMITS, QWEN) == wire  # canonical form is a fixed point
    wrapped = mime + "," + "\r\n".join(b64[i : i + width] for i in range(0, len(b64), width))
    assert to_wire(wrapped, QWEN_LIMITS, QWEN) == wire
    assert to_wire(io.BytesIO(data), QWEN_LIMITS, QWEN) == wire


# --- size limits ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "limit"), [(VISION, 3 * MB), (QWEN, 5 * MB)])
def test_documented_limit_is_inclusive(model: str, limit: int, tmp_path: Path) -> None:
    limits = limits_of(model)
    exact = HEADERS["png"] + bytes(limit - len(HEADERS["png"]))
    over = exact + b"\0"
    path = tmp_path / "big.png"
    path.write_bytes(exact)
    assert to_wire(exact, limits, model) == uri("png", exact)
    assert to_wire(path, limits, model) == uri("png", exact)
    assert to_wire(uri("png", exact), limits, model) == uri("png", exact)
    assert to_wire(Pipe(exact, chunk=MB), limits, model) == uri("png", exact)
    shown = f"{limit // MB} MB ({limit:,} bytes)"
    message = (
        f"items[0].image is {limit + 1:,} bytes, over {model}'s limit of {shown} per image: resize or recompress it"
    )
    assert refusal(over, limits, model) == message
    assert refusal(memoryview(over), limits, model) == message
    assert refusal(io.BytesIO(over), limits, model) == message
    assert refusal(uri("png", over), limits, model) == message
    path.write_bytes(over)
    assert refusal(path, limits, model) == message.replace(".image is", f".image ({str(path)!r}) is")
    assert refusal(Pipe(over, chunk=MB), limits, model) == (
        f"items[0].image is larger than {model}'s limit of {limit // MB} MB per image: resize or recompress it"
    )


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (int(3.4 * MB), "3.4 MB, over tongyi-embedding-vision-plus's limit of 3 MB"),
        (4 * MB, "4 MB, over tongyi-embedding-vision-plus's limit of 3 MB"),
        (3 * MB + 40_000, "3,185,728 bytes, over tongyi-embedding-vision-plus's limit of 3 MB (3,145,728 bytes)"),
    ],
)
def test_size_is_shown_readably_and_never_as_a_contradiction(size: int, shown: str) -> None:
    assert refusal(HEADERS["jpeg"] + bytes(size - len(HEADERS["jpeg"]))) == (
        f"items[0].image is {shown} per image: resize or recompress it"
    )


def test_small_limits_speak_in_bytes() -> None:
    assert to_wire(HEADERS["png"] + bytes(84), SMALL) == uri("png", HEADERS["png"] + bytes(84))
    assert refusal(HEADERS["png"] + bytes(85), SMALL, None) == (
        "items[0].image is 101 bytes, over the model's limit of 100 bytes per image: resize or recompress it"
    )


def test_a_huge_file_is_refused_from_its_size_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.write(HEADERS["png"])
        file.truncate(2 * 1024 * MB)  # sparse: nothing is written
    assert refusal(path) == (
        f"items[0].image ({str(path)!r}) is 2 GB, over {VISION}'s limit of 3 MB per image: resize or recompress it"
    )


def test_a_seekable_stream_is_sized_without_reading_it() -> None:
    stream = CountingBytesIO(HEADERS["png"] + bytes(5 * MB))
    assert refusal(stream).startswith("items[0].image is 5.0 MB, over")
    assert stream.given == 32


def test_an_endless_stream_is_read_only_one_byte_past_the_limit() -> None:
    pipe = Pipe(HEADERS["png"], endless=True)
    assert refusal(pipe, SMALL) == (
        f"items[0].image is larger than {VISION}'s limit of 100 bytes per image: resize or recompress it"
    )
    assert pipe.given == 101


def test_a_huge_data_uri_is_refused_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[int] = []
    real = base64.b64decode

    def spy(data: Any, *args: Any, **kwargs: Any) -> bytes:
        decoded.append(len(data))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(base64, "b64decode", spy)  # the module media.py decodes with
    assert refusal(uri("png", HEADERS["png"] + bytes(200)), SMALL).startswith("items[0].image is 216 bytes, over")
    assert decoded == [40]  # only the head, to name the format


# --- URLs -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://x.test/a.png",
        "https://x.test/A.PNG",
        "HTTPS://X.TEST/a.JpG",
        "http://x.test/a.jpeg?sig=abc.gif&Expires=1",
        "https://x.test/a.png#frag.gif",
        "https://x.test/dir.gif/image",
        "https://x.test/render.php?id=7",
        "https://x.test/",
        "https://user:pw@x.test:8443/a.bmp",
    ],
)
def test_image_urls_pass_through_unchanged(url: str) -> None:
    assert to_wire(url) == url


@pytest.mark.parametrize(
    ("url", "ext", "name"),
    [
        ("https://x.test/a.gif?sig=abc", "gif", "a GIF"),
        ("https://x.test/a.GIF", "gif", "a GIF"),
        ("https://x.test/a%2Egif", "gif", "a GIF"),
        ("https://x.test/a.webp", "webp", "a WEBP"),
        ("https://x.test/a.tif", "tif", "a TIFF"),
        ("https://x.test/a.dib", "dib", "a DIB"),
        ("https://x.test/a.svg", "svg", "an SVG"),
        ("https://x.test/a.heic", "heic", "a HEIC"),
    ],
)
def test_image_url_extension_outside_the_list_is_refused(url: str, ext: str, name: str) -> None:
    assert refusal(url) == (
        f"items[0].image: the URL's path ends in .{ext}, {name} image, which {VISION} does not accept "
        f"(it takes {VISION_TAKES}): convert it to PNG or JPEG and pass that URL"
    )


def test_qwen_takes_the_wider_list_by_url() -> None:
    for url in ("https://x.test/a.webp", "https://x.test/a.TIF", "https://x.test/a.ico", "https://x.test/a.sgi"):
        assert to_wire(url, QWEN_LIMITS, QWEN) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://x.test/clip.mp4?x=1",
            "items[0].image: the URL's path ends in .mp4, a video file: pass it as a video",
        ),
        ("https:///a.png", "items[0].image is not a valid URL: it names no host"),
        ("https://[::1/a.png", "items[0].image is not a valid URL: Invalid IPv6 URL"),
        ("ftp://x.test/a.png", f"items[0].image is a ftp:// URL; an image is {SOURCES}"),
        ("oss://bucket/dir/a.png", f"items[0].image is a oss:// URL; an image is {SOURCES}"),
        (
            "file://server/share/a.png",
            "items[0].image is a file:// URL on another host ('server'): pass a local path or an http(s) URL",
        ),
    ],
)
def test_bad_image_urls(url: str, message: str) -> None:
    assert refusal(url) == message


# --- data URIs ------------------------------------------------------------------------------------------------------

JPEG_B64 = base64.b64encode(HEADERS["jpeg"] + b"scan").decode()
GIF_B64 = base64.b64encode(HEADERS["gif"] + b"anim").decode()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            f"data:image/png;base64,{JPEG_B64}",
            "items[0].image: the data URI says image/png but its data is a JPEG image: "
            "write it as data:image/jpeg;base64,...",
        ),
        (
            f"data:image/jpeg;base64,{GIF_B64}",
            f"items[0].image is a GIF image, which {VISION} does not accept (it takes {VISION_TAKES}): "
            "convert it to PNG or JPEG",
        ),
        (
            "data:image/svg+xml;base64," + base64.b64encode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").decode(),
            f"items[0].image is an SVG image, which {VISION} does not accept (it takes {VISION_TAKES}): "
            "convert it to PNG or JPEG",
        ),
        (
            "data:image/png;base64," + base64.b64encode(b"not a png at all").decode(),
            "items[0].image: the data URI says image/png but its data is not a recognisable image "
            "(it starts with b'not a pn'): check that the base64 is the image file's bytes",
        ),
        (
            f"data:image/png,{PNG_B64}",
            "items[0].image is a data URI without ';base64': the API takes base64 image data "
            "(data:image/<format>;base64,<data>)",
        ),
        (
            "data:text/plain;base64,aGVsbG8=",
            "items[0].image is a data URI of type 'text/plain', not an image: write it as "
            "data:image/<format>;base64,<data>",
        ),
        (
            "data:,hello",
            "items[0].image is a data URI of type 'text/plain', not an image: write it as "
            "data:image/<format>;base64,<data>",
        ),
        (
            "data:image/png;base64",
            "items[0].image is not a valid data URI (no comma before the data): write it as "
            "data:image/<format>;base64,<data>",
        ),
        (
            f"data:image/x-foo;base64,{PNG_B64}",
            "items[0].image is a data URI of type 'image/x-foo', not an image type DashScope knows: "
            "data:image/<format>;base64,<data>",
        ),
        ("data:image/png;base64,", "items[0].image is a data URI with no data"),
        ("data:image/png;base64, \n ", "items[0].image is a data URI with no data"),
        (
            "data:image/png;base64,iVBO!!!!",
            "items[0].image: the data URI's base64 is invalid (Only base64 data is allowed): "
            "encode the file's bytes with base64.b64encode (standard alphabet, with padding)",
        ),
        (
            "data:image/png;base64," + PNG_B64[:-4] + "AA!!",
            "items[0].image: the data URI's base64 is invalid (Only base64 data is allowed): "
            "encode the file's bytes with base64.b64encode (standard alphabet, with padding)",
        ),
        (
            "data:image/png;base64,iVBORw0",
            "items[0].image: the data URI's base64 is invalid (Incorrect padding): "
            "encode the file's bytes with base64.b64encode (standard alphabet, with padding)",
        ),
        (
            "data:image/png;base64," + base64.urlsafe_b64encode(HEADERS["png"] + b"\xfb\xff\xbf" * 9).decode(),
            "items[0].image: the data URI's base64 is invalid (Only base64 data is allowed): "
            "encode the file's bytes with base64.b64encode (standard alphabet, with padding)",
        ),
        (
            "data:image/png;base64," + PNG_B64[:-2] + "é=",
            "items[0].image: the data URI's base64 is invalid (it holds a non-ASCII character): "
            "encode the file's bytes with base64.b64encode (standard alphabet, with padding)",
        ),
    ],
)
def test_bad_data_uris(source: str, message: str) -> None:
    assert refusal(source) == message


# --- local files ----------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.png")
    assert refusal(missing) == f"items[0].image: cannot read image file {missing!r}: no such file"
    assert refusal(Path(missing)) == f"items[0].image: cannot read image file {missing!r}: no such file"
    assert refusal("file://" + missing) == f"items[0].image: cannot read image file {missing!r}: no such file"
    assert refusal("C:\\pics\\a.png") == "items[0].image: cannot read image file 'C:\\\\pics\\\\a.png': no such file"


def test_directory_fifo_and_not_a_directory(tmp_path: Path) -> None:
    assert (
        refusal(tmp_path) == f"items[0].image: cannot read image file {str(tmp_path)!r}: it is a directory, not a file"
    )
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    assert refusal(fifo) == f"items[0].image: cannot read image file {str(fifo)!r}: it is not a regular file"
    file = tmp_path / "a.png"
    file.write_bytes(PNG)
    below = str(file / "b.png")
    assert refusal(below) == f"items[0].image: cannot read image file {below!r}: a part of the path is not a directory"


def test_symlink_loop_reports_the_os_reason(tmp_path: Path) -> None:
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    loop = str(tmp_path / "a.png")
    assert refusal(loop) == f"items[0].image: cannot read image file {loop!r}: Too many levels of symbolic links"


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "secret.png"
    path.write_bytes(PNG)

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(media, "open", denied, raising=False)  # works as root too, unlike chmod
    assert refusal(path) == f"items[0].image: cannot read image file {str(path)!r}: permission denied"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_for_real(tmp_path: Path) -> None:
    path = tmp_path / "secret.png"
    path.write_bytes(PNG)
    path.chmod(0)
    assert refusal(path) == f"items[0].image: cannot read image file {str(path)!r}: permission denied"


def test_a_file_is_sniffed_not_trusted_by_its_name(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(HEADERS["gif"] + b"anim")
    assert refusal(path).startswith("items[0].image is a GIF image, which")
    path.write_bytes(HEADERS["jpeg"] + b"scan")
    assert to_wire(path) == uri("jpeg", HEADERS["jpeg"] + b"scan")


def test_bare_base64_gets_a_hint() -> None:
    assert refusal(PNG_B64) == (
        f"items[0].image: cannot read image file {PNG_B64!r}: no such file (it looks like base64 of a PNG image: "
        "pass 'data:image/png;base64,' + the string)"
    )
    long_b64 = base64.b64encode(HEADERS["png"] + bytes(400)).decode()
    assert "/" not in long_b64
    assert refusal(long_b64) == (
        f"items[0].image: cannot read image file {long_b64!r}: File name too long (it looks like base64 of a PNG "
        "image: pass 'data:image/png;base64,' + the string)"
    )
    jpeg_b64 = base64.b64encode(HEADERS["jpeg"] + bytes(30)).decode()  # "/9j/…": an absolute path to nowhere
    assert refusal(jpeg_b64) == (
        f"items[0].image: cannot read image file {jpeg_b64!r}: no such file (it looks like base64 of a JPEG image: "
        "pass 'data:image/jpeg;base64,' + the string)"
    )
    assert refusal("cat.png") == "items[0].image: cannot read image file 'cat.png': no such file"


# --- empty, wrong types, broken streams -----------------------------------------------------------------------------


def test_empty_inputs(tmp_path: Path) -> None:
    assert refusal("") == f"items[0].image is an empty string; an image is {SOURCES}"
    assert refusal(b"") == f"items[0].image is empty (0 bytes); an image is {SOURCES}"
    assert refusal(memoryview(b"")) == f"items[0].image is empty (0 bytes); an image is {SOURCES}"
    empty = tmp_path / "empty.png"
    empty.touch()
    assert refusal(empty) == f"items[0].image: image file {str(empty)!r} is empty (0 bytes)"
    spent = io.BytesIO(PNG)
    spent.read()
    assert refusal(spent) == "items[0].image is an empty stream (nothing to read from its current position)"


class StrReader:
    def read(self, n: int = -1) -> str:
        return "text"


class BrokenReader:
    def read(self, n: int = -1) -> bytes:
        raise OSError("device went away")


class BytesReader:
    """Only a read method: no seekable(), tell() or seek()."""

    def __init__(self, data: bytes) -> None:
        self.stream = io.BytesIO(data)

    def read(self, n: int = -1) -> bytes:
        return self.stream.read(n)


def test_any_object_with_a_binary_read_is_a_stream() -> None:
    assert to_wire(BytesReader(PNG)) == PNG_URI
    assert refusal(BytesReader(HEADERS["png"] + bytes(200)), SMALL) == (
        f"items[0].image is larger than {VISION}'s limit of 100 bytes per image: resize or recompress it"
    )


def test_a_file_that_grows_after_stat_is_still_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "growing.png"
    path.write_bytes(HEADERS["png"] + bytes(200))
    stale = os.stat_result((0o100644, 0, 0, 1, 0, 0, 50, 0, 0, 0))  # a regular file of 50 bytes
    fake_os = types.SimpleNamespace(stat=lambda _: stale, fsdecode=os.fsdecode, PathLike=os.PathLike)
    monkeypatch.setattr(media, "os", fake_os)
    assert refusal(path, SMALL) == (
        f"items[0].image ({str(path)!r}) is larger than {VISION}'s limit of 100 bytes per image: "
        "resize or recompress it"
    )


def test_wrong_kinds_of_input() -> None:
    assert refusal(io.StringIO("abc")) == "items[0].image is a text stream: open the image file in binary mode ('rb')"
    assert refusal(StrReader()) == "items[0].image is a text stream: open the image file in binary mode ('rb')"
    assert refusal(BrokenReader()) == "items[0].image: cannot read the image stream: device went away"
    assert refusal(42) == f"items[0].image is of type int; an image is {SOURCES}"
    assert refusal(None) == f"items[0].image is of type NoneType; an image is {SOURCES}"


def test_errors_carry_the_index_and_are_value_errors() -> None:
    with pytest.raises(InputError) as caught:
        image_to_wire(b"GIF89a", limits=VISION_LIMITS, where="items[3].image", index=3)
    assert caught.value.index == 3
    assert isinstance(caught.value, ValueError)
    with pytest.raises(InputError) as caught:
        video_to_wire("clip.mp4", limits=VISION_LIMITS, where="items[4].video", index=4)
    assert caught.value.index == 4


# --- PIL images -----------------------------------------------------------------------------------------------------


def pil_png(image: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_pil_image_is_the_png_pillow_writes_and_equals_every_other_source(tmp_path: Path) -> None:
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.new("RGB", (2, 2), (255, 0, 0))
    image.putpixel((1, 1), (0, 0, 255))
    png = pil_png(image)
    expected = "data:image/png;base64," + base64.b64encode(png).decode()
    path = tmp_path / "two.png"
    path.write_bytes(png)
    for source in (image, png, memoryview(png), io.BytesIO(png), path, str(path), expected):
        assert to_wire(source) == expected
    decoded = image_module.open(io.BytesIO(base64.b64decode(expected.split(",", 1)[1])))
    assert decoded.format == "PNG"
    assert decoded.tobytes() == image.tobytes()  # lossless


def test_pil_modes_png_cannot_store_are_converted() -> None:
    image_module = pytest.importorskip("PIL.Image")
    rgba = image_module.new("RGBA", (2, 2), (10, 20, 30, 40))
    out = image_module.open(io.BytesIO(base64.b64decode(to_wire(rgba).split(",", 1)[1])))
    assert (out.mode, out.getpixel((0, 0))) == ("RGBA", (10, 20, 30, 40))
    cmyk = image_module.new("CMYK", (2, 2), (0, 0, 0, 0))
    expected = "data:image/png;base64," + base64.b64encode(pil_png(cmyk.convert("RGB"))).decode()
    assert to_wire(cmyk) == expected
    pa = image_module.new("PA", (2, 2))
    assert to_wire(pa) == "data:image/png;base64," + base64.b64encode(pil_png(pa.convert("RGBA"))).decode()
    with pytest.raises(InputError, match=r"^items\[0\]\.image: cannot encode the PIL image \(mode La\) as PNG: "):
        to_wire(image_module.new("La", (2, 2)))


def test_pil_image_over_the_limit() -> None:
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.new("RGB", (2, 2))
    size = len(pil_png(image))
    tight = dataclasses.replace(VISION_LIMITS, image_bytes=size - 1)
    assert refusal(image, tight) == (
        f"items[0].image (a 2×2 PIL image as PNG) is {size} bytes, over {VISION}'s limit of {size - 1} bytes per "
        "image: resize or recompress it"
    )
    assert to_wire(image, dataclasses.replace(VISION_LIMITS, image_bytes=size)).startswith("data:image/png;base64,")


def test_pil_image_for_a_model_without_png() -> None:
    image_module = pytest.importorskip("PIL.Image")
    image = image_module.new("RGB", (2, 2), (1, 2, 3))
    bmp_only = dataclasses.replace(VISION_LIMITS, image_formats=frozenset({"jpeg", "bmp"}))
    buffer = io.BytesIO()
    image.save(buffer, format="BMP")
    assert to_wire(image, bmp_only) == uri("bmp", buffer.getvalue())
    jpeg_only = dataclasses.replace(VISION_LIMITS, image_formats=frozenset({"jpeg"}))
    assert refusal(image, jpeg_only) == (
        f"items[0].image is a PIL image, but {VISION} takes only JPEG, none of which stores pixels losslessly: "
        "encode it yourself (e.g. image.save(buffer, 'JPEG')) and pass the bytes"
    )


@pytest.mark.parametrize(
    ("pillow_format", "fmt"),
    [
        ("JPEG", "jpeg"),
        ("PNG", "png"),
        ("BMP", "bmp"),
        ("DIB", "dib"),
        ("WEBP", "webp"),
        ("TIFF", "tiff"),
        ("ICO", "ico"),
        ("ICNS", "icns"),
        ("SGI", "sgi"),
        ("GIF", "gif"),
        ("JPEG2000", "jp2"),
    ],
)
def test_files_pillow_writes_are_sniffed(pillow_format: str, fmt: str) -> None:
    image_module = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    try:
        image_module.new("RGB", (16, 16), (1, 2, 3)).save(buffer, format=pillow_format)
    except (KeyError, OSError) as exc:  # a Pillow built without this codec
        pytest.skip(f"Pillow cannot write {pillow_format}: {exc}")
    assert sniff_image_format(buffer.getvalue()) == fmt
    if fmt in QWEN_LIMITS.image_formats - {"dib"}:  # Pillow's "DIB" is bare bitmap data, refused (see above)
        assert to_wire(buffer.getvalue(), QWEN_LIMITS, QWEN) == uri(fmt, buffer.getvalue())


def test_pillow_is_never_imported_by_the_module() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from dashscope_embeddings.catalog import MODELS
        from dashscope_embeddings.media import image_to_wire
        limits = MODELS["tongyi-embedding-vision-plus"].media
        png = {PNG!r}
        assert image_to_wire(png, limits=limits, where="x").startswith("data:image/png;base64,")
        assert image_to_wire("https://x.test/a.png", limits=limits, where="x") == "https://x.test/a.png"
        assert not [name for name in sys.modules if name == "PIL" or name.startswith("PIL.")], "PIL imported"
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


# --- videos ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "limits"),
    [
        ("https://x.test/v.mp4?Expires=1&Signature=abc", VISION_LIMITS),
        ("https://x.test/v.MOV", VISION_LIMITS),
        ("http://x.test/v.webm", VISION_LIMITS),
        ("https://x.test/v.mpg", VISION_LIMITS),
        ("https://x.test/v.mkv#t=3", VISION_LIMITS),
        ("https://x.test/stream", VISION_LIMITS),
        ("https://x.test/v.avi", QWEN_LIMITS),
        ("https://x.test/v.mp4", QWEN_LIMITS),
    ],
)
def test_video_urls_pass_through_unchanged(url: str, limits: MediaLimits) -> None:
    assert video_to_wire(url, limits=limits, where="items[1].video") == url


@pytest.mark.parametrize(
    ("source", "limits", "model", "message"),
    [
        (
            "https://x.test/v.webm",
            QWEN_LIMITS,
            QWEN,
            f"items[1].video: the URL's path ends in .webm, a format {QWEN} does not accept (it takes MP4, AVI, MOV): "
            "convert it to MP4 and pass that URL",
        ),
        (
            "https://x.test/v.WMV?sig=1",
            VISION_LIMITS,
            VISION,
            f"items[1].video: the URL's path ends in .wmv, a format {VISION} does not accept (it takes MP4, MPEG, "
            "AVI, MOV, MPG, WEBM, FLV, MKV): convert it to MP4 and pass that URL",
        ),
        (
            "https://x.test/poster.jpg",
            VISION_LIMITS,
            VISION,
            "items[1].video: the URL's path ends in .jpg, an image file: pass it as an image",
        ),
        ("clip.mp4", VISION_LIMITS, VISION, f"items[1].video is a local path ('clip.mp4'); {URL_ONLY}"),
        ("/videos/clip.mp4", VISION_LIMITS, VISION, f"items[1].video is a local path ('/videos/clip.mp4'); {URL_ONLY}"),
        (Path("clip.mp4"), VISION_LIMITS, VISION, f"items[1].video is a local path ('clip.mp4'); {URL_ONLY}"),
        (
            "file:///videos/clip.mp4",
            VISION_LIMITS,
            VISION,
            f"items[1].video is a file:// URL ('file:///videos/clip.mp4'); {URL_ONLY}",
        ),
        ("data:video/mp4;base64,AAAA", VISION_LIMITS, VISION, f"items[1].video is a data: URI; {URL_ONLY}"),
        (b"\x00\x00\x00\x18ftypisom", VISION_LIMITS, VISION, f"items[1].video is bytes; {URL_ONLY}"),
        (bytearray(b"x"), VISION_LIMITS, VISION, f"items[1].video is bytearray; {URL_ONLY}"),
        (io.BytesIO(b"x"), VISION_LIMITS, VISION, f"items[1].video is a file object; {URL_ONLY}"),
        ("s3://bucket/clip.mp4", VISION_LIMITS, VISION, f"items[1].video is a s3:// URL; {URL_ONLY}"),
        ("", VISION_LIMITS, VISION, "items[1].video is an empty string; a video is an http(s) URL"),
        (3, VISION_LIMITS, VISION, "items[1].video is of type int; a video is an http(s) URL"),
        ("https://", VISION_LIMITS, VISION, "items[1].video is not a valid URL: it names no host"),
    ],
)
def test_videos_refused(source: Any, limits: MediaLimits, model: str, message: str) -> None:
    assert video_refusal(source, limits, model) == message
