"""Images and videos in every shape a caller has them, turned into what the multimodal endpoint accepts.

What the endpoint accepts (reference: api-facts §4 "multimodal", seed-spec §1.5–1.6):

- An image is an http(s) URL or a data URI `data:image/{format};base64,{data}`. The service fetches URLs itself.
- A video is an http(s) URL only, on every model ("URL only" in D002/D003; D002: "passing a local video directly is
  not supported yet").
- Each model family lists its image and video formats and a size limit per image (`catalog.MediaLimits`).

The Python SDK handles local files by uploading them to a temporary OSS bucket and sending `oss://` references with
an extra header (api-facts, "Local files in the Python SDK"). This package does not: a local image (path, bytes,
binary stream or PIL image) is inlined as a base64 data URI, which needs no second service and no upload policy,
and a local video is refused with the reason, since no inline form exists for video.

Everything the documented limits allow us to check is checked here, before anything is sent, and every refusal is
an `InputError` naming the input (`where`), the limit and the fix:

- format: from the file's magic bytes, never from its name, so a mislabelled file is caught; for URLs (which we do
  not fetch) from the extension of the URL's path, when it has a known one;
- size: `MediaLimits.image_bytes` counts the image's own (decoded) bytes. A file's size comes from `os.stat` (only
  its first 32 bytes are read before, to name its format), a seekable stream's from seeking to its end, a data
  URI's from its length; anything else is read no further than one byte past the limit. A huge input is refused
  without being loaded. Video size cannot be checked: the service fetches the video.

The data URI's MIME type (`IMAGE_MIME_TYPES`): the docs give only the pattern `data:image/{format};base64,...`, and
their example fills in "png" ("jpg, bmp, etc."). We send the registered types where one exists (`image/jpeg`,
`image/png`, `image/bmp`, `image/webp`, `image/tiff`) and otherwise the types of the Qwen-VL image-understanding
docs' format table (`image/x-icon`, `image/icns`, `image/sgi`; DIB as `image/bmp`). That table is not in the
project's reference notes, so those last four are the least certain choice here.

Pillow is optional. A PIL image can only exist if `PIL.Image` is already imported, so this module recognises one by
looking in `sys.modules` and never imports Pillow itself.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import re
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, BinaryIO, TypeAlias, cast
from urllib.parse import unquote, urlsplit

from .catalog import MediaLimits
from .errors import InputError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "IMAGE_MIME_TYPES",
    "ImageSource",
    "image_format_from_name",
    "image_to_wire",
    "sniff_image_format",
    "video_format_from_name",
    "video_to_wire",
]

ImageSource: TypeAlias = "str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO | PILImage"
"""What `image_to_wire` takes: an http(s) URL, a data URI, a local path (str, `file://` URL or `os.PathLike`), the
image file's bytes, a binary stream positioned at the image, or a PIL image."""

IMAGE_MIME_TYPES: Mapping[str, str] = MappingProxyType(
    {
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
)
"""MIME type sent in the data URI for each format a model may accept. A DIB is a BMP without its 14-byte file
header (what Pillow writes as "DIB"); the Qwen-VL image docs send it as `image/bmp`."""

_IMAGE_ORDER = ("jpeg", "png", "webp", "bmp", "tiff", "ico", "dib", "icns", "sgi")
"""The order of D003's qwen3-vl-embedding format list, used to name formats in messages."""
_VIDEO_ORDER = ("mp4", "mpeg", "avi", "mov", "mpg", "webm", "flv", "mkv")
"""The order of D003's tongyi-embedding-vision format list."""

_IMAGE_NAMES = {
    "jpeg": "JPEG",
    "png": "PNG",
    "bmp": "BMP",
    "dib": "DIB",
    "webp": "WEBP",
    "tiff": "TIFF",
    "ico": "ICO",
    "icns": "ICNS",
    "sgi": "SGI",
    "gif": "GIF",
    "heic": "HEIC",
    "heif": "HEIF",
    "avif": "AVIF",
    "jp2": "JPEG 2000",
    "svg": "SVG",
}

_IMAGE_EXTENSIONS = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "jpe": "jpeg",
    "jfif": "jpeg",
    "png": "png",
    "bmp": "bmp",
    "dib": "dib",
    "webp": "webp",
    "tif": "tiff",
    "tiff": "tiff",
    "ico": "ico",
    "icns": "icns",
    "sgi": "sgi",
    "gif": "gif",
    "heic": "heic",
    "heif": "heif",
    "avif": "avif",
    "jp2": "jp2",
    "svg": "svg",
}
_VIDEO_EXTENSIONS = frozenset({"mp4", "mpeg", "mpg", "avi", "mov", "webm", "flv", "mkv", "m4v", "wmv", "3gp", "ogv"})

_DECLARED_SUBTYPES = {
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "pjpeg": "jpeg",
    "png": "png",
    "x-png": "png",
    "apng": "png",
    "bmp": "bmp",
    "x-bmp": "bmp",
    "x-ms-bmp": "bmp",
    "dib": "dib",
    "webp": "webp",
    "tiff": "tiff",
    "tif": "tiff",
    "x-tiff": "tiff",
    "x-icon": "ico",
    "vnd.microsoft.icon": "ico",
    "ico": "ico",
    "icon": "ico",
    "icns": "icns",
    "x-icns": "icns",
    "sgi": "sgi",
    "x-sgi": "sgi",
    "x-rgb": "sgi",
    "gif": "gif",
    "heic": "heic",
    "heif": "heif",
    "avif": "avif",
    "jp2": "jp2",
    "svg+xml": "svg",
}
"""Subtypes a caller's data URI may declare, mapped to the format the data must have."""

_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
"""Sizes of the DIB header that follows a BMP file header (OS/2 1.x and 2.x, BITMAPINFOHEADER … BITMAPV5HEADER)."""
_DIB_HEADER_SIZES = frozenset({40, 52, 56, 64, 108, 124})
_HEIF_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc"), "heic"),
    **dict.fromkeys((b"mif1", b"msf1"), "heif"),
    **dict.fromkeys((b"avif", b"avis"), "avif"),
}
"""ISO-BMFF `ftyp` major brands of the HEIF family."""
_SNIFF_BYTES = 32
"""Enough leading bytes for every signature `sniff_image_format` knows."""

_MB = 1024 * 1024
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_DATA_URI = re.compile(r"data:(?P<mime>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)", re.IGNORECASE | re.DOTALL)
_WHITESPACE = re.compile(rb"[ \t\r\n]+")
_BARE_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")


def sniff_image_format(data: bytes | bytearray | memoryview) -> str | None:
    """The image format named by `data`'s magic bytes, or None when no known signature matches.

    Returns one of "jpeg", "png", "bmp", "webp", "tiff", "ico", "icns", "sgi" (the formats the models list) or
    "gif", "heic", "heif", "avif", "jp2" (formats no model lists, named so a refusal can say what the file is).
    Also "dib" for a bitmap without the BMP file header; a .dib file with a "BM" header is a BMP and sniffs as
    "bmp". Only the first 32 bytes are read.
    """
    head = bytes(data[:_SNIFF_BYTES])
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"BM") and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"\x00\x00\x01\x00") and len(head) >= 6 and head[4:6] != b"\x00\x00":
        return "ico"
    if head.startswith(b"icns"):
        return "icns"
    # SGI: magic 474, then storage (0 verbatim, 1 RLE) and bytes per channel (1 or 2).
    if head.startswith(b"\x01\xda") and len(head) >= 4 and head[2] in (0, 1) and head[3] in (1, 2):
        return "sgi"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        return _HEIF_BRANDS[head[8:12]]
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):  # JP2 box, raw codestream
        return "jp2"
    # A headerless DIB: BITMAPINFOHEADER (or a later version) first, one colour plane, a valid bit depth.
    if (
        len(head) >= 16
        and int.from_bytes(head[:4], "little") in _DIB_HEADER_SIZES
        and head[12:14] == b"\x01\x00"
        and int.from_bytes(head[14:16], "little") in (1, 4, 8, 16, 24, 32)
    ):
        return "dib"
    return None


def image_format_from_name(name: str) -> str | None:
    """The image format a file name or URL path's extension names ("a.JPG" → "jpeg", ".tif" → "tiff"), or None."""
    return _IMAGE_EXTENSIONS.get(_extension(name))


def video_format_from_name(name: str) -> str | None:
    """The video format a file name or URL path's extension names ("clip.MP4" → "mp4"), or None."""
    ext = _extension(name)
    return ext if ext in _VIDEO_EXTENSIONS else None


def image_to_wire(
    source: ImageSource,
    *,
    limits: MediaLimits,
    where: str,
    model: str | None = None,
    index: int | None = None,
) -> str:
    """`source` as the endpoint's `image` value: an http(s) URL (unchanged) or a data URI.

    - http(s) URL: passed through unchanged (the service fetches it); refused if its path ends in a known image
      extension outside `limits.image_formats`, or in a video extension (a query string or fragment is ignored).
    - data URI: must be `data:image/<type>;base64,<standard base64>` whose data is an image of the declared type, of
      an allowed format and at most `limits.image_bytes` decoded bytes. Returned in canonical form (our MIME type,
      unwrapped base64), so every image reaches the wire the same way.
    - local path (str, `file://` URL or `os.PathLike`), bytes/bytearray/memoryview, or a binary stream (read from its
      current position): sniffed, checked, inlined as a data URI.
    - PIL image: saved as PNG (lossless; the first frame of an animation; modes PNG cannot store, such as CMYK or
      32-bit "I", are converted to RGB/RGBA first), checked, inlined. If a model took no PNG, the first of WEBP
      (lossless), TIFF, BMP it takes would be used.

    The format is checked before the size, so a file of the wrong kind is named as such however large it is.
    `where` names the input in messages (e.g. "items[3].image"), `model` names the model whose limits apply, and
    `index` becomes `InputError.index`.
    """
    ctx = _Context(limits, where, model, index)
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(source, pil.Image):
        return _image_from_pil(source, ctx)
    if isinstance(source, str):
        return _image_from_str(source, ctx)
    if isinstance(source, os.PathLike):
        return _image_from_file(os.fsdecode(source), ctx)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _image_from_buffer(source, ctx)
    if isinstance(source, io.TextIOBase):
        raise ctx.error(f"{where} is a text stream: open the image file in binary mode ('rb')")
    if callable(getattr(source, "read", None)):
        return _image_from_stream(cast(BinaryIO, source), ctx)
    raise ctx.error(f"{where} is of type {type(source).__name__}; an image is {_IMAGE_SOURCES}")


def video_to_wire(
    source: object,
    *,
    limits: MediaLimits,
    where: str,
    model: str | None = None,
    index: int | None = None,
) -> str:
    """`source` as the endpoint's `video` value: an http(s) URL, passed through unchanged.

    Every model takes videos by URL only and fetches them itself (D002/D003: "URL only"; D002: "passing a local
    video directly is not supported yet"), so a local path, a `file://` URL, a data URI, bytes or a stream is refused
    with that reason. A URL whose path ends in a known video extension outside `limits.video_formats`, or in an image
    extension, is refused too. Video size cannot be checked before sending: only the service sees the file.
    `source` is typed `object` because refusing the wrong kinds of input with a useful message is part of the job.
    """
    ctx = _Context(limits, where, model, index)
    if isinstance(source, os.PathLike):
        raise ctx.error(f"{where} is a local path ({os.fsdecode(source)!r}); {_VIDEO_URL_ONLY}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise ctx.error(f"{where} is {type(source).__name__}; {_VIDEO_URL_ONLY}")
    if not isinstance(source, str):
        if callable(getattr(source, "read", None)):
            raise ctx.error(f"{where} is a file object; {_VIDEO_URL_ONLY}")
        raise ctx.error(f"{where} is of type {type(source).__name__}; a video is an http(s) URL")
    if not source:
        raise ctx.error(f"{where} is an empty string; a video is an http(s) URL")
    scheme = _scheme(source)
    if scheme in ("http", "https"):
        path = _url_path(source, ctx)
        if image_format_from_name(path) is not None:
            raise ctx.error(f"{where}: the URL's path ends in .{_extension(path)}, an image file: pass it as an image")
        fmt = video_format_from_name(path)
        if fmt is not None and fmt not in limits.video_formats:
            allowed = _listing(limits.video_formats, _VIDEO_ORDER, str.upper)
            target = "MP4" if "mp4" in limits.video_formats else "one of those"
            raise ctx.error(
                f"{where}: the URL's path ends in .{_extension(path)}, a format {ctx.model_name} does not accept "
                f"(it takes {allowed}): convert it to {target} and pass that URL"
            )
        return source
    if scheme == "data":
        raise ctx.error(f"{where} is a data: URI; {_VIDEO_URL_ONLY}")
    if scheme == "file":
        raise ctx.error(f"{where} is a file:// URL ({source!r}); {_VIDEO_URL_ONLY}")
    if scheme is not None and "://" in source:
        raise ctx.error(f"{where} is a {scheme}:// URL; {_VIDEO_URL_ONLY}")
    raise ctx.error(f"{where} is a local path ({source!r}); {_VIDEO_URL_ONLY}")


_IMAGE_SOURCES = "an http(s) URL, a data: URI, a local file path, bytes, a binary file object or a PIL image"
_VIDEO_URL_ONLY = (
    "DashScope takes videos by URL only and fetches them itself: upload the video somewhere the service can reach "
    "(OSS, or any HTTPS host; a signed URL works) and pass that URL"
)
_DATA_URI_SHAPE = "data:image/<format>;base64,<data>"
_BASE64_FIX = "encode the file's bytes with base64.b64encode (standard alphabet, with padding)"
_BITMAPS = {"dib": "bmp"}
"""A DIB declared as image/bmp (or a BMP as image/dib) is not a mislabel: both are Windows bitmaps."""
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa"})


@dataclass(frozen=True, slots=True)
class _Context:
    """Which input is being checked against which limits, and the messages that say why it fails."""

    limits: MediaLimits
    where: str
    model: str | None
    index: int | None

    @property
    def model_name(self) -> str:
        return self.model or "the model"

    def error(self, message: str) -> InputError:
        return InputError(message, index=self.index)

    def allowed_images(self) -> str:
        return _listing(self.limits.image_formats, _IMAGE_ORDER, _IMAGE_NAMES.__getitem__)

    def suggestion(self) -> str:
        formats = self.limits.image_formats
        if {"png", "jpeg"} <= formats:
            return "PNG or JPEG"
        return next(_IMAGE_NAMES[f] for f in _IMAGE_ORDER if f in formats)

    def check_format(self, fmt: str | None, head: bytes) -> str:
        """`fmt` (sniffed from `head`) if the model takes it; otherwise say what the data is and what to do."""
        if fmt is None:
            raise self.error(
                f"{self.where} is not a recognisable image (it starts with {head[:8]!r}); {self.model_name} takes "
                f"{self.allowed_images()}: pass the image file's bytes, not another file type or decoded pixels"
            )
        if fmt == "dib":
            # The Qwen-VL docs list DIB, but a .dib file is a bitmap with the usual "BM" file header (it sniffs as
            # BMP); bare bitmap data without that header is no file format a decoder accepts as image/bmp.
            raise self.error(
                f"{self.where} is bitmap data without a BMP file header, which no model can decode: save it as a "
                f"BMP file (with its header) or as {self.suggestion()}"
            )
        if fmt not in self.limits.image_formats:
            raise self.error(
                f"{self.where} is {_a(fmt)} image, which {self.model_name} does not accept (it takes "
                f"{self.allowed_images()}): convert it to {self.suggestion()}"
            )
        return fmt

    def check_size(self, size: int | None, *, what: str = "") -> None:
        """Refuse more than `image_bytes` bytes; `size` None means "more than the limit, exact size unknown"."""
        limit = self.limits.image_bytes
        if size is not None and size <= limit:
            return
        owner = f"{self.model}'s" if self.model else "the model's"
        fix = "resize or recompress it"
        if size is None:
            raise self.error(f"{self.where}{what} is larger than {owner} limit of {_size(limit)} per image: {fix}")
        amount, bound = _size(size), _size(limit)
        if size - limit < _unit(size) / 20 and _unit(limit) > 1:  # not "3.0 MB, over the limit of 3 MB"
            amount, bound = f"{size:,} bytes", f"{bound} ({limit:,} bytes)"
        raise self.error(f"{self.where}{what} is {amount}, over {owner} limit of {bound} per image: {fix}")


def _image_from_str(source: str, ctx: _Context) -> str:
    where = ctx.where
    if not source:
        raise ctx.error(f"{where} is an empty string; an image is {_IMAGE_SOURCES}")
    scheme = _scheme(source)
    if scheme in ("http", "https"):
        path = _url_path(source, ctx)
        fmt = image_format_from_name(path)
        if fmt is not None and fmt not in ctx.limits.image_formats:
            raise ctx.error(
                f"{where}: the URL's path ends in .{_extension(path)}, {_a(fmt)} image, which "
                f"{ctx.model_name} does not accept (it takes {ctx.allowed_images()}): convert it to "
                f"{ctx.suggestion()} and pass that URL"
            )
        if fmt is None and video_format_from_name(path) is not None:
            raise ctx.error(f"{where}: the URL's path ends in .{_extension(path)}, a video file: pass it as a video")
        return source
    if scheme == "data":
        return _image_from_data_uri(source, ctx)
    if scheme == "file":
        parts = urlsplit(source)
        if parts.netloc not in ("", "localhost"):
            raise ctx.error(
                f"{where} is a file:// URL on another host ({parts.netloc!r}): pass a local path or an http(s) URL"
            )
        from urllib.request import url2pathname  # deferred: urllib.request imports http.client and email

        return _image_from_file(url2pathname(parts.path), ctx)
    if scheme is not None and "://" in source:
        raise ctx.error(f"{where} is a {scheme}:// URL; an image is {_IMAGE_SOURCES}")
    return _image_from_file(source, ctx)


def _image_from_data_uri(source: str, ctx: _Context) -> str:
    """Validate a caller's data URI and return it in canonical form; a huge payload is refused before decoding."""
    where = ctx.where
    match = _DATA_URI.fullmatch(source)
    if match is None:
        raise ctx.error(f"{where} is not a valid data URI (no comma before the data): write it as {_DATA_URI_SHAPE}")
    mime = match["mime"].strip().lower()
    if not mime.startswith("image/"):
        raise ctx.error(
            f"{where} is a data URI of type {mime or 'text/plain'!r}, not an image: write it as {_DATA_URI_SHAPE}"
        )
    declared = _DECLARED_SUBTYPES.get(mime.removeprefix("image/"))
    if declared is None:
        raise ctx.error(f"{where} is a data URI of type {mime!r}, not an image type DashScope knows: {_DATA_URI_SHAPE}")
    if "base64" not in (p.strip().lower() for p in match["params"].split(";")):
        raise ctx.error(f"{where} is a data URI without ';base64': the API takes base64 image data ({_DATA_URI_SHAPE})")
    if not match["data"].isascii():
        raise ctx.error(f"{where}: the data URI's base64 is invalid (it holds a non-ASCII character): {_BASE64_FIX}")
    b64 = _WHITESPACE.sub(b"", match["data"].encode("ascii"))
    if not b64:
        raise ctx.error(f"{where} is a data URI with no data")
    try:
        head = base64.b64decode(b64[: _SNIFF_BYTES // 3 * 4], validate=True)
    except binascii.Error as exc:
        raise ctx.error(f"{where}: the data URI's base64 is invalid ({exc}): {_BASE64_FIX}") from exc
    sniffed = sniff_image_format(head)
    if sniffed is not None:
        ctx.check_format(sniffed, head)  # a GIF is refused as a GIF, whatever its data URI says
    elif declared in ctx.limits.image_formats:
        raise ctx.error(
            f"{where}: the data URI says {mime} but its data is not a recognisable image (it starts with "
            f"{head[:8]!r}): check that the base64 is the image file's bytes"
        )
    if sniffed is not None and _BITMAPS.get(sniffed, sniffed) != _BITMAPS.get(declared, declared):
        raise ctx.error(
            f"{where}: the data URI says {mime} but its data is {_a(sniffed)} image: write it as "
            f"data:{IMAGE_MIME_TYPES[sniffed]};base64,..."
        )
    fmt = ctx.check_format(sniffed or declared, head)
    if len(b64) % 4 == 0:  # the decoded size is known from the length: refuse a huge payload without decoding it
        ctx.check_size(len(b64) // 4 * 3 - b64[-2:].count(b"="))
    try:
        data = base64.b64decode(b64, validate=True)
    except binascii.Error as exc:
        raise ctx.error(f"{where}: the data URI's base64 is invalid ({exc}): {_BASE64_FIX}") from exc
    ctx.check_size(len(data))
    return _data_uri(fmt, data)


def _image_from_file(path: str, ctx: _Context) -> str:
    """A local file: format from its first bytes, size from `os.stat`, then at most limit + 1 bytes read."""
    limit = ctx.limits.image_bytes
    what = f" ({path!r})"
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ctx.error(f"{ctx.where}: cannot read image file {path!r}: it is a directory, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ctx.error(f"{ctx.where}: cannot read image file {path!r}: it is not a regular file")
        with open(path, "rb") as file:
            head = _read_at_most(file, _SNIFF_BYTES)
            if not head:
                raise ctx.error(f"{ctx.where}: image file {path!r} is empty (0 bytes)")
            fmt = ctx.check_format(sniff_image_format(head), head)
            ctx.check_size(info.st_size, what=what)
            data = head + _read_at_most(file, limit + 1 - len(head))
    except OSError as exc:
        reason = _os_reason(exc) + _bare_base64_hint(path)
        raise ctx.error(f"{ctx.where}: cannot read image file {path!r}: {reason}") from exc
    ctx.check_size(len(data) if len(data) <= limit else None, what=what)  # the file grew after os.stat
    return _data_uri(fmt, data)


def _image_from_buffer(source: bytes | bytearray | memoryview, ctx: _Context) -> str:
    view = memoryview(source)
    try:
        view = view.cast("B")  # any shape and item format, counted in bytes, without a copy
    except TypeError:  # not C-contiguous, or a non-native item format such as ">i"
        view = memoryview(view.tobytes())
    if not view:
        raise ctx.error(f"{ctx.where} is empty (0 bytes); an image is {_IMAGE_SOURCES}")
    head = bytes(view[:_SNIFF_BYTES])
    fmt = ctx.check_format(sniff_image_format(head), head)
    ctx.check_size(view.nbytes)
    return _data_uri(fmt, view.tobytes())


def _image_from_stream(stream: BinaryIO, ctx: _Context) -> str:
    """A binary stream, from its current position; never read further than one byte past the limit."""
    limit = ctx.limits.image_bytes
    try:
        head = _read_at_most(stream, _SNIFF_BYTES)
        if not head:
            raise ctx.error(f"{ctx.where} is an empty stream (nothing to read from its current position)")
        fmt = ctx.check_format(sniff_image_format(head), head)
        remaining = _remaining(stream, already=len(head))
        if remaining is not None:  # a seekable stream tells its size: refuse it without reading
            ctx.check_size(remaining)
        data = head + _read_at_most(stream, limit + 1 - len(head))
    except OSError as exc:
        raise ctx.error(f"{ctx.where}: cannot read the image stream: {_os_reason(exc)}") from exc
    except _TextModeError as exc:
        raise ctx.error(f"{ctx.where} is a text stream: open the image file in binary mode ('rb')") from exc
    ctx.check_size(len(data) if len(data) <= limit else None)
    return _data_uri(fmt, data)


def _image_from_pil(image: PILImage, ctx: _Context) -> str:
    """Save a PIL image losslessly in the first format the model takes of PNG, WEBP (lossless), TIFF, BMP."""
    formats = ctx.limits.image_formats
    fmt = next((f for f in ("png", "webp", "tiff", "bmp") if f in formats), None)
    if fmt is None:
        raise ctx.error(
            f"{ctx.where} is a PIL image, but {ctx.model_name} takes only {ctx.allowed_images()}, none of which "
            f"stores pixels losslessly: encode it yourself (e.g. image.save(buffer, 'JPEG')) and pass the bytes"
        )
    options = {"lossless": True} if fmt == "webp" else {}
    buffer = io.BytesIO()
    try:
        try:
            image.save(buffer, format=fmt.upper(), **options)
        except OSError:  # a mode the format cannot store ("cannot write mode CMYK as PNG")
            buffer = io.BytesIO()
            image.convert("RGBA" if image.mode in _ALPHA_MODES else "RGB").save(buffer, format=fmt.upper(), **options)
    except (OSError, ValueError) as exc:
        raise ctx.error(
            f"{ctx.where}: cannot encode the PIL image (mode {image.mode}) as {_IMAGE_NAMES[fmt]}: {exc}: convert "
            f"it first, e.g. image.convert('RGB')"
        ) from exc
    data = buffer.getvalue()
    ctx.check_size(len(data), what=f" (a {image.width}×{image.height} PIL image as {_IMAGE_NAMES[fmt]})")
    return _data_uri(fmt, data)


def _remaining(stream: BinaryIO, *, already: int) -> int | None:
    """Bytes from where the caller's stream stood to its end, if it can tell without reading; else None."""
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (AttributeError, OSError, ValueError):
        return None
    return max(end - here, 0) + already


class _TextModeError(TypeError):
    """A stream's read() returned str: the file was opened in text mode."""


def _read_at_most(stream: BinaryIO, n: int) -> bytes:
    """Up to `n` bytes, fewer only at the end of the stream (raw streams may return short reads, so loop)."""
    chunks: list[bytes] = []
    while n > 0:
        chunk = stream.read(n)
        if isinstance(chunk, str):
            raise _TextModeError
        if not chunk:
            break
        chunks.append(bytes(chunk))
        n -= len(chunk)
    return b"".join(chunks)


def _bare_base64_hint(text: str) -> str:
    """Base64 of an image passed without the data URI prefix is a common slip (it fails as a path): say so."""
    if not _BARE_BASE64.fullmatch(text):
        return ""
    fmt = sniff_image_format(base64.b64decode(text[:24]))
    if fmt is None:
        return ""
    mime = IMAGE_MIME_TYPES.get(fmt, f"image/{fmt}")
    return f" (it looks like base64 of {_a(fmt)} image: pass 'data:{mime};base64,' + the string)"


def _a(fmt: str) -> str:
    """The format's display name with its article, as read aloud: "a PNG", "an SGI", "an ICO"."""
    name = _IMAGE_NAMES[fmt]
    return f"{'an' if name in ('ICO', 'ICNS', 'SGI', 'AVIF', 'SVG') else 'a'} {name}"


def _data_uri(fmt: str, data: bytes) -> str:
    return f"data:{IMAGE_MIME_TYPES[fmt]};base64,{base64.b64encode(data).decode('ascii')}"


def _scheme(value: str) -> str | None:
    """The URI scheme, lower-cased, or None. A one-letter "scheme" is a Windows drive (C:\\...), not a scheme."""
    match = _SCHEME.match(value)
    if match is None or len(match[1]) == 1:
        return None
    return match[1].lower()


def _url_path(url: str, ctx: _Context) -> str:
    """The percent-decoded path of an http(s) URL, without query or fragment; the URL must name a host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ctx.error(f"{ctx.where} is not a valid URL: {exc}") from exc
    if not host:
        raise ctx.error(f"{ctx.where} is not a valid URL: it names no host")
    return unquote(parts.path)


def _extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else ""


def _listing(formats: frozenset[str], order: tuple[str, ...], name: Callable[[str], str]) -> str:
    """The formats in the docs' order (any the order lacks last, sorted), as display names."""
    ordered = [f for f in order if f in formats] + sorted(formats.difference(order))
    return ", ".join(name(f) if f in order else f.upper() for f in ordered)


_UNITS = (("GB", 1024 * _MB), ("MB", _MB), ("KB", 1024), ("bytes", 1))


def _unit(n: int) -> int:
    return next(scale for _, scale in _UNITS if n >= scale or scale == 1)


def _size(n: int) -> str:
    """3145728 → "3 MB", 3565158 → "3.4 MB", 2048 → "2 KB", 100 → "100 bytes" (1 MB = 1024², as in the catalog)."""
    scale = _unit(n)
    name = next(name for name, s in _UNITS if s == scale)
    return f"{n // scale} {name}" if n % scale == 0 else f"{n / scale:.1f} {name}"


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, IsADirectoryError):
        return "it is a directory, not a file"
    if isinstance(exc, NotADirectoryError):
        return "a part of the path is not a directory"
    return exc.strerror or str(exc)
