"""The demo snapshot: the real refresh pipeline run against the mock Crossref API on loopback.

``build_demo_snapshot`` starts :class:`mock.server.MockCrossref` on 127.0.0.1 with the
deterministic demo population, points a polite-pool client at it (``mailto`` demo@example.org,
no Plus token, no raw-response cache), runs :func:`cache.jobs.refresh.refresh_all` and publishes the
result with source ``demo``. The mock is loopback-only and does not rate-limit here, so the
client's own list rate is raised for this one job (``DEMO_LIST_RATE``); the client still follows
the lower limit the mock advertises in its headers (the polite pool's 10 requests/s), so 33k
members take about 33 requests in a few seconds. Everything else is the production code path.

So that history, change over time and the enrichment award can be seen out of the box, the demo
also publishes a short dated history before the current snapshot (``HISTORY_MONTHS``: 6 and 3
months earlier). Those past snapshots are the current one wound back: a seeded fifth of the
members had lower coverage of one to three metrics then (works they have since enriched), with
the same works; their members' ``last_status_check`` and the ``data_as_of`` of their meta are
moved back by the same interval. They are labelled ``demo_history`` in meta.json.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

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


#: Past demo snapshots, in months before the current one (oldest first).
HISTORY_MONTHS = (6, 3)
#: Metrics members typically enrich (the ones Crossref's awards reward).
ENRICHED_METRICS = (
    "references",
    "abstracts",
    "orcids",
    "affiliations",
    "ror-ids",
    "funders",
    "award-numbers",
    "licenses",
)
ENRICHING_SHARE = 0.2  # of members improved one to three metrics over the demo history


def build_demo_snapshot(
    settings: Settings,
    n_members: int = DEMO_MEMBERS,
    progress: ProgressFn | None = None,
    *,
    history: bool = True,
) -> str:
    """Build and publish the demo snapshot; returns its id (the latest snapshot).

    With ``history`` (default) the past snapshots of ``HISTORY_MONTHS`` are published first
    (older ids), then the current one. Raises what the refresh raises; nothing is published
    then."""
    if not history:
        result = run_demo_refresh(settings, n_members, progress)
        logger.info("demo snapshot %s: %s", result.snapshot_id, result.summary())
        return result.snapshot_id
    store = SnapshotStore(settings.data_dir)
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".demo-build-", dir=settings.data_dir))
    try:
        result = run_demo_refresh(
            dataclasses.replace(settings, data_dir=scratch), n_members, progress
        )
        snap = SnapshotStore(scratch).load(result.snapshot_id)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    meta = {k: v for k, v in snap.meta.items() if k not in ("id", "created", "files")}
    for months, (members, coverage) in zip(
        HISTORY_MONTHS, wound_back(snap.members, snap.coverage, HISTORY_MONTHS), strict=True
    ):
        past = {
            **meta,
            "data_as_of": _shift_iso(meta.get("data_as_of"), months),
            "demo_history": {"months_before_current": months},
        }
        store.publish(members, coverage, past, snap.years)
    sid = store.publish(snap.members, snap.coverage, meta, snap.years)
    logger.info("demo snapshot %s (with %d past): %s", sid, len(HISTORY_MONTHS), result.summary())
    return sid


def _shift_iso(value, months: int) -> str | None:
    """An ISO time moved back by `months` × 30.4 days (None stays None)."""
    if not value:
        return None
    when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return (when - dt.timedelta(days=round(30.4 * months))).isoformat().replace("+00:00", "Z")


def wound_back(
    members: pd.DataFrame,
    coverage: pd.DataFrame,
    months: tuple[int, ...] = HISTORY_MONTHS,
    *,
    seed: int = DEMO_SEED,
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """The current tables as they were `months` earlier (one (members, coverage) pair each,
    oldest first as given): a seeded ``ENRICHING_SHARE`` of the members with current works had
    fewer works with one to three of ``ENRICHED_METRICS`` — 15–60 % of today's covered works in
    the current period were enriched since, spread over the history (some members improved in
    both intervals, some in one). The same count leaves the ``all`` period's row; totals, the
    backfile and every other member stay as they are."""
    rng = np.random.default_rng(seed + 11)
    cur = coverage[(coverage["period"] == "current") & (coverage["covered"] > 0)]
    present = set(cur["metric"].unique().tolist())
    metrics = [m for m in ENRICHED_METRICS if m in present]
    candidates = np.sort(cur["member_id"].unique())
    chosen = (
        rng.choice(candidates, size=int(len(candidates) * ENRICHING_SHARE), replace=False)
        if len(candidates) and metrics
        else np.array([], dtype=np.int64)
    )
    # per (member, metric): the share of today's covered works added in each interval
    steps = len(months)
    plan: dict[tuple[int, str], np.ndarray] = {}
    for mid in chosen:
        for metric in rng.choice(metrics, size=int(rng.integers(1, 4)), replace=False):
            total = rng.uniform(0.15, 0.6)
            weights = (
                rng.dirichlet(np.ones(steps))
                if rng.random() < 0.5
                else np.eye(steps)[int(rng.integers(0, steps))]
            )
            plan[(int(mid), str(metric))] = total * weights  # interval i ends at snapshot i+1
    out = []
    ms_per_month = 30.4 * 86_400_000
    # integer keys (member, metric) and (member, type, metric): vectorised look-ups at 3 M rows
    mcode, metric_names = pd.factorize(coverage["metric"])
    tcode, _ = pd.factorize(coverage["content_type"])
    metric_code = {str(m): i for i, m in enumerate(metric_names)}
    mid = coverage["member_id"].to_numpy(dtype=np.int64)
    mcode, tcode = mcode.astype(np.int64), tcode.astype(np.int64)
    pair_key = mid * 1024 + mcode
    row_key = (mid * 1024 + tcode) * 1024 + mcode
    is_cur = (coverage["period"] == "current").to_numpy(dtype=bool)
    is_all = (coverage["period"] == "all").to_numpy(dtype=bool)
    covered0 = coverage["covered"].to_numpy(dtype=np.int64)
    total = coverage["total"].to_numpy(dtype=np.int64)
    plan_keys = np.array([k[0] * 1024 + metric_code[k[1]] for k in plan], dtype=np.int64)
    plan_steps = np.array(list(plan.values())).reshape(len(plan), steps)
    order = np.argsort(plan_keys)
    plan_keys, plan_steps = plan_keys[order], plan_steps[order]
    cur_keys = row_key[is_cur]
    cur_order = np.argsort(cur_keys)
    for i, m in enumerate(months):
        # wound back by everything added after snapshot i: intervals i … steps-1
        frac = np.zeros(len(coverage))
        if len(plan_keys):
            pos = np.clip(np.searchsorted(plan_keys, pair_key), 0, len(plan_keys) - 1)
            hit = plan_keys[pos] == pair_key
            frac[hit] = plan_steps[pos[hit], i:].sum(axis=1)
        removed = np.where(is_cur, np.floor(covered0 * frac), 0).astype(np.int64)
        covered = covered0 - removed
        # the same works leave the all-period row of that member, type and metric
        lost = removed[is_cur][cur_order]
        keys_sorted = cur_keys[cur_order]
        all_keys = row_key[is_all]
        pos = np.clip(np.searchsorted(keys_sorted, all_keys), 0, max(len(keys_sorted) - 1, 0))
        minus = np.where(keys_sorted[pos] == all_keys, lost[pos], 0) if len(keys_sorted) else 0
        covered[is_all] = np.maximum(covered[is_all] - minus, 0)
        cov = coverage.copy()
        cov["covered"] = covered
        with np.errstate(invalid="ignore", divide="ignore"):
            cov["coverage"] = np.where(
                total > 0, covered / np.where(total > 0, total, 1), coverage["coverage"]
            )
        mem = members.copy()
        back = round(m * ms_per_month)
        mem["last_status_check"] = np.where(
            mem["last_status_check"] > back, mem["last_status_check"] - back, 0
        ).astype("int64")
        out.append((mem, cov))
    return out


def ensure_snapshot(settings: Settings) -> str:
    """The latest snapshot id, building the demo snapshot first when there is none."""
    latest = SnapshotStore(settings.data_dir).latest_id()
    if latest is not None:
        return latest
    return build_demo_snapshot(settings, n_members=DEMO_MEMBERS)
