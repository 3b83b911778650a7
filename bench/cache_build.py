"""Benchmark: the Open Images cache build, text tower throughput and peak memory.

    python -m bench.cache_build                  # from the repository root (a few minutes on 2 cores)
    python -m bench.cache_build --sizes 20000 --seconds 10

1. Throughput: memer's own text path (``memer.clip`` wrapper: open_clip's tokenizer + the text
   tower) at the real ViT-B-32 size with random weights (``pretrained=""``: nothing is
   downloaded; cost does not depend on the weights), on this machine's device, measured with
   the same warm-up the set-up uses (``memer.cache_setup.measure_encoder``) and then over a
   longer run per batch size; the tokenizer alone is timed too. From it: the projected time to
   encode a full build (675,155 captions) and a quick one (167,711).
2. Peak memory, side by side, each in a fresh subprocess on the same synthetic Localized
   Narratives-shaped files (3 narratives per image, 3 metadata rows per narrated image, captions
   of typical length): the streaming build (``build_cache``: SQLite join, batches, writer
   thread) against the old all-in-memory one (every joined row as a dict, sorted, then
   embedded). A cheap hashing encoder stands in for CLIP so that memory, not encoding, is
   measured. The Python heap peak (tracemalloc, numpy included) of the join + embed phase and of
   the index + checksum phase that follows (``CacheWriter.commit``, the same code in both: blocks
   of ``SCAN_BLOCK`` rows, so it stops growing past that size), and the process peak RSS, at two
   sizes, so the growth per image shows.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL, QUICK = 675_155, 41_691 + 126_020
WORDS = (  # noqa: SIM905 - one readable line of words
    "in this image we can see a dog cat person car tree house sky cloud grass road building table chair "
    "plate food water boat bird flower window door wall light pole board text on the left right top bottom "
    "background foreground there is are few some people standing walking sitting holding wearing"
).split()


def write_sources(folder: Path, images: int, seed: int = 0) -> None:
    """Narratives and metadata for the 'validation' split, in the real file names and columns."""
    from memer.sources.openimages.build import METADATA_FILES, NARRATIVE_FILES
    from tests.standins.openimages import CSV_HEADER

    rng = random.Random(seed)
    ids = [f"{rng.getrandbits(64):016x}" for _ in range(images)]
    with open(folder / NARRATIVE_FILES["validation"], "w", encoding="utf-8") as out:
        for image_id in ids:
            for annotator in range(3):
                caption = " ".join(rng.choice(WORDS) for _ in range(rng.randint(25, 50)))
                out.write(json.dumps({"image_id": image_id, "annotator_id": annotator, "caption": caption}) + "\n")
    with open(folder / Path(METADATA_FILES["validation"]).name, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADER)
        listed = ids + [f"{rng.getrandbits(64):016x}" for _ in range(2 * images)]
        rng.shuffle(listed)
        for image_id in listed:
            writer.writerow([image_id, "validation", f"https://farm.example/{image_id}_o.jpg",
                             f"https://www.flickr.com/photos/someone/{image_id}",
                             "https://creativecommons.org/licenses/by/2.0/", f"https://www.flickr.com/people/{image_id[:8]}/",
                             "Some Author", "A title, with a comma", "123456", "abc==", "", "0"])  # fmt: skip


WORKER = r"""
import resource, sys, time, tracemalloc
import numpy as np
from pathlib import Path
from memer.sources.openimages import build, narratives
from memer.sources.openimages.store import CacheWriter

class Cheap:
    model_name, pretrained, device = "cheap", "", "cpu"
    def encode_text(self, texts, *, batch_size=None):
        rng = np.random.default_rng(len(texts))
        return rng.standard_normal((len(texts), 512), dtype=np.float32)

def peak_rss():  # VmHWM: this process image's own peak (ru_maxrss would carry the parent's over fork)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

phases = {}
original_commit = CacheWriter.commit
def commit(self, **kwargs):  # the join + embed phase ends here; the index and checksums follow
    phases["join_embed"] = tracemalloc.get_traced_memory()[1]
    phases["rss_before_commit"] = peak_rss()
    tracemalloc.reset_peak()
    return original_commit(self, **kwargs)
CacheWriter.commit = commit

mode, sources, target, traced = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == "traced"
if traced:  # tracemalloc's own bookkeeping inflates RSS, so RSS comes from a second, untraced run
    tracemalloc.start()
started = time.perf_counter()
if mode == "streaming":
    build.build_cache(["validation"], encoder=Cheap(), directory=target, download_dir=sources, batch_size=512)
else:  # the old way: every joined row in memory, sorted, then embedded
    rows, _ = narratives.join_split(
        "validation", sources / build.NARRATIVE_FILES["validation"], sources / "validation-images-with-rotation.csv"
    )
    writer = CacheWriter(target, len(rows), 512, model="cheap", pretrained="")
    for start in range(0, len(rows), 512):
        batch = rows[start : start + 512]
        writer.add(Cheap().encode_text([r["caption"] for r in batch]), batch)
    writer.commit()
seconds = time.perf_counter() - started
_, index_heap = tracemalloc.get_traced_memory()
rss = peak_rss()
print(phases["join_embed"], index_heap, phases["rss_before_commit"], rss, seconds)
"""


def memory_rows(sizes: list[int]) -> None:
    print("\nPeak memory of a build (join + embed + write), fresh subprocess each, cheap encoder:")
    print(
        f"{'images':>8s} {'mode':>14s} {'join+embed heap':>16s} {'index heap':>11s} "
        f"{'join+embed RSS':>15s} {'RSS peak':>9s} {'seconds':>8s}"
    )
    results: dict[tuple[int, str], tuple[int, int]] = {}
    for images in sizes:
        with tempfile.TemporaryDirectory(prefix="memer-bench-build-") as work:
            sources = Path(work) / "sources"
            sources.mkdir()
            write_sources(sources, images)
            for mode in ("all-in-memory", "streaming"):
                runs = []
                for traced in ("traced", "untraced"):
                    done = subprocess.run(
                        [sys.executable, "-c", WORKER, mode, str(sources), str(Path(work) / f"{mode}-{traced}"), traced],
                        capture_output=True, text=True, cwd=ROOT, check=True,
                    )  # fmt: skip
                    runs.append([float(x) for x in done.stdout.split()])
                heap, index_heap = runs[0][0], runs[0][1]
                join_rss, rss, seconds = runs[1][2], runs[1][3], runs[1][4]
                results[(images, mode)] = (int(heap), int(join_rss))
                print(
                    f"{images:8d} {mode:>14s} {heap / 2**20:13.1f} MB {index_heap / 2**20:8.1f} MB "
                    f"{join_rss / 2**20:12.0f} MB {rss / 2**20:6.0f} MB {seconds:8.1f}"
                )
    if len(sizes) >= 2:
        low, high = sizes[0], sizes[-1]
        for mode in ("all-in-memory", "streaming"):
            per_row = (results[(high, mode)][0] - results[(low, mode)][0]) / (high - low)
            print(
                f"{mode:>14s}: the join + embed heap grows {per_row:6.0f} bytes per image -> about "
                f"{max(results[(high, mode)][0] + per_row * (FULL - high), 0) / 2**20:,.0f} MB for the full {FULL:,}"
            )


def throughput_rows(seconds: float, batches: list[int]) -> None:
    from memer.cache_setup import _captions, measure_encoder
    from memer.clip import load_clip

    clip = load_clip("ViT-B-32", "")  # the real architecture, random weights: nothing to download
    print(f"Text path of memer.clip ViT-B-32 (random weights) on {clip.device} ({clip.dtype})")
    rate, timed, spent = measure_encoder(clip, seconds=3.0)
    print(f"  set-up warm-up (3 s budget): {rate:7.1f} captions/s over {timed} captions in {spent:.1f} s")
    texts = _captions(max(batches))
    started = time.perf_counter()
    clip.tokenizer(texts)
    print(f"  tokenizer alone:             {len(texts) / (time.perf_counter() - started):7.0f} captions/s")
    best = 0.0
    for size in batches:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            clip.encode_text(texts[:size], batch_size=size)
            count += size
        rate = count / (time.perf_counter() - started)
        best = max(best, rate)
        print(f"  batch {size:5d}:                 {rate:7.1f} captions/s ({count} captions)")
    print(f"  projected encoding, full build ({FULL:,} captions): {FULL / best / 3600:.1f} h at {best:.1f} captions/s")
    print(f"  projected encoding, quick build ({QUICK:,} captions): {QUICK / best / 3600:.1f} h")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="timed seconds per batch size")
    parser.add_argument("--batches", default="32,128")
    parser.add_argument("--sizes", default="20000,80000", help="narrated images in the memory runs")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_throughput:
        throughput_rows(args.seconds, [int(b) for b in args.batches.split(",")])
    memory_rows([int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
