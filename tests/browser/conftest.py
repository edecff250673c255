"""Browser tests: a demo snapshot in a temporary data dir, the app served in a thread, Chromium.

The snapshot is built once per session; the server and the browser live per test module, so
nothing of theirs keeps running (or competes for the 2 cores) while later suites run. The mock
Crossref API that built the snapshot keeps serving the same population for the session
(`demo_api`), and the app's work-level drill-downs (background callbacks) are pointed at it:
CROSSREF_API_URL is set to it and the facade gets loopback-fast Settings.

The data dir is set in the environment BEFORE `app` is imported. Without /usr/bin/chromium the
tests skip, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    AppServer,
    build_data_dir,
    demo_mock,
    fast_settings,
    have_chromium,
)

N_MEMBERS = 1500


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).parent == here:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_data_dir(tmp_path_factory):
    if not have_chromium():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing (required under CI=true)")
        pytest.skip(f"{CHROMIUM} not installed")
    data_dir = tmp_path_factory.mktemp("browser-data")
    old = os.environ.get("DASHBOARD_DATA_DIR")
    os.environ["DASHBOARD_DATA_DIR"] = str(data_dir)  # before `import app`
    try:
        build_data_dir(data_dir, n_members=N_MEMBERS, synthetic_fallback=False)
    finally:
        if old is None:
            os.environ.pop("DASHBOARD_DATA_DIR", None)
        else:
            os.environ["DASHBOARD_DATA_DIR"] = old
    return data_dir


@pytest.fixture(scope="session")
def demo_api(browser_data_dir):
    """The mock Crossref API serving the population the browser snapshot was built from."""
    with demo_mock(N_MEMBERS) as mock:
        yield mock.url


@pytest.fixture(scope="session")
def browser_settings(browser_data_dir, demo_api):
    """What the app's drill-downs use: the mock's URL, polite pool, a loopback-fast list rate."""
    return fast_settings(browser_data_dir, demo_api)


@pytest.fixture(scope="module")
def base_url(browser_data_dir, demo_api, browser_settings):
    saved = {k: os.environ.get(k) for k in ("DASHBOARD_DATA_DIR", "CROSSREF_API_URL")}
    os.environ["DASHBOARD_DATA_DIR"] = str(browser_data_dir)  # before the first `import app`
    os.environ["CROSSREF_API_URL"] = demo_api
    try:
        import app  # noqa: F401
        from cache import facade

        facade.configure(browser_data_dir, settings=browser_settings)
        facade.snapshot()  # load once, before the first request
        with AppServer() as url:
            yield url
        facade.configure(None)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module", autouse=True)
def warm_views(request):
    """Browser modules only: score the default view, the history aggregates and the member
    search index once before the first page (the test server skips the app's start-up warming;
    a cold first page can outlast a timeout on a busy machine)."""
    if "base_url" not in request.fixturenames and not request.node.get_closest_marker("browser"):
        return
    request.getfixturevalue("base_url")
    from cache import facade
    from pages.components import history, search

    facade.view(facade.DEFAULT_TYPE, facade.DEFAULT_PERIOD)
    history.aggregate_history(facade.DEFAULT_TYPE, facade.DEFAULT_PERIOD)
    search.member_options("warm")


@pytest.fixture(scope="module")
def browser(base_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url, browser_data_dir, browser_settings):
    """A fresh page; fails the test on any console error, page error or JS dialog (alert)."""
    from cache import facade

    if facade.data_dir() != browser_data_dir:  # unit tests may have re-pointed it
        facade.configure(browser_data_dir, settings=browser_settings)
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    p = context.new_page()
    p.set_default_timeout(30_000)
    errors: list[str] = []
    p.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    p.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    p.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    p.base = base_url
    yield p
    context.close()
    assert not errors, f"browser errors: {errors}"
