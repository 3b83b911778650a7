"""The ``memer`` command line: one subcommand per pipeline step, plus ``make`` for the whole pass.

Each subcommand has an ``_add_<name>`` (its arguments) and a ``_run_<name>``
(its work, returning an exit code). Expected failures raise ``MemerError``;
``main`` turns them into a one-line message and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from memer import __version__, cli_hints, cli_layout
from memer.cli_cache import add_cache
from memer.cli_make import add_make as _add_make
from memer.cli_make import choices as _choices
from memer.cli_make import engine_choices as _engine_choices
from memer.cli_make import print_drops as _print_drops
from memer.cli_make import score_text
from memer.cli_make import searched as _searched
from memer.cli_make import sources_help as _sources_help
from memer.cli_output import (  # noqa: F401 - the exit codes, named here too
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    missing_package_message,
    quiet_libraries,
    safe,
    say,
)
from memer.cli_output import LANGUAGE_HELP as _LANGUAGE_HELP
from memer.cli_output import progress as _progress
from memer.cli_output import warn_undrawn as _warn_undrawn
from memer.errors import MemerError

# --- memer render ---------------------------------------------------------------


def _add_render(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="set a caption on a picture, Impact style")
    p.add_argument("image", help="the background picture")
    p.add_argument("text", nargs="?", default="", help="the caption (split top|bottom with '|'); optional with --box")
    p.add_argument(
        "-o", "--output", required=True, help="where to write it: .png; a moving picture also .gif, .webp (APNG: .png)"
    )
    cli_layout.add_position(p, _choices("memer.rendering", "POSITIONS"))
    cli_layout.add_boxes(p)
    p.add_argument("--font-size", default="auto", help="'auto' (fit) or a size in pixels")
    p.add_argument("--keep-case", action="store_true", help="do not upper-case the caption")
    p.add_argument("--attribution", default=None, help="burn this credit line into the bottom edge")
    p.add_argument("--language", default=None, help="the caption's language, for its letter case (tr: İ)")
    p.set_defaults(run=_run_render)


def _parse_font_size(value: str) -> int | None:
    if value.strip().lower() == "auto":
        return None
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise MemerError(
            f"--font-size {value!r} is neither 'auto' nor a positive whole number.",
            "Use e.g. --font-size 64.",
            code="input.invalid",
            fix="--font-size",
        )
    return size


def _run_render(args: argparse.Namespace) -> int:
    from memer import images, settings
    from memer import rendering as render
    from memer.cli_animation import render_animated
    from memer.rendering.coverage import caption_warnings

    options = render.RenderOptions(
        position=args.position,
        font_size=_parse_font_size(args.font_size),
        keep_case=args.keep_case,
        attribution=args.attribution,
        language=args.language,
        boxes=cli_layout.boxes(args),
    )
    if args.text or not options.boxes:
        render.check_caption(args.text)  # before the picture is opened
    words = args.text or " / ".join(box.text for box in options.boxes)
    if render_animated(args.image, args.text, words, options, args.output):
        _warn_undrawn(caption_warnings(args.text, args.keep_case))
        return 0
    picture = images.open_image(args.image, max_side=settings.OUTPUT_SIZE)
    meme = render.render_meme(picture, args.text, options)
    png = render.png_bytes(meme, render.meme_metadata(None, words))
    written = render.save_png(args.output, png)
    print(written)
    _warn_undrawn(caption_warnings(args.text, args.keep_case))
    return 0


# --- memer search ---------------------------------------------------------------


def _add_search(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="find background pictures for a topic")
    p.add_argument("query")
    p.add_argument("--sources", default=None, help=_sources_help())
    p.add_argument("--limit", type=int, default=None, help="how many candidates to return")
    p.add_argument("--json", action="store_true", help="print the candidates as JSON")
    p.add_argument("--download", metavar="DIR", default=None, help="download the pictures into DIR")
    p.set_defaults(run=_run_search)


def _run_search(args: argparse.Namespace) -> int:
    import json

    if args.limit is not None and args.limit < 1:
        raise MemerError(f"--limit must be 1 or more, not {args.limit}.", code="input.invalid", fix="--limit")
    result = _searched(args.query, args.sources, top_k=args.limit, download_dir=args.download)
    _print_drops(result)
    if args.json:
        print(json.dumps([c.to_dict() for c in result.candidates], indent=2, ensure_ascii=False))
    elif not result.candidates:
        say(f"No pictures found for {safe(args.query, 120)!r}; try other words or more sources.")
    else:
        for number, candidate in enumerate(result.candidates, 1):
            print(f"{number:2d}. {safe(candidate.title, 200)}  [{candidate.source_name}]  score {candidate.score:.3f}")
            print(f"    {safe(candidate.attribution(), 300)}")
            print(
                f"    {safe(candidate.page_url or candidate.image_url, 500)}"
            )  # the picture's page; --json has the path
    return 0


# --- memer caption --------------------------------------------------------------


def _add_caption(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("caption", help="suggest captions for a picture")
    p.add_argument("image", help="a picture file or an http(s) link")
    p.add_argument("--theme", required=True, help="what the meme is about")
    p.add_argument("--description", default="", help="what the picture shows, in words")
    p.add_argument("--engine", choices=_engine_choices(), default=None)
    p.add_argument("--model", default=None)
    p.add_argument("--style", default=None, help="funny (default), wholesome, sarcastic, poem or haiku")
    p.add_argument("--language", default=None, help=_LANGUAGE_HELP)
    p.add_argument("--n", type=int, default=None, help="how many captions (default 10)")
    p.add_argument("--json", action="store_true", help="print the captions with their safety levels as JSON")
    p.add_argument("--seed", default=None, help="a whole number: the same seed gives the same local captions")
    p.add_argument(
        "--describe", action="store_true", help="without --description: let the model describe the picture first"
    )
    p.set_defaults(run=_run_caption)


def _run_caption(args: argparse.Namespace) -> int:
    import json

    from memer.caption_rank import rank_batch
    from memer.captioning import check_seed, choose_engine, describe_picture, generate_captions, get_engine
    from memer.images import open_image
    from memer.language import resolve_language
    from memer.pipeline import own_picture, should_describe

    seed = check_seed(args.seed)  # a bad --seed is said before a model loads
    language = resolve_language(args.language)  # and a bad --language
    own = own_picture(args.image)  # a file or an http(s) link
    assert own.path is not None  # own_picture keeps every picture on disk
    picture = open_image(own.path)
    description = args.description
    engine = get_engine(choose_engine(args.engine))  # once: the description and the captions use the same
    with _progress() as progress:
        # `caption` describes only when asked (--describe), `make` by MEMER_DESCRIBE: the pipeline's one rule
        if should_describe(description, describe_first=args.describe):
            description = describe_picture(
                picture, engine=engine, model=args.model, progress=progress, language=language
            ).text
        batch = generate_captions(
            args.theme,
            description=description,
            image=picture,
            engine=engine,
            model=args.model,
            style=args.style,
            n=args.n,
            progress=progress,
            seed=seed,
            language=language,
        )
        rank_batch(batch, picture, args.theme, progress=progress)  # best first: --caption N of make is the Nth here
    if args.json:
        print(json.dumps(batch.to_dict(), indent=2, ensure_ascii=False))
        return 0
    for number, caption in enumerate(batch.captions, 1):
        why = f"  ({safe(', '.join(caption.categories))})" if caption.categories else ""
        shown = f"{caption.level} {caption.level_name}{score_text(caption)}"
        print(f"{number:2d}. [{shown}] {safe(caption.text, 500)}{why}")
    print(
        f"engine: {batch.engine} ({safe(batch.model, 100)}); safety check: {safe(batch.safety_check)}", file=sys.stderr
    )
    if batch.ranked_by:
        print(
            f"ranked by: {safe(batch.ranked_by)} (the score: how well the words match the picture, not how funny)",
            file=sys.stderr,
        )
    if description.strip() and not args.description.strip():
        print(f"description: {safe(description)}", file=sys.stderr)
    if batch.note:
        print(f"note: {safe(batch.note)}", file=sys.stderr)
    return 0


# --- memer config ---------------------------------------------------------------


def _add_config(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="print every setting in effect and where it came from")
    p.add_argument("--json", action="store_true", help="print the settings as JSON")
    p.set_defaults(run=_run_config)


def _run_config(args: argparse.Namespace) -> int:
    import json

    from memer.settings_doc import config_text, effective_settings

    rows = effective_settings()  # secrets hidden, outside text made safe
    print(json.dumps([row.to_dict() for row in rows], indent=2, ensure_ascii=False) if args.json else config_text(rows))
    return 0


# --- wiring -------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memer", description="Make memes: find a picture, caption it, render it.")
    parser.add_argument("--version", action="version", version=f"memer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{render,search,caption,cache,make,config}")
    sub.required = True
    for add in (_add_render, _add_search, _add_caption, add_cache, _add_make, _add_config):
        add(sub)
    return parser


def _describe_os_error(err: OSError) -> str:
    paths = " -> ".join(str(p) for p in (err.filename, err.filename2) if p is not None)
    reason = err.strerror or str(err) or type(err).__name__
    return f"{reason}: {paths}" if paths else reason


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet_libraries()
    try:
        return args.run(args)
    except MemerError as err:
        print(f"memer: error: {safe(cli_hints.line(err), 600)}", file=sys.stderr)
        return EXIT_ERROR
    except ImportError as err:  # an optional package missing: name the extra, no traceback
        print(f"memer: error: {missing_package_message(err, args.command)}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as err:  # a path the user gave: missing, a file where a folder should be, not writable
        print(f"memer: error: {safe(_describe_os_error(err))}. Check the path and its permissions.", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("memer: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def run() -> None:
    """The ``memer`` command: main(), and after Ctrl-C an exit that waits for nothing.

    Interpreter shutdown after a model was loaded can take seconds (garbage
    collection, library finalisers); a user who pressed Ctrl-C is not kept
    waiting for it. Every file memer writes is written atomically, so none is
    left half-written.
    """
    code = main()
    if code == EXIT_INTERRUPTED:
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
