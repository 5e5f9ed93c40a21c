"""Alibaba Cloud Model Studio (DashScope) embeddings for LangChain and LlamaIndex.

```python
from dashscope_embeddings import TextEmbedder
result = TextEmbedder(model="text-embedding-v4", dimension=1024).embed(["a", "b"], text_type="document")
```
`MultimodalEmbedder` does the same for text, images, videos and fused items. Framework adapters live in
`dashscope_embeddings.langchain` and `dashscope_embeddings.llama_index`.
"""

from ._version import __version__
from .catalog import MODELS, ModelSpec, get_model
from .errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ContentInspectionError,
    DashScopeError,
    InputError,
    JobError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from .jobs import BatchJobs, PollSchedule, TextEmbeddingTasks
from .multimodal import MultimodalEmbedder
from .ratelimit import RateLimit
from .text import TextEmbedder
from .transport import RetryPolicy
from .types import EmbeddingResult, OutputType, PartialResult, SparseVector, TextType, Usage

__all__ = [
    "MODELS",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "BatchJobs",
    "ContentInspectionError",
    "DashScopeError",
    "EmbeddingResult",
    "InputError",
    "JobError",
    "JobTimeoutError",
    "ModelSpec",
    "MultimodalEmbedder",
    "NotFoundError",
    "OutputType",
    "PartialResult",
    "PermissionDeniedError",
    "PollSchedule",
    "RateLimit",
    "RateLimitError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "SparseVector",
    "TextEmbedder",
    "TextEmbeddingTasks",
    "TextType",
    "Usage",
    "__version__",
    "get_model",
]
