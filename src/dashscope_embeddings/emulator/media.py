"""The emulator's own reading of multimodal values: URLs, data URIs, and image formats sniffed from magic bytes.

What the service accepts (api-facts §4, the error-code page quoted in api-facts §2):

- an image is an `http(s)` URL or a data URI `data:image/{format};base64,{data}` (a data URI without `base64`
  before its data is refused: "For data: URLs, include base64 before encoded data");
- a video is an `http(s)` URL only (seed spec §1.5-1.6: "URL only").

The emulator never fetches a URL. It judges a URL by its form and by the file extension of its path (a path with
no extension passes, since the service would look at the downloaded bytes instead), and a data URI by its declared
format and by the magic numbers of its decoded bytes. No image library is needed: the formats the catalog lists
(JPEG, PNG, BMP, WEBP, TIFF, ICO, DIB, ICNS, SGI) all start with a fixed signature.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final
from urllib.parse import unquote, urlsplit

__all__ = [
    "DataURI",
    "canonical_format",
    "decode_base64",
    "is_http_url",
    "parse_data_uri",
    "same_format",
    "sniff_image_format",
    "url_extension",
    "url_path",
]

_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        # file extensions
        "jpg": "jpeg",
        "jpe": "jpeg",
        "tif": "tiff",
        # MIME subtypes (image/x-icon is what browsers send for .ico, image/x-ms-bmp what Python's mimetypes says)
        "pjpeg": "jpeg",
        "x-ms-bmp": "bmp",
        "x-bmp": "bmp",
        "x-icon": "ico",
        "vnd.microsoft.icon": "ico",
        "x-icns": "icns",
        "x-sgi": "sgi",
        "x-tiff": "tiff",
    }
)

_SAME: Final[Mapping[str, str]] = MappingProxyType({"dib": "bmp"})
"""A DIB file is a BMP file (same `BM` signature); the catalog lists both names for the Qwen-VL models."""

_DATA_URI = re.compile(r"data:image/([A-Za-z0-9.+-]+);base64,(.*)", re.IGNORECASE | re.DOTALL)
_WHITESPACE = re.compile(r"[\s\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class DataURI:
    """`data:image/{format};base64,{data}`: the declared format (canonical name) and the base64 text."""

    declared: str
    payload: str


def canonical_format(name: str) -> str:
    """The catalog's name for a format given as a file extension or MIME subtype (`jpg` -> `jpeg`)."""
    lowered = name.lower()
    return _ALIASES.get(lowered, lowered)


def same_format(a: str, b: str) -> bool:
    """Whether two canonical format names denote the same file format (`dib` is `bmp`)."""
    return _SAME.get(a, a) == _SAME.get(b, b)


def is_http_url(value: str) -> bool:
    """An absolute `http://` or `https://` URL with a host and no whitespace or control characters."""
    if _WHITESPACE.search(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def url_path(url: str) -> str:
    """The percent-decoded path of `url` (no query string, no fragment)."""
    return unquote(urlsplit(url).path)


def url_extension(url: str) -> str | None:
    """The lower-cased, canonical extension of the last path segment (`.../a.JPG?x=1` -> `jpeg`), or None."""
    segment = url_path(url).rsplit("/", 1)[-1]
    stem, dot, extension = segment.rpartition(".")
    if not dot or not stem or not extension:
        return None
    return canonical_format(extension)


def parse_data_uri(value: str) -> DataURI | None:
    """The parts of an image data URI in the documented form, or None for anything else."""
    match = _DATA_URI.fullmatch(value)
    if match is None:
        return None
    return DataURI(canonical_format(match.group(1)), match.group(2))


def decode_base64(payload: str) -> bytes | None:
    """Strict standard base64 (padding required, no whitespace, no URL-safe alphabet), or None when invalid."""
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def sniff_image_format(data: bytes) -> str | None:
    """The image format named by the file signature at the start of `data`, or None when none matches.

    Formats no model accepts (GIF, HEIC, AVIF) are recognised too, so such a file is refused as an unsupported
    format rather than as undecodable bytes.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if data.startswith(b"\x00\x00\x01\x00"):
        return "ico"
    if data.startswith(b"icns"):
        return "icns"
    if data[:2] == b"\x01\xda" and data[2:3] in (b"\x00", b"\x01"):
        return "sgi"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
            return "heic"
    return None
