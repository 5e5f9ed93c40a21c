"""Migration: the old packages' constructor arguments on this package's adapters, and what now behaves differently.

Replaces langchain_community.embeddings.DashScopeEmbeddings and llama_index.embeddings.dashscope.DashScopeEmbedding.
The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import os
import warnings

from dashscope_embeddings.errors import InputError
from dashscope_embeddings.langchain import DashScopeEmbeddings
from dashscope_embeddings.llama_index import DashScopeEmbedding

key = os.environ["DASHSCOPE_API_KEY"]
texts = [f"passage number {i} about migration" for i in range(25)]

# langchain-community: `model`, `dashscope_api_key`, `max_retries` are accepted as they are. The key belongs to
# this instance (the old class set it for the whole process). max_retries now counts retries after the first
# attempt: the old 5 attempts are max_retries=4.
langchain = DashScopeEmbeddings(model="text-embedding-v3", dashscope_api_key=key, max_retries=4)
vectors = langchain.embed_documents(texts)  # 3 requests of at most 10 texts (v3's cap), sent concurrently
print(f"LangChain: {len(vectors)} vectors of {len(vectors[0])} dimensions")

# llama-index-embeddings-dashscope: `model_name`, `api_key`, `embed_batch_size`. Its default of 25 is over v3's cap
# of 10, which the service refuses; here it is lowered to the cap, with a warning.
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always", UserWarning)
    llama_index = DashScopeEmbedding(model_name="text-embedding-v3", api_key=key, embed_batch_size=25)
print("warning:", caught[0].message)
print("texts per request:", llama_index.embed_batch_size)
vectors = llama_index.get_text_embedding_batch(texts)  # text_type="document", really sent
query = llama_index.get_query_embedding("What is migration?")  # text_type="query", really sent
print(f"LlamaIndex: {len(vectors)} vectors, a query vector of {len(query)} dimensions")

# Failures raise, with the input index and the fix; there are no None vectors.
try:
    llama_index.get_text_embedding_batch(["a passage", "   "])
except InputError as error:
    print("refused before sending:", error)
