"""Commons and Wikipedia answers from a hostile or broken API: a bad page drops alone, text stays sane."""

from __future__ import annotations

import copy
import time

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from memer import settings
from memer.sources import commons
from memer.sources.commons import parse_api_response
from tests.standins.settings import override
from tests.test_sources_commons import _meta, _page, _v1, _v2


def _nested(depth: int) -> object:
    value: object = "deep"
    for _ in range(depth):
        value = {"en": value}
    return value


def _good(title: str = "File:Good.jpg", index: int = 2) -> dict:
    return _page(title=title, index=index)


def _with_info(**changes) -> dict:
    page = _page(title="File:Bad.jpg", index=1)
    page["imageinfo"][0].update(changes)
    return page


BAD_PAGES = {
    "thumburl-list": _with_info(thumburl=["https://a/b.jpg"]),
    "thumburl-dict": _with_info(thumburl={"url": "https://a/b.jpg"}),
    "thumburl-int": _with_info(thumburl=7),
    "thumburl-bool": _with_info(thumburl=True),
    "url-list": _with_info(thumburl=None, url=["https://a/b.jpg"]),
    "descriptionurl-dict": _with_info(descriptionurl={"a": 1}),
    "descriptionurl-bool": _with_info(descriptionurl=True),
    "thumburl-javascript": _with_info(thumburl="javascript:alert(1)"),
    "mime-list": _with_info(mime=["image/jpeg"]),
    "extmetadata-340-deep": _with_info(extmetadata={"Artist": {"value": _nested(340)}}),
    "title-dict": {**_page(index=1), "title": {"en": "x"}},
}


@pytest.mark.parametrize("wrap", [_v1, _v2], ids=["formatversion1", "formatversion2"])
@pytest.mark.parametrize("bad", list(BAD_PAGES.values()), ids=list(BAD_PAGES))
def test_a_page_with_a_field_of_the_wrong_type_is_dropped_alone(bad, wrap):
    found = parse_api_response(wrap(copy.deepcopy(bad), _good()))
    assert [c.title for c in found] == ["Good"]


@pytest.mark.parametrize(
    ("changes", "page_changes"),
    [
        ({"width": float("inf"), "height": float("nan")}, {}),
        ({"width": 10**400, "thumbwidth": -5, "height": True}, {}),
        ({}, {"index": 10**400}),
        ({}, {"index": float("inf")}),
        ({}, {"index": "first"}),
    ],
)
def test_numbers_out_of_range_are_unknown_not_an_overflow(changes, page_changes):
    page = _page(title="File:Odd.jpg", index=1)
    page.update(page_changes)
    page["imageinfo"][0].update(changes)
    found = parse_api_response(_v2(page, _good(index=2)))
    assert sorted(c.title for c in found) == ["Good", "Odd"]
    odd = next(c for c in found if c.title == "Odd")
    assert odd.width in (None, 2000) and odd.height in (None, 1500)
    assert odd.extra["thumb_width"] is None


@pytest.mark.parametrize(
    ("object_name", "title"),
    [
        ('Night in Nice<span style="display:none">label QS:Len,"Night in Nice"</span>', "Night in Nice"),
        ('Night in Nice<div style="display: none;">label QS:Len,"Night in Nice"</div>', "Night in Nice"),
        ('Night in Nice label QS:Len,"Night in Nice"', "Night in Nice"),  # the hiding markup already gone
        ('Pie <span class="wikidata-qs hidden">Q42</span>tin', "Pie tin"),
        ("Pie<span hidden>secret <b>bold</b> more</span> crust", "Pie crust"),
        ('A <span style="display:none"><br>hidden<img src=x> still hidden</span>pie', "A pie"),
        ("Apple &amp; pear <i>tart</i>", "Apple & pear tart"),
    ],
)
def test_hidden_elements_and_their_text_are_stripped(object_name, title):
    info = _page()["imageinfo"][0]
    info["extmetadata"] = {**info["extmetadata"], **_meta(ObjectName=object_name)}
    (candidate,) = parse_api_response(_v2(_page(info=info)))
    assert candidate.title == title


def test_outside_text_is_capped_by_the_settings(monkeypatch):
    override(monkeypatch, MAX_TITLE_CHARS=40, MAX_AUTHOR_CHARS=30, MAX_DESCRIPTION_CHARS=100)
    info = _page()["imageinfo"][0]
    info["extmetadata"] = _meta(
        ObjectName="word " * 5000,
        Artist="<b>" + "Jane " * 12_600 + "</b>",
        ImageDescription="pie " * 100_000,
        LicenseShortName="CC BY 4.0",
    )
    start = time.monotonic()
    (candidate,) = parse_api_response(_v2(_page(info=info)))
    assert time.monotonic() - start < 1
    assert len(candidate.title) <= 40 and candidate.title.endswith("…")
    assert len(candidate.author) <= 30
    assert len(candidate.description) <= 100 + 2


def test_a_search_answer_with_junk_everywhere_still_gives_its_good_pages(mediawiki, server):
    """Through the real request path: one hostile page among good ones, a query of the wrong type elsewhere."""
    good = mediawiki.add_file("Apple pie.jpg", keywords="apple pie")
    mediawiki.add_file("Apple pie bad.jpg", keywords="apple pie")
    real = mediawiki._imageinfo

    def poisoned(record, request, version):
        info = real(record, request, version)
        if "bad" in record.title:
            info.update(thumburl=["x"], width=float("inf"), extmetadata={"Artist": {"value": _nested(340)}})
        return info

    mediawiki._imageinfo = poisoned
    found = commons.search_commons("apple pie")
    assert [c.title for c in found] == [good.title.removeprefix("File:").removesuffix(".jpg")]


@pytest.mark.parametrize("query", ["a string", ["a", "list"], 7, None])
def test_a_query_of_the_wrong_shape_is_no_pages(query):
    assert parse_api_response({"query": query}) == []
    assert parse_api_response({"query": {"pages": query}}) == []


_json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50)
_json = st.recursive(
    _json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
)
_fields = ["thumburl", "url", "descriptionurl", "descriptionshorturl", "width", "height", "mime", "thumbwidth"]


@hypothesis_settings(max_examples=60, deadline=500)
@given(st.dictionaries(st.sampled_from(_fields + ["extmetadata"]), _json, max_size=6), _json, _json)
def test_any_outside_fields_drop_the_page_or_parse_never_raise(changes, index, title):
    page = _page(title="File:Fuzz.jpg")
    page["imageinfo"][0].update(changes)
    page["index"], page["title"] = index, title
    found = parse_api_response(_v2(page, _good(index=3)))
    assert "Good" in [c.title for c in found]
    for candidate in found:
        assert isinstance(candidate.title, str) and len(candidate.title) <= settings.MAX_TITLE_CHARS + 1
        assert candidate.image_url.startswith(("http://", "https://"))
