"""Work-level drill-down and per-funder view over loopback against the mock Crossref API."""

from __future__ import annotations

import csv
import io

import pytest
from dash import dcc

import metrics
from cache import facade
from cache.crossref.client import CrossrefClient
from cache.crossref.query import period_filters
from cache.crossref.settings import Settings
from cache.jobs import drilldown, funder_report
from cache.store import drilldowns, funder_reports
from metrics.base import issued_year, period_of
from mock_crossref.population import Population
from mock_crossref.server import MockCrossref

YEAR = 2026


@pytest.fixture(scope="module")
def mock():
    with MockCrossref(Population(n_members=400, current_year=YEAR)) as server:
        yield server


@pytest.fixture(scope="module")
def member(mock):
    """A member with a few hundred current works, some with ORCID iDs and some without."""
    pop = mock.population
    for index in range(pop.n_members):
        item = pop.member_item(index)
        current = item["counts"]["current-dois"]
        orcids = item["coverage"]["orcids-current"]
        if 150 <= current <= 700 and 0.2 < orcids < 0.9:
            return item
    pytest.fail("no suitable member in the mock population")


def make_client(mock, tmp_path) -> CrossrefClient:
    # Pacing is tested in test_client_mock.py; here it would only make the test slow.
    settings = Settings.from_env(
        api_url=mock.url, mailto="tests@example.org", data_dir=tmp_path, list_rate=500.0
    )
    return CrossrefClient(settings)


def current_works(client: CrossrefClient, member_id: int) -> list[dict]:
    """Ground truth: every current work of the member (cursor over /works, no filter but dates)."""
    path = f"/members/{member_id}/works"
    params = {"filter": period_filters("current", YEAR)}
    return list(client.iter_cursor(path, params, rows=200))


def lacking(works: list[dict], key: str) -> dict[str, set[str]]:
    """content type → DOIs of ``works`` without metric ``key`` (registry predicate)."""
    metric = metrics.get(key)
    out: dict[str, set[str]] = {}
    for w in works:
        if not metric.evaluate(w):
            out.setdefault(w["type"], set()).add(w["DOI"])
    return out


@pytest.fixture(scope="module")
def drilled(mock, member, tmp_path_factory):
    """One uncapped drill-down of the member, and its current works as ground truth."""
    with make_client(mock, tmp_path_factory.mktemp("drill")) as client:
        works = current_works(client, member["id"])
        result = drilldown.fetch(client, member["id"], current_year=YEAR, gap_cap=1000)
    return result, works


def test_gap_lists_are_exactly_the_works_without_each_element_per_type(drilled):
    result, works = drilled
    dd = facade.Drilldown(result)
    measured = [t for t in result["types"] if any(w["type"] == t for w in works)]
    assert measured and dd.gap_types() == measured
    for key in ("orcids", "abstracts", "references"):
        truth = lacking(works, key)
        for ctype in measured:
            expected = truth.get(ctype, set())
            gap = dd.gap(key, ctype)
            assert {r["DOI"] for r in gap["rows"]} == expected, (key, ctype)
            assert gap["missing"] == len(expected) and gap["capped"] is False
            rows = list(csv.reader(io.StringIO(dd.gaps_csv(key, ctype))))
            assert rows[0] == ["metric", "doi", "title", "type", "issued_year"]
            dois = [r[1] for r in rows[1:]]
            assert len(dois) == len(set(dois)) == len(expected) and set(dois) == expected
    # the member's one CSV: every DOI of the measured types lacking any listed element, once,
    # with exactly the elements it lacks
    in_scope = [w for w in works if w["type"] in measured]
    expected_missing = {
        w["DOI"]: {
            metrics.get(k).label
            for k in dd.gap_metrics()
            if k in result["gaps"] and not metrics.get(k).evaluate(w)
        }
        for w in in_scope
    }
    expected_missing = {d: v for d, v in expected_missing.items() if v}
    table = list(csv.DictReader(io.StringIO(dd.dois_to_fix_csv())))
    assert {r["doi"]: set(r["missing"].split("; ")) for r in table} == expected_missing
    by_doi = {w["DOI"]: w for w in in_scope}
    for r in table:
        assert r["type"] == by_doi[r["doi"]]["type"]
        assert int(r["issued_year"]) == metrics.issued_year(by_doi[r["doi"]])


def test_gap_list_respects_the_cap(mock, member, drilled, tmp_path):
    _, works = drilled
    truth = lacking(works, "orcids")
    with make_client(mock, tmp_path) as client:
        result = drilldown.fetch(client, member["id"], current_year=YEAR, gap_cap=7)
    dd = facade.Drilldown(result)
    for ctype in dd.gap_types():
        gap = dd.gap("orcids", ctype)
        expected = truth.get(ctype, set())
        assert len(gap["rows"]) == min(7, len(expected))
        assert {r["DOI"] for r in gap["rows"]} <= expected
        assert gap["missing"] == len(expected)
        assert gap["capped"] is (len(expected) > 7)


def test_drilldown_counts_agree_with_member_summary_and_estimates_are_labelled(member, drilled):
    result, works = drilled
    by_key = {(r["content_type"], r["period"], r["metric"]): r for r in result["coverage"]}
    top = result["types"][0]
    total = member["counts-type"]["current"].get(top, 0)
    trials = by_key.get((top, "current", "clinical-trial-numbers"))
    assert trials is not None and trials["total"] == total and trials["source"] == "filter"
    assert trials["total"] == sum(w["type"] == top for w in works)  # a /works total
    totals = {(t["content_type"], t["period"]): t for t in result["totals"]}
    assert totals[(top, "current")]["works"] == total and totals[(top, "current")]["agree"]
    samples = [r for r in result["coverage"] if r["source"] == "sample"]
    assert samples, "depth metrics come from a sample"
    # samples are per content type and period: every measured type with works has its own
    assert {(r["content_type"], r["period"]) for r in samples} == {
        (t, p)
        for t in result["types"]
        for p in ("current", "backfile")
        if member["counts-type"][p].get(t, 0) > 0
    }
    for row in samples:
        assert row["ci_low"] - 1e-12 <= row["coverage"] <= row["ci_high"] + 1e-12
    # the request count is the documented plan (gap lists here fit one page each)
    plan = result["requests_by_kind"]
    assert result["requests"] == sum(plan.values())
    assert plan["gaps"] == len(drilldown.gap_metrics()) * len(facade.Drilldown(result).gap_types())
    # per-year coverage of a summary metric adds up to the member's current works
    years = [r for r in result["years"] if r["metric"] == "orcids" and r["year"] >= YEAR - 2]
    assert sum(r["total"] for r in years) == member["counts"]["current-dois"]
    assert sum(r["covered"] for r in years) == round(
        member["coverage"]["orcids-current"] * member["counts"]["current-dois"]
    )


def test_drilldown_rerun_is_served_from_cache(mock, member, tmp_path):
    with make_client(mock, tmp_path) as client:
        first = drilldown.fetch(client, member["id"], current_year=YEAR)
    with make_client(mock, tmp_path) as client:
        second = drilldown.fetch(client, member["id"], current_year=YEAR)
        # only the cursor pages of the gap lists go out again (cursors expire, so never cached)
        assert client.stats.requests == second["requests_by_kind"]["gaps"]
    assert first["coverage"] == second["coverage"]
    assert drilldowns.save(tmp_path, second).exists()
    assert drilldowns.load(tmp_path, member["id"])["gaps"].keys() == (second["gaps"].keys())


def test_a_rejected_filter_marks_only_its_metric_not_measured(mock, member, tmp_path):
    """The server answers one filter with Crossref's real 400 body: that metric says "not
    measured: <Crossref's message>", every other metric is still measured."""
    from pages.components import drilldown as dd_ui

    mock.reject_filters.add("has-clinical-trial-number")
    try:
        with make_client(mock, tmp_path) as client:
            result = drilldown.fetch(client, member["id"], current_year=YEAR, gap_cap=50)
    finally:
        mock.reject_filters.discard("has-clinical-trial-number")
    reason = (
        "Filter 'has-clinical-trial-number' specified but there is no such filter for this route."
    )
    rejected = [r for r in result["coverage"] if r["metric"] == "clinical-trial-numbers"]
    assert rejected and all(r["source"] == "not-measured" for r in rejected)
    assert all(r["reason"].startswith(reason) for r in rejected)
    assert {f["kind"] for f in result["failures"]} == {"count", "years", "gaps"}
    assert all(f["metric"] == "clinical-trial-numbers" for f in result["failures"])
    assert all(f["type"] == "filter-not-available" for f in result["failures"])

    dd = facade.Drilldown(result)
    top = result["types"][0]
    table = dd.metric_table(top, "current").set_index("metric")
    trials = table.loc["clinical-trial-numbers"]
    assert trials["status"] == "not measured" and trials["text"].startswith(
        f"not measured: {reason}"
    )
    assert dd_ui.short_reason(trials["text"]) == f"not measured: {reason}"
    measured = table[table["status"] == "measured"]
    assert {"funder-doi", "orcid-authenticated"} <= set(measured.index)
    assert "clinical-trial-numbers" not in dd.year_metrics() and "orcids" in dd.year_metrics()
    gap = dd.gap("clinical-trial-numbers", top)
    assert gap["error"].startswith(reason) and gap["rows"] == []
    assert dd.gap("orcids", top)["error"] is None and dd.gap("orcids", top)["missing"] > 0
    # the member's CSV still lists the DOIs of every other gap list
    assert "ORCID" in dd.dois_to_fix_csv()


def test_empty_works_never_reads_as_zero_percent(mock, member, tmp_path):
    """/works lists nothing for a member whose summary counts hundreds: no "0.0 % (0 of N)", the
    page says the two sources disagree and the gap note says there is nothing to list."""
    mock.empty_works_members.add(int(member["id"]))
    try:
        with make_client(mock, tmp_path) as client:
            result = drilldown.fetch(client, member["id"], current_year=YEAR)
    finally:
        mock.empty_works_members.discard(int(member["id"]))
    dd = facade.Drilldown(result)
    top = result["types"][0]
    summary = member["counts-type"]["current"][top]
    assert summary > 0
    assert dd.totals(top, "current") == {
        "works": 0,
        "summary": summary,
        "agree": False,
        "error": None,
    }
    for row in result["coverage"]:
        assert row["total"] == 0 and row["covered"] == 0 and row["coverage"] is None
    table = dd.metric_table(top, "current")
    assert not table["text"].str.contains("%").any(), table["text"].tolist()
    trials = table.set_index("metric").loc["clinical-trial-numbers"]
    assert trials["status"] == "n/a"
    assert trials["text"] == f"— (/works finds no works; the member summary counts {summary:,})"
    note = dd.totals_note(top, "current")
    assert note and f"{summary:,}" in note and "/works finds 0" in note
    assert dd.gap("orcids", top)["missing"] == 0

    import app  # noqa: F401  (pages register themselves on the app)
    from pages.components import drilldown as dd_ui

    text = str(dd_ui.gap_view(dd, "orcids", top, "current")[1].to_plotly_json())
    assert "/works finds no works of type" in text and f"{summary:,}" in text
    assert "No work of type" not in text


def test_totals_agree_within_rounding():
    assert drilldown.totals_agree(400, 400) and drilldown.totals_agree(400, 395)
    assert not drilldown.totals_agree(400, 0) and not drilldown.totals_agree(400, 394)
    assert drilldown.totals_agree(100_000, 99_100) and not drilldown.totals_agree(100_000, 98_900)
    assert drilldown.totals_agree(0, 0) and not drilldown.totals_agree(0, 6)


def test_funder_report_by_doi_and_by_name(mock, tmp_path):
    with make_client(mock, tmp_path) as client:
        listing = client.get("/funders", {"rows": 5})["items"]
        known = listing[0]
        by_doi = funder_report.resolve(client, f"10.13039/{known['id']}")
        by_name = funder_report.resolve(client, known["name"])
        report = funder_report.funder_report(client, by_doi, current_year=YEAR)
        with pytest.raises(funder_report.FunderNotFound):
            funder_report.resolve(client, "10.13039/999999999")
        # the same counts from the funder's works, one by one, with the registry predicates
        # (Crossref's `has-award` and `funder-doi-asserted-by:publisher` filters)
        award = metrics.REGISTRY["award-numbers"].predicate
        asserted = metrics.REGISTRY["funder-publisher-asserted"].predicate
        expected: dict[tuple[str, str], list[int]] = {}
        for work in client.iter_cursor(by_doi["works_path"], {}):
            period = period_of(issued_year(work), YEAR)
            if period in ("current", "backfile"):
                counts = expected.setdefault((work["publisher"], period), [0, 0, 0])
                counts[0] += 1
                counts[1] += bool(award(work))
                counts[2] += bool(asserted(work))
    assert by_doi["id"] == f"10.13039/{known['id']}"
    assert by_name["works_path"] == by_doi["works_path"]
    got = {
        (row["publisher"], row["period"]): [
            row["works"],
            row["with_award"],
            row["publisher_asserted"],
        ]
        for row in report["publishers"]
    }
    assert got == expected
    assert any(c[1] for c in expected.values()), "no award numbers: the award column is untested"
    for row in report["publishers"]:
        assert row["award_share"] == row["with_award"] / row["works"]


def test_funder_report_feeds_the_funders_page(mock, tmp_path):
    import app  # noqa: F401  (pages register themselves on the app)
    from cache import facade
    from pages import funders as funders_page

    with make_client(mock, tmp_path) as client:
        known = client.get("/funders", {"rows": 1})["items"][0]
        report = funder_report.funder_report(
            client, funder_report.resolve(client, known["id"]), current_year=YEAR
        )
    settings = Settings.from_env(data_dir=tmp_path)
    funder_reports.save(settings.data_dir, report)
    (settings.drilldown_dir / "funder-broken.json").write_text("{not json", encoding="utf-8")
    facade.configure(tmp_path)
    try:
        listed = facade.funder_reports()
        assert [d["key"] for d in listed] == [
            funder_reports.file_key(report["id"])
        ]  # broken one skipped
        detail = funders_page.funder_detail(listed[0]["key"], "current")
        figure = next(c for c in detail.children if isinstance(c, dcc.Graph)).figure
        current = [r for r in report["publishers"] if r["period"] == "current"]
        assert len(figure.data[0].y) == min(len(current), funders_page.TOP)
        assert "award" in figure.data[0].name.lower()
        refused = funders_page.funder_detail("../../etc/passwd", "current")
        assert refused is not None  # refused, not read
        assert facade.funder_report("../../etc/passwd") is None
    finally:
        facade.configure(None)
