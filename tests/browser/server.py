"""Serve the Dash app in a background thread (werkzeug) and prepare data dirs for browser runs."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_data_dir(data_dir: Path, n_members: int = 1500, synthetic_fallback: bool = True) -> str:
    """A data dir with a snapshot: the demo pipeline (mock Crossref + real refresh) when it works,
    else (only if allowed) the synthetic snapshot. Then one hostile-named member is injected."""
    from cache.store.snapshots import SnapshotStore

    data_dir.mkdir(parents=True, exist_ok=True)
    store = SnapshotStore(data_dir)
    if store.latest_id() is None:
        try:
            from cache.crossref.settings import Settings
            from mock_crossref.demo import build_demo_snapshot

            build_demo_snapshot(Settings.from_env(data_dir=data_dir), n_members=n_members)
        except Exception:
            if not synthetic_fallback:
                raise
            from tests.browser import synthetic

            synthetic.publish(data_dir, n_members=min(n_members, 400))
            return store.latest_id()
        inject_hostile(data_dir)
    return store.latest_id()


def inject_hostile(data_dir: Path) -> str:
    """Republish the latest snapshot with one member renamed to HTML and one to a CSV formula."""
    from cache.store.snapshots import SnapshotStore
    from tests.browser.synthetic import FORMULA_NAME, HOSTILE_NAME

    store = SnapshotStore(data_dir)
    snap = store.load()
    members = snap.members.copy()
    if (members["name"] == HOSTILE_NAME).any():
        return snap.id
    big = members.sort_values("total_dois", ascending=False)["member_id"].tolist()
    members.loc[members["member_id"] == big[5], "name"] = HOSTILE_NAME
    members.loc[members["member_id"] == big[6], "name"] = FORMULA_NAME
    meta = {k: v for k, v in snap.meta.items() if k not in ("id", "created")}
    return store.publish(members, snap.coverage, meta, snap.years)


def demo_mock(n_members: int):
    """A MockCrossref serving the same population the demo snapshot was built from (not started)."""
    import datetime as dt

    from mock_crossref.demo import DEMO_SEED
    from mock_crossref.population import Population
    from mock_crossref.server import MockCrossref

    year = dt.datetime.now(dt.UTC).year
    return MockCrossref(Population(n_members=n_members, seed=DEMO_SEED, current_year=year))


def fast_settings(data_dir: Path, api_url: str):
    """Polite-pool settings for a loopback mock that does not rate-limit (fast drill-downs)."""
    from cache.crossref.settings import Settings

    return Settings.from_env(
        api_url=api_url,
        mailto="test@example.org",
        data_dir=data_dir,
        list_rate=50,
        list_concurrency=3,
    )


def save_drilldown(settings, member_id: int) -> dict:
    """Run the work-level drill-down of one member against `settings.api_url` and save it."""
    from cache.jobs import drilldown

    result, _ = drilldown.run(settings, int(member_id))
    return result


def save_funder_report(settings) -> dict:
    """Run the per-funder view of the mock's largest funder and save it (Funders page section)."""
    from cache.crossref.client import CrossrefClient
    from cache.jobs import funder_report
    from cache.store import funder_reports

    with CrossrefClient(settings, use_cache=True) as client:
        funders = client.get("/funders", {"rows": 50})["items"]
        biggest = max(funders, key=lambda f: client.count(f"/funders/{f['id']}/works"))
        report = funder_report.funder_report(
            client, funder_report.resolve(client, str(biggest["id"]))
        )
    funder_reports.save(settings.data_dir, report)
    return report


class AppServer:
    """`with AppServer() as url:` serves `app.server` on 127.0.0.1:<free port> in a thread."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self._srv = None
        self._thread = None

    def __enter__(self) -> str:
        import logging

        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        import app as dash_app  # env must be set before this import

        self._srv = make_server("127.0.0.1", self.port, dash_app.server, threaded=True)
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._thread.join(timeout=10)


def have_chromium() -> bool:
    return os.path.exists(CHROMIUM)
