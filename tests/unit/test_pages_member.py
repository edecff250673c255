"""Member report: not-found handling, report callback, figures and the work-level placeholder."""

from __future__ import annotations

import json

from tests.browser.synthetic import HOSTILE_ID, HOSTILE_NAME
from tests.unit.test_pages_common import _Enc, all_ids

pytest_plugins = ("tests.browser.fixtures",)  # shared fixtures: synthetic_dir, use_synthetic, …


def _m():
    import app  # noqa: F401
    from pages import member

    return member


def _text(c) -> str:
    return json.dumps(c.to_plotly_json(), cls=_Enc)


def test_unknown_ids_show_not_found(use_synthetic):
    m = _m()
    for bad in ("abc", "0", "123456789", "-1", "1e3", "<script>", "1001/../1", ["1", "2"], ""):
        out = m.layout(member_id=bad)
        ids = all_ids(out)
        assert "member-not-found" in ids and "member-search" in ids, bad
        assert "member-worklevel" not in ids


def test_report_layout(use_synthetic):
    m = _m()
    out = m.layout(member_id=str(HOSTILE_ID), type="book-chapter", period="all", peers="gem")
    ids = all_ids(out)
    for needed in ("member-coverage", "member-peers-chart", "member-years", "member-change", "member-help",
                   "member-worklevel", "member-location", "member-state"):
        assert needed in ids
    assert json.dumps(HOSTILE_NAME)[1:-1] in _text(out)  # a plain string child (React escapes it)
    assert m.layout(member_id="1001", type="<x>", period=5) is not None
    assert m._title(member_id=str(HOSTILE_ID)).startswith(HOSTILE_NAME)
    assert m._title(member_id="zzz") == "Member report"


def test_report_callback(use_synthetic):
    m = _m()
    state = {"member_id": 1001}
    search, cov, peers, _table, years, change, _helptxt, _empty = m.update_report("journal-article", "current",
                                                                               "size", state)
    assert search == ""
    assert "Coverage" in cov.layout.title.text and "%" in cov.layout.xaxis.title.text
    assert "peers" in peers.layout.title.text.lower()
    assert years.layout.yaxis.title.text == "Works (count)"
    texts = list(cov.data[0].text)
    assert all("nan" not in t.lower() for t in texts)
    assert any("/" in t for t in texts)  # covered/total behind each percentage
    assert "no previous snapshot" in _text(change).lower()
    search, *_ = m.update_report("book-chapter", "all", "country", state)
    assert search == "?type=book-chapter&period=all&peers=country"
    # hostile state → nothing happens, no exception
    assert m.update_report("journal-article", "current", "size", {"member_id": "x"})[0] is m.no_update


def test_member_without_works_is_na(use_synthetic):
    m = _m()
    from cache import facade

    v = facade.view("journal-article", "current")
    none = int(v.works[v.works == 0].index[0])
    out = m.update_report("journal-article", "current", "size", {"member_id": none})
    cov, empty = out[1], out[7]
    assert empty is not None
    assert "N/A" in cov.layout.annotations[0].text


def test_change_with_previous(two_snapshots):
    m = _m()
    out = m.update_report("journal-article", "current", "size", {"member_id": 1001})
    assert "member-change-grid" in all_ids(out[5])


def test_search_and_navigation(use_synthetic):
    m = _m()
    opts = m.search_options("hostile", None)
    assert opts[0]["value"] == str(HOSTILE_ID)
    assert m.go_to_member(str(HOSTILE_ID)) == f"/member/{HOSTILE_ID}"
    assert m.go_to_member("javascript:alert(1)") is m.no_update
