"""Every error memer raises carries a stable code from errors.CODES, and the CLI words its hint from the code.

The raise sites are read with ``ast`` (no test can reach every one of them):
each constructor of a MemerError class either passes ``code=`` (a known code,
or another error's code passed along) or relies on its class's default.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from PIL import Image

import memer
from memer import cli, cli_hints, errors
from memer.captioning import check_seed, choose_engine, generate_captions
from memer.errors import CODES, CacheError, CaptionError, ConfigError, ImageError, MemerError, RenderError

PACKAGE = Path(memer.__file__).parent


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


def _error_classes() -> dict[str, type]:
    for module in pkgutil.walk_packages([str(PACKAGE)], "memer."):
        if not module.name.startswith(("memer.ui", "memer.__main__")):
            try:
                importlib.import_module(module.name)
            except ImportError:  # an optional extra (diffusers ...) that is not installed here
                continue
    return {cls.__name__: cls for cls in [MemerError, *_all_subclasses(MemerError)]}


def test_every_error_class_has_a_known_code():
    classes = _error_classes()
    assert {"SearchFailed", "CaptionError", "ConfigError"} <= set(classes)
    for cls in classes.values():
        assert cls.code in CODES, cls


def _constructions() -> list[tuple[str, int, str, ast.Call]]:
    names = set(_error_classes())
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
                found.append((str(path.relative_to(PACKAGE)), node.lineno, node.func.id, node))
    return found


def test_every_raise_site_gives_a_known_code_or_relies_on_its_class_default():
    classes = _error_classes()
    sites = _constructions()
    assert len(sites) > 150  # the scan sees the raise sites (a broken scan would pass vacuously)
    given = 0
    for path, line, name, call in sites:
        code = next((k.value for k in call.keywords if k.arg == "code"), None)
        if code is None:
            assert classes[name].code in CODES, f"{path}:{line}"
        elif isinstance(code, ast.Constant):
            given += 1
            assert code.value in CODES, f"{path}:{line}: unknown code {code.value!r}"
        else:  # passed along from the error it wraps, e.g. code=err.code
            assert ast.unparse(code).endswith(".code"), f"{path}:{line}"
    assert given > 80


def test_codes_are_stable_dotted_names():
    for code, meaning in CODES.items():
        area, _, name = code.partition(".")
        assert area.isidentifier() and name.replace("_", "").isalnum() and meaning, code


def test_an_error_keeps_its_message_hint_code_and_fix():
    err = CaptionError("the seed 'x' is not a whole number.", "Use 42.", code="caption.bad_seed", fix="seed")
    assert (str(err), err.code, err.fix) == ("the seed 'x' is not a whole number. Use 42.", "caption.bad_seed", "seed")
    assert CaptionError("x").code == "caption.error" and CaptionError("x").fix == ""
    assert MemerError("x").code == "memer.error" and ConfigError("x").code == "config.invalid"


# --- the codes the faces word differently, from the real raise sites -----------------------


def test_the_openai_engine_names_where_a_refused_key_came_from(openai_api, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-in-the-environment")
    with pytest.raises(CaptionError) as from_env:
        generate_captions("apple pie", engine="openai")
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(CaptionError) as passed:
        generate_captions("apple pie", engine="openai", api_key="sk-wrong-pasted")
    assert from_env.value.code == passed.value.code == "openai.key_refused"
    assert (from_env.value.fix, passed.value.fix) == ("OPENAI_API_KEY", "api_key")
    with pytest.raises(CaptionError) as none:
        generate_captions("apple pie", engine="openai")
    assert none.value.code == "openai.no_key"
    with pytest.raises(CaptionError) as malformed:
        generate_captions("apple pie", engine="openai", api_key="“sk-quoted”")
    assert (malformed.value.code, malformed.value.fix) == ("openai.key_malformed", "api_key")


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"kind": "status", "status": 429, "retry_after": "0"}, "openai.rate_limited"),
        ({"kind": "status", "status": 500, "retry_after": "0"}, "openai.unavailable"),
        ({"kind": "delay", "seconds": 1.0}, "openai.timeout"),
    ],
)
def test_openai_failures_have_their_codes(openai_api, monkeypatch, fault, code):
    from memer import settings

    monkeypatch.setattr(settings, "OPENAI_TIMEOUT", 0.3)
    openai_api.server.fault("/v1/chat/completions", fault.pop("kind"), **fault)
    with pytest.raises(CaptionError) as caught:
        generate_captions("apple pie", engine="openai")
    assert caught.value.code == code


def test_input_errors_have_their_codes(tmp_path):
    with pytest.raises(CaptionError) as engine:
        choose_engine("gpt-9")
    with pytest.raises(CaptionError) as seed:
        check_seed("forty-two")
    with pytest.raises(RenderError) as empty:
        memer.rendering.layout.check_caption("  ")
    (tmp_path / "not.jpg").write_text("hello")
    with pytest.raises(ImageError) as unreadable:
        memer.images.open_image(tmp_path / "not.jpg")
    with pytest.raises(CacheError) as missing:
        memer.sources.openimages.store.EmbeddingCache.open(tmp_path)
    assert (engine.value.code, engine.value.fix) == ("caption.unknown_engine", "engine")
    assert (seed.value.code, seed.value.fix) == ("caption.bad_seed", "seed")
    assert (empty.value.code, unreadable.value.code) == ("render.empty_caption", "image.unreadable")
    assert missing.value.code == "cache.missing"


def test_a_missing_cache_is_its_source_status_code(tmp_path, monkeypatch):
    from memer import pipeline, settings

    monkeypatch.setattr(settings, "cache_dir", lambda: tmp_path / "none")
    status, _ = pipeline._ask_source("openimages", "pie", _Done(object()))
    assert (status.ok, status.code) == (False, "cache.missing")


class _Done:
    """A finished future holding ``value`` (the CLIP model the Open Images source waits for)."""

    def __init__(self, value):
        self.value = value

    def exception(self):
        return None

    def result(self):
        return self.value


def test_a_clip_failure_is_search_clip_failed_with_the_sources_kept(monkeypatch):
    from memer import pipeline, settings

    monkeypatch.setattr(settings, "CLIP_MODEL", "")
    with pytest.raises(pipeline.SearchFailed) as caught:
        pipeline.search("pie", sources=["openimages"])
    assert caught.value.code == "search.clip_failed" and caught.value.fix == "MEMER_CLIP_MODEL"
    assert caught.value.cause.code == "model.clip_failed"
    assert [s.name for s in caught.value.sources] == ["openimages"]


# --- the CLI's words ---------------------------------------------------------------------


def test_every_cli_hint_row_is_a_known_code_and_names_a_flag_or_setting():
    samples = {code: MemerError("m.", "Choose one of: a, b.", code=code) for code in cli_hints.HINTS}
    for code, err in samples.items():
        assert code in CODES
        advice = cli_hints.hint(err)
        assert "--" in advice or "MEMER_" in advice or "OPENAI_API_KEY" in advice, code
        assert "paste" not in advice and "box" not in advice, code  # the app's words, not the CLI's


@pytest.mark.parametrize(
    ("err", "expected"),
    [
        (CaptionError("the seed 'x' is bad.", "h", code="caption.bad_seed", fix="seed"), "e.g. --seed 42"),
        (CaptionError("the seed 'x' is bad.", "h", code="caption.bad_seed", fix="MEMER_SEED"), "MEMER_SEED=42"),
        (
            CaptionError(
                "unknown engine.", "Choose one of: openai, local.", code="caption.unknown_engine", fix="engine"
            ),
            "Choose one of: openai, local (--engine).",
        ),
        (CaptionError("no key.", code="openai.no_key"), "export OPENAI_API_KEY="),
        (CaptionError("refused.", "Check the key you passed.", code="openai.key_refused"), "Check OPENAI_API_KEY"),
        (RenderError("The caption is empty.", "Give some text.", code="render.empty_caption"), "Give some text."),
    ],
)
def test_the_cli_words_its_hint_from_the_code(err, expected):
    assert expected in cli_hints.line(err) and cli_hints.line(err).startswith(err.message)


def test_a_bad_seed_on_the_command_line_names_the_flag(capsys, tmp_path):
    picture = tmp_path / "p.png"
    Image.new("RGB", (64, 64), "blue").save(picture)
    code = cli.main(["caption", str(picture), "--theme", "pie", "--engine", "local", "--seed", "x"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("memer: error: the seed 'x' is not a whole number.") and "--seed 42" in err


def test_errors_module_lists_each_code_once():
    source = Path(errors.__file__).read_text(encoding="utf-8")
    for code in CODES:
        assert source.count(f'"{code}":') == 1, code
