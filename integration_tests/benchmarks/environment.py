"""What a run was measured on: the machine, how busy it was, and the versions of every tool's distribution."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from importlib import metadata

__all__ = ["DISTRIBUTIONS", "Environment"]

DISTRIBUTIONS = (
    "dashscope-embeddings",
    "dashscope",
    "langchain-community",
    "llama-index-embeddings-dashscope",
    "langchain-openai",
    "openai",
    "langchain-core",
    "llama-index-core",
    "httpx",
    "orjson",
    "uvicorn",
)


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


@dataclass(frozen=True, slots=True)
class Environment:
    started: str
    python: str
    machine: str
    cpus: int
    load_before: tuple[float, float, float]
    versions: dict[str, str]

    @classmethod
    def capture(cls) -> Environment:
        return cls(
            started=time.strftime("%Y-%m-%d %H:%M %Z"),
            python=platform.python_version(),
            machine=f"{platform.system()} {platform.machine()}",
            cpus=os.cpu_count() or 0,
            load_before=os.getloadavg(),
            versions={name: _version(name) for name in DISTRIBUTIONS},
        )

    def describe(self) -> str:
        load = ", ".join(f"{value:.2f}" for value in self.load_before)
        after = ", ".join(f"{value:.2f}" for value in os.getloadavg())
        versions = ", ".join(f"{name} {version}" for name, version in self.versions.items())
        return (
            f"{self.started}; Python {self.python}, {self.machine}, {self.cpus} CPUs; "
            f"load average {load} before, {after} after\n{versions}"
        )
