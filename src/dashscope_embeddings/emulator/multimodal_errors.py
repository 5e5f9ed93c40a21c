"""The errors only the multimodal endpoint answers with (the shared ones live in `errors.ServiceError`).

Quoted where a real answer or the error-code page gives the text (api-facts §2; the error-code page's multimodal
section), otherwise written in the model server's style (`<400> InternalError.Algo.InvalidParameter: ...`, the
field after the colon) and marked "emulator's wording". Every message is a choice the client is tested against,
so each one says which limit or rule it enforces.
"""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ServiceError

__all__ = [
    "contents_not_a_list",
    "dimension_invalid",
    "fusion_not_supported",
    "image_too_large",
    "invalid_url",
    "modality_repeated",
    "not_a_boolean",
    "not_a_modal",
    "not_a_number",
    "out_of_range",
    "parameter_not_supported",
    "too_many_images",
    "too_many_images_in_item",
    "too_many_videos",
    "undecodable_image",
    "unsupported_format",
    "video_url_only",
]


def invalid_url() -> ServiceError:
    """An image that is neither an http(s) URL nor a base64 data URI (also: invalid base64). Quoted in full from
    real answers and the error-code page ("URLs must start with http://, https:// or data:")."""
    return ServiceError.algo("The provided URL does not appear to be valid. Ensure it is correctly formatted.")


def not_a_modal() -> ServiceError:
    """A content item that is not a text string or an object keyed by text/image/video. The error-code page's text
    for a DashScope multimodal `content` item with another key."""
    return ServiceError.algo("The item of content should be a message of a certain modal.")


def image_too_large(limit: int) -> ServiceError:
    """A data-URI image over the model's size limit. Code and wording as observed for an oversized data URI
    (`{"code":"BadRequest.TooLarge","message":"Exceeded limit on max bytes per data-uri item : 20971520"}`); the
    number is the catalog's limit for the model (its decoded size, `MediaLimits.image_bytes`)."""
    return ServiceError(400, "BadRequest.TooLarge", f"Exceeded limit on max bytes per data-uri item : {limit}")


def undecodable_image() -> ServiceError:
    """Decoded bytes that start with no known image signature (error-code page wording)."""
    return ServiceError.algo("Failed to decode the image during the data inspection.")


def unsupported_format() -> ServiceError:
    """An image or video format the model does not list, by data-URI type, sniffed bytes or URL extension, or a
    data URI whose declared type differs from its bytes (error-code page wording: "not supported or incorrect")."""
    return ServiceError.algo("The media format is not supported or incorrect for the data inspection.")


def contents_not_a_list() -> ServiceError:
    """`input.contents` that is not a JSON array (pydantic's message; emulator's wording)."""
    return ServiceError.algo("Input should be a valid list: input.contents")


def not_a_number(location: str) -> ServiceError:
    """pydantic's message for a non-number (emulator's wording)."""
    return ServiceError.algo(f"Input should be a valid number: {location}")


def not_a_boolean(location: str) -> ServiceError:
    """pydantic's message for a non-boolean (emulator's wording)."""
    return ServiceError.algo(f"Input should be a valid boolean: {location}")


def parameter_not_supported(name: str, model: str) -> ServiceError:
    """A multimodal parameter sent to a model that does not take it (`enable_fusion` off qwen3-vl-embedding,
    `res_level`/`max_video_frames` off the -2026-03-06 snapshots, ...; emulator's wording)."""
    return ServiceError.algo(f"Value error, {name} is not supported by {model}.: parameters.{name}")


def out_of_range(name: str, low: float, high: float) -> ServiceError:
    """A parameter outside its documented range, in the service's "Range of ... should be [a, b]" style."""
    return ServiceError.algo(f"Range of {name} should be [{low}, {high}]")


def dimension_invalid(allowed: Sequence[int]) -> ServiceError:
    """A dimension the multimodal model does not offer (emulator's wording; the text models' quoted message names
    "embedding v3" and is not reused here)."""
    values = ", ".join(str(d) for d in allowed)
    return ServiceError.algo(
        f"Value error, dimension is invalid, its value should be in [{values}].: parameters.dimension"
    )


def too_many_images(limit: int) -> ServiceError:
    """More images in one request than the model takes (emulator's wording, after the batch-size message)."""
    return ServiceError.algo(
        f"Value error, the number of images is invalid, it should not be larger than {limit}.: input.contents"
    )


def too_many_images_in_item(limit: int) -> ServiceError:
    """More images in one content item than the model takes (emulator's wording)."""
    return ServiceError.algo(
        f"Value error, the number of images in one content item should not be larger than {limit}.: input.contents"
    )


def too_many_videos(limit: int) -> ServiceError:
    """More videos in one request than the model takes (emulator's wording)."""
    return ServiceError.algo(
        f"Value error, the number of videos is invalid, it should not be larger than {limit}.: input.contents"
    )


def fusion_not_supported(model: str) -> ServiceError:
    """Several modalities in one content item for a model that embeds each item independently (emulator's
    wording; seed spec §1.7 lists no fused mode for vision-plus/flash and multimodal-embedding-v1)."""
    return ServiceError.algo(
        f"Value error, {model} does not support fused input; put text, image and video in separate content items."
        ": input.contents"
    )


def modality_repeated(model: str) -> ServiceError:
    """A modality sent twice to a fused-only model (qwen2.5-vl-embedding: "each type at most once", api-facts §4;
    emulator's wording)."""
    return ServiceError.algo(
        f"Value error, {model} accepts each of text, image and video at most once per request.: input.contents"
    )


def video_url_only(location: str) -> ServiceError:
    """A video that is not an http(s) URL: every doc says videos are "URL only" (emulator's wording)."""
    return ServiceError.algo(
        f"Value error, video must be an http or https URL; local and Base64 videos are not supported.: {location}"
    )
