"""``memer make``: the whole pass (search, pick, caption, render), one meme or several (``--count N -o DIR``).

Split out of memer/cli.py (which wires it in) with the helpers ``memer search`` shares: the argument choices
read from the registries, the search with each failed source said on its own line.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from memer import cli_layout
from memer.candidates import source_display_name
from memer.cli_output import LANGUAGE_HELP, safe, say, warn_undrawn
from memer.cli_output import progress as _progress
from memer.errors import ConfigError, MemerError, SourceError

if TYPE_CHECKING:
    from memer.contract import Pipeline


def the_pipeline() -> Pipeline:
    """memer.pipeline, typed as the contract the faces take (memer.contract): a drift is a type error."""
    from memer import pipeline

    return pipeline


def choices(module: str, name: str) -> tuple[str, ...] | None:
    """A step's own list of choices (positions, engines), so the CLI never re-lists them.

    None when a bad ``MEMER_*`` setting stops the step from importing: ``--help`` still works,
    and the command itself then reports the setting in one line.
    """
    import importlib

    try:
        return tuple(getattr(importlib.import_module(module), name))
    except ConfigError:
        return None


def sources_help() -> str:
    """The --sources help, from the source registry."""
    from memer.sources import source_choices

    return f"comma-separated: {','.join(source_choices())}"


def engine_choices() -> tuple[str, ...] | None:
    """The --engine choices, from the engine registry (None when a bad MEMER_* setting stops its import)."""
    try:
        from memer.captioning import engines
    except ConfigError:
        return None
    return tuple(engine.name for engine in engines())


def print_drops(result) -> None:
    """One short line per kind of failure, with a count: why some pictures never reached the list."""
    for drop in result.drop_reasons:
        pictures = "picture" if drop.count == 1 else "pictures"
        say(f"{drop.count} {pictures} dropped: {safe(drop.reason, 120)}")


def searched(query: str, sources: str | None, **options: Any):
    """pipeline.search, each failed source said on its own line, and a clear error when every source failed."""
    from memer import pipeline

    try:
        with _progress() as progress:
            result = the_pipeline().search(query, sources=sources, progress=progress, **options)
    except pipeline.SearchFailed as err:
        report_sources(err.sources)
        raise
    report_sources(result.sources)
    if result.all_failed:
        names = ", ".join(source_display_name(status.name) for status in result.failed_sources)
        raise SourceError(
            f"every picture source failed ({names}), so nothing was searched.",
            "Check the internet connection and try again, or build the Open Images cache "
            "(memer cache build) to search offline; see the reasons above.",
            code="source.all_failed",
            fix="--sources",
        )
    return result


def report_sources(statuses) -> None:
    for status in statuses:
        if not status.ok:
            say(f"{source_display_name(status.name)} failed: {safe(status.message)}")


def score_text(caption) -> str:
    """`` · fit 0.273`` for a ranked caption, "" for one shown as written."""
    return "" if caption.score is None else f" · fit {caption.score:.3f}"


# --- memer make -----------------------------------------------------------------


def add_make(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("make", help="the whole pass: search, pick, caption, render")
    p.add_argument("query")
    p.add_argument("-o", "--output", required=True, help="the PNG to write; with --count, the folder")
    p.add_argument("--pick", type=int, default=1, help="use the Nth ranked picture (1 = best)")
    p.add_argument(
        "--caption", type=int, default=1, help="use the Nth caption as `memer caption` lists them (unsafe ones last)"
    )
    p.add_argument(
        "--count",
        type=int,
        default=None,
        metavar="N",
        help="write N memes into the folder -o: the next-best pictures, each with its best caption "
        "(with --image: that picture's top N captions); named 01-…png so they sort",
    )
    p.add_argument("--engine", choices=engine_choices(), default=None)
    p.add_argument("--style", default=None)
    p.add_argument("--language", default=None, help=LANGUAGE_HELP)
    cli_layout.add_position(p, choices("memer.rendering", "POSITIONS"))
    p.add_argument("--allow-unsafe", action="store_true", help="let level-2 captions be picked")
    p.add_argument("--sources", default=None, help=sources_help())
    p.add_argument("--image", metavar="PATH_OR_URL", default=None, help="your own picture instead of a search")
    p.add_argument("--seed", default=None, help="a whole number: the same seed gives the same local captions")
    p.set_defaults(run=run_make)


def run_make(args: argparse.Namespace) -> int:
    from memer.captioning import check_seed
    from memer.cli_animation import check_output_for, make_output
    from memer.errors import CaptionError
    from memer.language import resolve_language

    if args.pick < 1 or args.caption < 1:
        raise MemerError(
            "--pick and --caption count from 1.", "Use e.g. --pick 1 --caption 2.", code="input.invalid", fix="--pick"
        )
    seed = check_seed(args.seed)
    args.language = resolve_language(args.language).code  # said before minutes of work
    if args.count is not None:
        return _run_several(args, seed)
    output = make_output(args.output)  # .png, .gif or .webp; other extensions refused before minutes of work
    if args.image is not None:
        picture = the_pipeline().own_picture(args.image)  # no search: the picture is yours
    else:
        picture = _search_and_pick(args)
    check_output_for(output, picture)  # a still picture gives a PNG: said before the captions are written

    with _progress() as progress:
        batch = _captions(picture, args, seed, progress)
    usable = batch.usable(allow_unsafe=args.allow_unsafe)
    if args.caption > len(usable):
        held_back = len(batch.captions) - len(usable)
        raise CaptionError(
            f"--caption {args.caption}: only {len(usable)} usable captions came back"
            + (f" ({held_back} held back as unsafe)." if held_back else "."),
            "Pick a smaller number, run again for new captions, or pass --allow-unsafe.",
            code="caption.none_usable",
            fix="--caption",
        )
    caption = usable[args.caption - 1]

    meme = the_pipeline().render(
        picture,
        caption.text,
        position=args.position,
        engine=batch.engine,
        description=batch.description,
        language=args.language,
    )
    written = meme.save(output)
    notes = [meme.summary(written.suffix.lower().lstrip(".").replace("apng", "png"))] if meme.animated else []
    notes += [f"caption at: {meme.position_used}"] if args.position == "auto" else []
    print(f"Wrote {written}" + (f" ({'; '.join(notes)})" if notes else ""))
    warn_undrawn(meme.warnings)
    _print_made(picture, caption, batch, meme)
    return 0


def _captions(picture, args: argparse.Namespace, seed: int | None, progress) -> Any:
    """The picture's captions as the command line asked for them (theme, engine, style, seed, language)."""
    return the_pipeline().captions(
        picture,
        theme=args.query,
        engine=args.engine,
        style=args.style,
        progress=progress,
        seed=seed,
        language=args.language,
    )


def _print_made(picture, caption, batch, meme) -> None:
    print(
        f"Caption: {safe(caption.text, 500)}  [{caption.level_name}; {batch.engine} {safe(batch.model, 100)}"
        f"{score_text(caption)}]"
    )
    print(safe(meme.attribution, 500))
    if picture.restrictions:  # a link's rights, a generator's licence
        print(f"Note: {safe(picture.restrictions, 500)}")
    if picture.page_url:
        print(f"Picture: {safe(picture.page_url, 500)}")


def _run_several(args: argparse.Namespace, seed: int | None) -> int:
    """``--count N``: N memes into the folder ``-o``, each file said as it is written, skips said with why."""
    from memer import several
    from memer.errors import CaptionError

    several.check_count(args.count)
    folder = several.out_folder(args.output)  # before minutes of work
    result = None if args.image is not None else _searched_with_pictures(args)
    with _progress() as progress:
        if result is None:  # your own picture: its top N captions
            picture = the_pipeline().own_picture(args.image)
            batch = _captions(picture, args, seed, progress)
            done = several.from_captions(
                picture,
                batch,
                count=args.count,
                out_dir=folder,
                allow_unsafe=args.allow_unsafe,
                position=args.position,
                language=args.language,
            )
        else:
            done = several.from_pictures(
                result.candidates[args.pick - 1 :],
                args.query,
                count=args.count,
                out_dir=folder,
                caption=args.caption,
                engine=args.engine,
                style=args.style,
                position=args.position,
                allow_unsafe=args.allow_unsafe,
                seed=seed,
                progress=progress,
                language=args.language,
            )
    for candidate, reason in done.skipped:
        say(f"skipped {safe(candidate.title, 120)}: {safe(reason, 200)}")
    for item in done.made:
        print(f"Wrote {item.path}")
        warn_undrawn(item.meme.warnings)
        _print_made(item.candidate, item.caption, item.batch, item.meme)
    if not done.made:
        raise CaptionError(
            "no meme could be made: no picture had a usable caption.",
            "Run again for new captions, try other words, or pass --allow-unsafe.",
            code="caption.none_usable",
            fix="--count",
        )
    if len(done.made) < args.count:
        say(f"made {len(done.made)} of {args.count} memes: there were no more usable pictures or captions.")
    return 0


def _searched_with_pictures(args: argparse.Namespace):
    result = searched(args.query, args.sources)
    print_drops(result)
    if not result.candidates:
        some_failed = bool(result.failed_sources)
        raise SourceError(
            f"No pictures found for {safe(args.query, 120)!r}.",
            "Try other words" + (", or fix the failed sources above." if some_failed else "."),
            code="source.none_found",
            fix="query",
        )
    if args.pick > len(result.candidates):
        raise SourceError(
            f"--pick {args.pick}: only {len(result.candidates)} pictures were found.",
            "Pick a smaller number.",
            code="input.invalid",
            fix="--pick",
        )
    return result


def _search_and_pick(args: argparse.Namespace):
    return _searched_with_pictures(args).candidates[args.pick - 1]
