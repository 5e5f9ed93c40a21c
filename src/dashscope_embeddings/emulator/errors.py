"""Every error the emulator answers with: status, code and message as the service sends them (api-facts §2).

Each endpoint renders a `ServiceError` in its own shape:

- native (`/api/v1/...`): `{"code", "message", "request_id"}` with a non-2xx status;
- compatible mode (`/compatible-mode/v1/...`): `{"error": {"message", "type", "param", "code"}, "id", "request_id"}`.
  Embedding errors seen from the real service carry the native code as both `type` and `code`
  (`"type":"InvalidParameter","code":"InvalidParameter"`); the few codes the error-code page gives a separate
  compatible-mode name for (`invalid_api_key`, `limit_requests`, `internal_error`, `model_not_supported`) use it.

Parameter errors raised by the model server carry the prefix `<400> InternalError.Algo.InvalidParameter: ` and a
pydantic-style suffix naming the field (`...: input.contents`), as in every real body quoted in the reference notes.
Messages the notes do not quote are written in that same style and marked "emulator's wording" below.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

__all__ = ["ALGO_PREFIX", "ServiceError"]

ALGO_PREFIX = "<400> InternalError.Algo.InvalidParameter: "


class ServiceError(Exception):
    """An error answer. `compat_*` override the compatible-mode type, code and message (default: the native ones)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        compat_type: str | None = None,
        compat_code: str | None = None,
        compat_message: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.compat_type = compat_type
        self.compat_code = compat_code
        self.compat_message = compat_message
        self.headers = headers

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def native_body(self, request_id: str) -> bytes:
        return orjson.dumps({"code": self.code, "message": self.message, "request_id": request_id})

    def compatible_body(self, request_id: str) -> bytes:
        return orjson.dumps(
            {
                "error": {
                    "message": self.compat_message if self.compat_message is not None else self.message,
                    "type": self.compat_type or self.code,
                    "param": None,
                    "code": self.compat_code or self.code,
                },
                "id": request_id,
                "request_id": request_id,
            }
        )

    # --- gateway: authentication and request format -------------------------------------------------------------

    @classmethod
    def no_api_key(cls) -> ServiceError:
        """401 when the Authorization header is missing (batch doc)."""
        return cls(401, "InvalidApiKey", "No API-key provided.", "invalid_request_error", "invalid_api_key")

    @classmethod
    def invalid_api_key(cls) -> ServiceError:
        """401 for a key the service does not know; compatible mode words it as in the doc's own example."""
        return cls(
            401,
            "InvalidApiKey",
            "Invalid API-key provided.",
            "invalid_request_error",
            "invalid_api_key",
            "Incorrect API key provided. ",
        )

    @classmethod
    def illegal_json(cls) -> ServiceError:
        return cls(400, "BadRequest.IllegalInput", "The input parameter requires json format.")

    @classmethod
    def body_invalid(cls) -> ServiceError:
        """A JSON body that is not an object (or `input` that is not an object): the catalogue's generic text."""
        return cls(400, "InvalidParameter", "Required body invalid, please check the request body format.")

    @classmethod
    def empty_model(cls) -> ServiceError:
        return cls(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')

    @classmethod
    def empty_input(cls) -> ServiceError:
        return cls(400, "BadRequest.EmptyInput", "Required input parameter missing from request.")

    @classmethod
    def not_found(cls, path: str) -> ServiceError:
        """Unknown path (emulator's wording; the docs show no gateway 404 body)."""
        return cls(404, "NotFound", f"The requested URL {path} was not found on this server.")

    @classmethod
    def method_not_allowed(cls, method: str) -> ServiceError:
        """Wrong HTTP method (emulator's wording)."""
        return cls(405, "MethodNotAllowed", f"Method {method} is not allowed for this URL.")

    # --- model routing ------------------------------------------------------------------------------------------

    @classmethod
    def model_not_exist(cls) -> ServiceError:
        return cls(400, "InvalidParameter", "Model not exist.")

    @classmethod
    def wrong_endpoint(cls) -> ServiceError:
        """A model posted to an endpoint of the other kind. Quoted for a text model on the multimodal endpoint
        (HKUDS/DeepTutor#660); the emulator answers the same way for the reverse mistake."""
        return cls(400, "InvalidParameter", "url error, please check url！")

    @classmethod
    def not_in_compatible_mode(cls, model: str) -> ServiceError:
        """Compatible mode serves text embeddings only (seed spec §1.8); error-code page wording."""
        return cls(
            404,
            "ModelNotFound",
            f"Unsupported model {model} for OpenAI compatibility mode.",
            "invalid_request_error",
            "model_not_supported",
        )

    @classmethod
    def sync_not_supported(cls) -> ServiceError:
        """A batch-only model (text-embedding-async-*) called without `X-DashScope-Async: enable`."""
        return cls(403, "AccessDenied", "current user api does not support synchronous calls.")

    @classmethod
    def async_not_supported(cls) -> ServiceError:
        """A synchronous-only model called with `X-DashScope-Async: enable`."""
        return cls(403, "AccessDenied", "Current user api does not support asynchronous calls.")

    # --- jobs: text-embedding-async tasks and the Batch API -------------------------------------------------------

    @classmethod
    def invalid_url(cls) -> ServiceError:
        """A task's `input.url` that is not an http(s) URL: the catalogue's text for a bad URL."""
        return cls(
            400,
            "InvalidParameter",
            "The provided URL does not appear to be valid. Ensure it is correctly formatted.",
        )

    @classmethod
    def too_many_tasks(cls, limit: int) -> ServiceError:
        """Over the 50 queued-or-running tasks per account (api-facts §3; emulator's wording, the answer to this
        case is not documented)."""
        return cls(429, "Throttling", f"Too many tasks queued or running: at most {limit} per account.")

    @classmethod
    def cancel_not_pending(cls) -> ServiceError:
        """Cancelling a task that is not PENDING (only PENDING tasks can be cancelled, api-facts §5). The wording
        is the one the service is reported to use; not confirmed by the reference notes."""
        return cls(
            400,
            "UnsupportedOperation",
            "Failed to cancel the task, please confirm if the task is in PENDING status.",
        )

    @classmethod
    def invalid_request(cls, message: str, status: int = 400, code: str = "invalid_request_error") -> ServiceError:
        """A Batch API (files, batches) refusal in OpenAI's style: `type` invalid_request_error (emulator's wording
        unless quoted)."""
        return cls(status, code, message, "invalid_request_error", code)

    # --- model server: parameter values -------------------------------------------------------------------------

    @classmethod
    def algo(cls, detail: str) -> ServiceError:
        return cls(400, "InvalidParameter", ALGO_PREFIX + detail)

    @classmethod
    def batch_too_large(cls, limit: int) -> ServiceError:
        return cls.algo(f"Value error, batch size is invalid, it should not be larger than {limit}.: input.contents")

    @classmethod
    def not_strings(cls) -> ServiceError:
        return cls.algo("Value error, contents is neither str nor list of str.: input.contents")

    @classmethod
    def input_length(cls, max_tokens: int) -> ServiceError:
        return cls.algo(f"Range of input length should be [1, {max_tokens}]")

    @classmethod
    def dimension_invalid(cls, listed: Sequence[int]) -> ServiceError:
        """Quoted as seen for text-embedding-v4, typo ("shold") and wrong model name ("v3") included."""
        values = ", ".join(str(d) for d in listed)
        return cls.algo(f"Value error, dimension for embedding v3 is invalid, its value shold be in [{values}]")

    @classmethod
    def dimension_not_supported(cls, model: str) -> ServiceError:
        """`dimension` sent to a model with one fixed size (v1/v2; emulator's wording)."""
        return cls.algo(f"Value error, dimension is not supported by {model}.: parameters.dimension")

    @classmethod
    def not_an_integer(cls, location: str) -> ServiceError:
        """pydantic's message for a non-integer (emulator's wording)."""
        return cls.algo(f"Input should be a valid integer: {location}")

    @classmethod
    def not_a_string(cls, location: str) -> ServiceError:
        """pydantic's message for a non-string (emulator's wording)."""
        return cls.algo(f"Input should be a valid string: {location}")

    @classmethod
    def not_one_of(cls, location: str, allowed: Sequence[str]) -> ServiceError:
        """pydantic's message for a value outside a Literal (emulator's wording)."""
        quoted = [f"'{a}'" for a in allowed]
        choices = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
        return cls.algo(f"Input should be {choices}: {location}")

    @classmethod
    def sparse_not_supported(cls, model: str) -> ServiceError:
        """Sparse output asked of a model without it (only v3/v4 have it, seed spec; emulator's wording)."""
        return cls.algo(f"Value error, sparse embedding is not supported by {model}.: parameters.output_type")

    @classmethod
    def instruct_not_supported(cls, model: str) -> ServiceError:
        """`instruct` on a model without instructions (emulator's wording)."""
        return cls.algo(f"Value error, instruct is not supported by {model}.: parameters.instruct")

    @classmethod
    def instruct_needs_query(cls) -> ServiceError:
        """`instruct` without `text_type=query`: the docs say it only applies to queries (emulator's wording)."""
        return cls.algo("Value error, instruct requires text_type to be 'query'.: parameters.instruct")

    # --- faults -------------------------------------------------------------------------------------------------

    @classmethod
    def throttled(cls, retry_after: int) -> ServiceError:
        """429 as seen on the native text-embedding URL (langgenius/dify#11694); compatible name `limit_requests`."""
        return cls(
            429,
            "Throttling.RateQuota",
            "Requests rate limit exceeded, please try again later.",
            "limit_requests",
            "limit_requests",
            "You exceeded your current requests list.",
            headers=(("retry-after", str(retry_after)),),
        )

    @classmethod
    def throttling(cls) -> ServiceError:
        """429 with the plain `Throttling` code, worded as on the error-code page (api-facts §2), which names no
        quota and gives it no compatible-mode name, so `Throttling` serves as both type and code there.

        No `Retry-After`: whether the service sends one with this code is not documented, and a header the service
        may never send would hide a client that relies on it; without one the client falls back to its own backoff.
        """
        return cls(429, "Throttling", "Requests throttling triggered.")

    @classmethod
    def internal(cls) -> ServiceError:
        """500 exactly as the error-code page words it ("occured" included)."""
        return cls(
            500,
            "InternalError",
            "An internal error has occured, please try again later or contact service support.",
            "internal_error",
            "internal_error",
        )
