"""Commons and Wikipedia search: the pure parser, the licence policy, and searches against the stand-in."""

from __future__ import annotations

import time

import pytest

from memer import http, settings
from memer.errors import SourceError
from memer.sources import commons
from memer.sources.commons import is_free_license, parse_api_response


def _meta(**fields):
    return {k: {"value": v, "source": "commons-desc-page"} for k, v in fields.items()}


def _page(title="File:Pie.jpg", index=1, info=None, **page):
    base_info = {
        "thumburl": "https://upload.example/thumb/Pie.jpg/960px-Pie.jpg",
        "url": "https://upload.example/Pie.jpg",
        "descriptionurl": "https://commons.wikimedia.org/wiki/File:Pie.jpg",
        "width": 2000,
        "height": 1500,
        "mime": "image/jpeg",
        "extmetadata": _meta(Artist="Jane", LicenseShortName="CC BY 4.0", LicenseUrl="https://cc/by/4.0"),
    }
    if info is not None:
        base_info = info
    return {"ns": 6, "title": title, "index": index, "imagerepository": "shared", "imageinfo": [base_info], **page}


def _v2(*pages):
    return {"batchcomplete": True, "query": {"pages": list(pages)}}


def _v1(*pages):
    return {"batchcomplete": "", "query": {"pages": {str(100 + i): p for i, p in enumerate(pages)}}}


# --- the parser -------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [_v1, _v2], ids=["formatversion1", "formatversion2"])
def test_both_formatversions_give_the_same_candidates_in_search_rank_order(wrap):
    pages = [_page("File:Third.jpg", index=3), _page("File:First.jpg", index=1), _page("File:Second.jpg", index=2)]
    found = parse_api_response(wrap(*pages))
    assert [c.title for c in found] == ["First", "Second", "Third"]
    first = found[0]
    assert first.image_url.endswith("960px-Pie.jpg")
    assert first.original_url == "https://upload.example/Pie.jpg"
    assert (first.author, first.license, first.license_url) == ("Jane", "CC BY 4.0", "https://cc/by/4.0")
    assert first.page_url == "https://commons.wikimedia.org/wiki/File:Pie.jpg"
    assert (first.width, first.height, first.free, first.source) == (2000, 1500, True, "commons")


PARSE_CASES = [
    # (extmetadata fields, attribute, expected)
    (
        {"Artist": '<a href="//commons.wikimedia.org/wiki/User:J">Jane&nbsp;<b>Doe</b></a>\n\n  (talk)'},
        "author",
        "Jane Doe (talk)",
    ),
    ({"Artist": "<span>Tom &amp; Jerry</span><script>alert(1)</script>"}, "author", "Tom & Jerry"),
    ({"Credit": "<span class='int-own-work'>Own work</span> by Ann"}, "author", "Own work by Ann"),
    ({}, "author", "unknown"),
    ({"Artist": "   "}, "author", "unknown"),
    ({"Artist": {"de": "Hans", "en": "<i>John</i>", "_type": "lang"}}, "author", "John"),
    ({"ImageDescription": {"fr": "Tarte", "de": "Kuchen", "_type": "lang"}}, "description", "Tarte"),
    ({"ImageDescription": {"en-gb": "Pie, British", "fr": "Tarte", "_type": "lang"}}, "description", "Pie, British"),
    (
        {"ImageDescription": "<p>An <b>apple</b> pie</p><p>on a table &lt;3</p>"},
        "description",
        "An apple pie on a table <3",
    ),
    ({"LicenseShortName": "CC0"}, "license_url", ""),
    ({"License": "cc-by-sa-4.0"}, "license", "cc-by-sa-4.0"),
    ({"AttributionRequired": "false", "LicenseShortName": "CC0"}, "attribution_required", False),
    ({"AttributionRequired": "true", "LicenseShortName": "CC BY 2.0"}, "attribution_required", True),
    ({"Restrictions": "trademarked|personality"}, "restrictions", "trademarked|personality"),
    ({"LicenseShortName": "CC BY-SA 3.0", "NonFree": "true"}, "free", False),
    ({"LicenseShortName": "Fair use"}, "free", False),
    ({}, "free", False),  # no licence at all
    ({"LicenseShortName": "Public domain"}, "free", True),
]


@pytest.mark.parametrize(("fields", "attribute", "expected"), PARSE_CASES)
def test_extmetadata_becomes_plain_text_and_policy(fields, attribute, expected):
    info = {"url": "https://upload.example/P.jpg", "extmetadata": _meta(**fields)}
    (candidate,) = parse_api_response(_v2(_page(info=info)))
    assert getattr(candidate, attribute) == expected


def test_long_descriptions_are_trimmed_to_about_sixty_words():
    text = " ".join(f"word{i}" for i in range(200))
    info = {"url": "https://u/P.jpg", "extmetadata": _meta(ImageDescription=f"<div>{text}</div>")}
    (candidate,) = parse_api_response(_v2(_page(info=info)))
    words = candidate.description.split()
    assert words[:2] == ["word0", "word1"] and len(words) <= 61 and candidate.description.endswith("…")


@pytest.mark.parametrize(
    ("info", "expected_url"),
    [
        ({"url": "https://u/orig.jpg"}, "https://u/orig.jpg"),  # no thumburl: the original
        (
            {"thumburl": "https://u/960px-x.svg.png", "url": "https://u/x.svg", "mime": "image/svg+xml"},
            "https://u/960px-x.svg.png",
        ),
    ],
)
def test_image_url_prefers_the_api_thumbnail(info, expected_url):
    (candidate,) = parse_api_response(_v2(_page(info=info)))
    assert candidate.image_url == expected_url


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"query": {}},
        {"batchcomplete": True, "query": {"pages": []}},
        {"query": {"pages": [{"ns": 6, "title": "File:Gone.jpg", "missing": True}]}},
        {"query": {"pages": {"-1": {"ns": 6, "title": "File:Gone.jpg", "missing": ""}}}},
        {"query": {"pages": [{"title": "File:NoUrl.jpg", "imageinfo": [{"width": 5}]}]}},
        {"query": {"pages": [{"title": "File:Hidden.jpg", "imageinfo": [{"filehidden": True}]}]}},
        {"query": {"pages": ["junk", 3, None]}},
    ],
)
def test_missing_pieces_give_no_candidates_rather_than_errors(payload):
    assert parse_api_response(payload) == []


@pytest.mark.parametrize(
    ("name", "free"),
    [
        ("CC0", True),
        ("CC0 1.0", True),
        ("Public domain", True),
        ("PD-US", True),
        ("No restrictions", True),
        ("CC BY 4.0", True),
        ("CC BY-SA 3.0", True),
        ("CC-BY-SA-2.5", True),
        ("GFDL", True),
        ("FAL", True),
        ("Copyrighted free use", True),
        ("Attribution", True),
        ("Fair use", False),
        ("Non-free media", False),
        ("CC BY-NC 2.0", False),
        ("CC BY-NC-SA 4.0", False),
        ("CC BY-ND 3.0", False),
        ("All rights reserved", False),
        ("Creative Commons Attribution-NonCommercial 4.0", False),
        ("Creative Commons Attribution-NonCommercial-ShareAlike 3.0", False),
        ("Attribution-NoDerivs 2.0", False),
        ("Creative Commons Attribution-NoDerivatives 4.0 International", False),
        ("Attribution Non-Commercial", False),
        ("Attribution non commercial share alike", False),
        ("Attribution_NonCommercial_NoDerivs", False),
        ("Attribution No Derivatives", False),
        ("Attribution-No-Derivs", False),
        ("Creative Commons Attribution-ShareAlike 4.0", True),
        ("Creative Commons Attribution 2.0", True),
        ("", False),
        ("Some made-up licence", False),
    ],
)
def test_licence_policy(name, free):
    assert is_free_license(name) is free


def test_nonfree_flag_wins_over_a_free_looking_name():
    assert is_free_license("CC BY-SA 4.0", nonfree=True) is False


# --- Commons search against the stand-in ------------------------------------------------


def test_commons_search_sends_one_polite_request_with_the_documented_parameters(mediawiki):
    mediawiki.add_file("Apple pie.jpg")
    found = commons.search_commons("apple pie", limit=5)
    assert [c.title for c in found] == ["Apple pie"]
    (request,) = mediawiki.api_requests("commons")
    expected = {
        "action": "query",
        "generator": "search",
        "gsrsearch": "apple pie filetype:bitmap filew:>500 fileh:>200",
        "gsrnamespace": "6",
        "gsrlimit": "5",
        "prop": "imageinfo",
        "iiprop": "url|size|mime|extmetadata",
        "iiurlwidth": "960",
        "iiextmetadatalanguage": "en",
        "format": "json",
        "formatversion": "2",
        "maxlag": "5",
    }
    assert {k: request.param(k) for k in expected} == expected
    assert "LicenseShortName" in request.param("iiextmetadatafilter").split("|")
    assert request.headers["user-agent"].startswith("memer/")
    assert settings.CONTACT in request.headers["user-agent"]


@pytest.mark.parametrize(
    ("setting", "sent"),
    [
        (960, 960),
        (250, 250),
        (1920, 1920),
        (1000, 960),
        (800, 960),
        (700, 500),
        (730, 960),
        (290, 330),
        (1, 250),
        (0, 250),
        (-5, 250),
        (5000, 1920),
        (1600, 1920),
        (1500, 1280),
    ],
)
def test_only_standard_thumbnail_widths_are_asked_for(mediawiki, monkeypatch, setting, sent):
    monkeypatch.setattr(settings, "THUMB_WIDTH", setting)
    assert commons.standard_thumb_width(setting) == sent
    mediawiki.add_file("Apple pie.jpg")
    commons.search_commons("apple pie", limit=1)
    (request,) = mediawiki.api_requests("commons")
    assert request.param("iiurlwidth") == str(sent)


def test_commons_results_are_free_plain_text_and_in_rank_order(mediawiki):
    for i in range(5):
        mediawiki.add_file(f"Apple pie {i}.jpg", artist=f"<b>Baker&#32;{i}</b>")
    mediawiki.add_file("Apple pie bad.jpg", license="Fair use", nonfree=True)
    found = commons.search_commons("apple pie")
    assert [c.title for c in found] == [f"Apple pie {i}" for i in range(5)]
    assert [c.author for c in found] == [f"Baker {i}" for i in range(5)]
    assert all(c.free and c.attribution() == f"Image: {c.author} / Wikimedia Commons, CC BY-SA 4.0" for c in found)
    with_nonfree = commons.search_commons("apple pie", allow_nonfree=True)
    assert [c.title for c in with_nonfree][-1] == "Apple pie bad" and not with_nonfree[-1].free


def test_commons_follows_continue_for_more_than_fifty(mediawiki):
    for i in range(60):
        mediawiki.add_file(f"Pie {i:02d}.jpg")
    found = commons.search_commons("pie", limit=55)
    assert [c.title for c in found] == [f"Pie {i:02d}" for i in range(55)]
    requests_made = mediawiki.api_requests("commons")
    assert [r.param("gsrlimit") for r in requests_made] == ["50", "50"]
    assert requests_made[1].param("gsroffset") == "50"


def test_commons_merges_a_batch_split_over_several_responses(mediawiki):
    for i in range(5):
        mediawiki.add_file(f"Tart {i}.jpg")
    mediawiki.imageinfo_per_response = 2  # imageinfo arrives 2 files at a time (iicontinue)
    found = commons.search_commons("tart", limit=5)
    assert [c.title for c in found] == [f"Tart {i}" for i in range(5)]
    assert len(mediawiki.api_requests("commons")) == 3


def test_commons_stops_when_a_complete_batch_is_enough(mediawiki):
    for i in range(8):
        mediawiki.add_file(f"Cake {i}.jpg")
    assert len(commons.search_commons("cake", limit=3)) == 3
    assert len(mediawiki.api_requests("commons")) == 1


def test_no_results_is_an_empty_list(mediawiki):
    assert commons.search_commons("nothing matches this") == []
    assert commons.search_wikipedia("nothing matches this") == []


def test_maxlag_waits_for_retry_after_capped_and_retries(mediawiki, monkeypatch):
    mediawiki.add_file("Apple pie.jpg")
    mediawiki.lag(times=2, retry_after="600")
    monkeypatch.setattr(settings, "RETRY_AFTER_MAX", 0.1)
    start = time.monotonic()
    found = commons.search_commons("apple pie")
    assert [c.title for c in found] == ["Apple pie"]
    assert time.monotonic() - start < 5
    assert len(mediawiki.api_requests("commons")) == 3


def test_maxlag_that_never_ends_is_a_source_error(mediawiki, monkeypatch):
    mediawiki.lag(times=10, retry_after="0")
    monkeypatch.setattr(settings, "MAXLAG_RETRIES", 2)
    with pytest.raises(SourceError, match="overloaded"):
        commons.search_commons("apple pie")
    assert len(mediawiki.api_requests("commons")) == 3


def test_other_api_errors_carry_the_apis_message(mediawiki):
    mediawiki.fail_with("badvalue", 'Unrecognized value for parameter "gsrnamespace": 99.')
    with pytest.raises(SourceError, match='badvalue: Unrecognized value for parameter "gsrnamespace"'):
        commons.search_commons("apple pie")


def test_http_errors_from_the_api_are_source_errors(mediawiki, server, monkeypatch):
    monkeypatch.setattr(settings, "HTTP_RETRIES", 1)
    monkeypatch.setattr(settings, "HTTP_BACKOFF", 0.0)
    server.fault("/commons/w/api.php", "status", status=503)
    with pytest.raises(SourceError, match="HTTP 503"):
        commons.search_commons("apple pie")


def test_formatversion_1_answers_parse_like_formatversion_2(mediawiki):
    for i in range(3):
        mediawiki.add_file(f"Crumble {i}.jpg")
    params = {
        "action": "query",
        "generator": "search",
        "gsrsearch": "crumble",
        "gsrnamespace": 6,
        "gsrlimit": 10,
        "prop": "imageinfo",
        "iiprop": "url|size|mime|extmetadata",
        "iiurlwidth": 960,
        "format": "json",
    }
    v1 = http.request_json(mediawiki.commons_api, {**params, "formatversion": 1}).payload
    v2 = http.request_json(mediawiki.commons_api, {**params, "formatversion": 2}).payload
    assert isinstance(v1["query"]["pages"], dict) and isinstance(v2["query"]["pages"], list)
    assert parse_api_response(v1) == parse_api_response(v2)
    assert [c.title for c in parse_api_response(v1)] == ["Crumble 0", "Crumble 1", "Crumble 2"]


# --- the Wikipedia route -----------------------------------------------------------


def _pie_article(mediawiki):
    photo = mediawiki.add_file("Apple pie on a plate.jpg")
    logo = mediawiki.add_file("Pie logo.svg", mime="image/svg+xml", size=(512, 512))
    icon = mediawiki.add_file("Pie icon.png", mime="image/png", size=(48, 48))
    poster = mediawiki.add_file("Pie film poster.jpg", repository="local", license="Fair use", nonfree=True)
    mediawiki.add_article("Apple pie", [photo, logo, icon, poster])
    mediawiki.add_article("Pie", [photo])  # the same file on two articles comes once
    return photo, poster


def test_wikipedia_route_keeps_free_photos_and_drops_logos_icons_and_local_files(mediawiki):
    _photo, _ = _pie_article(mediawiki)
    found = commons.search_wikipedia("apple pie")
    assert [c.title for c in found] == ["Apple pie on a plate"]
    assert found[0].source == "wikipedia" and found[0].attribution().endswith("/ Wikipedia, CC BY-SA 4.0")
    search, images = mediawiki.api_requests("wikipedia")
    assert (search.param("list"), search.param("srlimit"), search.param("maxlag")) == ("search", "3", "5")
    assert images.param("generator") == "images"
    assert set(images.param("titles").split("|")) == {"Apple pie", "Pie"}
    assert images.param("iiurlwidth") == "960"


def test_wikipedia_route_with_allow_nonfree_includes_local_files(mediawiki):
    _, _poster = _pie_article(mediawiki)
    found = commons.search_wikipedia("apple pie", allow_nonfree=True)
    titles = [c.title for c in found]
    assert "Pie film poster" in titles and "Pie logo" not in titles and "Pie icon" not in titles
    assert next(c for c in found if c.title == "Pie film poster").free is False


def test_an_svg_is_downloaded_as_its_png_thumbnail(mediawiki, tmp_path):
    mediawiki.add_file("Apple pie diagram.svg", mime="image/svg+xml", size=(800, 600))
    (candidate,) = parse_api_response(
        http.request_json(
            mediawiki.commons_api,
            {
                "action": "query",
                "generator": "search",
                "gsrsearch": "diagram",
                "prop": "imageinfo",
                "iiprop": "url|size|mime|extmetadata",
                "iiurlwidth": 960,
                "format": "json",
                "formatversion": 2,
            },
        ).payload
    )
    assert candidate.extra["mime"] == "image/svg+xml" and candidate.image_url.endswith(".svg.png")
    report = http.download_images([candidate], tmp_path)
    assert report.failed == [] and candidate.path.suffix == ".png"
    assert candidate.path.read_bytes().startswith(b"\x89PNG")


# --- usable sizes (issue 13) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("min_width", "min_side", "expected"),
    [
        (500, 200, "apple pie filetype:bitmap filew:>500 fileh:>200"),
        (0, 200, "apple pie filetype:bitmap fileh:>200"),
        (800, 0, "apple pie filetype:bitmap filew:>800"),
    ],
)
def test_the_search_asks_for_bitmaps_of_a_usable_size(monkeypatch, min_width, min_side, expected):
    monkeypatch.setattr(settings, "COMMONS_MIN_WIDTH", min_width)
    monkeypatch.setattr(settings, "MIN_IMAGE_SIDE", min_side)
    assert commons.commons_search_text(" apple pie ") == expected


@pytest.mark.parametrize(
    ("width", "height", "min_width", "usable"),
    [
        (1600, 1200, 500, True),
        (4000, 1, 0, False),  # a 1-pixel-high scan
        (300, 1200, 0, False),  # 1:4, a banner on its side
        (900, 300, 0, True),  # 3:1 exactly
        (480, 480, 500, False),  # too narrow for Commons
        (None, None, 500, True),  # unknown: the search already asked for the size
    ],
)
def test_usable_shape(monkeypatch, width, height, min_width, usable):
    monkeypatch.setattr(settings, "MAX_ASPECT_RATIO", 3.0)
    assert commons.usable_shape(width, height, min_width=min_width) is usable


def test_small_and_extreme_files_never_reach_the_gallery(mediawiki):
    mediawiki.add_file("Pie photo.jpg", size=(1600, 1200))
    mediawiki.add_file("Pie icon.png", mime="image/png", size=(64, 64))
    mediawiki.add_file("Pie scan strip.jpg", size=(6000, 40))
    mediawiki.add_file("Pie panorama.jpg", size=(8000, 1000))  # big enough to be asked for, too long to be a meme
    found = commons.search_commons("pie")
    assert [c.title for c in found] == ["Pie photo"]
    assert "filew:>500" in mediawiki.api_requests()[0].param("gsrsearch")
