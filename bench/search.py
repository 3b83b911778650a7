"""Benchmark: top-20 search over a synthetic Open Images-sized cache, memer vs the original method.

    python -m bench.search                 # from the repository root: 675,000 x 512, both data models (minutes)
    python -m bench.search --rows 100000   # quicker
    python -m bench.search --data isotropic --queries 200

Writes a synthetic float16 cache (in chunks, into a temporary folder) with the real writer,
then measures, each in a fresh subprocess so resident memory is the cache's own:

- memer: ``EmbeddingCache.open(dir).search(q, k=20)`` (exact; on this machine the CPU path);
- original: the AI-Memer way, ``np.load`` of the float16 matrix, a numpy product with the
  float16 query, then Python ``sorted()`` over all (score, row) pairs.

Data models (real CLIP embeddings cannot be fetched here, so both are synthetic):

- ``anisotropic``: mimics CLIP text embeddings, which share a strong common direction
  (unrelated captions have a mean cosine of roughly 0.5) and a decaying spectrum. Each row is
  ``0.75 * mu + g`` where mu is a fixed unit vector and g is Gaussian with per-dimension
  variance proportional to 1/(1+j) in a random orthogonal basis, scaled so |g| ~ 0.66, then
  normalised; queries come from the same model (fresh draws). This is an assumption about real
  data, stated so that it can be checked against a real cache (``--cache DIR``).
- ``isotropic``: uniform random unit vectors and queries, the worst case for pruning.

Exactness does not depend on the data; only speed does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the workers run here, so `memer` imports as it does for us

CHUNK = 65_536
K = 20


def synthetic_rows(kind: str, rows: int, dim: int, seed: int):
    """Yield float32 unit vectors in chunks (never the whole matrix in float32)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    if kind == "isotropic":
        for start in range(0, rows, CHUNK):
            x = rng.standard_normal((min(CHUNK, rows - start), dim), dtype=np.float32)
            yield x / np.linalg.norm(x, axis=1, keepdims=True)
        return
    basis_rng = np.random.default_rng(12345)  # the same "model" for cache and queries
    basis, _ = np.linalg.qr(basis_rng.standard_normal((dim, dim)))
    mean = basis[:, 0].astype(np.float32)
    spread = (1.0 / np.sqrt(1.0 + np.arange(dim - 1))).astype(np.float32)
    spread *= 0.66 / np.linalg.norm(spread)
    for start in range(0, rows, CHUNK):
        n = min(CHUNK, rows - start)
        g = (rng.standard_normal((n, dim - 1), dtype=np.float32) * spread) @ basis[:, 1:].T.astype(np.float32)
        x = 0.75 * mean + g
        yield x / np.linalg.norm(x, axis=1, keepdims=True)


def queries(kind: str, n: int, dim: int):
    import numpy as np

    return np.concatenate(list(synthetic_rows(kind, n, dim, seed=999)))


def make_cache(kind: str, rows: int, dim: int, directory: Path) -> float:
    from memer.sources.openimages.store import CacheWriter

    start = time.perf_counter()
    writer = CacheWriter(directory, rows, dim, model="synthetic", pretrained=kind)
    done = 0
    for chunk in synthetic_rows(kind, rows, dim, seed=1):
        writer.add(
            chunk, [{"image_id": f"{done + j:016x}", "split": "train", "image_url": "x"} for j in range(len(chunk))]
        )
        done += len(chunk)
    writer.commit()
    return time.perf_counter() - start


# --- measured in a fresh process ------------------------------------------------------

WORKER = (
    r"""
import json, sys, time, resource
import numpy as np

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024

method, directory, query_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
qs = np.load(query_file)[:n]
import torch  # memer's search process has torch loaded for CLIP anyway; count it in the baseline
torch.set_num_threads(2)
base = rss_mb()
times = []
if method == "memer":
    from memer.sources.openimages.store import EmbeddingCache
    t = time.perf_counter(); cache = EmbeddingCache.open(directory); open_s = time.perf_counter() - t
    t = time.perf_counter(); cache.search(qs[0], k=K); first_s = time.perf_counter() - t
    shortlist, survivors = [], []
    for q in qs:
        t = time.perf_counter(); cache.search(q, k=K); times.append(time.perf_counter() - t)
        shortlist.append(getattr(cache.searcher, "last_shortlist", 0))
        survivors.append(getattr(cache.searcher, "last_survivors", 0))
    extra = {"open_s": open_s, "first_query_s": first_s, "searcher": cache.searcher.name, "shortlist_p50": float(np.median(shortlist)), "shortlist_max": int(max(shortlist)), "survivors_p50": float(np.median(survivors)), "rows": len(cache)}
else:
    t = time.perf_counter(); matrix = np.load(directory + "/embeddings.npy"); open_s = time.perf_counter() - t
    for q in qs:
        t = time.perf_counter()
        scores = matrix @ q.astype(np.float16)
        top = sorted(zip(scores.tolist(), range(len(scores))), reverse=True)[:K]
        times.append(time.perf_counter() - t)
    extra = {"open_s": open_s}
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"times": times, "rss_base_mb": base, "rss_after_mb": rss_mb(), "peak_rss_mb": peak, **extra}))
""".replace("K)", f"{K})")
    .replace("[:K]", f"[:{K}]")
    .replace("k=K", f"k={K}")
)


def busy_share(seconds: float = 1.0) -> float:
    """How busy the CPUs are with other work right now (0..1), from /proc/stat; -1 where unknown."""

    def ticks():
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    try:
        total0, idle0 = ticks()
        time.sleep(seconds)
        total1, idle1 = ticks()
    except OSError:
        return -1.0
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def measure(method: str, directory: Path, query_file: Path, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", WORKER, method, str(directory), str(query_file), str(n)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if out.returncode != 0:
        raise SystemExit(f"{method} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def percentile(values: list[float], p: float) -> float:
    import numpy as np

    return float(np.percentile(values, p)) * 1000


def run(kind: str, args: argparse.Namespace, root: Path) -> None:
    import numpy as np

    directory = Path(args.cache) if args.cache else root / f"cache-{kind}"
    if not args.cache:
        seconds = make_cache(kind, args.rows, args.dim, directory)
        os.sync()  # let the written files reach the disk before anything is timed
        size = sum(p.stat().st_size for p in directory.iterdir()) / 1e6
        print(
            f"\n[{kind}] generated {args.rows:,} x {args.dim} float16 cache in {seconds:.1f} s ({size:,.0f} MB on disk)"
        )
    dim = json.loads((directory / "manifest.json").read_text())["dim"]
    query_file = root / f"queries-{kind}.npy"
    if args.cache:  # real cache: queries are perturbed rows, a stand-in for real text queries
        from memer.sources.openimages.store import EmbeddingCache

        cache = EmbeddingCache.open(directory)
        rng = np.random.default_rng(0)
        picks = rng.integers(0, len(cache), args.queries)
        qs = (
            np.asarray(cache.embeddings[np.sort(picks)], dtype=np.float32)
            + rng.standard_normal((args.queries, dim)).astype(np.float32) * 0.02
        )
        np.save(query_file, qs / np.linalg.norm(qs, axis=1, keepdims=True))
    else:
        np.save(query_file, queries(kind, args.queries, dim))
    busy = busy_share()
    print(f"[{kind}] other work on the CPUs just before timing: {busy:.0%} (timings are only meaningful near 0%)")
    memer = measure("memer", directory, query_file, args.queries)
    original = measure("original", directory, query_file, args.original_queries)
    m50, m95 = percentile(memer["times"], 50), percentile(memer["times"], 95)
    o50, o95 = percentile(original["times"], 50), percentile(original["times"], 95)
    print(
        f"[{kind}] memer ({memer['searcher']}): p50 {m50:.1f} ms, p95 {m95:.1f} ms over {len(memer['times'])} queries; "
        f"open {memer['open_s'] * 1000:.0f} ms, first query {memer['first_query_s'] * 1000:.0f} ms; "
        f"stage-1 survivors p50 {memer['survivors_p50']:.0f} of {memer['rows']:,} rows, "
        f"re-scored exactly p50 {memer['shortlist_p50']:.0f} rows (max {memer['shortlist_max']})"
    )
    print(
        f"[{kind}] memer resident memory: +{memer['rss_after_mb'] - memer['rss_base_mb']:.0f} MB for the cache "
        f"(process {memer['rss_after_mb']:.0f} MB, of which {memer['rss_base_mb']:.0f} MB numpy+torch before opening)"
    )
    print(
        f"[{kind}] original (numpy float16 product + sorted()): p50 {o50:.0f} ms, p95 {o95:.0f} ms over {len(original['times'])} queries; "
        f"resident +{original['rss_after_mb'] - original['rss_base_mb']:.0f} MB"
    )
    print(
        f"[{kind}] speed-up p50: {o50 / m50:.0f}x   targets: p50 <= 12 ms {'MET' if m50 <= 12 else 'NOT MET'}, "
        f">= 100x {'MET' if o50 / m50 >= 100 else 'NOT MET'}, cache memory <= 750 MB "
        f"{'MET' if memer['rss_after_mb'] - memer['rss_base_mb'] <= 750 else 'NOT MET'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=675_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=100, help="queries timed for memer")
    parser.add_argument("--original-queries", type=int, default=5, help="queries timed for the original (each ~1-4 s)")
    parser.add_argument("--data", choices=["anisotropic", "isotropic", "both"], default="both")
    parser.add_argument("--cache", default=None, help="benchmark an existing cache folder instead of synthetic data")
    parser.add_argument("--keep", action="store_true", help="keep the generated caches (printed path)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="memer-bench-"))
    try:
        kinds = ["real"] if args.cache else (["anisotropic", "isotropic"] if args.data == "both" else [args.data])
        for kind in kinds:
            run(kind, args, root)
            if not args.keep:
                shutil.rmtree(root / f"cache-{kind}", ignore_errors=True)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
