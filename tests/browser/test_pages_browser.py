"""Every page in headless Chromium: loads without console errors, key elements, one interaction."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.browser.synthetic import HOSTILE_NAME

pytestmark = pytest.mark.browser


def goto(page, path: str):
    page.goto(page.base + path, wait_until="load")
    page.wait_for_selector("#_pages_content > *", timeout=60_000)


def wait_idle(page):
    page.wait_for_function("document.querySelectorAll('[data-dash-is-loading=true]').length == 0")


def count_text(page, sel: str) -> str:
    page.wait_for_function(f"(document.querySelector('{sel}')?.textContent || '').length > 0")
    return page.locator(sel).inner_text()


def first_member_ids(n=3, content_type="journal-article"):
    from cache import facade

    v = facade.view(content_type, "current")
    return [int(i) for i in v.works.sort_values(ascending=False).index[:n]]


# ---------------------------------------------------------------- overview


def test_overview_loads_and_filter_changes_table(page):
    goto(page, "/")
    page.wait_for_selector("#overview-grid .ag-row")
    assert page.locator(".demo-badge").first.is_visible()
    assert re.search(
        r"Crossref data (as of|from \d{4}-\d\d-\d\d to) \d{4}",
        page.locator("#freshness").inner_text(),
    )
    page.wait_for_selector("#overview-coverage-chart .main-svg")
    page.wait_for_selector("#overview-distribution .main-svg")
    before = count_text(page, "#overview-count")
    page.get_by_text("GEM", exact=True).click()
    page.wait_for_function(f"document.querySelector('#overview-count').textContent != {before!r}")
    after = page.locator("#overview-count").inner_text()
    assert int(re.sub(r"\D", "", after)) < int(re.sub(r"\D", "", before))
    assert "gem=gem" in page.url
    page.wait_for_selector("#overview-grid .ag-row[row-index='0'] .member-link")
    # every visible row is in a GEM country now
    from cache import facade

    gem_countries = set(facade.members().loc[facade.members()["gem"], "country"])
    shown = page.locator(
        "#overview-grid .ag-center-cols-container [col-id='country']"
    ).all_inner_texts()
    assert shown and set(shown) <= gem_countries | {"—"}


def test_overview_deep_link_restores_view(page):
    from cache import facade

    expected = len(
        facade.league("journal-article", "all", facade.LeagueFilter(gem="gem", tier=("small",)))
    )
    goto(page, "/?period=all&gem=gem&tier=small")
    page.wait_for_selector("#overview-grid .ag-row")
    page.wait_for_function(
        f"document.querySelector('#overview-count').textContent.startsWith('{expected:,}')"
    )
    assert page.locator("#overview-period input[value=all]").is_checked()


def test_overview_export_downloads_filtered_csv(page):
    goto(page, "/?q=press")
    page.wait_for_selector("#overview-grid .ag-row")
    with page.expect_download() as dl:
        page.locator("#overview-export").click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:8] == [
        "member_id",
        "name",
        "country",
        "country_name",
        "gem",
        "size_tier",
        "works",
        "composite (%)",
    ]
    assert len(rows) > 1 and all("press" in r[1].lower() for r in rows[1:])


def test_league_link_opens_member_report(page):
    goto(page, "/")
    link = page.locator("#overview-grid .ag-row[row-index='0'] .member-link")
    link.wait_for()
    name = link.text_content()
    link.click()
    page.wait_for_url(re.compile(r"/member/\d+"))
    page.wait_for_selector("#member-coverage .main-svg")
    page.wait_for_function("document.querySelector('#_pages_content h2')?.textContent.length > 0")
    assert page.locator("#_pages_content h2").first.text_content() == name


# ---------------------------------------------------------------- member


def test_member_report_and_period_switch(page):
    mid = first_member_ids(1)[0]
    goto(page, f"/member/{mid}")
    for sel in (
        "#member-coverage .main-svg",
        "#member-peers-chart .main-svg",
        "#member-years .main-svg",
        "#member-peer-grid .ag-row",
    ):
        page.wait_for_selector(sel)
    assert page.locator("#member-drilldown").is_visible()
    assert (
        "No previous snapshot" in page.locator("#member-change").inner_text()
        or page.locator("#member-change-grid").count() == 1
    )
    page.locator("#member-period").get_by_text("All time").click()
    page.wait_for_url(re.compile(r"period=all"))
    wait_idle(page)
    assert "all" in page.locator("#member-coverage .gtitle").text_content()
    assert "NaN" not in page.locator("#member-coverage").inner_text()


def test_unknown_member_shows_not_found_and_search(page):
    goto(page, "/member/not-a-number")
    page.wait_for_selector("#member-not-found")
    assert "Member not found" in page.locator("#member-not-found").inner_text()
    mid = first_member_ids(1)[0]
    from cache import facade

    name = facade.member_name(mid)
    page.locator("#member-search").fill(name[:12])
    page.get_by_role("option", name=re.compile(re.escape(f"({mid})"))).click()
    page.wait_for_url(re.compile(rf"/member/{mid}$"))
    page.wait_for_selector("#member-coverage .main-svg")


def test_hostile_member_name_is_text(page):
    from cache import facade

    m = facade.members()
    hostile = int(m.loc[m["name"] == HOSTILE_NAME, "member_id"].iloc[0])
    goto(page, f"/member/{hostile}")
    page.wait_for_selector("#member-coverage .main-svg")
    assert page.locator("#_pages_content h2").first.text_content() == HOSTILE_NAME
    assert page.locator("img[src='x']").count() == 0
    executable = "[...document.scripts].filter(s => !s.type || s.type.includes('javascript'))"
    assert page.evaluate(f"{executable}.some(s => s.textContent.includes('alert(1)'))") is False
    # and in the league table (AG Grid cell renderer builds DOM with React, not innerHTML)
    goto(page, "/?q=hostile")
    cell = page.locator("#overview-grid .member-link").first
    cell.wait_for()
    assert cell.text_content() == HOSTILE_NAME
    assert page.locator("img[src='x']").count() == 0


# ---------------------------------------------------------------- compare


def test_compare_picking_members_updates_chart(page):
    a, b, c = first_member_ids(3)
    goto(page, f"/compare?members={a},{b}")
    page.wait_for_selector("#compare-chart-graph .main-svg")
    page.wait_for_function(
        "document.querySelectorAll('#compare-chart-graph g.trace.bars').length == 2"
    )
    from cache import facade

    name = facade.member_name(c)
    page.locator("#compare-members").fill(name[:12])
    page.get_by_role("option", name=re.compile(re.escape(f"({c})"))).click()
    page.wait_for_function(
        "document.querySelectorAll('#compare-chart-graph g.trace.bars').length == 3"
    )
    page.wait_for_url(re.compile(rf"members={a}%2C{b}%2C{c}"))
    assert page.locator("#compare-grid .ag-center-cols-container .ag-row").count() == 3


# ---------------------------------------------------------------- other pages


def test_funders_page(page):
    goto(page, "/funders")
    page.wait_for_selector("#funders-gap-chart .main-svg")
    page.wait_for_selector("#funders-grid .ag-row")
    from cache import facade

    if not facade.funder_reports():  # the funder journey (another module) may have saved one
        assert "python -m cache funder" in page.locator("#funders-no-drilldown").inner_text()
    page.locator("#funders-period").get_by_text("Backfile").click()
    page.wait_for_url(re.compile(r"period=backfile"))


def test_shortlist_weights_and_export(page):
    goto(page, "/shortlist")
    page.wait_for_selector("#shortlist-group-gem")
    page.wait_for_selector(
        "#shortlist-one-snapshot, #shortlist-enrichment-grid, #shortlist-no-improvement"
    )
    box = page.get_by_label("References", exact=True)
    box.fill("9")
    box.press("Tab")
    page.wait_for_url(re.compile(r"w=references%3A9"))
    with page.expect_download() as dl:
        page.locator("#shortlist-export").click()
    header = Path(dl.value.path()).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("peer_group,rank,tie,group_members,small_group,member_id,name")
    assert "snapshot_id" in header and "weight References (%)" in header


def test_countries_map_and_metric_switch(page):
    goto(page, "/countries?metric=funders")
    page.wait_for_selector("#countries-map .choroplethlayer path")
    page.wait_for_selector("#countries-grid .ag-row")
    page.locator("#countries-how").get_by_text("Member median").click()
    page.wait_for_url(re.compile(r"how=member_median"))
    wait_idle(page)
    assert "Member median" in page.locator("#countries-map .gtitle").text_content()


def test_methodology_and_404(page):
    goto(page, "/methodology")
    page.wait_for_selector("#methodology-markdown h2")
    assert "Crossref data as of" in page.locator("#methodology-sources").inner_text()
    goto(page, "/no/such/page")
    assert page.locator("#notfound-title").inner_text() == "Page not found"


# ---------------------------------------------------------------- member: work-level drill-down


def _members_with_current_works(lo: int, hi: int) -> list[int]:
    from cache import facade

    m = facade.members()
    v = facade.view("journal-article", "current")
    ok = m[(m["current_dois"] >= lo) & (m["current_dois"] <= hi)]
    ok = ok[v.works.reindex(ok.index).fillna(0) > 0]
    return sorted(int(i) for i in ok["member_id"])


@pytest.fixture(scope="module")
def saved_drilldown(base_url, browser_settings):
    """A drill-down run against the mock and saved before the page opens; one gap title is HTML."""
    from cache.store import drilldowns
    from tests.browser.server import save_drilldown

    mid = _members_with_current_works(200, 800)[0]
    result = save_drilldown(browser_settings, mid)
    key = next(k for k in ("references", "abstracts", "orcids") if result["gaps"][k]["dois"])
    result["gaps"][key]["dois"][0]["title"] = HOSTILE_NAME
    drilldowns.save(browser_settings.data_dir, result)
    return {"member_id": mid, "result": result, "hostile_metric": key}


def test_member_worklevel_saved_result_gap_grid_and_csv(page, saved_drilldown):
    mid, result = saved_drilldown["member_id"], saved_drilldown["result"]
    goto(page, f"/member/{mid}?type={result['types'][0]}")  # samples are of the largest type
    page.wait_for_selector("#member-drilldown-metric-table tbody tr")
    assert page.locator("#member-drilldown-run").inner_text().strip() == "Refresh"
    assert result["created"][:10] in page.locator("#member-drilldown-status").inner_text()
    assert "≈" in page.locator("#member-drilldown-metric-table").inner_text()
    page.wait_for_selector("#member-drilldown-years .main-svg .scatterlayer .trace")
    # the gap grid: DOIs link to doi.org, titles are text (the HTML one included)
    key = saved_drilldown["hostile_metric"]
    from cache import facade

    page.locator("#member-drilldown-gap-metric").click()
    page.get_by_role(
        "option", name=re.compile("^" + re.escape(facade.metric_label(key)) + r" \(")
    ).click()
    page.wait_for_function(
        "document.querySelector('#member-drilldown-gap-count')?.textContent.includes("
        + repr(facade.metric_label(key))
        + ")"
    )
    row = page.locator(
        "#member-drilldown-gap-grid .ag-center-cols-container .ag-row[row-index='0']"
    )
    row.wait_for()
    assert row.locator("[col-id='title']").text_content() == HOSTILE_NAME
    assert page.locator("img[src='x']").count() == 0
    # demo data: the fictitious DOI is text that says so, not a link to doi.org
    doi = result["gaps"][key]["dois"][0]["DOI"]
    shown = row.locator(".doi-demo")
    assert shown.text_content() == doi and "Fictitious" in shown.get_attribute("title")
    assert row.locator("a.doi-link").count() == 0
    # the page shows the selected type's gap list (the drill-down lists each type apart)
    ctype = result["types"][0]
    count = sum(1 for d in result["gaps"][key]["dois"] if d.get("type") == ctype)
    assert (
        f"{result['gaps'][key]['by_type'][ctype]['missing']:,} works"
        in page.locator("#member-drilldown-gap-count").inner_text()
    )
    with page.expect_download() as dl:
        page.locator("#member-drilldown-download-btn").click()
    assert dl.value.suggested_filename == f"crossref-member-{mid}-{ctype}-missing-{key}.csv"
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    assert rows[0] == ["metric", "doi", "title", "type", "issued_year"]
    assert len(rows) == 1 + count and {r[0] for r in rows[1:]} == {key}
    assert rows[1][1] == doi and rows[1][2] == HOSTILE_NAME


def test_member_worklevel_button_runs_drilldown(page, browser_data_dir):
    """Click 'Load work-level detail': a background job against the mock API, with progress."""
    from cache import facade

    mid = next(
        i
        for i in _members_with_current_works(50, 300)
        if not (browser_data_dir / "drilldown" / f"member-{i}.json").exists()
    )
    goto(page, f"/member/{mid}")
    button = page.locator("#member-drilldown-run")
    assert button.inner_text().strip() == "Load work-level detail"
    assert page.locator("#member-drilldown-results").is_hidden()
    button.click()
    page.wait_for_selector("#member-drilldown-progress-box", state="visible", timeout=10_000)
    page.wait_for_selector("#member-drilldown-metric-table tbody tr", timeout=45_000)
    page.wait_for_selector("#member-drilldown-progress-box", state="hidden")
    assert page.locator("#member-drilldown-run").inner_text().strip() == "Refresh"
    assert (
        page.locator("#member-drilldown-gap-grid .ag-row").count() > 0
        or "No work" in page.locator("#member-drilldown-gap-note").inner_text()
    )
    dd = facade.drilldown(mid)
    assert (
        dd is not None and dd.created[:10] in page.locator("#member-drilldown-status").inner_text()
    )
