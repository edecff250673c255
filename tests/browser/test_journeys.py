"""The three user journeys of issue 11, walked by clicking and typing on the demo data, at desktop
width and at phone width (390×844). Any console error fails the test (the `page` fixture)."""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def goto(page, path: str):
    page.goto(page.base + path, wait_until="load")
    page.wait_for_selector("#_pages_content > *", timeout=60_000)


def no_horizontal_overflow(page):
    """The page is not wider than the viewport (nothing to scroll sideways)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"page is {width}px wide"


def pick_member(page, box: str, typed: str, member_id: int):
    """Type into a member search box and click the option of `member_id`."""
    page.locator(box).click()
    page.locator(box).fill(typed)
    page.get_by_role("option", name=re.compile(re.escape(f"({member_id})") + "$")).click()


def download_rows(page, button: str) -> list[dict]:
    with page.expect_download() as dl:
        page.locator(button).click()
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def scrambled(name: str) -> str:
    """The name as a hurried user types it: words reversed, one letter dropped, lower case."""
    words = name.lower().split()
    first = max(words, key=len)
    typo = first[:2] + first[3:]
    return " ".join(typo if w == first else w for w in reversed(words))


def a_member(min_current: int = 500):
    """A mid-sized member with journal articles (id, name); not one of the hostile names."""
    from cache import facade
    from tests.browser.synthetic import FORMULA_NAME, HOSTILE_NAME

    m = facade.members()
    m = m[(m["current_dois"] >= min_current) & ~m["name"].isin([HOSTILE_NAME, FORMULA_NAME])]
    row = m.sort_values("current_dois").iloc[len(m) // 2]
    return int(row["member_id"]), str(row["name"])


# ------------------------------------------------------------------------------------- publisher


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_publisher_journey(page, viewport):
    """Find my member with a typo, read its report (main type, last check, history), compare it
    with a peer keeping type and period, export the comparison."""
    from cache import facade

    if viewport == "phone":
        page.set_viewport_size(PHONE)
    mid, name = a_member()
    goto(page, "/")
    freshness = page.locator("#freshness-line" if viewport == "phone" else "#freshness")
    assert re.search(r"Crossref data (from \d{4}-\d\d-\d\d to|as of) \d{4}", freshness.inner_text())
    pick_member(page, "#overview-find", scrambled(name), mid)
    page.wait_for_url(re.compile(rf"/member/{mid}"))
    page.wait_for_function(
        f"document.querySelector('#_pages_content h2')?.textContent === {json.dumps(name)}"
    )
    page.wait_for_selector("#member-coverage .main-svg")
    facts = page.locator("#member-facts").inner_text()
    assert "CROSSREF LAST CHECKED" in facts.upper() and re.search(r"\d{4}-\d\d-\d\d", facts)
    # opens on the member's main content type; only its types are offered, with counts
    counts = facade.counts_by_type(mid, "all")
    main = str(counts.iloc[0]["content_type"])
    typed = page.locator("#member-type").input_value()
    assert typed.startswith(facade.type_label(main)) and re.search(r"\(\d[\d,]*\)$", typed)
    page.locator("#member-type").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert len(options) == 1 + int((counts["works"] > 0).sum())
    page.wait_for_selector("#member-history .main-svg .scatterlayer .trace")
    page.locator("#member-period").get_by_text("All time").click()
    page.wait_for_url(re.compile(r"period=all"))
    page.locator("#member-compare-link").click()
    page.wait_for_url(re.compile(rf"/compare\?members={mid}.*period=all"))
    assert "type=" in page.url and "peers=" not in page.url  # default peer group kept (size)
    page.wait_for_selector("#compare-chart-graph .main-svg")
    peer_id, peer_name = a_member(2000)
    if peer_id == mid:
        peer_id, peer_name = a_member(100)
    pick_member(page, "#compare-members", peer_name[:9].lower(), peer_id)
    page.wait_for_url(re.compile(rf"members={mid}%2C{peer_id}"))
    page.wait_for_selector("#compare-grid .ag-row")
    page.wait_for_timeout(600)  # a late search answer must not drop the pick
    assert page.locator("#compare-grid .ag-center-cols-container .ag-row").count() == 2
    assert f"({peer_id})" in page.locator("#compare-members").locator("..").inner_text()
    rows = download_rows(page, "#compare-export")
    assert [r["member_id"] for r in rows[:2]] == [str(mid), str(peer_id)]
    assert all(re.fullmatch(r"\d+", r["works"]) for r in rows[:2])
    assert rows[0]["period"] == "all"
    if viewport == "phone":
        no_horizontal_overflow(page)
        page.locator("#app-burger").click()
        page.wait_for_function(
            "document.querySelector('#app-nav').getBoundingClientRect().left >= 0"
        )
        page.locator("#nav-shortlist").click()
        page.wait_for_url(re.compile(r"/shortlist"))
        page.wait_for_selector("#shortlist-group-gem")
        # following a link closed the navigation: it slid off screen
        page.wait_for_function(
            "document.querySelector('#app-nav').getBoundingClientRect().right <= 1"
        )
        no_horizontal_overflow(page)


# ---------------------------------------------------------------------------------------- funder


def _mock_funder(api_url: str) -> dict:
    """A funder of the demo population with works (from the mock's /funders)."""
    with urllib.request.urlopen(f"{api_url}/funders?rows=20", timeout=10) as r:
        items = json.load(r)["message"]["items"]
    return items[0]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_funder_journey(page, demo_api, viewport):
    """Search a funder by name on the Funders page, run its report in the background, read the
    per-publisher table (readable, linked, sorted by the gap) and export it."""
    if viewport == "phone":
        page.set_viewport_size(PHONE)
    funder = _mock_funder(demo_api)
    goto(page, "/funders")
    page.wait_for_selector("#funders-grid .ag-row")
    page.locator("#funders-query").fill(funder["name"])
    page.locator("#funders-run").click()
    page.wait_for_selector("#funders-funder-grid .ag-row", timeout=45_000)
    page.wait_for_selector("#funders-progress-box", state="hidden")
    detail = page.locator("#funders-funder-detail").inner_text()
    assert funder["name"] in detail
    assert "kind:" not in detail and "current_year" not in detail and "created:" not in detail
    assert "10.13039_" not in page.locator("#funders-per-funder").inner_text()
    headers = page.locator("#funders-funder-grid .ag-header-cell-text").all_text_contents()
    assert "Publisher" in headers and not any("_" in h for h in headers)
    assert page.locator("#funders-funder-grid .member-link").count() > 0  # publishers linked
    rows = download_rows(page, "#funders-funder-export")
    gaps = [int(r["Works without award number"]) for r in rows]
    assert gaps == sorted(gaps, reverse=True) and len(rows) > 0
    assert all(re.fullmatch(r"\d+", r["Works citing the funder"]) for r in rows)
    assert {r["funder_id"] for r in rows} == {f"10.13039/{funder['id']}"}
    if viewport == "phone":
        no_horizontal_overflow(page)


# ------------------------------------------------------------------------------- award committee


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_award_committee_journey(page, viewport):
    """Edit weights in percent (the total is shown), read the rules, export a reproducible
    shortlist, rank enrichment over two chosen snapshots and export it."""
    from cache import facade

    if viewport == "phone":
        page.set_viewport_size(PHONE)
    goto(page, "/shortlist")
    page.wait_for_selector("#shortlist-group-gem")
    total = page.locator("#shortlist-weights-total")
    assert total.text_content().strip() == "Total 100 %"
    rules = page.locator("#shortlist-rules").inner_text()
    assert "Minimum volume" in rules and "ties" in rules.lower()
    box = page.get_by_label("References", exact=True)
    box.fill("30")
    box.press("Tab")
    page.wait_for_url(re.compile(r"w=references%3A30"))
    page.wait_for_function(
        "document.querySelector('#shortlist-weights-total').textContent.trim() === 'Total 118 %'"
    )
    assert "not 100 %" in page.locator("#shortlist-weights-note").inner_text()
    rows = download_rows(page, "#shortlist-export")
    assert rows and {r["snapshot_id"] for r in rows} == {facade.snapshot_id()}
    assert float(rows[0]["weight References (%)"]) == pytest.approx(100 * 30 / 118, abs=0.01)
    assert all(r["min_works"] == "100" and r["tie_rule"] for r in rows)
    assert all(re.fullmatch(r"\d+", r["rank"]) and re.fullmatch(r"\d+", r["works"]) for r in rows)
    # enrichment from the oldest snapshot of the demo history to the newest
    snaps = facade.snapshots()
    assert len(snaps) >= 3, "the demo builds a dated history"
    oldest = snaps[-1]["id"]
    page.locator("#shortlist-before").click()
    page.get_by_role("option", name=re.compile(re.escape(oldest) + "$")).click()
    page.wait_for_url(re.compile(rf"before={re.escape(oldest)}"))
    page.wait_for_selector("#shortlist-enrichment-grid .ag-row")
    improved = download_rows(page, "#shortlist-enrichment-export")
    assert improved and all(float(r["composite_change (pp)"]) > 0 for r in improved)
    assert all(
        r["most_improved_metric"] == "" or float(r["most_improved_change (pp)"]) > 0
        for r in improved
    )
    assert {r["snapshot_before"] for r in improved} == {oldest}
    if viewport == "phone":
        no_horizontal_overflow(page)
