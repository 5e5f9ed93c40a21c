"""The transport's own connection pools over real sockets: what the unit tests' injected clients cannot show."""

from __future__ import annotations

import http.server
import threading
from typing import Any

import pytest
from pydantic import SecretStr

from dashscope_embeddings.errors import APIError
from dashscope_embeddings.regions import resolve_endpoint
from dashscope_embeddings.transport import RetryPolicy, Transport


def test_owned_pool_sends_the_key_and_refuses_redirects_over_sockets() -> None:
    """The owned pool path (no injected client) end to end against a tiny local server."""
    seen: list[dict[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            seen.append(dict(self.headers))
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        endpoint = resolve_endpoint(base_url=f"http://127.0.0.1:{server.server_port}/api/v1", env={})
        transport = Transport(endpoint, SecretStr("sk-pool"), retry=RetryPolicy(max_retries=0))
        with pytest.raises(APIError) as info:
            transport.send("/x", {"a": 1}, lambda raw, rid: raw)
        transport.close()
    finally:
        server.shutdown()
        server.server_close()
    assert info.value.status_code == 302
    assert len(seen) == 1
    assert seen[0]["Authorization"] == "Bearer sk-pool"
    assert seen[0]["Content-Type"] == "application/json"
