"""Regions, hosts and how a client decides where to send requests. Pure: no I/O.

DashScope is deployed per region, and API keys are per region (a Singapore key gets 401 in Beijing). Shared hosts:
Singapore `dashscope-intl.aliyuncs.com` (the docs' default), Beijing `dashscope.aliyuncs.com`, Hong Kong
`cn-hongkong.dashscope.aliyuncs.com`, US (Virginia) `dashscope-us.aliyuncs.com`. Every region also has workspace
hosts `{workspace}.{region-id}.maas.aliyuncs.com`, the only documented hosts for Frankfurt and Tokyo.

Precedence, first match wins: explicit `base_url` → explicit `region`/`workspace` → env `DASHSCOPE_HTTP_BASE_URL`
(the SDK's name) → env `DASHSCOPE_API_REGION` / `DASHSCOPE_WORKSPACE_ID` → Singapore.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InputError

__all__ = ["REGIONS", "Endpoint", "Region", "resolve_endpoint", "resolve_region"]

API_PATH = "/api/v1"
WORKSPACE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""The SDK's `validate_workspace_id` pattern."""
_WORKSPACE_FIRST = re.compile(r"[A-Za-z0-9]")
_WORKSPACE_REST = re.compile(r"[A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class Region:
    name: str
    """Our canonical name: singapore, beijing, hongkong, us, frankfurt, tokyo."""
    region_id: str
    """Alibaba Cloud's id, used in workspace hosts and by the SDK (`ap-southeast-1`, …)."""
    label: str
    shared_host: str | None
    """The shared ("legacy") host; None where only workspace hosts exist."""


REGIONS: Mapping[str, Region] = {
    r.name: r
    for r in (
        Region("singapore", "ap-southeast-1", "Singapore", "dashscope-intl.aliyuncs.com"),
        Region("beijing", "cn-beijing", "China (Beijing)", "dashscope.aliyuncs.com"),
        Region("hongkong", "cn-hongkong", "China (Hong Kong)", "cn-hongkong.dashscope.aliyuncs.com"),
        Region("us", "us-east-1", "US (Virginia)", "dashscope-us.aliyuncs.com"),
        Region("frankfurt", "eu-central-1", "Germany (Frankfurt)", None),
        Region("tokyo", "ap-northeast-1", "Japan (Tokyo)", None),
    )
}

_ALIASES = {
    "intl": "singapore",
    "international": "singapore",
    "sg": "singapore",
    "cn": "beijing",
    "china": "beijing",
    "hk": "hongkong",
    "hong-kong": "hongkong",
    "hong_kong": "hongkong",
    "virginia": "us",
    "us-virginia": "us",
    "global": "us",
    "germany": "frankfurt",
    "eu": "frankfurt",
    "japan": "tokyo",
    **{r.region_id: r.name for r in REGIONS.values()},
}


def resolve_region(name: str) -> Region:
    if not isinstance(name, str):
        raise InputError(
            f"region must be a str such as 'singapore', got {type(name).__name__} {name!r}. Use one of "
            f"{', '.join(REGIONS)}, or pass base_url."
        )
    key = name.strip().lower().replace(" ", "-")
    key = _ALIASES.get(key, key)
    if key not in REGIONS:
        raise InputError(
            f"Unknown region {name!r}. Use one of {', '.join(REGIONS)} "
            f"(or an Alibaba Cloud id such as 'ap-southeast-1'), or pass base_url."
        )
    return REGIONS[key]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where requests go: the API root (ending in `/api/v1`), the region if known, and the workspace if any."""

    base_url: str
    region: Region | None
    workspace: str | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def describe(self) -> str:
        where = self.region.label if self.region else "a custom endpoint"
        return f"{where} ({self.host})"


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _region_of_host(host: str) -> Region | None:
    for region in REGIONS.values():
        if host == region.shared_host or host.endswith(f".{region.region_id}.maas.aliyuncs.com"):
            return region
    return None


def _normalise_base_url(url: str, *, allow_insecure_http: bool) -> str:
    if not isinstance(url, str):
        raise InputError(
            f"base_url must be a str, got {type(url).__name__} {url!r}. Pass the API root as text, e.g. "
            f"'https://dashscope-intl.aliyuncs.com/api/v1'."
        )
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        bare = url.strip().rstrip("/")
        # A bare host ("dashscope.aliyuncs.com") is the commonest slip: name the URL that was probably meant.
        meant = f" Did you mean 'https://{bare}'?" if bare and "://" not in bare and " " not in bare else ""
        raise InputError(
            f"base_url {url!r} is not an http(s) URL: it must start with https:// or http:// and name a "
            f"host.{meant} Pass the API root, e.g. "
            f"'https://dashscope-intl.aliyuncs.com/api/v1' or 'http://127.0.0.1:8000/api/v1' for the emulator."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
        raise InputError(
            f"base_url {url!r} uses plain http to a non-loopback host, which would send the API key in clear "
            f"text. Use https, or pass allow_insecure_http=True if this network is trusted."
        )
    path = parts.path.rstrip("/")
    if "compatible-mode" in path:
        raise InputError(
            f"base_url {url!r} is an OpenAI-compatible root; this client speaks the native protocol. "
            f"Use the same host with '{API_PATH}', e.g. '{parts.scheme}://{parts.netloc}{API_PATH}'."
        )
    if path == "":
        path = API_PATH
    return f"{parts.scheme}://{parts.netloc}{path}"


def _check_workspace(workspace: object, source: str) -> None:
    """Refuse anything but a whole-string match of the SDK's pattern.

    `fullmatch`, not `match`: `$` also matches before a trailing newline, so `match` would let "ws-1\\n" through
    into a host name. The message says which character or length breaks the rule, since ids are pasted by hand.
    """
    if not isinstance(workspace, str):
        raise InputError(
            f"{source} must be a str, got {type(workspace).__name__} {workspace!r}. Pass the workspace id as text, "
            f"exactly as the Model Studio console shows it."
        )
    if WORKSPACE_ID.fullmatch(workspace):
        return
    if not workspace:
        problem = "it is empty"
    elif len(workspace) > 64:
        problem = f"it is {len(workspace)} characters long"
    elif not _WORKSPACE_FIRST.fullmatch(workspace[0]):
        problem = f"it starts with {workspace[0]!r}"
    else:
        problem = f"it contains {next(c for c in workspace if not _WORKSPACE_REST.fullmatch(c))!r}"
    raise InputError(
        f"{source} {workspace!r} is not a valid workspace id ({problem}): a workspace id must match "
        f"{WORKSPACE_ID.pattern}, that is 1 to 64 ASCII letters, digits, '_' or '-', starting with a letter or "
        f"digit. Copy the id exactly as the Model Studio console shows it (not the workspace's name or host), or "
        f"leave {source} unset."
    )


def resolve_endpoint(
    *,
    region: str | None = None,
    workspace: str | None = None,
    base_url: str | None = None,
    allow_insecure_http: bool = False,
    env: Mapping[str, str] | None = None,
) -> Endpoint:
    """Decide the API root for a client (see the module docstring for the precedence)."""
    environ = os.environ if env is None else env
    explicit = workspace is not None
    if workspace is None:
        workspace = environ.get("DASHSCOPE_WORKSPACE_ID") or None
    if workspace is not None:
        _check_workspace(workspace, "workspace" if explicit else "DASHSCOPE_WORKSPACE_ID")
    if region is not None:
        resolve_region(region)  # a misspelt region is refused even where base_url decides the host
    if base_url is None and region is None:
        base_url = environ.get("DASHSCOPE_HTTP_BASE_URL") or None
    if base_url is not None:
        url = _normalise_base_url(base_url, allow_insecure_http=allow_insecure_http)
        return Endpoint(url, _region_of_host(urlsplit(url).netloc), workspace)
    chosen = resolve_region(region or environ.get("DASHSCOPE_API_REGION") or "singapore")
    if workspace is not None:
        return Endpoint(f"https://{workspace}.{chosen.region_id}.maas.aliyuncs.com{API_PATH}", chosen, workspace)
    if chosen.shared_host is None:
        raise InputError(
            f"Region {chosen.name!r} ({chosen.label}) is served only through workspace hosts: pass "
            f"workspace='<your workspace id>' (or set DASHSCOPE_WORKSPACE_ID), or pass base_url."
        )
    return Endpoint(f"https://{chosen.shared_host}{API_PATH}", chosen, None)
