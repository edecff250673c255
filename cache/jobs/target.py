"""Which Crossref a job talks to: the configured API, or the demo population's mock.

Demo snapshots hold fictitious members that exist only in the demo population, so a drill-down or
funder report on demo data must ask the demo's mock API (started on 127.0.0.1 for the job), not
api.crossref.org. Every job that pages or the CLI start goes through :func:`crossref_settings`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from cache.crossref.errors import SnapshotError
from cache.crossref.settings import DEFAULT_API_URL, Settings
from cache.store.snapshots import SnapshotStore


def latest_meta(settings: Settings) -> dict:
    """``meta.json`` of the latest snapshot, or ``{}`` when there is none or it is unreadable."""
    try:
        store = SnapshotStore(settings.data_dir)
        sid = store.latest_id()
        return store.read_meta(sid) if sid else {}
    except SnapshotError:
        return {}


@contextlib.contextmanager
def crossref_settings(settings: Settings) -> Iterator[Settings]:
    """``settings`` as they are, or (on demo data) aimed at the demo mock while the block runs."""
    meta = latest_meta(settings)
    if meta.get("source") != "demo" or settings.api_url != DEFAULT_API_URL:
        yield settings
        return
    from mock_crossref import demo  # the stand-in for Crossref, only on demo data

    members = int(meta.get("members") or demo.DEMO_MEMBERS)
    with demo.demo_api(members, current_year=meta.get("current_year"), warm=False) as url:
        yield demo.demo_settings(settings, url)
