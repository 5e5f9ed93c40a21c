"""Anomaly detection: flag comments that lie far from the centre of known-normal comments.

The key comes from DASHSCOPE_API_KEY; DASHSCOPE_HTTP_BASE_URL (e.g. the bundled emulator) overrides the region.
"""

import math

from dashscope_embeddings import TextEmbedder

normal = [
    "The project release is on track for next week",
    "The project team had a productive planning meeting",
    "The new version passed all tests and is ready for release",
    "User feedback on the new version is positive",
    "The team fixed the login bug before the release",
    "The project team will demo the new version on Friday",
]
incoming = [
    "The new version release is planned for Friday",
    "User feedback on the login page is positive",
    "asdfghjkl zxcvbnm qwerty",
    "WIN A FREE CRUISE!!! Click here to claim your prize",
]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


def centroid(vectors: list[list[float]]) -> list[float]:
    return [sum(values) / len(vectors) for values in zip(*vectors, strict=True)]


with TextEmbedder(model="text-embedding-v4", dimension=1024) as embedder:
    # Every comment plays the same role, so all are embedded as documents, in one call.
    vectors = embedder.embed(normal + incoming, text_type="document").embeddings
known, new = vectors[: len(normal)], vectors[len(normal) :]

# Calibrate on the normal comments, each scored against the centre of the others: a comment is an anomaly when it
# is less than 80 % as close to the centre as the least typical normal one. Each model scores on its own scale, so
# the threshold comes from the data, not from a fixed number.
held_out = [cosine(v, centroid(known[:i] + known[i + 1 :])) for i, v in enumerate(known)]
threshold = 0.8 * min(held_out)
print(f"normal comments vs. the others' centre: {min(held_out):.3f} to {max(held_out):.3f}; threshold {threshold:.3f}")

centre = centroid(known)
for comment, vector in zip(incoming, new, strict=True):
    score = cosine(vector, centre)
    verdict = "ANOMALY" if score < threshold else "normal "
    print(f"  {verdict}  {score:6.3f}  {comment}")
