"""Recommendation: average the vectors of the films a user liked into a profile, then rank the films not yet seen.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import math

from dashscope_embeddings import TextEmbedder

catalogue = {
    "Star Voyage": "Science fiction: a starship crew explores a distant galaxy and meets alien life.",
    "Robot Dawn": "Science fiction thriller: robots with artificial intelligence take over a future city.",
    "Deep Space Rescue": "Science fiction action: astronauts fight to save a starship stranded in deep space.",
    "Planet Nine": "Science fiction mystery: a starship finds a hidden planet at the edge of the galaxy.",
    "Alien Signal": "Science fiction suspense: astronomers decode an alien signal from a distant star.",
    "Paris in Spring": "Romantic comedy: two strangers fall in love during a spring holiday in Paris.",
    "The Last Kingdom War": "Historical drama: two medieval kingdoms fight an epic war over a throne.",
    "Kitchen Stories": "Documentary: chefs share family recipes from small kitchens around the world.",
}
liked = ["Star Voyage", "Robot Dawn", "Deep Space Rescue"]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


titles = list(catalogue)
with TextEmbedder(model="text-embedding-v4", dimension=1024) as embedder:
    # Every description plays the same role, so all are embedded as documents, in one call.
    vectors = dict(zip(titles, embedder.embed(list(catalogue.values()), text_type="document").embeddings, strict=True))

# The user's profile: the mean of the vectors of what they liked.
profile = [sum(values) / len(liked) for values in zip(*(vectors[title] for title in liked), strict=True)]

unseen = [title for title in titles if title not in liked]
print(f"liked: {', '.join(liked)}")
print("recommended, best match first:")
for title in sorted(unseen, key=lambda t: cosine(profile, vectors[t]), reverse=True):
    print(f"  {cosine(profile, vectors[title]):6.3f}  {title}")
