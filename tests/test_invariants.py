"""Properties that hold for any input, checked end to end through the embedders (hypothesis).

The unit tests of each layer check their own invariants (the planner in test_batching, reassembly of one answer in
test_protocol, sparse merging in test_hybrid, hosts in test_regions). These check that the layers compose: whatever
the texts, the request sizes, the concurrency and the order answers come back in, a call returns exactly the oracle's
vector for each input, in input order, and the three ways of calling agree.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dashscope_embeddings import MultimodalEmbedder, TextEmbedder
from dashscope_embeddings.emulator import Emulator, Faults
from dashscope_embeddings.errors import InputError
from dashscope_embeddings.regions import REGIONS, WORKSPACE_ID, resolve_endpoint
from dashscope_embeddings.transport import RetryPolicy

FAST_RETRY = RetryPolicy(initial_delay=0.001, max_delay=0.002)

texts_strategy = st.lists(
    st.text(min_size=1, max_size=60).filter(lambda text: text.strip() != ""),
    min_size=1,
    max_size=45,
)


def connect(emu: Emulator) -> dict[str, Any]:
    return {
        "api_key": "sk-test",
        "base_url": "http://emulator.test/api/v1",
        "allow_insecure_http": True,
        "retry": FAST_RETRY,
        "http_client": httpx.Client(transport=emu.transport()),
        "http_async_client": httpx.AsyncClient(transport=emu.async_transport()),
    }


@settings(max_examples=40, deadline=None)
@given(
    texts=texts_strategy,
    dimension=st.sampled_from([64, 256, 1024]),
    concurrency=st.integers(1, 8),
    seed=st.integers(0, 2**16),
    faulty=st.booleans(),
)
def test_any_texts_come_back_as_the_oracle_vectors_in_order(
    texts: list[str], dimension: int, concurrency: int, seed: int, faulty: bool
) -> None:
    """Answers arrive shuffled within each request, and (when `faulty`) some requests fail and are retried."""
    faults = Faults(shuffle=True, seed=seed, error_rate=0.2 if faulty else 0.0, missing_rate=0.1 if faulty else 0.0)
    emu = Emulator(faults=faults)
    connection = connect(emu)
    connection["retry"] = RetryPolicy(max_retries=12, initial_delay=0.0001, max_delay=0.0002)
    embedder = TextEmbedder("text-embedding-v4", dimension=dimension, max_concurrency=concurrency, **connection)
    expected = [emu.expected_embedding(text, model="text-embedding-v4", dimension=dimension) for text in texts]

    async def both_async() -> tuple[list[list[float]], list[list[float]]]:
        listed = (await embedder.aembed(texts)).embeddings
        streamed = [vector async for result in embedder.aembed_stream(iter(texts)) for vector in result.embeddings]
        return listed, streamed

    assert embedder.embed(texts).embeddings == expected
    assert [vector for result in embedder.embed_stream(iter(texts)) for vector in result.embeddings] == expected
    assert asyncio.run(both_async()) == (expected, expected)


@settings(max_examples=25, deadline=None)
@given(
    words=st.lists(st.text(alphabet="abcdefghij ", min_size=1, max_size=20).filter(str.strip), min_size=1, max_size=50),
    images=st.lists(st.booleans(), min_size=50, max_size=50),
    seed=st.integers(0, 2**16),
)
def test_any_multimodal_items_come_back_in_order(words: list[str], images: list[bool], seed: int) -> None:
    """Texts and image URLs mixed, packed into requests by the planner, answered in a shuffled order."""
    model = "tongyi-embedding-vision-flash"
    items: list[dict[str, str]] = [
        {"image": f"https://example.com/{word.strip().replace(' ', '-')}.png"} if image else {"text": word}
        for word, image in zip(words, images, strict=False)
    ]
    emu = Emulator(faults=Faults(shuffle=True, seed=seed))
    # One request at a time, so the emulator's log is in plan order (the text test above covers concurrency).
    embedder = MultimodalEmbedder(model, max_concurrency=1, **connect(emu))
    result = embedder.embed(items)
    # The oracle answers one request at a time: replay the requests the embedder sent.
    expected = [
        vector
        for record in emu.requests
        for vector in emu.expected_multimodal_embedding(record.body["input"]["contents"], model=model)
    ]
    assert result.embeddings == expected
    sent = [content for record in emu.requests for content in record.body["input"]["contents"]]
    assert sent == items  # every item once, in order: so the vectors above are the items' own
    assert asyncio.run(embedder.aembed(items)).embeddings == expected


ENV_NAMES = ("DASHSCOPE_HTTP_BASE_URL", "DASHSCOPE_API_REGION", "DASHSCOPE_WORKSPACE_ID")
shared_regions = sorted(name for name, region in REGIONS.items() if region.shared_host)
workspaces = st.from_regex(WORKSPACE_ID, fullmatch=True)


@given(
    base_url=st.none() | st.just("https://proxy.example.com/api/v1"),
    region=st.none() | st.sampled_from(shared_regions),
    workspace=st.none() | workspaces,
    env_base_url=st.none() | st.just("http://127.0.0.1:8000/api/v1"),
    env_region=st.none() | st.sampled_from(shared_regions),
    env_workspace=st.none() | workspaces,
)
def test_the_documented_precedence_always_decides_the_host(
    base_url: str | None,
    region: str | None,
    workspace: str | None,
    env_base_url: str | None,
    env_region: str | None,
    env_workspace: str | None,
) -> None:
    """base_url → region/workspace → DASHSCOPE_HTTP_BASE_URL → DASHSCOPE_API_REGION/WORKSPACE_ID → Singapore."""
    env = {
        name: value
        for name, value in zip(ENV_NAMES, (env_base_url, env_region, env_workspace), strict=True)
        if value is not None
    }
    endpoint = resolve_endpoint(base_url=base_url, region=region, workspace=workspace, env=env)
    chosen_workspace = workspace if workspace is not None else env_workspace
    if base_url is not None:
        expected = base_url
    elif region is None and env_base_url is not None:
        expected = env_base_url
    else:
        chosen = REGIONS[region or env_region or "singapore"]
        if chosen_workspace is not None:
            expected = f"https://{chosen_workspace}.{chosen.region_id}.maas.aliyuncs.com/api/v1"
        else:
            expected = f"https://{chosen.shared_host}/api/v1"
    assert endpoint.base_url == expected
    assert endpoint.workspace == chosen_workspace


@given(st.text(max_size=70).filter(lambda text: WORKSPACE_ID.fullmatch(text) is None))
def test_any_workspace_id_outside_the_pattern_is_refused(workspace: str) -> None:
    with pytest.raises(InputError, match="workspace"):
        resolve_endpoint(workspace=workspace, env={})


@given(
    host=st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,20}){1,3}", fullmatch=True),
    port=st.none() | st.integers(1, 65535),
)
def test_plain_http_is_refused_for_any_remote_host_unless_allowed(host: str, port: int | None) -> None:
    url = f"http://{host}{f':{port}' if port else ''}/api/v1"
    with pytest.raises(InputError, match="allow_insecure_http"):
        resolve_endpoint(base_url=url, env={})
    assert resolve_endpoint(base_url=url, allow_insecure_http=True, env={}).base_url == url
