"""Member report: not-found handling, report callback, figures, and the work-level drill-down.

The work-level tests share one module-scoped data dir (`env`): the real refresh against
`MockCrossref(Population(n_members=300))`, `cache.jobs.drilldown.drill_down` for a member with a
few hundred current works (saved with `drilldowns.save`), and a second snapshot whose coverage
table also carries that drill-down's rows (so the report has `filter` and `sample` rows to
show). The callbacks are called directly.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time

import pandas as pd
import pytest

from tests import FIXTURES
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
        assert "member-drilldown" not in ids


def test_report_layout(use_synthetic):
    m = _m()
    out = m.layout(member_id=str(HOSTILE_ID), type="book-chapter", period="all", peers="gem")
    ids = all_ids(out)
    for needed in (
        "member-coverage",
        "member-peers-chart",
        "member-years",
        "member-change",
        "member-help",
        "member-drilldown",
        "member-location",
        "member-state",
    ):
        assert needed in ids
    assert json.dumps(HOSTILE_NAME)[1:-1] in _text(out)  # a plain string child (React escapes it)
    assert m.layout(member_id="1001", type="<x>", period=5) is not None
    assert m._title(member_id=str(HOSTILE_ID)).startswith(HOSTILE_NAME)
    assert m._title(member_id="zzz") == "Member report"


def test_report_callback(use_synthetic):
    m = _m()
    state = {"member_id": 1001}
    search, cov, peers, _table, years, change, _helptxt, _empty, *_ = m.update_report(
        "journal-article", "current", "size", state
    )
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
    assert (
        m.update_report("journal-article", "current", "size", {"member_id": "x"})[0] is m.no_update
    )


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
    from pages.components import search

    opts = search.member_options("hostile")
    assert opts[0]["value"] == str(HOSTILE_ID)
    assert m.go_to_member(str(HOSTILE_ID)) == f"/member/{HOSTILE_ID}"
    assert m.go_to_member("javascript:alert(1)") is m.no_update


# ---------------------------------------------------------------------------- work-level drill-down

_UNITS = "works|authors|references|reference DOIs|retracted works"  # Metric.unit values
ESTIMATE_RE = re.compile(rf"^≈ \d+ % \(95 % CI \d+–\d+ %, n = [\d,]+ ({_UNITS})\)$")


def _text(c) -> str:
    return json.dumps(
        c.to_plotly_json() if hasattr(c, "to_plotly_json") else c, cls=_Enc, ensure_ascii=False
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    import app  # noqa: F401  (registers the pages)
    from cache import facade
    from cache.crossref.client import CrossrefClient
    from cache.crossref.settings import Settings
    from cache.jobs import drilldown
    from cache.jobs.refresh import refresh_all
    from cache.store import drilldowns
    from cache.store.snapshots import SnapshotStore
    from mock_crossref.population import Population
    from mock_crossref.server import MockCrossref

    d = tmp_path_factory.mktemp("drilldown")
    pop = Population(n_members=300)
    with MockCrossref(pop) as mock:
        cfg = Settings.from_env(
            api_url=mock.url, mailto="t@example.org", data_dir=d, list_rate=50, list_concurrency=3
        )
        store = SnapshotStore(d)
        with CrossrefClient(cfg, use_cache=False) as client:
            refresh_all(client, store, source="demo")
        snap = store.load()
        m = snap.members
        picked = m[(m["current_dois"] >= 200) & (m["current_dois"] <= 600)].sort_values("member_id")
        mid, other = int(picked["member_id"].iloc[0]), int(picked["member_id"].iloc[1])
        with CrossrefClient(cfg, use_cache=True) as client:
            result = drilldown.fetch(client, mid, current_year=pop.current_year)
        drilldowns.save(cfg.data_dir, result)
        # the snapshot also carries this drill-down's rows (exact `filter` and `sample` estimates)
        extra = pd.DataFrame(result["coverage"])
        extra = extra[extra["total"] > 0]
        coverage = pd.concat(
            [snap.coverage, extra.astype({"ci_low": float, "ci_high": float})], ignore_index=True
        )
        meta = {k: v for k, v in snap.meta.items() if k not in ("id", "created")}
        time.sleep(1.05)  # snapshot ids have second resolution
        store.publish(snap.members, coverage, meta)
        facade.configure(d, settings=cfg)
        try:
            yield {"dir": d, "mid": mid, "other": other, "result": result, "cfg": cfg, "mock": mock}
        finally:
            facade.configure(None)


@pytest.fixture
def wl_env(env):
    from cache import facade

    if facade.data_dir() != env["dir"]:
        facade.configure(env["dir"], settings=env["cfg"])
    return env


# ---------------------------------------------------------------------------------- facade


def test_facade_reads_saved_result(wl_env):
    from cache import facade

    mid, result = wl_env["mid"], wl_env["result"]
    dd = facade.drilldown(mid)
    assert dd is not None and dd.member_id == mid and dd.created == result["created"]
    assert facade.drilldown(str(mid)) is dd  # memoised on the file's mtime
    assert facade.drilldown(wl_env["other"]) is None
    for bad in ("../x", None, "-1", ["1"], "1e3"):
        assert facade.drilldown(bad) is None
    ct = dd.types[0]
    table = dd.metric_table(ct, "current").set_index("metric")
    # every work-level registry metric has a row, in registry order
    assert list(table.index) == list(facade.drilldown_keys())
    exact = table[table["status"] == "measured"]
    assert {"clinical-trial-numbers", "license-vor", "funder-doi", "orcid-authenticated"} <= set(
        exact.index
    )
    for r in exact.itertuples():
        assert r.text.endswith("works)") and "%" in r.text and r.source == "filter"
    est = table[table["status"] == "estimate"]
    assert {"license-cc", "orcid-author-share"} <= set(est.index)
    assert all(ESTIMATE_RE.match(t) for t in est["text"]), est["text"].tolist()
    assert table.loc["orcid-author-share", "text"].endswith("authors)")
    # samples are per period: for all time they are "not measured", never 0 %
    everything = dd.metric_table(ct, "all").set_index("metric")
    assert everything.loc["license-cc", "text"] == "not measured"
    assert everything.loc["license-vor", "status"] == "measured"
    none = dd.metric_table("dataset", "current")
    assert set(none["text"]) == {"not measured"}
    years = dd.years()
    assert {"year", "metric", "covered", "total", "coverage"} <= set(years.columns)
    assert years["coverage"].between(0, 1).all() and (years["total"] > 0).all()
    gap = dd.gap("abstracts")
    assert gap["missing"] == result["gaps"]["abstracts"]["missing"]
    assert [r["DOI"] for r in gap["rows"]] == [
        r["DOI"] for r in result["gaps"]["abstracts"]["dois"]
    ]
    assert dd.gap("no-such-metric")["rows"] == []


def test_snapshot_sample_rows_are_estimates_and_missing_is_not_measured(wl_env):
    from cache import facade

    mid, other = wl_env["mid"], wl_env["other"]
    ct = facade.drilldown(mid).types[0]
    mm = facade.member_metrics(mid, ct, "current").set_index("metric")
    assert mm.loc["license-cc", "status"] == "estimate"
    assert ESTIMATE_RE.match(mm.loc["license-cc", "text"])
    assert mm.loc["references", "status"] == "measured" and mm.loc["references", "text"].endswith(
        " %"
    )
    # a member without the drill-down: work-level metrics are "not measured", not 0 % and not blank
    mo = facade.member_metrics(other, ct, "current").set_index("metric")
    assert mo.loc["license-cc", "status"] == "not measured"
    assert mo.loc["license-cc", "text"] == "not measured"
    assert pd.isna(mo.loc["license-cc", "value"])
    m = _m()
    out = m.update_report(ct, "current", "size", {"member_id": mid})
    cov, table, helptxt = out[1], out[3], out[6]
    texts = list(cov.data[0].text)
    assert any(re.fullmatch(r"≈ \d+ % ±\d+", t) for t in texts)
    assert "sample estimate" in cov.layout.title.text
    hover = [h for h in cov.data[0].hovertext if "95 % CI" in h]
    assert hover and all("estimate" in h for h in hover)
    grid_ = next(c for c in table.children if c is not None and hasattr(c, "rowData"))
    rows = {r["metric"]: r for r in grid_.rowData}
    assert rows["license-cc"]["status"] == "estimate" and ESTIMATE_RE.match(
        rows["license-cc"]["text"]
    )
    assert re.fullmatch(r"≈ \d+ % ±\d+", rows["license-cc"]["short"])
    assert "≈" in _text(helptxt)
    out = m.update_report(ct, "current", "size", {"member_id": other})
    assert "not measured" in list(out[1].data[0].text)
    assert "not measured" in _text(out[6])


# ------------------------------------------------------------------------------------ page


def test_layout_shows_saved_result_immediately(wl_env):
    m = _m()
    mid = wl_env["mid"]
    out = m.layout(member_id=str(mid))
    ids = all_ids(out)
    for needed in (
        "member-drilldown",
        "member-drilldown-run",
        "member-drilldown-cancel",
        "member-drilldown-progress",
        "member-drilldown-metric-table",
        "member-drilldown-years",
        "member-drilldown-gap-grid",
        "member-drilldown-gap-metric",
        "member-drilldown-download",
        "member-drilldown-created",
    ):
        assert needed in ids, needed
    text = _text(out)
    assert "Refresh" in text and wl_env["result"]["created"][:10] in text
    assert "≈ " in text and "95 % CI" in text
    # a member without a saved result: the button, no results shown (but the ids exist)
    out = m.layout(member_id=str(wl_env["other"]))
    ids = all_ids(out)
    assert "member-drilldown-not-loaded" in ids and "member-drilldown-gap-grid" in ids
    assert "Load work-level detail" in _text(out)


def test_metric_callback_follows_type_and_period(wl_env):
    m = _m()
    state = {"member_id": wl_env["mid"]}
    from cache import facade

    ct = facade.drilldown(wl_env["mid"]).types[0]
    block = _text(m.update_drilldown_metrics(ct, "current", state))
    assert "Clinical trial" in block or "clinical trial" in block.lower()
    assert "≈ " in block and "95 % CI" in block and "exact count" in block
    block = _text(m.update_drilldown_metrics(ct, "all", state))
    assert "not measured" in block
    # a type the drill-down did not cover falls back to its largest type, and says so
    block = _text(m.update_drilldown_metrics("all-types", "current", state))
    assert "largest content types" in block
    assert m.update_drilldown_metrics(ct, "current", {"member_id": wl_env["other"]}) is None
    assert m.update_drilldown_metrics(ct, "current", {"member_id": "<x>"}) is None


def test_years_figure(wl_env):
    m = _m()
    state = {"member_id": wl_env["mid"]}
    fig = m.update_drilldown_years(["abstracts", "orcids", "nope"], state)
    lines = [t for t in fig.data if t.type == "scatter"]
    from cache import facade

    assert [t.name for t in lines] == [
        facade.metric_label("abstracts"),
        facade.metric_label("orcids"),
    ]
    assert fig.layout.xaxis.title.text == "Publication year"
    assert "%" in fig.layout.yaxis2.title.text and "year" in fig.layout.yaxis2.title.text
    assert fig.layout.yaxis.title.text == "Works (count)"
    assert "per-work share" in fig.layout.title.text
    assert all(0 <= y <= 100 for t in lines for y in t.y)
    empty = m.update_drilldown_years([], state)
    assert "Pick one or more" in empty.layout.annotations[0].text
    assert m.update_drilldown_years("x", {"member_id": None}).layout.annotations


def test_gap_grid_and_csv(wl_env):
    """DOIs to fix follow the selected content type; one CSV per member lists every DOI with the
    elements it lacks."""
    from cache import facade

    m = _m()
    state = {"member_id": wl_env["mid"]}
    result = wl_env["result"]
    dd = facade.drilldown(wl_env["mid"])
    ct = dd.types[0]
    key = next(
        k for k, g in result["gaps"].items() if any(d["type"] == ct for d in g.get("dois", []))
    )
    listed = [d for d in result["gaps"][key]["dois"] if d["type"] == ct]
    per_type = result["gaps"][key]["by_type"][ct]
    options, rows, note = m.update_drilldown_gaps(key, ct, "current", state)
    assert len(rows) == len(listed) == per_type["shown"]
    assert {r["type"] for r in rows} <= {ct}
    assert set(rows[0]) == {"DOI", "title", "type", "year"}
    assert f"{per_type['missing']:,}" in _text(note)
    label = next(o["label"] for o in options if o["value"] == key)
    assert f"({per_type['missing']:,} missing)" in label
    _, rows, _ = m.update_drilldown_gaps("__class__", ct, "current", state)
    assert rows == []
    # another selected period: the lists are the current period's, and the note says so
    _, rows, note = m.update_drilldown_gaps(key, ct, "backfile", state)
    assert len(rows) == len(listed) and "cover the current period" in _text(note)
    dl = m.download_gaps(1, key, ct, state)
    lines = dl["content"].splitlines()
    assert lines[0] == "metric,doi,title,type,issued_year"
    assert len(lines) == 1 + len(listed)
    assert dl["filename"] == f"crossref-member-{wl_env['mid']}-{ct}-missing-{key}.csv"
    assert m.download_gaps(1, "../etc", ct, state) is m.no_update
    assert m.download_gaps(None, key, ct, state) is m.no_update

    # the member's one CSV: every listed DOI once, with the labels of what it lacks
    full = m.download_dois_to_fix(1, state)
    assert full["filename"] == f"crossref-member-{wl_env['mid']}-dois-to-fix.csv"
    table = list(csv.DictReader(io.StringIO(full["content"])))
    assert list(table[0]) == ["doi", "title", "type", "issued_year", "missing"]
    expected: dict[str, set[str]] = {}
    for key, gap in result["gaps"].items():
        for d in gap["dois"]:
            expected.setdefault(d["DOI"], set()).add(facade.metric_label(key))
    assert {r["doi"] for r in table} == set(expected) and len(table) == len(expected)
    for r in table:
        assert set(r["missing"].split("; ")) == expected[r["doi"]]
        assert r["issued_year"] == "" or r["issued_year"].isdigit()
    assert m.download_dois_to_fix(1, {"member_id": wl_env["other"]}) is m.no_update


def test_hostile_titles_are_text_and_csv_is_neutralised(wl_env, tmp_path):
    """Titles and DOIs from Crossref are untrusted: plain strings in the grid, neutral in CSV."""
    from cache import facade
    from cache.store import drilldowns

    m = _m()
    mid = wl_env["mid"]
    doc = json.loads(json.dumps(wl_env["result"]))
    ct = doc["types"][0]
    doc["gaps"]["abstracts"]["dois"][:2] = [
        {
            "DOI": "10.1234/<script>alert(1)</script>",
            "title": '<img src=x onerror="alert(2)">',
            "type": ct,
            "year": 2025,
        },
        {
            "DOI": '=HYPERLINK("http://evil.example")',
            "title": "@SUM(A1)",
            "type": "-x",
            "year": None,
        },
    ]
    drilldowns.save(wl_env["cfg"].data_dir, doc)
    try:
        state = {"member_id": mid}
        _, rows, _ = m.update_drilldown_gaps("abstracts", ct, "current", state)
        assert rows[0]["title"] == '<img src=x onerror="alert(2)">'  # data, rendered as text
        for csv_text in (
            m.download_gaps(1, "abstracts", ct, state)["content"]
            + m.download_dois_to_fix(1, state)["content"],
            facade.Drilldown(doc).gaps_csv("abstracts"),
        ):
            assert "'=HYPERLINK" in csv_text and "'@SUM(A1)" in csv_text and ",'-x," in csv_text
            assert "\n=" not in csv_text and ",=" not in csv_text
    finally:
        drilldowns.save(wl_env["cfg"].data_dir, wl_env["result"])
        facade.drilldown(mid)


def test_run_callback_saves_and_shows(wl_env):
    """The background callback's function, called directly: progress, save, then the render."""
    from cache import facade
    from cache.store import drilldowns

    m = _m()
    mid = wl_env["mid"]
    calls = []
    before = facade.drilldown(mid).created
    time.sleep(1.05)  # `created` has second resolution
    version, error = m.run_drilldown(calls.append, 1, {"member_id": mid})  # resumes from the cache
    assert error is None and version and version != before
    assert calls and calls[-1][0] == 100 and "of" in calls[-1][1]
    assert all(0 <= pct <= 100 for pct, _ in calls)
    assert drilldowns.load(wl_env["cfg"].data_dir, mid)["created"] == version
    body, status, label, variant = m.show_drilldown(
        version, "journal-article", "current", {"member_id": mid}
    )
    assert (
        "member-drilldown-metric-table" in all_ids(body)
        and label == "Refresh"
        and variant == "light"
    )
    assert version.replace("T", " ")[:16] in _text(status)
    # nothing to do without a click or a member
    assert m.run_drilldown(calls.append, 0, {"member_id": mid}) == (m.no_update, m.no_update)
    assert m.run_drilldown(calls.append, 1, {"member_id": "x"}) == (m.no_update, m.no_update)
    assert (
        m.show_drilldown(None, "journal-article", "current", {"member_id": mid})[0] is m.no_update
    )


def test_run_callback_reports_crossref_errors(wl_env):
    """Crossref's own message stays on the page; only errors that can pass suggest retrying."""
    from cache.crossref.errors import error_from_response
    from pages.components import drilldown as dd_ui

    m = _m()
    version, error = m.run_drilldown(lambda _p: None, 1, {"member_id": 987654321})
    assert version is m.no_update
    text = _text(error)
    assert error.id == "member-drilldown-failed" and "Resource not found" in text
    assert "resumes" not in text and "fail the same way" in text
    body = (FIXTURES / "crossref/errors/members-filter-not-available.2026-06.json").read_text()
    rejected = dd_ui.failure_alert(
        error_from_response(400, body, path="/members", content_type="application/json")
    )
    text = _text(rejected)
    assert "Filter 'has-full-text' specified but there is no such filter for this route" in text
    assert "try" not in text.lower().replace("trying again would fail", "")
    body = (FIXTURES / "crossref/errors/members-cursor-exception-500.2022-11.json").read_text()
    server = dd_ui.failure_alert(
        error_from_response(500, body, path="/members", content_type="application/json")
    )
    assert "Response Exception" in _text(server) and "resumes" in _text(server)
