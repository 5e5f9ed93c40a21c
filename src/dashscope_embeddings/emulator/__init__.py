"""A local DashScope (Alibaba Cloud Model Studio) embedding service: the test oracle and offline backend.

It speaks the native text-embedding protocol (`/api/v1/services/embeddings/text-embedding/text-embedding`), the
multimodal one (`/api/v1/services/embeddings/multimodal-embedding/multimodal-embedding`) and the OpenAI-compatible
one (`/compatible-mode/v1/embeddings`), runs bulk jobs (text-embedding-async tasks under `/api/v1/tasks`, the Batch
API under `/compatible-mode/v1/files` and `/batches`, with its own object storage for their files), validates
requests the way the reference docs say the service does, answers with deterministic lexical vectors, and injects
faults on demand. See `docs/emulator.md`.

```python
import httpx
from dashscope_embeddings.emulator import Emulator, Faults, ServedEmulator

emu = Emulator(faults=Faults(error_rate=0.1, seed=1))
client = httpx.Client(transport=emu.transport(), base_url="http://emulator/api/v1")
with ServedEmulator(emu) as served:
    print(served.base_url)
```

It shares only the catalog and the value types with the client package, never its protocol code, so it can judge
that code independently.
"""

from .core import Emulator, Reply
from .faults import Faults
from .job_settings import JobFaults, JobTiming
from .records import RecordedRequest, Stats
from .server import ServedEmulator, serve

__all__ = [
    "Emulator",
    "Faults",
    "JobFaults",
    "JobTiming",
    "RecordedRequest",
    "Reply",
    "ServedEmulator",
    "Stats",
    "serve",
]
