"""Screenshots of every page at 1440×900 and 390×844 (plus -full.png of the whole page).

    python -m tests.screenshots [--out screenshots] [--data-dir DIR] [--members 1500]
                                [--widths desktop,phone] [--pages member,funders]

Phone shots are named `<page>-phone.png` (and `-phone-full.png`; `-phone-nav.png` shows the
navigation opened with the burger).

Starts the app on a demo snapshot (built with the mock Crossref API into a temporary data dir,
or DIR when given) and drives /usr/bin/chromium with Playwright. Before shooting, the work-level
drill-down of the member page's member is run against the same mock population and saved, so the
member screenshot shows a loaded drill-down (`member-drilldown.png` is that section alone).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="screenshots")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--members", type=int, default=1500)
    ap.add_argument(
        "--viewport-only", action="store_true", help="only the first 1440×900, not full page"
    )
    ap.add_argument("--widths", default="desktop,phone", help="desktop, phone or both")
    ap.add_argument("--pages", default="", help="comma-separated page names (default: all)")
    args = ap.parse_args(argv)
    sizes = {"desktop": (1440, 900), "phone": (390, 844)}
    widths = [w for w in args.widths.split(",") if w in sizes]

    data_dir = (
        Path(args.data_dir) if args.data_dir else Path(tempfile.mkdtemp(prefix="dash-shots-"))
    )
    os.environ["DASHBOARD_DATA_DIR"] = str(data_dir)
    from tests.browser.server import (
        CHROMIUM,
        CHROMIUM_ARGS,
        AppServer,
        build_data_dir,
        demo_mock,
        fast_settings,
        save_drilldown,
        save_funder_report,
    )

    t0 = time.perf_counter()
    build_data_dir(data_dir, args.members)
    print(f"data ready in {time.perf_counter() - t0:.1f} s: {data_dir}")
    from cache import facade

    facade.configure(data_dir)
    members = facade.members()
    works = facade.view("journal-article", "current").works
    top = [
        int(i) for i in works.sort_values(ascending=False).index
    ]  # most current journal articles
    from tests.browser.synthetic import HOSTILE_NAME

    hostile = members.loc[members["name"] == HOSTILE_NAME, "member_id"].tolist()
    # the member page's member: a mid-sized one (a few thousand current works) with a drill-down
    cur = members.set_index("member_id")["current_dois"].reindex(top)
    member = next((i for i in top if 1000 <= cur.get(i, 0) <= 20000), top[0])
    t0 = time.perf_counter()
    if facade.drilldown(member) is None or not facade.funder_reports():  # reused with --data-dir
        with demo_mock(args.members) as mock:
            save_drilldown(fast_settings(data_dir, mock.url), member)
            save_funder_report(fast_settings(data_dir, mock.url))
    print(f"drill-down of member {member} saved in {time.perf_counter() - t0:.1f} s")
    pages = {
        "overview": "/",
        "member": f"/member/{member}",
        "member-hostile": f"/member/{hostile[0]}" if hostile else f"/member/{top[1]}",
        "member-not-found": "/member/999999999",
        "compare": f"/compare?members={top[0]},{top[1]},{top[2]}",
        "compare-heatmap": f"/compare?members={top[0]},{top[1]},{top[2]}&chart=heatmap",
        "funders": "/funders",
        "shortlist": "/shortlist",
        "countries": "/countries",
        "methodology": "/methodology",
        "not-found-404": "/no-such-page",
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    wanted = {p for p in args.pages.split(",") if p}
    if wanted:
        pages = {k: v for k, v in pages.items() if k in wanted}
    with AppServer() as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        errors: list[str] = []
        for width_name in widths:
            w, h = sizes[width_name]
            suffix = "" if width_name == "desktop" else f"-{width_name}"
            page = browser.new_page(viewport={"width": w, "height": h})
            page.on(
                "console",
                lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            for name, path in pages.items():
                shoot(page, url + path, out, name + suffix, (w, h), args.viewport_only)
                if (
                    name == "overview"
                    and width_name == "phone"
                    and page.locator("#app-burger").count()
                ):
                    page.locator("#app-burger").click()
                    page.wait_for_timeout(500)
                    page.screenshot(path=str(out / f"{name}{suffix}-nav.png"))
                print(f"{out / (name + suffix)}.png  ({path})")
            page.close()
        browser.close()
    if not args.data_dir:
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)
    if errors:
        print("console errors:", *errors, sep="\n  ")
        return 1
    return 0


def shoot(page, url: str, out: Path, name: str, size: tuple[int, int], viewport_only: bool):
    """The viewport, then (unless `viewport_only`) the whole page as `<name>-full.png`."""
    w, h = size
    page.set_viewport_size({"width": w, "height": h})
    page.goto(url, wait_until="load")
    page.wait_for_selector("#_pages_content > *", timeout=60_000)
    with contextlib.suppress(Exception):
        page.wait_for_function(
            "document.querySelectorAll('[data-dash-is-loading=true]').length == 0",
            timeout=15_000,
        )
    page.wait_for_timeout(800)
    page.screenshot(path=str(out / f"{name}.png"))
    if viewport_only:
        return
    # the whole page: grow the viewport to the page height (AG Grid only paints rows in the
    # viewport, so a stitched full-page capture would show empty grids)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": w, "height": min(int(height), 8000)})
    page.wait_for_timeout(700)
    page.screenshot(path=str(out / f"{name}-full.png"))
    if name == "member":  # the work-level section alone (no scrolling: no header over it)
        page.locator("#member-drilldown-section").screenshot(path=str(out / "member-drilldown.png"))
    page.set_viewport_size({"width": w, "height": h})


if __name__ == "__main__":
    sys.exit(main())
