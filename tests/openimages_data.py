"""Test data for the Open Images cache tests: metadata rows, unit vectors and the exactness check.

Shared by the store and index tests, which check the same search from two sides.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def make_rows(n: int) -> list[dict]:
    return [
        {
            "image_id": f"{i:016x}",
            "split": "train",
            "caption": f"caption {i}",
            "author": f"author {i}",
            "license": "CC BY 2.0",
            "image_url": f"http://x/train/{i:016x}.jpg",
        }
        for i in range(n)
    ]


def unit_rows(rng: np.random.Generator, n: int, dim: int, anisotropic: bool = False) -> np.ndarray:
    data = rng.standard_normal((n, dim)).astype(np.float32)
    if anisotropic:  # a shared direction and a decaying spectrum, like CLIP text embeddings
        data *= 1.0 / np.sqrt(1 + np.arange(dim, dtype=np.float32))
        data += 2.0 * rng.standard_normal(dim).astype(np.float32) / np.sqrt(dim) * 4
    return data / np.linalg.norm(data, axis=1, keepdims=True)


def assert_exact_top_k(cache: Any, query: np.ndarray, k: int) -> None:
    """Same top k as the brute-force float32 product; among equal scores any choice is right.

    ``cache`` is anything with ``embeddings`` (the stored float16 rows) and ``search(query, k)``.
    """
    brute = np.asarray(cache.embeddings, dtype=np.float32) @ query.astype(np.float32)
    ids, scores = cache.search(query, k)
    k = min(k, len(brute))
    assert len(ids) == k and len(set(ids.tolist())) == k
    expected = np.sort(brute)[::-1][:k]
    np.testing.assert_allclose(scores, expected, rtol=0, atol=2e-6)
    np.testing.assert_allclose(brute[ids], scores, rtol=0, atol=2e-6)
    assert np.all(np.diff(scores) <= 0), "scores must come best first"
    # Every row strictly better than the k-th score is returned.
    must = set(np.flatnonzero(brute > expected[-1] + 2e-6).tolist())
    assert must <= set(ids.tolist())
