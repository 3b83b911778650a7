"""``memer cache``: download, build, merge, import and inspect the Open Images embedding cache.

One of the command line's subcommands (memer.cli wires it in); split out so each face module keeps to one idea.
"""

from __future__ import annotations

import argparse
import sys

from memer.cli_output import EXIT_ERROR
from memer.cli_output import progress as _progress

# --- memer cache ----------------------------------------------------------------


def add_cache(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cache", help="build, import and inspect the Open Images embedding cache")
    cache_sub = p.add_subparsers(dest="cache_command", metavar="{download,build,merge,import-legacy,info}")
    cache_sub.required = True

    d = cache_sub.add_parser("download", help="download a published cache (checked part by part)")
    d.add_argument("url", nargs="?", default=None, help="the published folder (default: MEMER_CACHE_URL)")
    d.add_argument("--dir", default=None, help="cache directory (default: MEMER_CACHE_DIR)")
    d.set_defaults(run=_run_cache_download)

    b = cache_sub.add_parser("build", help="build the cache from Localized Narratives and Open Images metadata")
    b.add_argument("--splits", default="train,validation,test")
    b.add_argument("--model", default=None)
    b.add_argument("--pretrained", default=None)
    b.add_argument(
        "--batch-size", type=int, default=None, help="captions per encoder call (default: sized to the device)"
    )
    b.add_argument("--shard", default=None, metavar="I/N")
    b.add_argument("--dir", default=None, help="cache directory (default: MEMER_CACHE_DIR)")
    b.set_defaults(run=_run_cache_build)

    m = cache_sub.add_parser("merge", help="merge shards built with --shard i/n")
    m.add_argument("shards", nargs="*", help="shard folders (default: every <dir>-shards/I-of-N)")
    m.add_argument("--dir", default=None)
    m.set_defaults(run=_run_cache_merge)

    i = cache_sub.add_parser("import-legacy", help="import the original AI-Memer embedding files")
    i.add_argument("embeddings", help="the N x 512 float16 .npy file")
    i.add_argument("annotations", help="the pickled list of (split/imageid, description, author)")
    i.add_argument("--dir", default=None)
    i.set_defaults(run=_run_cache_import_legacy)

    n = cache_sub.add_parser("info", help="print the manifest and a health check")
    n.add_argument("--dir", default=None)
    n.set_defaults(run=_run_cache_info)


def _run_cache_download(args: argparse.Namespace) -> int:
    from memer.sources.openimages.download import download_cache
    from memer.text import human_size

    with _progress() as progress:
        done = download_cache(args.url, args.dir, progress=progress)
    reused = f"; {len(done.reused)} parts were already here" if done.reused else ""
    print(
        f"downloaded the Open Images cache into {done.directory}: {done.rows} rows, CLIP {done.model} "
        f"({done.pretrained or 'no tag'}), {human_size(done.downloaded_bytes)} fetched{reused}"
    )
    return 0


def _run_cache_build(args: argparse.Namespace) -> int:
    from memer.clip import load_clip
    from memer.sources.openimages.build import build_cache, check_splits, parse_shard

    # Bad --splits or --shard values are said before CLIP loads.
    splits = check_splits([s.strip() for s in args.splits.split(",") if s.strip()])
    shard = parse_shard(args.shard)
    with _progress() as progress:
        report = build_cache(
            splits,
            encoder=load_clip(args.model, args.pretrained, progress=progress),
            batch_size=args.batch_size,
            shard=shard,
            directory=args.dir,
            progress=progress,
        )
    what = f"{report.rows} of {report.total_rows} rows" if report.rows != report.total_rows else f"{report.rows} rows"
    pace = f" ({report.rows / report.seconds_encoding:.0f} captions/s)" if report.seconds_encoding > 0 else ""
    print(
        f"built {report.directory}: {what}{pace}; {report.skipped_without_metadata} captioned images had no "
        "metadata and were left out"
    )
    return 0


def _run_cache_merge(args: argparse.Namespace) -> int:
    from memer.sources.openimages.merge import merge

    with _progress() as progress:
        directory = merge(args.dir, args.shards or None, progress=progress)
    print(f"merged shards into {directory}")
    return 0


def _run_cache_import_legacy(args: argparse.Namespace) -> int:
    from memer import settings
    from memer.sources.openimages.legacy import import_legacy

    with _progress() as progress:
        directory = import_legacy(args.embeddings, args.annotations, args.dir, progress=progress)
    print(f"imported the legacy cache into {directory} (licence recorded as CC BY 2.0, assumed)")
    if (settings.CLIP_MODEL, settings.CLIP_PRETRAINED) != ("ViT-B-32", "openai"):
        print(
            "note: these files are for CLIP ViT-B-32 (openai); search them with "
            "MEMER_CLIP_MODEL=ViT-B-32 MEMER_CLIP_PRETRAINED=openai",
            file=sys.stderr,
        )
    return 0


def _run_cache_info(args: argparse.Namespace) -> int:
    import json

    from memer.sources.openimages.store import EmbeddingCache

    cache = EmbeddingCache.open(args.dir)
    print(json.dumps(cache.manifest, indent=2))
    with _progress() as progress:
        health = cache.verify(progress=progress)
    print("health: ok" if health.ok else "health: PROBLEMS\n" + "\n".join(f"  - {p}" for p in health.problems))
    return 0 if health.ok else EXIT_ERROR
