"""The demo snapshot: the real refresh pipeline run against the mock Crossref API on loopback.

``build_demo_snapshot`` starts :class:`mock.server.MockCrossref` on 127.0.0.1 with the
deterministic demo population, points a polite-pool client at it (``mailto`` demo@example.org,
no Plus token, no raw-response cache), runs :func:`cache.jobs.refresh.refresh_all` and publishes the
result with source ``demo``. The mock is loopback-only and does not rate-limit here, so the
client's own list rate is raised for this one job (``DEMO_LIST_RATE``); the client still follows
the lower limit the mock advertises in its headers (the polite pool's 10 requests/s), so 33k
members take about 33 requests in a few seconds. Everything else is the production code path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator

from cache.crossref.client import CrossrefClient
from cache.crossref.settings import Settings
from cache.jobs.refresh import ProgressFn, RefreshResult, refresh_all
from cache.store.snapshots import SnapshotStore

logger = logging.getLogger(__name__)

DEMO_SEED = 20_251_201
DEMO_MAILTO = "demo@example.org"
DEMO_MEMBERS = 33_000
DEMO_LIST_RATE = 50.0  # loopback mock without rate limit; bench/refresh.py measures real pacing


def demo_settings(
    settings: Settings, api_url: str, *, list_rate: float = DEMO_LIST_RATE
) -> Settings:
    """Polite-pool settings pointing at a mock, keeping the caller's data dir."""
    return dataclasses.replace(
        settings,
        api_url=api_url,
        mailto=DEMO_MAILTO,
        plus_token="",
        pool="polite",
        list_rate=list_rate,
        list_concurrency=3,
    )


def run_demo_refresh(
    settings: Settings,
    n_members: int = DEMO_MEMBERS,
    progress: ProgressFn | None = None,
    *,
    seed: int = DEMO_SEED,
    current_year: int | None = None,
) -> RefreshResult:

    with demo_api(n_members, seed=seed, current_year=current_year) as base_url:
        store = SnapshotStore(settings.data_dir)
        cfg = demo_settings(settings, base_url)
        with CrossrefClient(cfg, use_cache=False, write_cache=False) as client:
            return refresh_all(client, store, progress=progress, source="demo")


@contextlib.contextmanager
def demo_api(
    n_members: int = DEMO_MEMBERS,
    *,
    seed: int = DEMO_SEED,
    current_year: int | None = None,
    warm: bool | None = None,
) -> Iterator[str]:
    """The demo population's mock Crossref API on 127.0.0.1 while the block runs; yields its URL.

    Also used for work-level drill-downs on demo data: the demo members exist only there.
    """
    from mock_crossref.population import Population
    from mock_crossref.server import MockCrossref

    year = current_year or dt.datetime.now(dt.UTC).year
    population = Population(n_members=n_members, seed=seed, current_year=year)
    mock = MockCrossref(population, pool="polite", warm=warm)
    try:
        yield mock.start()
    finally:
        mock.stop()


def build_demo_snapshot(
    settings: Settings, n_members: int = DEMO_MEMBERS, progress: ProgressFn | None = None
) -> str:
    """Build and publish the demo snapshot; returns its id."""
    result = run_demo_refresh(settings, n_members, progress)
    logger.info("demo snapshot %s: %s", result.snapshot_id, result.summary())
    return result.snapshot_id


def ensure_snapshot(settings: Settings) -> str:
    """The latest snapshot id, building the demo snapshot first when there is none."""
    latest = SnapshotStore(settings.data_dir).latest_id()
    if latest is not None:
        return latest
    return build_demo_snapshot(settings, n_members=DEMO_MEMBERS)
