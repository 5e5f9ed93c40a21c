"""Semantic search: embed a help centre's articles as documents and each question as a query, rank by cosine.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import math

from dashscope_embeddings import TextEmbedder

articles = [
    "To reset your password, open Settings > Account and click Reset password.",
    "Invoices are emailed monthly; download past invoices from the Billing page.",
    "To cancel your subscription, open Billing and click Cancel subscription.",
    "Two-factor authentication asks for a code from your phone; turn it on in Security.",
    "Export your data as CSV or JSON from Settings > Data export.",
]
questions = [
    "How do I reset my password?",
    "Where can I download an old invoice?",
    "How can I cancel my subscription?",
    "How do I turn on two-factor authentication?",
]
# text-embedding-v4 takes an English description of the search task with each query.
INSTRUCT = "Given a customer question, retrieve the help article that answers it"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


with TextEmbedder(model="text-embedding-v4", dimension=1024) as embedder:
    # Stored texts are documents; in production these vectors live in a vector database.
    stored = embedder.embed(articles, text_type="document").embeddings
    # What users type are queries: embedded with text_type="query" and the task instruction.
    asked = embedder.embed(questions, text_type="query", instruct=INSTRUCT).embeddings

for question, query in zip(questions, asked, strict=True):
    ranked = sorted(zip(articles, stored, strict=True), key=lambda pair: cosine(query, pair[1]), reverse=True)
    print(question)
    for article, vector in ranked[:2]:
        print(f"  {cosine(query, vector):6.3f}  {article}")
