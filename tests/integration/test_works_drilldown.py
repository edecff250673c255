"""Work-level drill-down and per-funder view over loopback against the mock Crossref API."""

from __future__ import annotations

import csv
import io

import pytest

import metrics
from cache import facade
from cache.crossref.client import CrossrefClient
from cache.crossref.query import period_filters
from cache.crossref.settings import Settings
from cache.jobs import drilldown, funder_report
from cache.store import drilldowns, funder_reports
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


def works_without_orcid(client: CrossrefClient, member_id: int) -> set[str]:
    """Ground truth: every current work of the member, judged by the registry predicate."""
    path = f"/members/{member_id}/works"
    params = {"filter": period_filters("current", YEAR)}
    orcids = metrics.get("orcids")
    return {w["DOI"] for w in client.iter_cursor(path, params, rows=200) if not orcids.evaluate(w)}


@pytest.fixture(scope="module")
def drilled(mock, member, tmp_path_factory):
    """One uncapped drill-down of the member, and the ground truth for its ORCID gap list."""
    with make_client(mock, tmp_path_factory.mktemp("drill")) as client:
        expected = works_without_orcid(client, member["id"])
        result = drilldown.fetch(client, member["id"], current_year=YEAR, gap_cap=1000)
    return result, expected


def test_gap_list_is_exactly_the_works_without_orcid(drilled):
    result, expected = drilled
    gap = result["gaps"]["orcids"]
    assert {d["DOI"] for d in gap["dois"]} == expected
    assert gap["missing"] == len(expected)
    assert gap["capped"] is False

    rows = list(csv.reader(io.StringIO(facade.Drilldown(result).gaps_csv("orcids"))))
    assert rows[0] == ["metric", "doi", "title", "type", "issued_year"]
    dois = [r[1] for r in rows[1:]]
    assert len(dois) == len(set(dois)) == len(expected)
    assert set(dois) == expected


def test_gap_list_respects_the_cap(mock, member, drilled, tmp_path):
    _, expected = drilled
    with make_client(mock, tmp_path) as client:
        result = drilldown.fetch(client, member["id"], current_year=YEAR, gap_cap=7)
    gap = result["gaps"]["orcids"]
    assert len(gap["dois"]) == 7
    assert {d["DOI"] for d in gap["dois"]} <= expected
    assert gap["missing"] == len(expected)
    assert gap["capped"] is True


def test_drilldown_counts_agree_with_member_summary_and_estimates_are_labelled(member, drilled):
    result, _ = drilled
    by_key = {(r["content_type"], r["period"], r["metric"]): r for r in result["coverage"]}
    top = result["types"][0]
    total = member["counts-type"]["current"].get(top, 0)
    trials = by_key.get((top, "current", "clinical-trial-numbers"))
    assert trials is not None and trials["total"] == total and trials["source"] == "filter"
    samples = [r for r in result["coverage"] if r["source"] == "sample"]
    assert samples, "depth metrics come from a sample"
    for row in samples:
        assert row["ci_low"] <= row["coverage"] <= row["ci_high"]
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
        assert client.stats.requests == len(drilldown.gap_metrics())
    assert first["coverage"] == second["coverage"]
    assert drilldowns.save(tmp_path, second).exists()
    assert drilldowns.load(tmp_path, member["id"])["gaps"].keys() == (second["gaps"].keys())


def test_funder_report_by_doi_and_by_name(mock, tmp_path):
    with make_client(mock, tmp_path) as client:
        listing = client.get("/funders", {"rows": 5})["items"]
        known = listing[0]
        by_doi = funder_report.resolve(client, f"10.13039/{known['id']}")
        by_name = funder_report.resolve(client, known["name"])
        report = funder_report.funder_report(client, by_doi, current_year=YEAR)
        with pytest.raises(funder_report.FunderNotFound):
            funder_report.resolve(client, "10.13039/999999999")
    assert by_doi["id"] == f"10.13039/{known['id']}"
    assert by_name["works_path"] == by_doi["works_path"]
    for row in report["publishers"]:
        assert 0 <= row["with_award"] <= row["works"]
        assert 0 <= row["publisher_asserted"] <= row["works"]
        assert row["period"] in ("current", "backfile")


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
        detail = funders_page.funder_detail(listed[0]["key"])
        figure = detail.children[-2].figure
        current = [r for r in report["publishers"] if r["period"] == "current"]
        assert len(figure.data[0].y) == min(len(current), funders_page.TOP)
        assert "award" in figure.data[0].name.lower()
        assert funders_page.funder_detail("../../etc/passwd") is not None  # refused, not read
        assert facade.funder_report("../../etc/passwd") is None
    finally:
        facade.configure(None)
