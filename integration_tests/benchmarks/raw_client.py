"""The floor: a minimal client with threads and `http.client`, no validation, no retries.

`C` threads each keep one connection and take the next batch from a shared counter; every answer is parsed with
orjson (the fastest parser installed, so the floor is as low as a Python client can make it; or not at all, when the
client only generates load) and its vectors are put back by `text_index`. Nothing a real client needs beyond that:
no checks, no retries, no error types.
"""

from __future__ import annotations

import http.client
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import orjson

__all__ = ["RawResult", "embed_raw"]

TEXT_PATH = "/services/embeddings/text-embedding/text-embedding"


@dataclass
class RawResult:
    vectors: list[list[float] | None]
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def embed_raw(
    base_url: str,
    texts: Sequence[str],
    *,
    model: str,
    dimension: int,
    concurrency: int,
    batch: int = 10,
    api_key: str = "bench",
    parse: bool = True,
) -> RawResult:
    """Embed `texts` against the native API at `base_url` (`http://host:port/api/v1`) with `concurrency` threads."""
    url = urlsplit(base_url)
    path = url.path.rstrip("/") + TEXT_PATH
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    starts = range(0, len(texts), batch)
    result = RawResult(vectors=[None] * len(texts))
    next_index = itertools.count()
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=60)
        try:
            while (index := next(next_index)) < len(starts):
                start = starts[index]
                body = {
                    "model": model,
                    "input": {"texts": list(texts[start : start + batch])},
                    "parameters": {"dimension": dimension, "text_type": "document"},
                }
                connection.request("POST", path, orjson.dumps(body), headers)
                response = connection.getresponse()
                raw = response.read()
                with lock:
                    result.statuses[response.status] = result.statuses.get(response.status, 0) + 1
                if response.status != 200 or not parse:
                    continue
                for item in orjson.loads(raw)["output"]["embeddings"]:
                    result.vectors[start + item["text_index"]] = item["embedding"]
        except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
            with lock:
                result.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(min(concurrency, len(starts)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result
