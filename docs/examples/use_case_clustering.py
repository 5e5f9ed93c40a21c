"""Clustering: group news headlines by topic with scikit-learn's KMeans on their embeddings.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
Needs: pip install "dashscope-embeddings[examples]" (scikit-learn)
"""

import numpy as np
from sklearn.cluster import KMeans

from dashscope_embeddings import TextEmbedder

headlines = [
    "Phone maker unveils a new smartphone with a faster AI chip",
    "Argentina beat France in the football World Cup final",
    "Recipe: a quick tomato soup with fresh basil",
    "Chip maker releases an AI chip for smartphones and laptops",
    "Spain win the European football championship final",
    "Recipe: fresh tomato pasta with basil and garlic",
    "Search company launches an AI assistant for smartphones",
    "Brazil reach the Olympic football final after extra time",
    "Recipe: tomato and basil bruschetta for summer",
]

with TextEmbedder(model="text-embedding-v4", dimension=1024) as embedder:
    # Every headline plays the same role, so all are embedded as documents.
    vectors = np.array(embedder.embed(headlines, text_type="document").embeddings)

# At unit length, the Euclidean distance KMeans uses ranks pairs exactly as cosine similarity does.
vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
labels = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(vectors)

# Number the clusters in the order their first headline appears, so the printout does not depend on KMeans' labels.
order = list(dict.fromkeys(labels))
for number, label in enumerate(order, start=1):
    print(f"cluster {number}:")
    for headline, assigned in zip(headlines, labels, strict=True):
        if assigned == label:
            print(f"  {headline}")
