"""What both framework adapters do with their pydantic state, whichever framework is installed.

The LangChain and LlamaIndex adapters are pydantic models holding a key and live HTTP clients. A key given as `str`
is wrapped before pydantic can quote it in an error, and a deep copy shares the injected clients instead of trying
to copy their locks and sockets. Framework-free, so neither adapter module imports the other's framework.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

__all__ = ["deep_copy", "masked_key"]

_KEY_ARGUMENTS = ("api_key", "dashscope_api_key")
_CLIENTS = ("http_client", "http_async_client")


def masked_key(data: dict[str, Any]) -> None:
    """Wrap a key given as `str` in `SecretStr` before pydantic sees it: a validator's error quotes its whole input
    (`input_value={'api_key': ...}`), and a traceback with locals shows the arguments of every frame."""
    for name in _KEY_ARGUMENTS:
        if isinstance(data.get(name), str):
            data[name] = SecretStr(data[name])


def deep_copy(model: BaseModel, memo: dict[int, Any] | None) -> Any:
    """A deep copy with the same settings and key that builds an embedder (so connection pools) of its own on first
    use; injected HTTP clients are shared, as their locks and sockets cannot be copied."""
    memo = {} if memo is None else memo
    for name in _CLIENTS:
        client = model.__dict__[name]
        memo[id(client)] = client
    shallow = model.model_copy()
    setattr(shallow, "_embedder", None)  # noqa: B010  # a private attribute every adapter declares
    return BaseModel.__deepcopy__(shallow, memo)
