"""``memer search`` end to end, as a user runs it, against the MediaWiki stand-in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.standins.settings import as_environment, override

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pies(mediawiki, _clip_env):
    mediawiki.clip_env = _clip_env
    photo = mediawiki.add_file(
        "Apple pie.jpg",
        artist='<bdi><a href="https://www.wikidata.org/wiki/Q1">Jane&nbsp;Doe</a></bdi>',
        description="<div lang='en'>A <b>warm</b> apple pie.</div>",
    )
    mediawiki.add_file(
        "Apple pie slice.jpg", artist=None, credit="<i>Bakery &amp; Co</i>", license="CC0", license_url=None
    )
    mediawiki.add_file("Apple pie ad.jpg", license="Fair use", nonfree=True)
    mediawiki.add_file("Apple pie poster.jpg", repository="local", license="Fair use", nonfree=True)
    orchard = mediawiki.add_file("Orchard in autumn.jpg", description="Apple trees.", license="CC BY 2.0")
    mediawiki.add_article("Apple pie", [photo, orchard, mediawiki.files["File:Apple pie poster.jpg"]])
    return mediawiki


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def _clip_env(tiny_clip_env, tiny_clip_settings):
    # Ranking uses the tiny random CLIP: its order is arbitrary, so tests compare sets.
    return tiny_clip_env


def _settings_for(mediawiki, tmp_path) -> dict[str, object]:
    return {
        "SOURCES": ["commons", "wikipedia"],
        "COMMONS_API": mediawiki.commons_api,
        "WIKIPEDIA_API": mediawiki.wikipedia_api,
        "DOWNLOAD_DIR": tmp_path / "cache",
        "READ_TIMEOUT": 2.0,
        "HTTP_RETRIES": 0,
        # The tiny random CLIP sees synthetic pictures as very alike; only identical pixels are duplicates here.
        "DEDUPE_THRESHOLD": 0.999,
    }


@pytest.fixture
def _memer(monkeypatch, capsys):
    """Run ``memer search ...`` in this process (CLIP loads once per process), settings as the env would set them."""
    from memer import cli

    def run(mediawiki, tmp_path, *args):
        override(monkeypatch, **_settings_for(mediawiki, tmp_path))
        capsys.readouterr()
        code = cli.main(["search", *args])
        out = capsys.readouterr()
        return Done(code, out.out, out.err)

    return run


def test_a_user_runs_memer_search_json(pies, tmp_path):
    """The real command in a fresh process, configured only by environment variables."""
    memer_env = {f"MEMER_{name}": as_environment(value) for name, value in _settings_for(pies, tmp_path).items()}
    env = {**os.environ, "PYTHONPATH": str(ROOT), **memer_env, **pies.clip_env}
    done = subprocess.run(
        [sys.executable, "-m", "memer", "search", "apple pie", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(c["title"] for c in json.loads(done.stdout)) == ["Apple pie", "Apple pie slice", "Orchard in autumn"]


def test_json_lists_free_attributed_candidates_from_both_sources(pies, tmp_path, _memer):
    done = _memer(pies, tmp_path, "apple pie", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    # Wikipedia's article shows the same Commons photo (listed once), an orchard, and a local fair-use poster (left out).
    assert sorted((c["source"], c["title"]) for c in found) == [
        ("commons", "Apple pie"),
        ("commons", "Apple pie slice"),
        ("wikipedia", "Orchard in autumn"),
    ]
    scores = [c["score"] for c in found]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    assert len(pies.api_requests("wikipedia")) == 2
    first = next(c for c in found if c["title"] == "Apple pie")
    assert first["author"] == "Jane Doe" and first["description"] == "A warm apple pie."
    assert first["attribution"] == "Image: Jane Doe / Wikimedia Commons, CC BY-SA 4.0"
    for key in (
        "license",
        "license_url",
        "page_url",
        "image_url",
        "original_url",
        "free",
        "attribution_required",
        "restrictions",
    ):
        assert key in first
    slice_ = next(c for c in found if c["title"] == "Apple pie slice")
    assert (slice_["author"], slice_["license"], slice_["license_url"]) == ("Bakery & Co", "CC0", "")
    assert all(c["free"] for c in found) and not any("ad" in c["title"] or "poster" in c["title"] for c in found)


def test_the_same_picture_found_by_both_sources_comes_once(pies, tmp_path, _memer):
    found = json.loads(_memer(pies, tmp_path, "apple pie", "--json").stdout)
    urls = [c["image_url"] for c in found]
    assert len(urls) == len(set(urls)) == 3


def test_limit_and_a_single_source(pies, tmp_path, _memer):
    found = json.loads(_memer(pies, tmp_path, "apple pie", "--sources", "commons", "--limit", "1", "--json").stdout)
    assert len(found) == 1 and found[0]["title"] in {"Apple pie", "Apple pie slice"}
    assert pies.api_requests("wikipedia") == []


def test_download_puts_the_pictures_in_the_folder(pies, tmp_path, _memer):
    done = _memer(pies, tmp_path, "apple pie", "--sources", "commons", "--download", str(tmp_path / "out"), "--json")
    assert done.returncode == 0, done.stderr
    paths = [Path(c["path"]) for c in json.loads(done.stdout)]
    assert len(paths) == 2 and all(p.parent == tmp_path / "out" and p.stat().st_size > 0 for p in paths)


def test_download_into_an_existing_file_is_a_one_line_error(pies, tmp_path, _memer):
    (tmp_path / "taken").write_text("a file, not a folder")
    done = _memer(pies, tmp_path, "apple pie", "--sources", "commons", "--download", str(tmp_path / "taken"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    error_lines = [line for line in done.stderr.replace("\r", "\n").splitlines() if line.startswith("memer:")]
    assert error_lines == [f"memer: error: File exists: {tmp_path / 'taken'}. Check the path and its permissions."]


def test_a_failing_download_is_reported_and_the_rest_still_listed(pies, tmp_path, server, _memer):
    server.fault(pies.files["File:Apple pie slice.jpg"].thumb_path, "html")
    done = _memer(pies, tmp_path, "apple pie", "--sources", "commons", "--download", str(tmp_path / "out"))
    assert done.returncode == 0
    assert "memer: 1 picture dropped: not an image (text/html)" in done.stderr
    assert "Apple pie" in done.stdout and "slice" not in done.stdout


def test_a_rate_limited_download_is_said_in_words(pies, tmp_path, server, _memer):
    server.fault(pies.files["File:Apple pie slice.jpg"].thumb_path, "status", status=429, retry_after="600")
    done = _memer(pies, tmp_path, "apple pie", "--sources", "commons")
    assert done.returncode == 0
    assert "memer: 1 picture dropped: rate limited by 127.0.0.1 (try again in 10 minutes)" in done.stderr
    assert "429" not in done.stderr


def test_plain_listing(pies, tmp_path, _memer):
    done = _memer(pies, tmp_path, "apple pie", "--sources", "commons")
    assert done.returncode == 0
    assert re.search(r"^ 1\. Apple pie(?: slice)?  \[Wikimedia Commons\]  score -?[01]\.\d{3}$", done.stdout, re.M)
    assert "Image: Jane Doe / Wikimedia Commons, CC BY-SA 4.0" in done.stdout


def test_a_failing_source_is_reported_and_the_other_still_printed(pies, tmp_path, server, _memer):
    server.fault("/wikipedia/w/api.php", "status", status=503)
    done = _memer(pies, tmp_path, "apple pie", "--json")
    assert done.returncode == 0
    assert "memer: Wikipedia failed" in done.stderr and "HTTP 503" in done.stderr
    assert {c["source"] for c in json.loads(done.stdout)} == {"commons"}


def test_every_source_failing_is_an_error(pies, tmp_path, _memer):
    pies.fail_with("internal_api_error_DBQueryError", "A database query error has occurred.")
    done = _memer(pies, tmp_path, "apple pie")
    assert done.returncode == 1
    assert "A database query error has occurred" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("sources", ["flickr", "commons,bogus", ","])
def test_unknown_sources_are_a_clear_error(pies, tmp_path, sources, _memer):
    done = _memer(pies, tmp_path, "apple pie", "--sources", sources)
    assert done.returncode == 1
    assert "Unknown image source" in done.stderr and "commons, wikipedia, openimages" in done.stderr


def test_nothing_found(pies, tmp_path, _memer):
    done = _memer(pies, tmp_path, "zebra crossing")
    assert done.returncode == 0 and done.stdout == ""
    assert "No pictures found" in done.stderr


def test_plain_listing_shows_each_pictures_web_page_not_the_cache(pies, tmp_path, _memer):
    done = _memer(pies, tmp_path, "apple pie", "--sources", "commons")
    assert done.returncode == 0
    pages = [line.strip() for line in done.stdout.splitlines() if line.startswith("    http")]
    assert pages and all("File:" in page for page in pages)  # the file's description page
    assert str(tmp_path / "cache") not in done.stdout
    found = json.loads(_memer(pies, tmp_path, "apple pie", "--sources", "commons", "--json").stdout)
    assert all(c["path"].startswith(str(tmp_path / "cache")) for c in found)  # --json still has the path


def test_every_source_failing_says_so_not_try_other_words(pies, tmp_path, server, _memer):
    server.fault("/commons/w/api.php", "status", status=503)
    server.fault("/wikipedia/w/api.php", "reset")
    done = _memer(pies, tmp_path, "apple pie")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("memer: Wikimedia Commons failed: ") and lines[1].startswith("memer: Wikipedia failed: ")
    assert lines[2].startswith("memer: error: every picture source failed (Wikimedia Commons, Wikipedia)")
    assert len(lines) == 3 and "try other words" not in done.stderr.lower()


def test_escapes_in_titles_and_authors_never_reach_the_terminal(mediawiki, _clip_env, tmp_path, _memer):
    mediawiki.add_file(
        "Apple pie \x1b[2J\u202eevil.jpg",
        artist="\x1b]8;;https://evil.example\x07Jane\x1b]8;;\x07 \x1b]0;owned\x07Doe",
        description="A pie \x1b[31mred\x1b[0m.",
    )
    done = _memer(mediawiki, tmp_path, "apple pie", "--sources", "commons")
    assert done.returncode == 0 and "Apple pie" in done.stdout
    for shown in (done.stdout, done.stderr):
        assert "\x1b" not in shown and "\u202e" not in shown and "\x07" not in shown
