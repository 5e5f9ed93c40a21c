"""Bulk embedding of files: resumable runs (`embed_file`, behind `dashscope-embeddings embed`) and the time and
cost estimates that tell which way to embed a corpus (`estimate`)."""

from .estimates import Way, estimate
from .run import Progress, Summary, embed_file, store_directory
from .sources import Source

__all__ = ["Progress", "Source", "Summary", "Way", "embed_file", "estimate", "store_directory"]
