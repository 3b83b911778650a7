"""Registered parts (sources, caption engines) and the decisions made once on the pipeline's results."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import memer.captioning
import memer.sources
from memer import cli, http, pipeline, settings
from memer.candidates import ImageCandidate, licence_needs_credit
from memer.captioning.base import SAFE, SENSITIVE, UNSAFE, Caption, CaptionBatch, PictureDescription
from memer.errors import CaptionError, SourceError


@pytest.fixture
def picture(tmp_path) -> ImageCandidate:
    path = tmp_path / "pie.png"
    Image.new("RGB", (320, 240), (200, 120, 40)).save(path)
    return ImageCandidate(source="commons", title="File:Apple pie.jpg", image_url=path.as_uri(), path=path)


# --- sources -----------------------------------------------------------------------------------


class Shelf:
    """A source added the documented way: an object with a name, a display name and ``search``."""

    name, display_name, searchable = "shelf", "The Shelf", True

    def __init__(self) -> None:
        self.asked: list[str] = []

    def search(self, query, context):
        self.asked.append(query)
        return [ImageCandidate(source="shelf", title=f"{query} on a shelf", image_url="https://example.org/a.jpg")]


@pytest.fixture
def shelf(monkeypatch):
    monkeypatch.setattr(memer.sources, "_SOURCES", dict(memer.sources._SOURCES))
    return memer.sources.register(Shelf())


def test_a_registered_source_is_asked_named_and_offered(shelf, capsys):
    assert pipeline.source_names("commons,shelf") == ["commons", "shelf"]
    status, found = pipeline._ask_source("shelf", "pie", None)
    assert status.ok and status.count == 1 and shelf.asked == ["pie"]
    assert found[0].attribution() == "Image: unknown / The Shelf"  # the display name comes from the registry
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["search", "--help"])
    assert "shelf" in capsys.readouterr().out


def test_an_unknown_source_names_the_registered_choices(shelf):
    with pytest.raises(SourceError, match="Choose from: commons, wikipedia, openimages, generated, shelf"):
        pipeline.source_names("nowhere")
    with pytest.raises(SourceError):
        pipeline.source_names("own")  # your own picture is a way in, not a search


def test_a_source_that_needs_clip_is_told_when_clip_failed():
    from concurrent.futures import Future

    failed: Future = Future()
    failed.set_exception(RuntimeError("no model"))
    status, found = pipeline._ask_source("openimages", "dog", failed)
    assert not status.ok and found == [] and "CLIP" in status.message


# --- engines ------------------------------------------------------------------------------------


class Echo:
    """A caption engine added the documented way."""

    name, label = "echo", "Echo"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def generate(self, request, *, model, api_key, progress):
        self.calls.append("generate")
        captions = [Caption(f"{request.theme} {i}", "echo", "echo-1", level) for i, level in enumerate((2, 0, 1))]
        return CaptionBatch(captions, "echo", "echo-1", "none", description=request.description)

    def describe(self, picture, *, model, api_key, progress, language=None):
        self.calls.append("describe")
        return PictureDescription("A pie on a table.", "echo", "echo-1")


@pytest.fixture
def echo(monkeypatch):
    monkeypatch.setattr(memer.captioning, "_ENGINES", dict(memer.captioning._ENGINES))
    return memer.captioning.register_engine(Echo())


def test_a_registered_engine_is_a_cli_choice_and_the_pipeline_uses_it(echo, picture, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["caption", "--help"])
    assert "echo" in capsys.readouterr().out
    batch = pipeline.captions(picture, theme="pie", engine="echo", description="")
    assert batch.engine == "echo" and batch.texts == ["pie 0", "pie 1", "pie 2"]


def test_one_caption_action_chooses_its_engine_once(echo, picture, monkeypatch):
    chosen = []
    real = memer.captioning.choose_engine
    monkeypatch.setattr(memer.captioning, "choose_engine", lambda *a, **k: chosen.append(a) or real(*a, **k))
    monkeypatch.setattr(settings, "CAPTION_ENGINE", "echo")
    batch = pipeline.captions(picture, theme="pie", description="", describe_first=True)
    assert len(chosen) == 1
    assert echo.calls == ["describe", "generate"] and batch.description == "A pie on a table."


def test_describing_is_one_rule_with_an_override(echo, picture, monkeypatch):
    assert not pipeline.should_describe("a pie", True)  # words already: never a model call
    monkeypatch.setattr(settings, "DESCRIBE", True)
    assert pipeline.should_describe("") and not pipeline.should_describe("", describe_first=False)
    monkeypatch.setattr(settings, "DESCRIBE", False)
    assert not pipeline.should_describe("  ") and pipeline.should_describe("", describe_first=True)
    pipeline.captions(picture, theme="pie", engine="echo", description="")
    assert echo.calls == ["generate"]


def test_the_cli_caption_describes_only_with_describe(echo, picture, capsys):
    args = ["caption", str(picture.path), "--theme", "pie", "--engine", "echo"]
    assert cli.main(args) == 0
    assert echo.calls == ["generate"]
    assert cli.main([*args, "--describe"]) == 0
    assert echo.calls == ["generate", "describe", "generate"]
    assert "description: A pie on a table." in capsys.readouterr().err


def test_an_unknown_engine_names_the_registered_ones(echo):
    with pytest.raises(CaptionError, match="openai, local, echo"):
        memer.captioning.choose_engine("nope")


def test_openai_if_a_key_is_found_is_one_rule(monkeypatch):
    from memer.sources import generated

    for found, engine in ((True, "openai"), (False, "local")):
        monkeypatch.setattr(memer.captioning, "find_openai_key", lambda key=None, f=found: "sk-x" if f else None)
        monkeypatch.setattr(generated, "find_openai_key", lambda key=None, f=found: "sk-x" if f else None)
        monkeypatch.setattr(settings, "CAPTION_ENGINE", "")
        monkeypatch.setattr(settings, "GENERATOR", "")
        assert memer.captioning.choose_engine() == engine == generated.choose_generator()
        assert memer.captioning.choose_engine(key_found=not found) != engine  # the app's one look-up


def test_the_openai_key_refusal_reads_the_same_for_captions_and_pictures():
    from memer.captioning import openai_engine
    from memer.sources import generated

    assert generated.REFUSED_KEY is openai_engine.REFUSED_KEY


# --- decisions on the results --------------------------------------------------------------------


def _status(name: str, ok: bool) -> pipeline.SourceStatus:
    return pipeline.SourceStatus(name, ok, 0, "" if ok else "offline")


def test_all_failed_means_every_source_asked_failed():
    result = pipeline.SearchResult("pie", [], [_status("commons", False), _status("wikipedia", False)])
    assert result.all_failed and [s.name for s in result.failed_sources] == ["commons", "wikipedia"]
    assert not pipeline.SearchResult("pie", [], [_status("commons", False), _status("wikipedia", True)]).all_failed
    assert not pipeline.SearchResult("pie", [], []).all_failed


def test_the_cli_and_the_result_agree_on_every_source_failing(monkeypatch, capsys):
    result = pipeline.SearchResult("pie", [], [_status("commons", False)])
    monkeypatch.setattr(pipeline, "search", lambda *a, **k: result)
    assert cli.main(["search", "pie"]) == cli.EXIT_ERROR
    assert "every picture source failed (Wikimedia Commons)" in capsys.readouterr().err


def test_usable_captions_are_those_not_unsafe():
    batch = CaptionBatch([Caption(str(level), "e", "m", level) for level in (UNSAFE, SAFE, SENSITIVE)], "e", "m", "c")
    assert [c.text for c in batch.usable()] == ["0", "1"]
    assert len(batch.usable(allow_unsafe=True)) == 3
    assert [c.usable for c in batch.captions] == [False, True, True]


def test_the_app_picks_the_first_usable_caption():
    from memer.ui.work import PictureWork

    work = PictureWork()
    work.add_batch(CaptionBatch([Caption(str(lv), "e", "m", lv) for lv in (UNSAFE, SENSITIVE)], "e", "m", "c"))
    assert work.first_safe() == 1


@pytest.mark.parametrize(
    ("licence", "required", "needed"),
    [("CC BY-SA 4.0", True, True), ("CC0", True, False), ("Public domain", False, False), ("", False, False)],
)
def test_needs_credit_is_one_rule_for_candidates_and_the_app(licence, required, needed):
    from memer.ui.editor import credit_needed

    candidate = ImageCandidate("commons", "t", "u", license=licence, attribution_required=required)
    assert candidate.needs_credit is needed is licence_needs_credit(licence, required)
    assert credit_needed(candidate) is needed


# --- one file-name rule, one cut rule --------------------------------------------------------------


def test_file_names_follow_one_rule():
    from memer.text import file_words
    from memer.ui.editor import Look
    from memer.ui.preview import meme_file_name

    assert pipeline.meme_filename("File:Crème brûlée (2).jpg") == "creme-brulee-2-meme.png"
    assert pipeline.meme_filename("日本") == "meme.png"
    assert http.safe_filename("File:Crème brûlée (2).jpg", "https://u/x", "jpg").startswith("creme-brulee-2-")
    assert file_words("Ça va? OK!", 5, letters=None) == "ca-va-ok"
    look = Look("Ça va? OK!", "bottom", None, False, "white", "black", False)
    assert meme_file_name("apple-pie-meme.png", look).startswith("apple-pie-meme-ca-va-ok-")


def test_text_is_cut_with_one_rule():
    from memer.sources import commons, openimages
    from memer.text import shorten

    long = "word " * 100
    assert commons._cap(long, 40) == shorten(long, 40) and shorten(long, 40).endswith("…")
    assert openimages._text({"title": long}, "title", 40) == shorten(long, 40)
    assert commons._cap(long, None) == long


# --- rendering once, and saving --------------------------------------------------------------------


def test_render_lays_the_text_out_once_and_reports_its_size(picture, monkeypatch):
    from memer.rendering import compose, draw

    plans = []
    real = compose._plan  # at a fixed place the text is laid out once (auto tries each place: test_placement.py)
    monkeypatch.setattr(compose, "_plan", lambda *a, **k: plans.append(a) or real(*a, **k))
    meme = pipeline.render(picture, "hello pie", position="bottom")
    assert len(plans) == 1
    [placement] = draw.plan_meme(*meme.image.size, "hello pie", draw.RenderOptions(position="bottom"))
    assert meme.font_size == placement.layout.size and meme.position_used == "bottom"


def test_a_meme_saves_itself_atomically(picture, tmp_path):
    meme = pipeline.render(picture, "hello pie")
    written = meme.save(tmp_path / "out")
    assert written == tmp_path / "out.png" and written.read_bytes() == meme.png
    assert [p.name for p in Path(tmp_path).iterdir() if p.name.startswith(".")] == []
    with pytest.raises(Exception, match="does not exist"):
        meme.save(tmp_path / "missing" / "x.png")
