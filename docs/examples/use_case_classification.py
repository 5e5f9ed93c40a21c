"""Zero-shot classification: pick the category whose description is closest to a review, with no training data.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import math

from dashscope_embeddings import TextEmbedder

# Each label gets a short description: it gives the model more to match than the bare name.
categories = {
    "Digital Products": "Digital products: phones, laptops, headphones, chargers, batteries and other electronics.",
    "Apparel & Accessories": "Apparel and accessories: clothes, dresses, shoes and bags; fabric, fit and style.",
    "Food & Beverage": "Food and beverage: snacks, coffee, tea, fruit and drinks; taste and freshness.",
    "Home & Living": "Home and living: furniture, bedding, kitchenware and home decor.",
}
reviews = [
    "The fabric of this dress is comfortable and the style is nice",
    "The headphones sound great and the battery lasts all day",
    "This coffee has a rich taste and the beans arrived fresh",
    "The bedding is soft and the bedside furniture was easy to assemble",
]
INSTRUCT = "Given a product review, retrieve the product category it belongs to"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


with TextEmbedder(model="text-embedding-v4", dimension=1024) as embedder:
    # The descriptions are what is searched (documents); each review searches them (a query).
    labels = embedder.embed(list(categories.values()), text_type="document").embeddings
    queries = embedder.embed(reviews, text_type="query", instruct=INSTRUCT).embeddings

names = list(categories)
for review, query in zip(reviews, queries, strict=True):
    scores = [cosine(query, label) for label in labels]
    best = max(range(len(names)), key=scores.__getitem__)
    print(f"{names[best]:<22} {scores[best]:.3f}  {review}")
