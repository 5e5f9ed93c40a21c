"""Bad input is refused before anything is sent; service errors arrive typed, with DashScope's code and request id."""

from dashscope_embeddings import TextEmbedder
from dashscope_embeddings.errors import APIError, InputError

embedder = TextEmbedder(model="text-embedding-v4")

try:
    embedder.embed(["a fine text", "   "])
except InputError as error:
    print(f"refused before sending (input {error.index}): {error}")

try:
    embedder.embed(["x"], dimension=300)
except InputError as error:
    print(f"refused before sending: {error}")

try:
    embedder.embed(["a document"], text_type="document", instruct="Given a question, retrieve passages")
except InputError as error:
    print(f"refused before sending: {error}")

try:
    result = embedder.embed(["hello"])
    print(f"embedded: request ids {result.request_ids}")
except APIError as error:
    # e.g. AuthenticationError (401) names the region and host used: keys are per region.
    print(type(error).__name__, error.code, error.status_code, error.request_id)
