from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashscope_embeddings.errors import InputError
from dashscope_embeddings.regions import REGIONS, WORKSPACE_ID, resolve_endpoint, resolve_region


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("singapore", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("intl", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
        ("cn-hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
        ("us", "https://dashscope-us.aliyuncs.com/api/v1"),
        ("us-east-1", "https://dashscope-us.aliyuncs.com/api/v1"),
        ("US", "https://dashscope-us.aliyuncs.com/api/v1"),
    ],
)
def test_shared_hosts(region: str, url: str) -> None:
    assert resolve_endpoint(region=region, env={}).base_url == url


def test_default_is_singapore() -> None:
    endpoint = resolve_endpoint(env={})
    assert endpoint.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"
    assert endpoint.region is REGIONS["singapore"]
    assert endpoint.workspace is None


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("singapore", "ws-1.ap-southeast-1.maas.aliyuncs.com"),
        ("beijing", "ws-1.cn-beijing.maas.aliyuncs.com"),
        ("frankfurt", "ws-1.eu-central-1.maas.aliyuncs.com"),
        ("eu-central-1", "ws-1.eu-central-1.maas.aliyuncs.com"),
        ("tokyo", "ws-1.ap-northeast-1.maas.aliyuncs.com"),
        ("us", "ws-1.us-east-1.maas.aliyuncs.com"),
    ],
)
def test_workspace_hosts(region: str, host: str) -> None:
    endpoint = resolve_endpoint(region=region, workspace="ws-1", env={})
    assert endpoint.base_url == f"https://{host}/api/v1"
    assert endpoint.workspace == "ws-1"


def test_frankfurt_without_workspace_explains() -> None:
    with pytest.raises(InputError, match=r"workspace hosts: pass workspace="):
        resolve_endpoint(region="frankfurt", env={})


def test_unknown_region_lists_choices() -> None:
    with pytest.raises(InputError, match=r"Unknown region 'mars'.*singapore, beijing, hongkong, us"):
        resolve_region("mars")


def test_env_base_url_and_region() -> None:
    env = {"DASHSCOPE_HTTP_BASE_URL": "http://127.0.0.1:8000/api/v1", "DASHSCOPE_API_REGION": "beijing"}
    assert resolve_endpoint(env=env).base_url == "http://127.0.0.1:8000/api/v1"
    assert resolve_endpoint(env={"DASHSCOPE_API_REGION": "cn-beijing"}).base_url == (
        "https://dashscope.aliyuncs.com/api/v1"
    )
    assert resolve_endpoint(env={"DASHSCOPE_WORKSPACE_ID": "abc"}).workspace == "abc"


def test_explicit_settings_beat_env() -> None:
    env = {"DASHSCOPE_HTTP_BASE_URL": "http://127.0.0.1:8000/api/v1", "DASHSCOPE_API_REGION": "beijing"}
    assert resolve_endpoint(region="us", env=env).base_url == "https://dashscope-us.aliyuncs.com/api/v1"
    assert resolve_endpoint(base_url="http://localhost:9/api/v1", env=env).base_url == "http://localhost:9/api/v1"


def test_base_url_region_is_recognised() -> None:
    endpoint = resolve_endpoint(base_url="https://dashscope.aliyuncs.com/api/v1/", env={})
    assert endpoint.base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert endpoint.region is REGIONS["beijing"]
    assert resolve_endpoint(base_url="http://127.0.0.1:8000/api/v1", env={}).region is None


def test_bare_host_gets_api_root() -> None:
    assert resolve_endpoint(base_url="http://127.0.0.1:8000", env={}).base_url == "http://127.0.0.1:8000/api/v1"


@pytest.mark.parametrize("url", ["ftp://example.com/api/v1", "dashscope.aliyuncs.com", "file:///tmp/x", ""])
def test_non_http_base_url_is_refused(url: str) -> None:
    with pytest.raises(InputError, match="is not an http"):
        resolve_endpoint(base_url=url, env={})


def test_plain_http_only_on_loopback_unless_allowed() -> None:
    with pytest.raises(InputError, match="plain http to a non-loopback host"):
        resolve_endpoint(base_url="http://10.0.0.5:8000/api/v1", env={})
    url = resolve_endpoint(base_url="http://10.0.0.5:8000/api/v1", allow_insecure_http=True, env={}).base_url
    assert url == "http://10.0.0.5:8000/api/v1"
    for host in ("127.0.0.1", "localhost", "[::1]", "127.3.4.5"):
        assert resolve_endpoint(base_url=f"http://{host}:1/api/v1", env={}).host == f"{host}:1"


def test_compatible_mode_root_is_refused_with_the_fix() -> None:
    with pytest.raises(InputError, match=r"'https://dashscope-intl.aliyuncs.com/api/v1'"):
        resolve_endpoint(base_url="https://dashscope-intl.aliyuncs.com/compatible-mode/v1", env={})


@pytest.mark.parametrize("workspace", ["", "-ws", "ws.1", "a" * 65, "ws 1", "ws/1", "wś", "ws-1\n", "\nws"])
def test_bad_workspace_ids_are_refused(workspace: str) -> None:
    with pytest.raises(InputError, match="not a valid workspace id"):
        resolve_endpoint(workspace=workspace, env={})


@pytest.mark.parametrize(
    ("workspace", "problem"),
    [
        ("", "it is empty"),
        ("-ws", "it starts with '-'"),
        ("a" * 65, "it is 65 characters long"),
        ("ws.1", "it contains '.'"),
        ("ws-1\n", "it contains '\\n'"),
    ],
)
def test_a_bad_workspace_id_is_explained(workspace: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        resolve_endpoint(workspace=workspace, env={})
    assert str(caught.value) == (
        f"workspace {workspace!r} is not a valid workspace id ({problem}): a workspace id must match "
        f"{WORKSPACE_ID.pattern}, that is 1 to 64 ASCII letters, digits, '_' or '-', starting with a letter or "
        f"digit. Copy the id exactly as the Model Studio console shows it (not the workspace's name or host), or "
        f"leave workspace unset."
    )


def test_a_bad_workspace_id_from_the_environment_names_the_variable() -> None:
    with pytest.raises(InputError, match=r"^DASHSCOPE_WORKSPACE_ID 'ws\.1' is not a valid.*leave DASHSCOPE_WORKSP"):
        resolve_endpoint(env={"DASHSCOPE_WORKSPACE_ID": "ws.1"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"workspace": 7}, r"^workspace must be a str, got int 7\. Pass the workspace id as text"),
        ({"base_url": 8000}, r"^base_url must be a str, got int 8000\. Pass the API root as text"),
        ({"region": 1}, r"^region must be a str such as 'singapore', got int 1\. Use one of singapore"),
    ],
)
def test_settings_of_the_wrong_type_are_refused(settings: dict[str, object], message: str) -> None:
    with pytest.raises(InputError, match=message):
        resolve_endpoint(env={}, **settings)  # type: ignore[arg-type]


def test_an_unknown_region_is_refused_even_beside_base_url() -> None:
    with pytest.raises(InputError, match=r"Unknown region 'mars'"):
        resolve_endpoint(region="mars", base_url="https://dashscope.aliyuncs.com/api/v1", env={})
    endpoint = resolve_endpoint(region="beijing", base_url="http://127.0.0.1:8000/api/v1", env={})
    assert endpoint.base_url == "http://127.0.0.1:8000/api/v1"


def test_a_bare_host_is_answered_with_the_url_it_probably_meant() -> None:
    with pytest.raises(InputError, match=r"Did you mean 'https://dashscope\.aliyuncs\.com/api/v1'\?"):
        resolve_endpoint(base_url="dashscope.aliyuncs.com/api/v1/", env={})
    with pytest.raises(InputError) as caught:
        resolve_endpoint(base_url="ftp://example.com/api/v1", env={})
    assert "Did you mean" not in str(caught.value)


@given(st.from_regex(WORKSPACE_ID, fullmatch=True), st.sampled_from(sorted(REGIONS)))
def test_any_valid_workspace_builds_its_host(workspace: str, region: str) -> None:
    endpoint = resolve_endpoint(region=region, workspace=workspace, env={})
    assert endpoint.base_url == f"https://{workspace}.{REGIONS[region].region_id}.maas.aliyuncs.com/api/v1"
    assert endpoint.region is REGIONS[region]


@given(st.sampled_from(sorted(REGIONS)))
def test_region_round_trips_through_its_host(region: str) -> None:
    r = REGIONS[region]
    if r.shared_host is None:
        return
    endpoint = resolve_endpoint(region=region, env={})
    assert resolve_endpoint(base_url=endpoint.base_url, env={}).region is r
