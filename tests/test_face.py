"""The package's face: ``import memer`` gives the pipeline's functions, its types and errors, and stays light."""

from __future__ import annotations

import json
import subprocess
import sys

import memer
from memer import pipeline
from memer.captioning import base

HEAVY = ("torch", "PIL", "numpy", "openai", "transformers", "open_clip", "ipywidgets")


def _fresh(code: str) -> dict:
    """What ``code`` prints as JSON, run in a fresh interpreter (nothing imported yet)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_import_memer_imports_no_heavy_library():
    loaded = _fresh(
        f"import json, sys, memer\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))"
    )
    assert loaded == []


def test_the_face_gives_the_pipelines_functions_even_after_the_step_packages_are_imported():
    names = _fresh(
        "import json, memer, memer.rendering, memer.captioning\n"
        "print(json.dumps({n: getattr(memer, n).__module__ for n in "
        "('search', 'captions', 'describe', 'render', 'own_picture', 'uploaded_file')}))"
    )
    assert names == dict.fromkeys(names, "memer.pipeline") | {
        "own_picture": "memer.sources.own",
        "uploaded_file": "memer.sources.own",
    }


def test_the_face_is_the_pipeline():
    assert memer.search is pipeline.search
    assert memer.captions is pipeline.captions
    assert memer.describe is pipeline.describe
    assert memer.render is pipeline.render
    assert memer.own_picture is pipeline.own_picture
    assert memer.uploaded_file is pipeline.uploaded_file
    assert memer.SearchResult is pipeline.SearchResult and memer.Meme is pipeline.Meme
    assert memer.Caption is base.Caption and memer.CaptionBatch is base.CaptionBatch
    assert issubclass(memer.SourceError, memer.MemerError)


def test_every_name_in_all_is_there_and_listed_by_dir():
    for name in memer.__all__:
        assert getattr(memer, name) is not None
    assert set(memer.__all__) <= set(dir(memer))


def test_an_unknown_name_is_an_attribute_error():
    try:
        memer.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("memer.no_such_thing did not raise")


def test_the_step_packages_export_only_what_a_user_calls():
    import memer.rendering
    import memer.ui

    assert set(memer.ui.__all__) == {"App", "Cancelled", "launch"}
    assert set(memer.rendering.__all__) == {
        "POSITIONS",
        "PRESETS",
        "Placement",
        "RenderOptions",
        "TextBox",
        "add_ai_label",
        "check_caption",
        "meme_metadata",
        "open_animation",  # issue 22: an animated picture's frames, then every frame captioned
        "plan_meme",
        "png_bytes",
        "png_path",
        "position_used",
        "render_animation",
        "render_meme",
        "render_placed",
        "save_png",
    }
    for module in (memer.rendering, memer.ui):
        for name in module.__all__:
            assert hasattr(module, name)
