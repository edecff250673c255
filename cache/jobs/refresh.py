"""Refresh: Crossref member summaries → tidy tables → one published snapshot.

``refresh_all`` pages every member through ``/members?rows=1000&offset=…`` (≈ 33 requests for
33k members, fetched concurrently within the pool's limits). ``refresh_members`` fetches the
given ids through ``/members/{id}`` and publishes a snapshot holding **only those members**
(source ``api``); it does not merge into the previous snapshot.

Conversion (docs/architecture.md §3): for each member and period ``current|backfile|all``, one
coverage row per content type in ``coverage-type[period] ∪ counts-type[period]`` and per metric
(the 12 ``coverage-type`` keys). ``coverage`` is exactly Crossref's float, ``total`` comes from
``counts-type``, ``covered = round(coverage × total)``, and ``coverage`` is NaN when ``total`` is
0. A period with no content (``{}``) still gets rows, one per type of ``counts-type.all``, with
total 0. A type with works but no coverage value (a null in Crossref's summary) keeps its total
with ``coverage`` NaN and ``covered`` 0. The work happens page by page while later pages are
still downloading, and the per-metric expansion is vectorised with numpy.

Nothing is published unless every request succeeded: any exception propagates before
``SnapshotStore.publish``. A coverage value outside 0–1 (never seen from Crossref) is stored as
NaN (N/A) with a warning, and an item without a positive ``id`` is skipped.

Both jobs hold the data directory's refresh lock (:func:`cache.store.files.refresh_lock`) from
the first request to the publish, waiting for another holder: two refreshes never run at once
on one data directory, and ``refresh_members`` merges into the snapshot that is latest *when it
publishes* (read under the lock), so two member refreshes never lose each other's update.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import logging
import operator
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa

import metrics
from cache.crossref.errors import CrossrefError, SnapshotError
from cache.jobs.locations import is_gem, parse_country
from cache.store.files import LockBusy, refresh_lock, refresh_running
from cache.store.snapshots import MEMBER_COLUMNS, PERIODS, Snapshot, SnapshotStore

logger = logging.getLogger(__name__)

__all__ = [
    "LockBusy",
    "RefreshResult",
    "members_to_tables",
    "refresh_all",
    "refresh_lock",
    "refresh_members",
    "refresh_running",
]

# The registry's member-summary metrics; each registry key is its Crossref coverage key.
COVERAGE_KEYS: tuple[str, ...] = metrics.COVERAGE_KEYS
COVERAGE_SOURCE = "coverage-type"
_get_keys = operator.itemgetter(*COVERAGE_KEYS)
MIN_COMPLETE_SHARE = 0.99  # of /members total-results, else the refresh is treated as failed

ProgressFn = Callable[[int, int], Any]


@dataclass
class RefreshResult:
    """What a refresh did: the published ``snapshot_id``, ``members`` (rows of the members
    table), ``coverage_rows`` (rows of the coverage table), HTTP ``requests``, ``retries``,
    ``http_429`` (rate-limited answers) and ``cache_hits`` counts, ``duration_s`` (wall-clock
    seconds), the snapshot ``meta``, and ``no_country`` (members whose ``location`` names no
    recognisable country).
    """

    snapshot_id: str
    members: int
    coverage_rows: int
    requests: int
    retries: int
    http_429: int
    cache_hits: int
    duration_s: float
    meta: dict[str, Any] = field(default_factory=dict)
    #: members of the published snapshot whose ``location`` names no recognisable country
    no_country: int = 0

    def summary(self) -> str:
        """One log line: ``members=… requests=… retries=… 429s=… duration=…s snapshot=…``."""
        return (
            f"members={self.members} requests={self.requests} retries={self.retries} "
            f"429s={self.http_429} duration={self.duration_s:.1f}s snapshot={self.snapshot_id} "
            f"no_country={self.no_country}"
        )


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------
def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _float(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return float("nan")
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _std_compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _compact_json(value: Any) -> str:
    """Same text as :func:`_std_compact_json`, ~5x faster with orjson; non-str keys fall back."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return _std_compact_json(value)


class _Converter:
    """Accumulates members and (member, type, period) rows page by page."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.members: dict[str, list[Any]] = {c: [] for c in MEMBER_COLUMNS}
        # One "wide" row per (member, type, period); flushed to numpy chunks after each page.
        self.type_codes: dict[str, int] = {}
        self.w_member: list[int] = []
        self.w_type: list[int] = []
        self.w_period: list[int] = []
        self.w_total: list[int] = []
        self.w_values: list[Any] = []
        self.chunks: list[tuple[np.ndarray, ...]] = []
        self.text_chunks: list[tuple[pa.Array, ...]] = []
        self.max_status_check = 0
        self.duplicates = 0
        self.bad_ids = 0
        self.out_of_range = 0

    def add(self, items: Iterable[dict]) -> int:
        added = 0
        for item in items:
            if not isinstance(item, dict) or "id" not in item:
                continue
            member_id = _int(item.get("id"))
            if member_id <= 0:
                self.bad_ids += 1
                continue
            if member_id in self.seen:
                self.duplicates += 1
                continue
            self.seen.add(member_id)
            self._add_member(member_id, item)
            self._add_coverage(member_id, item)
            added += 1
        self._flush()
        return added

    def _add_member(self, member_id: int, m: dict) -> None:
        location = str(m.get("location") or "")
        iso3, cname = parse_country(location)
        prefixes = m.get("prefixes")
        if not prefixes:
            prefixes = [p.get("value") for p in m.get("prefix") or [] if isinstance(p, dict)]
        counts = m.get("counts") or {}
        pairs = (m.get("breakdowns") or {}).get("dois-by-issued-year") or []
        try:
            by_year = {str(int(y)): n for y, n in pairs if y is not None}
            by_year_json = _compact_json(by_year)
        except (TypeError, ValueError):
            by_year = {
                str(_int(p[0])): _int(p[1])
                for p in pairs
                if isinstance(p, list | tuple) and len(p) == 2 and p[0] is not None
            }
            by_year_json = _compact_json(by_year)
        status_check = _int(m.get("last-status-check-time"))
        self.max_status_check = max(self.max_status_check, status_check)
        row = self.members
        row["member_id"].append(member_id)
        row["name"].append(str(m.get("primary-name") or ""))
        row["location"].append(location)
        row["country"].append(iso3)
        row["country_name"].append(cname)
        row["gem"].append(is_gem(iso3))
        row["prefixes"].append(",".join(str(p) for p in prefixes if p))
        row["total_dois"].append(_int(counts.get("total-dois")))
        row["current_dois"].append(_int(counts.get("current-dois")))
        row["backfile_dois"].append(_int(counts.get("backfile-dois")))
        row["counts_type"].append(_compact_json(m.get("counts-type") or {}))
        row["dois_by_year"].append(by_year_json)
        row["last_status_check"].append(status_check)

    def _add_coverage(self, member_id: int, m: dict) -> None:
        counts_type = m.get("counts-type") or {}
        coverage_type = m.get("coverage-type") or {}
        all_types = list((counts_type.get("all") or {}).keys())
        nan_row = [float("nan")] * len(COVERAGE_KEYS)
        codes = self.type_codes
        for p_code, period in enumerate(PERIODS):
            counts = counts_type.get(period) or {}
            cov = coverage_type.get(period) or {}
            types = list(dict.fromkeys([*cov, *counts])) or all_types
            for ctype in types:
                block = cov.get(ctype)
                if isinstance(block, dict):
                    try:
                        values = _get_keys(block)
                    except KeyError:
                        values = [block.get(k) for k in COVERAGE_KEYS]
                else:
                    values = nan_row
                code = codes.get(ctype)
                if code is None:
                    code = codes[ctype] = len(codes)
                self.w_member.append(member_id)
                self.w_type.append(code)
                self.w_period.append(p_code)
                self.w_total.append(_int(counts.get(ctype)))
                self.w_values.append(values)

    # -- frames ---------------------------------------------------------------------------
    def members_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.members)
        for col, dtype in MEMBER_COLUMNS.items():
            frame[col] = frame[col].astype(dtype)
        return frame

    def _flush(self) -> None:
        """Turn the wide rows gathered so far into tidy column chunks: numpy for numbers,
        Arrow for text. Done page by page, so the work overlaps the download of later pages
        and the end only concatenates."""
        n = len(self.w_member)
        if n == 0:
            return
        k = len(COVERAGE_KEYS)
        values = _float_matrix(self.w_values, k)
        outside = ~np.isnan(values) & ~((values >= 0) & (values <= 1))
        if outside.any():  # a fraction outside 0–1 is not a coverage: keep it as N/A
            self.out_of_range += int(np.count_nonzero(outside))
            values = np.where(outside, np.nan, values)
        total = np.maximum(np.asarray(self.w_total, dtype="int64"), 0)
        has_works = (total > 0)[:, None]
        coverage = np.where(has_works, values, np.nan)
        covered = np.where(
            has_works & ~np.isnan(values), np.rint(np.nan_to_num(values) * total[:, None]), 0
        ).astype("int64")
        type_names = sorted(self.type_codes, key=self.type_codes.__getitem__)
        self.chunks.append(
            (
                np.repeat(np.asarray(self.w_member, dtype="int64"), k),
                covered.ravel(),
                np.repeat(total, k),
                coverage.ravel(),
            )
        )
        self.text_chunks.append(
            (
                _decode(np.repeat(np.asarray(self.w_type, dtype="int32"), k), type_names),
                _decode(np.repeat(np.asarray(self.w_period, dtype="int32"), k), PERIODS),
                _decode(np.tile(np.arange(k, dtype="int32"), n), COVERAGE_KEYS),
                _decode(np.zeros(n * k, dtype="int32"), (COVERAGE_SOURCE,)),
            )
        )
        self.w_member, self.w_type, self.w_period, self.w_total, self.w_values = [], [], [], [], []

    def coverage_frame(self) -> pd.DataFrame:
        self._flush()
        if self.chunks:
            member, covered, total, coverage = (
                np.concatenate(parts) for parts in zip(*self.chunks, strict=True)
            )
            ctype, period, metric, source = (
                pd.array(pa.chunked_array(parts), dtype="str")
                for parts in zip(*self.text_chunks, strict=True)
            )
        else:
            member, covered, total = (np.zeros(0, dtype="int64") for _ in range(3))
            coverage = np.zeros(0, dtype="float64")
            ctype, period, metric, source = (pd.array([], dtype="str") for _ in range(4))
        n = len(member)
        return pd.DataFrame(
            {
                "member_id": member,
                "content_type": ctype,
                "period": period,
                "metric": metric,
                "covered": covered,
                "total": total,
                "coverage": coverage,
                "source": source,
                "ci_low": np.full(n, np.nan),
                "ci_high": np.full(n, np.nan),
            },
            copy=False,  # the arrays are ours: no consolidation copy of ~100 MB
        )


def _float_matrix(rows: list[list[Any]], k: int) -> np.ndarray:
    """Rows of raw JSON values → float64 matrix; None → NaN; anything odd → NaN."""
    try:
        return np.asarray(rows, dtype="float64").reshape(len(rows), k)
    except (TypeError, ValueError):
        return np.asarray([[_float(v) for v in row] for row in rows], dtype="float64").reshape(
            len(rows), k
        )


def _decode(codes: np.ndarray, categories: Iterable[str]) -> pa.Array:
    """Integer codes into ``categories`` → an Arrow large_string array (decoded by Arrow)."""
    indices = pa.array(np.asarray(codes, dtype="int32"), type=pa.int32())
    dictionary = pa.array([str(c) for c in categories], type=pa.large_string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def members_to_tables(items: Iterable[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Member JSON objects (``/members`` items or ``/members/{id}`` messages) → (members,
    coverage) frames in the snapshot schema. Duplicate ids keep their first occurrence."""
    conv = _Converter()
    conv.add(items)
    return conv.members_frame(), conv.coverage_frame()


# --------------------------------------------------------------------------------------------
# Jobs
# --------------------------------------------------------------------------------------------
def _iso_ms(epoch_ms: int) -> str | None:
    if epoch_ms <= 0:
        return None
    when = dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _publish(
    client: Any,
    store: SnapshotStore,
    conv: _Converter,
    *,
    source: str,
    started: float,
    stats_before: dict[str, int],
    extra_meta: dict[str, Any],
    base: Snapshot | None = None,
) -> RefreshResult:
    members = conv.members_frame()
    coverage = conv.coverage_frame()
    refreshed = len(members)
    if conv.out_of_range:
        logger.warning(
            "%d coverage value(s) from Crossref were outside 0–1 and are stored as N/A",
            conv.out_of_range,
        )
    if conv.bad_ids:
        logger.warning("skipped %d member item(s) without a positive id", conv.bad_ids)
    if base is not None:
        members, coverage = _merge(base, members, coverage)
        extra_meta = {**extra_meta, "based_on": base.id}
    stats = client.stats.as_dict()
    delta = {k: stats[k] - stats_before.get(k, 0) for k in stats}
    duration = round(time.monotonic() - started, 3)
    no_country = sorted(
        int(i) for i in members.loc[members["country"].fillna("") == "", "member_id"]
    )
    meta = {
        "members_without_country": no_country,
        "members_without_country_count": len(no_country),
        "source": source,
        "api_url": client.settings.api_url,
        "requests": delta["requests"],
        "retries": delta["retries"],
        "http_429": delta["http_429"],
        "cache_hits": delta["cache_hits"],
        "duration_s": duration,
        "current_year": dt.datetime.now(dt.UTC).year,
        "data_as_of": _iso_ms(conv.max_status_check),
        **extra_meta,
    }
    sid = store.publish(members, coverage, meta)
    return RefreshResult(
        snapshot_id=sid,
        members=refreshed,
        coverage_rows=len(coverage),
        requests=delta["requests"],
        retries=delta["retries"],
        http_429=delta["http_429"],
        cache_hits=delta["cache_hits"],
        duration_s=duration,
        meta=store.read_meta(sid),
        no_country=len(no_country),
    )


def _merge(
    base: Snapshot, members: pd.DataFrame, coverage: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The base snapshot with the refreshed members' rows replaced (new members appended)."""
    ids = set(members["member_id"].tolist())
    kept_members = base.members[~base.members["member_id"].isin(ids)]
    kept_coverage = base.coverage[~base.coverage["member_id"].isin(ids)]
    merged_members = pd.concat([kept_members, members], ignore_index=True)
    merged_coverage = pd.concat([kept_coverage, coverage], ignore_index=True)
    return (
        merged_members.sort_values("member_id", kind="stable", ignore_index=True),
        merged_coverage,
    )


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while pages are parsed and converted.

    Each 1000-member page is ~100k short-lived containers; the collector would rescan them
    over and over (measured: ~40 % of the per-page CPU). Reference counting still frees every
    page as soon as it is converted; the collector's previous state is restored afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def refresh_all(
    client: Any,
    store: SnapshotStore,
    *,
    progress: ProgressFn | None = None,
    source: str = "api",
    rows: int = 1000,
) -> RefreshResult:
    """Fetch every member summary (``/members?rows=…&offset=…``) and publish one snapshot.

    Holds the data directory's refresh lock throughout, waiting for another holder. Raises on
    any failure (``CrossrefError``, ``SnapshotError``, ``OSError``): nothing is published then,
    and the previous snapshot stays the latest.
    """
    with refresh_lock(store.data_dir, wait=True):
        return _refresh_all(client, store, progress=progress, source=source, rows=rows)


def _refresh_all(
    client: Any,
    store: SnapshotStore,
    *,
    progress: ProgressFn | None,
    source: str,
    rows: int,
) -> RefreshResult:
    started = time.monotonic()
    before = client.stats.as_dict()
    conv = _Converter()
    total = 0

    def on_total(n: int) -> None:
        nonlocal total
        total = n
        if progress is not None:
            progress(0, n)

    with _gc_paused():
        for page in client.iter_member_pages(rows=rows, on_total=on_total):
            conv.add(page)
            if progress is not None:
                progress(min(len(conv.seen), total), total)
    got = len(conv.seen)
    if got == 0:
        raise CrossrefError("refresh returned no members: nothing to publish")
    if got != total:
        logger.warning("got %d distinct members, /members reported %d", got, total)
    if got < MIN_COMPLETE_SHARE * total:
        raise CrossrefError(
            f"incomplete refresh: got {got} distinct members of {total} reported by /members"
        )
    if conv.duplicates:
        logger.info("skipped %d duplicate member entries across pages", conv.duplicates)
    return _publish(
        client,
        store,
        conv,
        source=source,
        started=started,
        stats_before=before,
        extra_meta={"scope": "all", "total_results": total},
    )


def refresh_members(
    client: Any,
    store: SnapshotStore,
    member_ids: Iterable[int],
    *,
    progress: ProgressFn | None = None,
    source: str = "api",
) -> RefreshResult:
    """Fetch the given members through ``/members/{id}`` and publish a snapshot
    (``meta.scope = "members"``, ``meta.based_on``): the latest readable snapshot with those
    members' rows replaced, or only those members when there is no snapshot yet.

    Holds the data directory's refresh lock throughout (waiting for another holder) and reads
    the snapshot to merge into only after fetching, under the lock. Unknown ids raise
    ``NotFound``; when snapshots exist but none is readable, ``SnapshotError`` (run a full
    refresh instead).
    """
    ids = list(dict.fromkeys(int(i) for i in member_ids))
    if not ids:
        raise ValueError("no member ids given")
    with refresh_lock(store.data_dir, wait=True):
        return _refresh_members(client, store, ids, progress=progress, source=source)


def _merge_base(store: SnapshotStore) -> Snapshot | None:
    """The snapshot a member refresh merges into: the latest readable one (None if none)."""
    if store.latest_id() is None:
        return None
    try:
        base, broken = store.load_latest_readable()
    except SnapshotError as exc:
        raise SnapshotError(
            f"cannot merge the members into a snapshot: {exc} (run a full refresh)"
        ) from None
    for sid, reason in broken:
        logger.warning("merging into %s: skipped unreadable snapshot %s (%s)", base.id, sid, reason)
    return base


def _refresh_members(
    client: Any,
    store: SnapshotStore,
    ids: list[int],
    *,
    progress: ProgressFn | None,
    source: str,
) -> RefreshResult:
    started = time.monotonic()
    before = client.stats.as_dict()
    if progress is not None:
        progress(0, len(ids))
    with _gc_paused():
        messages = client.map(client.member, ids, progress=progress)
        conv = _Converter()
        conv.add(messages)
        del messages
    return _publish(
        client,
        store,
        conv,
        source=source,
        started=started,
        stats_before=before,
        extra_meta={"scope": "members", "member_ids": ids},
        base=_merge_base(store),
    )
