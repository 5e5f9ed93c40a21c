from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dashscope-embeddings")
except PackageNotFoundError:  # pragma: no cover - running from a source tree that was never installed
    __version__ = "0.0.0"
