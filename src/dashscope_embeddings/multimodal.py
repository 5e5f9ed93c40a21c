"""`MultimodalEmbedder`: text, images, videos and fused items, framework-free.

An item is one vector:

- a `str` is text (never a file path: a caption that happens to name a file stays a caption);
- an image is a `pathlib.Path` or other path-like, `bytes`, a binary file object (`BytesIO`, an open file) or a PIL
  image, or `{"image": ...}` with any of those or an http(s) URL / data URI;
- a video is `{"video": "https://..."}` (DashScope fetches videos itself: URLs only);
- a fused item is one dict with several of `text`, `image`, `video`, on models that fuse (qwen3-vl-embedding,
  qwen2.5-vl-embedding and the tongyi-embedding-vision-*-2026-03-06 snapshots); on qwen3-vl-embedding, which fuses
  a whole request, `image` and `video` may be lists (up to 5 images and 1 video in one vector).

Every limit of the model (catalog `MediaLimits`) is checked before anything is sent; requests are packed up to the
model's element, image and video caps; vectors come back in item order.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from .catalog import MediaLimits, ModelSpec
from .embedder import DEFAULT_MAX_CONCURRENCY, BaseEmbedder, Request
from .errors import InputError
from .media import image_to_wire, video_to_wire
from .protocol.answers import BatchOutput
from .protocol.multimodal import (
    MULTIMODAL_EMBEDDING_PATH,
    MultimodalParameters,
    build_multimodal_body,
    parse_multimodal_body,
)
from .ratelimit import RateLimit, RateLimiter
from .tokens import get_token_counter, surely_within
from .transport import DEFAULT_TIMEOUT, RetryPolicy
from .types import EmbeddingResult, Usage

if TYPE_CHECKING:
    import httpx

__all__ = ["MODALITIES", "MultimodalEmbedder"]

MODALITIES = ("text", "image", "video")


@dataclass(frozen=True, slots=True)
class _Element:
    """One item as it goes on the wire: usually one content object; several when a fused item lists images or
    videos on a model that fuses a whole request (qwen3-vl-embedding)."""

    contents: tuple[dict[str, str], ...]

    @property
    def fused(self) -> bool:
        return len(self.contents) > 1 or len(self.contents[0]) > 1

    @property
    def images(self) -> int:
        return sum("image" in content for content in self.contents)

    @property
    def videos(self) -> int:
        return sum("video" in content for content in self.contents)


@dataclass(frozen=True, slots=True)
class _Request:
    items: range
    """Consecutive item positions sent together."""
    fused_whole: bool = False
    """The service fuses this request's contents into one vector (qwen3-vl `enable_fusion`, qwen2.5-vl)."""


@dataclass(frozen=True, slots=True)
class _Plan:
    params: MultimodalParameters
    elements: list[_Element]
    requests: list[_Request]
    expected_dimension: int | None
    enable_fusion: bool


def plan_requests(elements: Sequence[_Element], spec: ModelSpec) -> list[_Request]:
    """Pack items, in order, into requests within the model's element, image and video caps.

    A fused item on qwen3-vl-embedding goes alone with `enable_fusion` (which fuses a whole request), and every item
    on qwen2.5-vl-embedding goes alone (it fuses each request's contents).
    """
    media = _media(spec)
    requests: list[_Request] = []
    start = images = videos = 0
    for position, element in enumerate(elements):
        if media.fusion == "fused" or (media.fusion_per_request and element.fused):
            if position > start:
                requests.append(_Request(range(start, position)))
            requests.append(_Request(range(position, position + 1), fused_whole=True))
            start, images, videos = position + 1, 0, 0
            continue
        full = (
            position - start >= spec.max_batch
            or images + element.images > media.max_images
            or videos + element.videos > media.max_videos
        )
        if full and position > start:
            requests.append(_Request(range(start, position)))
            start, images, videos = position, 0, 0
        images += element.images
        videos += element.videos
    if len(elements) > start:
        requests.append(_Request(range(start, len(elements))))
    return requests


def _media(spec: ModelSpec) -> MediaLimits:
    assert spec.media is not None, "multimodal specs carry media limits"
    return spec.media


class MultimodalEmbedder(BaseEmbedder):
    """Embeds text, images, videos and fused items with a DashScope multimodal model.

    ```python
    from pathlib import Path
    emb = MultimodalEmbedder("tongyi-embedding-vision-plus")          # key from DASHSCOPE_API_KEY
    result = emb.embed(["a red car", Path("car.png"), {"video": "https://example.com/clip.mp4"}])
    fused = MultimodalEmbedder("qwen3-vl-embedding", region="beijing").embed(
        [{"text": "the same shirt, more youthful", "image": Path("shirt.jpg")}]
    )
    ```

    Connection settings are those of every embedder (`api_key`, `region`, `workspace`, `base_url`, `timeout`,
    `max_retries` / `retry`, `max_concurrency`, `http_client` / `http_async_client`), and `rate_limit` to pace
    requests to the account's limits (`RateLimit(rpm=..., tpm=...)` or a shared `RateLimiter`).
    """

    kind = "multimodal"
    noun = "items"

    def __init__(
        self,
        model: str = "tongyi-embedding-vision-plus",
        *,
        dimension: int | None = None,
        api_key: str | SecretStr | None = None,
        region: str | None = None,
        workspace: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        retry: RetryPolicy | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        http_client: httpx.Client | None = None,
        http_async_client: httpx.AsyncClient | None = None,
        allow_insecure_http: bool = False,
        rate_limit: RateLimit | RateLimiter | None = None,
    ) -> None:
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key  # no plain key in any frame
        super().__init__(
            model,
            dimension=dimension,
            api_key=api_key,
            region=region,
            workspace=workspace,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            max_concurrency=max_concurrency,
            http_client=http_client,
            http_async_client=http_async_client,
            allow_insecure_http=allow_insecure_http,
            rate_limit=rate_limit,
        )
        self.media = _media(self.spec)

    # -- validation (pure) ---------------------------------------------------------------------------------------

    def _element(self, item: Any, index: int) -> _Element:
        if isinstance(item, str):
            parts: dict[str, Any] = {"text": item}
        elif isinstance(item, Mapping):
            parts = dict(item)
        elif _is_image_source(item):
            parts = {"image": item}
        elif item is None:
            raise InputError(
                f"items[{index}] is None, which has no embedding: remove it, or pass text (str), an image (path, "
                f"bytes, file object or PIL image) or a dict with 'text', 'image' and/or 'video'.",
                index=index,
            )
        else:
            raise InputError(
                f"items[{index}] is {type(item).__name__}: pass text (str), an image (path, bytes, file object or "
                f"PIL image) or a dict with 'text', 'image' and/or 'video'.",
                index=index,
            )
        if not parts:
            raise InputError(f"items[{index}] is an empty dict: give it 'text', 'image' and/or 'video'.", index=index)
        unknown = [key for key in parts if key not in MODALITIES]
        if unknown:
            raise InputError(
                f"items[{index}] has unknown modality {unknown[0]!r}: use 'text', 'image' and/or 'video'.", index=index
            )
        listed = [key for key in ("image", "video") if isinstance(parts.get(key), (list, tuple))]
        if len(parts) > 1 or listed:
            self._check_fusable(parts, listed, index)
        if not listed:
            single = len(parts) == 1 and not isinstance(item, Mapping)
            content = {
                key: self._wire(key, parts[key], f"items[{index}]" if single else f"items[{index}].{key}", index)
                for key in MODALITIES
                if key in parts
            }
            return _Element((content,))
        # Several images or videos fused into one vector: one content object per part, fused by `enable_fusion`.
        contents: list[dict[str, str]] = []
        for key in MODALITIES:
            values = parts.get(key)
            if values is None:
                continue
            if key in listed:
                contents.extend(
                    {key: self._wire(key, v, f"items[{index}].{key}[{n}]", index)} for n, v in enumerate(values)
                )
            else:
                contents.append({key: self._wire(key, values, f"items[{index}].{key}", index)})
        return _Element(tuple(contents))

    def _check_fusable(self, parts: dict[str, Any], listed: list[str], index: int) -> None:
        media, model = self.media, self.model
        if listed and not media.fusion_per_request:
            raise InputError(
                f"items[{index}] lists several {listed[0]}s, but {model} fuses at most one {listed[0]} per item: "
                f"pass one, or use qwen3-vl-embedding, which fuses every part of a request into one vector.",
                index=index,
            )
        if len(parts) > 1 and media.fusion == "independent":
            raise InputError(
                f"items[{index}] combines {' and '.join(parts)}, but {model} cannot fuse modalities into one "
                f"vector: pass them as separate items, or use qwen3-vl-embedding or a -2026-03-06 snapshot.",
                index=index,
            )
        for key in listed:
            if not parts[key]:
                raise InputError(f"items[{index}].{key} is an empty list: give it at least one {key}.", index=index)
        images = len(parts["image"]) if "image" in listed else int("image" in parts)
        videos = len(parts["video"]) if "video" in listed else int("video" in parts)
        for count, cap, what in ((images, media.max_images, "image"), (videos, media.max_videos, "video")):
            if count > cap:
                most = f"{cap} {what}{'s' if cap > 1 else ''}"
                raise InputError(
                    f"items[{index}] has {count} {what}s, but {model} fuses at most {most} into one vector (per "
                    f"request): drop some, or embed them as separate items.",
                    index=index,
                )
        elements = images + videos + int("text" in parts)
        if elements > self.spec.max_batch:
            raise InputError(
                f"items[{index}] has {elements} parts, over {model}'s {self.spec.max_batch} per request: drop some, "
                f"or embed them as separate items.",
                index=index,
            )

    def _wire(self, key: str, value: Any, where: str, index: int) -> str:
        if key == "image":
            return image_to_wire(value, limits=self.media, where=where, model=self.model, index=index)
        if key == "video":
            return video_to_wire(value, limits=self.media, where=where, model=self.model, index=index)
        drop = "drop the key" if where.endswith(".text") else "remove the item"
        if not isinstance(value, str):
            raise InputError(
                f"{where} is {type(value).__name__}, not str: text must be a string. Pass a str, or {drop}.",
                index=index,
            )
        if not value.strip():
            raise InputError(
                f"{where} is empty or only whitespace: the service rejects empty text and it has no meaning to "
                f"embed. Give it text, or {drop}.",
                index=index,
            )
        limit = self.spec.max_tokens
        if not self.media.truncates_text and not surely_within(value, limit):
            count = get_token_counter().count(value)
            if count > limit:
                raise InputError(
                    f"{where} has {count} tokens, over {self.model}'s limit of {limit} tokens per text: shorten it "
                    f"or split it into several items.",
                    index=index,
                )
        return value

    def _plan(
        self,
        items: Any,
        dimension: int | None,
        instruct: str | None,
        res_level: int | None,
        max_video_frames: int | None,
        fps: float | None,
    ) -> _Plan:
        media, model = self.media, self.model
        if instruct is not None:
            if not isinstance(instruct, str) or not instruct.strip():
                raise InputError("instruct must be a non-empty string (an English task description)")
            if not self.spec.instruct:
                raise InputError(f"{model} does not take instruct; qwen3-vl-embedding does.")
        snapshots = "the -2026-03-06 snapshots"
        _check_range("res_level", res_level, 0, 3, media.res_level, model, snapshots)
        _check_range("max_video_frames", max_video_frames, 1, 64, media.max_video_frames, model, snapshots)
        _check_range("fps", fps, 0, 1, media.fps, model, "qwen3-vl-embedding and qwen2.5-vl-embedding")
        chosen = self._check_dimension(dimension) if dimension is not None else self.dimension
        default = self.spec.default_dimension
        # Sent only for a non-default size (see catalog.MULTIMODAL_CHOICES: the docs disagree on which models take it).
        sent = chosen if chosen is not None and chosen != default and self.spec.dimension_parameter else None
        if chosen is not None and chosen != default and not self.spec.dimension_parameter:
            raise InputError(f"{model} has a fixed dimension of {default}.")
        elements = [self._element(item, index) for index, item in enumerate(_as_item_list(items))]
        return _Plan(
            params=MultimodalParameters(
                model=model,
                dimension=sent,
                instruct=instruct,
                res_level=res_level,
                max_video_frames=max_video_frames,
                fps=fps,
            ),
            elements=elements,
            requests=plan_requests(elements, self.spec),
            expected_dimension=chosen or default,
            enable_fusion=media.fusion_per_request,
        )

    # -- running -------------------------------------------------------------------------------------------------

    def _request(self, plan: _Plan, request: _Request) -> Request[BatchOutput]:
        contents = [content for i in request.items for content in plan.elements[i].contents]
        body = build_multimodal_body(plan.params, contents, enable_fusion=request.fused_whole and plan.enable_fusion)
        count = 1 if request.fused_whole else len(contents)
        return body, partial(_parse, count=count, dimension=plan.expected_dimension)

    def embed(
        self,
        items: Any,
        *,
        dimension: int | None = None,
        instruct: str | None = None,
        res_level: int | None = None,
        max_video_frames: int | None = None,
        fps: float | None = None,
    ) -> EmbeddingResult:
        """Embed one item or a sequence of items (see the module docstring); one vector per item, in order.

        `dimension` overrides the embedder's. `instruct` (qwen3-vl-embedding) describes the task in English.
        `res_level` (0–3) and `max_video_frames` (1–64) apply to the -2026-03-06 snapshots, `fps` (0–1) to the
        qwen VL models.
        """
        plan = self._plan(items, dimension, instruct, res_level, max_video_frames, fps)
        spans = [request.items for request in plan.requests]
        return self._embed(
            MULTIMODAL_EMBEDDING_PATH, plan.requests, spans, partial(self._request, plan), partial(_assemble, plan)
        )

    async def aembed(
        self,
        items: Any,
        *,
        dimension: int | None = None,
        instruct: str | None = None,
        res_level: int | None = None,
        max_video_frames: int | None = None,
        fps: float | None = None,
    ) -> EmbeddingResult:
        """Async `embed`: the same checks and result, with requests as tasks on the running event loop."""
        plan = self._plan(items, dimension, instruct, res_level, max_video_frames, fps)
        spans = [request.items for request in plan.requests]
        return await self._aembed(
            MULTIMODAL_EMBEDDING_PATH, plan.requests, spans, partial(self._request, plan), partial(_assemble, plan)
        )


def _is_image_source(item: Any) -> bool:
    if isinstance(item, (os.PathLike, bytes, bytearray, memoryview, io.IOBase)) or hasattr(item, "read"):
        return True
    return type(item).__module__.startswith("PIL.")


def _as_item_list(items: Any) -> list[Any]:
    if isinstance(items, (str, Mapping)) or _is_image_source(items):
        return [items]
    if isinstance(items, Sequence):
        return list(items)
    raise InputError(
        f"items must be an item or a sequence of items, got {type(items).__name__}. Pass one item (text, an image "
        f"or a dict) or a list of them (list(...) turns a set or generator into one)."
    )


def _check_range(name: str, value: float | None, low: float, high: float, allowed: bool, model: str, who: str) -> None:
    if value is None:
        return
    if not allowed:
        raise InputError(f"{model} does not take {name}; it applies to {who}. Drop {name}, or use one of those.")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InputError(
            f"{name} must be between {low:g} and {high:g}, got {value!r}. Pass a number in that range, or None for "
            f"the model's default."
        )


def _parse(raw: bytes, request_id: str | None, *, count: int, dimension: int | None) -> BatchOutput:
    return parse_multimodal_body(raw, count=count, dimension=dimension, request_id=request_id)


def _assemble(plan: _Plan, outputs: list[BatchOutput]) -> EmbeddingResult:
    embeddings: list[list[float]] = []
    usage = Usage()
    request_ids = []
    for output in outputs:
        embeddings.extend(output.embeddings)
        usage = usage + output.usage
        if output.request_id:
            request_ids.append(output.request_id)
    return EmbeddingResult(
        model=plan.params.model,
        embeddings=embeddings,
        usage=usage,
        dimension=len(embeddings[0]) if embeddings else plan.expected_dimension,
        request_ids=request_ids,
    )
