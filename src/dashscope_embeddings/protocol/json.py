"""JSON in and out, strict about numbers.

orjson (a dependency on CPython: several times faster on embedding payloads, and it already refuses NaN/Infinity and
overflowing literals); otherwise the standard library, configured to refuse them too, so a non-finite number in a
vector is a parse error on both paths rather than a silently poisoned vector.
"""

from __future__ import annotations

import json
import math
from typing import Any

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only without the optional dependency
    orjson = None  # type: ignore[assignment]

__all__ = ["JSONDecodeError", "dumps", "loads"]


class JSONDecodeError(ValueError):
    """The body is not JSON, or carries a non-finite number."""


def _reject_constant(name: str) -> Any:
    raise JSONDecodeError(f"non-finite number {name} in JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONDecodeError(f"number {text} overflows a double")
    return value


def loads(data: bytes) -> Any:
    try:
        if orjson is not None:
            return orjson.loads(data)
        return json.loads(data, parse_constant=_reject_constant, parse_float=_finite_float)
    except JSONDecodeError:
        raise
    except ValueError as exc:  # orjson.JSONDecodeError and json.JSONDecodeError are ValueErrors
        raise JSONDecodeError(str(exc)) from exc


def dumps(obj: Any) -> bytes:
    if orjson is not None:
        return orjson.dumps(obj)
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
