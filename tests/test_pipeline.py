"""The whole pass as the CLI and the app drive it: search -> captions -> render, with every service stood in."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from memer import pipeline, settings
from memer.candidates import ImageCandidate
from memer.errors import ImageError, SourceError
from tests.standins.mediawiki import make_image


@pytest.fixture
def pies(mediawiki, tiny_clip_settings, monkeypatch):
    monkeypatch.setattr(settings, "SOURCES", ["commons", "wikipedia"])
    monkeypatch.setattr(settings, "READ_TIMEOUT", 2.0)
    monkeypatch.setattr(settings, "HTTP_RETRIES", 0)
    # The tiny random CLIP sees all these synthetic pictures as ~0.98 alike; only identical pixels are duplicates here.
    monkeypatch.setattr(settings, "DEDUPE_THRESHOLD", 0.999)
    for i in range(4):
        mediawiki.add_file(f"Apple pie {i}.jpg", description=f"Apple pie number {i}.")
    orchard = mediawiki.add_file("Orchard.jpg", description="Apple trees.", license="CC BY 2.0")
    mediawiki.add_article("Apple pie", [orchard])
    return mediawiki


def test_search_ranks_every_source_together(pies):
    seen = []
    result = pipeline.search("  apple   pie ", progress=lambda message, fraction: seen.append((message, fraction)))
    assert result.query == "apple pie"
    assert sorted(c.title for c in result.candidates) == [
        "Apple pie 0",
        "Apple pie 1",
        "Apple pie 2",
        "Apple pie 3",
        "Orchard",
    ]
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(c.path is not None and c.path.is_file() for c in result.candidates)
    assert [(s.name, s.ok, s.count) for s in result.sources] == [("commons", True, 4), ("wikipedia", True, 1)]
    assert seen[-1] == ("Found 5 pictures", 1.0)
    assert all(f is None or 0.0 <= f <= 1.0 for _, f in seen)
    assert any(m.startswith("Downloading pictures") for m, _ in seen)
    answered = [m for m, _ in seen if m.startswith(("Wikimedia Commons: ", "Wikipedia: "))]
    assert len(answered) == 2 and "waiting for" in answered[0] and "waiting" not in answered[1]  # as each answers


def test_top_k_keeps_the_best(pies):
    everything = pipeline.search("apple pie")
    best_two = pipeline.search("apple pie", top_k=2)
    assert [c.title for c in best_two.candidates] == [c.title for c in everything.candidates[:2]]
    assert sum("below the top 2" in reason for _, reason in best_two.dropped) == 3


def test_a_dead_source_is_reported_and_the_others_still_answer(pies, server):
    server.fault("/wikipedia/w/api.php", "status", status=503)
    result = pipeline.search("apple pie")
    status = {s.name: s for s in result.sources}
    assert status["commons"].ok and not status["wikipedia"].ok
    assert "503" in status["wikipedia"].message
    assert {c.source for c in result.candidates} == {"commons"}


def test_a_source_that_raises_something_unexpected_does_not_sink_the_search(pies, monkeypatch):
    from memer.sources import commons

    def broken(query, limit=None, **kw):
        raise KeyError("pages")

    monkeypatch.setattr(commons, "search_wikipedia", broken)
    result = pipeline.search("apple pie")
    status = {s.name: s for s in result.sources}
    assert not status["wikipedia"].ok and "KeyError" in status["wikipedia"].message
    assert len(result.candidates) == 4


def test_failed_downloads_and_duplicates_are_dropped_with_reasons(pies, server):
    twin = make_image("jpeg", seed=1)  # the same pixels as "Apple pie 0"
    pies.add_file("Apple pie copy.jpg", image=twin, artist=None, credit=None)
    server.fault(pies.files["File:Apple pie 3.jpg"].thumb_path, "html")
    result = pipeline.search("apple pie")
    titles = [c.title for c in result.candidates]
    assert "Apple pie 3" not in titles and "Apple pie copy" not in titles and "Apple pie 0" in titles
    reasons = {c.title: reason for c, reason in result.dropped}
    assert reasons["Apple pie 3"] == "not an image (text/html)"
    assert "duplicate of" in reasons["Apple pie copy"]


def test_the_reasons_pictures_were_dropped_are_counted_by_kind(pies, server):
    twin = make_image("jpeg", seed=1)
    pies.add_file("Apple pie copy.jpg", image=twin, artist=None, credit=None)  # a duplicate: a ranking cut
    server.fault(pies.files["File:Apple pie 3.jpg"].thumb_path, "html")
    server.fault(pies.files["File:Apple pie 2.jpg"].thumb_path, "status", status=404)
    server.fault(pies.files["File:Apple pie 1.jpg"].thumb_path, "status", status=404)
    result = pipeline.search("apple pie")
    assert result.drop_reasons == [
        pipeline.DropReason("HTTP 404", 2),
        pipeline.DropReason("not an image (text/html)", 1),
    ]


def test_pictures_a_host_rate_limited_are_counted_in_words(pies, server):
    for i in (1, 2):
        server.fault(pies.files[f"File:Apple pie {i}.jpg"].thumb_path, "status", status=429, retry_after="120")
    result = pipeline.search("apple pie")
    assert result.drop_reasons == [pipeline.DropReason("rate limited by 127.0.0.1 (try again in 2 minutes)", 2)]


def test_ctrl_c_stops_a_search_whose_sources_stall(pies, server, monkeypatch):
    import _thread
    import threading
    import time

    from tests.standins.settings import override

    override(monkeypatch, API_DEADLINE=30.0, READ_TIMEOUT=30.0)
    server.fault("/commons/w/api.php", "hang", seconds=5)
    server.fault("/wikipedia/w/api.php", "hang", seconds=5)
    threading.Timer(0.5, _thread.interrupt_main).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pipeline.search("apple pie")
    assert time.monotonic() - start < 2


def test_no_results_is_an_empty_answer_not_an_error(pies):
    result = pipeline.search("zebra crossing")
    assert result.candidates == [] and all(s.ok for s in result.sources)
    assert all(s.message == "no pictures for this topic" for s in result.sources)


@pytest.mark.parametrize(("query", "sources"), [("   ", None), ("pie", ["flickr"]), ("pie", [","])])
def test_bad_search_input_is_a_clear_error(query, sources):
    with pytest.raises(SourceError) as caught:
        pipeline.search(query, sources=sources)
    assert "Type what the meme is about" in str(caught.value) or "Choose from: commons, wikipedia, openimages" in str(
        caught.value
    )


def _candidate(tmp_path, **fields) -> ImageCandidate:
    path = tmp_path / "picture.jpg"
    Image.new("RGB", (480, 320), (40, 120, 200)).save(path)
    defaults = dict(
        source="commons",
        title="File:Apple pie.jpg",
        image_url="http://127.0.0.1:9/x.jpg",
        author="Jane Doe",
        license="CC BY-SA 4.0",
        path=path,
    )
    return ImageCandidate(**{**defaults, **fields})


def test_render_makes_a_credited_png(tmp_path):
    meme = pipeline.render(_candidate(tmp_path), "when the pie is a lie", position="both", engine="local")
    assert "png" not in vars(meme)  # a preview never pays for encoding
    assert meme.image.size == (1024, 683)
    assert meme.filename == "apple-pie-meme.png"
    assert meme.attribution == "Image: Jane Doe / Wikimedia Commons, CC BY-SA 4.0"
    text = Image.open(io.BytesIO(meme.png)).text
    assert (
        text["Caption"] == "when the pie is a lie"
        and text["Author"] == "Jane Doe"
        and text["Caption engine"] == "local"
    )


def test_render_burns_the_credit_strip_when_asked(tmp_path):
    plain = pipeline.render(_candidate(tmp_path), "pie")
    stripped = pipeline.render(_candidate(tmp_path), "pie", attribution_strip=True)
    bottom = (0, plain.image.height - 10, plain.image.width, plain.image.height)
    assert plain.image.crop(bottom).getextrema() != stripped.image.crop(bottom).getextrema()


def test_render_downloads_a_picture_the_search_did_not(tmp_path, server):
    data = make_image("png", size=(300, 200), seed=3)
    url = server.add_file("/late.png", data, "image/png")
    candidate = _candidate(tmp_path, path=None, image_url=url)
    meme = pipeline.render(candidate, "late pie")
    assert candidate.path is not None and candidate.path.is_file()
    assert meme.image.size == (1024, 683)


def test_render_says_when_the_picture_cannot_be_had(tmp_path, server):
    url = server.add_file("/page.html", b"<html>login</html>", "text/html")
    with pytest.raises(ImageError, match="Could not download the picture 'File:Apple pie.jpg': not an image"):
        pipeline.render(_candidate(tmp_path, path=None, image_url=url), "pie")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("File:Apple pie.jpg", "apple-pie-meme.png"),
        ("Crème brûlée — 2.PNG", "creme-brulee-2-meme.png"),
        ("../../etc/passwd", "etc-passwd-meme.png"),
        ("", "meme.png"),
        ("a" * 12_600 + ".jpg", "a" * 24 + "-meme.png"),  # a hostile title gives a short name
    ],
)
def test_meme_filename(name, expected):
    assert pipeline.meme_filename(name) == expected


def test_open_images_pictures_are_ranked_with_the_rest(world):
    result = pipeline.search("apple pie")  # 3 on Commons, 2 on Wikipedia (one of them the same file), 7 in Open Images
    status = {s.name: s for s in result.sources}
    assert status["openimages"].ok and status["openimages"].count == 7
    assert len(result.candidates) == 10
    assert {c.source for c in result.candidates} == {"commons", "wikipedia", "openimages"}
    dog = next(c for c in result.candidates + [d for d, _ in result.dropped] if c.title == "Dog, ball, and grass")
    assert dog.attribution() == 'Image: Jane "JD" Doe / Open Images, CC BY 2.0'


def test_a_missing_open_images_cache_is_reported_with_how_to_build_it(pies, monkeypatch, tmp_path):
    monkeypatch.setattr(settings, "SOURCES", ["commons", "openimages"])
    monkeypatch.setattr(settings, "CACHE_DIR", tmp_path / "no-cache-here")
    result = pipeline.search("apple pie")
    status = {s.name: s for s in result.sources}
    assert status["commons"].ok and not status["openimages"].ok
    assert "memer cache build" in status["openimages"].message
    assert len(result.candidates) == 4
