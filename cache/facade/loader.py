"""The snapshot cache: the one piece of state the facade modules share (`SnapshotCache`).

One `SnapshotCache` per process (`cache()`), configured once (`configure()`; `app.py` calls it
at start-up, the first use does it lazily from `Settings.from_env()`), so a request never
re-reads environment variables. It holds:

* the served snapshot: the newest **readable** one at or before `snapshots/LATEST` (re-read at
  most every `LATEST_TTL_S` seconds, so a refresh published by the CLI shows up without a
  restart). A snapshot that fails to load (missing or damaged table, bad meta.json, wrong
  schema, a checksum mismatch reported by the store) is recorded as broken and the next older
  one is served, with a warning in `freshness()`;
* scored views (`view()`), least recently used evicted past `Settings.view_cache_size`;
* a small per-snapshot memo (`memo()`) for derived values that are not tied to one view.

Only the served snapshot stays in memory; other snapshots are read filtered (`coverage()`).
Every Parquet read goes through `cache.store.snapshots.SnapshotStore`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

import metrics
from cache.crossref.errors import SnapshotError
from cache.crossref.settings import Settings
from cache.store.snapshots import SnapshotStore, id_sort_key
from metrics import scoring

from .views import View, build_view

logger = logging.getLogger(__name__)

#: Seconds between two reads of `snapshots/LATEST`.
LATEST_TTL_S = 2.0
#: Entries of the per-snapshot memo (LRU).
MEMO_SIZE = 128
#: What a damaged snapshot raises while loading: the store's SnapshotError (missing file, bad
#: meta.json, wrong schema, checksum or range check) and, should one slip through, pyarrow's
#: errors (ArrowInvalid is also a ValueError), OS errors and value errors.
LOAD_ERRORS: tuple[type[BaseException], ...] = (
    SnapshotError,
    pa.ArrowException,
    OSError,
    ValueError,
)
#: Coverage columns the views use (`source` is not shown; intervals are read apart, `samples`).
VIEW_COLUMNS = ("member_id", "content_type", "period", "metric", "covered", "total", "coverage")
SAMPLE_COLUMNS = (*VIEW_COLUMNS, "ci_low", "ci_high")


@dataclass
class Loaded:
    """A snapshot prepared for querying (the store's Snapshot is frozen; this one is ours).

    ``members``: MEMBER_COLUMNS indexed by member_id, plus ``size_tier`` (categorical),
    ``name_lc`` (lower-case name) and ``name_rank`` (int32 sort rank of the name).
    ``coverage``: the rows with works (total > 0; a missing row is N/A everywhere) of
    `VIEW_COLUMNS`, text as categoricals, counts int32, coverage a fraction 0–1.
    ``samples``: the rows with a finite confidence interval (`SAMPLE_COLUMNS`), often empty.
    ``metric_keys``: registry keys with data, registry order. ``content_types``: ALL_TYPES first,
    then the types with works, most works first.
    """

    id: str
    meta: dict
    members: pd.DataFrame
    coverage: pd.DataFrame
    samples: pd.DataFrame
    metric_keys: list[str]
    content_types: list[str]


def prepare(
    sid: str, meta: dict, members: pd.DataFrame, coverage: pd.DataFrame, samples: pd.DataFrame
) -> Loaded:
    """A `Loaded` from the store's tables (members as stored, coverage as `read_coverage` gives).

    The store guarantees the columns and dtypes (`MEMBER_COLUMNS`, `COVERAGE_COLUMNS`), so
    nothing is back-filled here.
    """
    members = members.set_index("member_id", drop=False)
    members.index.name = None
    members["size_tier"] = scoring.size_tier(members["total_dois"]).astype("category")
    members["name_lc"] = members["name"].str.lower()
    members["name_rank"] = members["name_lc"].rank(method="first").astype("int32")
    present = set(map(str, coverage["metric"].unique()))
    keys = [k for k in metrics.names() if k in present]
    return Loaded(sid, dict(meta), members, coverage, samples, keys, _content_types(coverage))


def _content_types(cov: pd.DataFrame) -> list[str]:
    """ALL_TYPES, then the content types with works (period "all", one metric), most first."""
    if cov.empty:
        return [scoring.ALL_TYPES]
    period = cov["period"].cat.codes.to_numpy()
    metric = cov["metric"].cat.codes.to_numpy()
    # one row per member and type: every metric of a type has the same total
    mask = metric == metric[0]
    cats = list(cov["period"].cat.categories)
    if "all" in cats:
        mask &= period == cats.index("all")
    names = list(cov["content_type"].cat.categories)
    works = np.bincount(
        cov["content_type"].cat.codes.to_numpy()[mask],
        weights=cov["total"].to_numpy()[mask].astype(float),
        minlength=len(names),
    )
    ordered = [
        str(names[i])
        for i in np.argsort(-works, kind="stable")
        if works[i] > 0 and names[i] != scoring.ALL_TYPES
    ]
    return [scoring.ALL_TYPES, *ordered]


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "…"


class SnapshotCache:
    """The served snapshot, its scored views (LRU) and a per-snapshot memo, for one data dir.

    Thread-safe: one re-entrant lock guards the state; a view is built under its own lock so
    other views stay readable meanwhile. `data_dir()` and `settings()` take no lock once set (a
    background job forked from a web worker must never wait on a lock held at fork time).
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        settings: Settings | None = None,
        max_views: int | None = None,
    ) -> None:
        if data_dir is None and settings is not None:
            data_dir = settings.data_dir
        self._data_dir = Path(data_dir) if data_dir is not None else None
        if settings is not None and Path(settings.data_dir) != self._data_dir:
            settings = dataclasses.replace(settings, data_dir=self._data_dir)
        self._settings = settings
        self._max_views = max_views
        self._lock = threading.RLock()
        self._pointer: tuple[float, str | None] = (0.0, None)  # (checked at, LATEST id)
        self._served: tuple[str, str] | None = None  # (LATEST id, id served for it)
        self._loaded: dict[str, Loaded] = {}  # only the served snapshot
        self._broken: dict[str, str] = {}  # id -> why it could not be read
        self._views: OrderedDict[tuple[str, str, str], View] = OrderedDict()
        self._building: dict[tuple[str, str, str], threading.Lock] = {}
        self._memo: OrderedDict[tuple, Any] = OrderedDict()

    # -- configuration ------------------------------------------------------------------------
    def data_dir(self) -> Path:
        """The data directory (from `Settings.from_env()` when none was given)."""
        current = self._data_dir
        if current is not None:
            return current
        with self._lock:
            if self._data_dir is None:
                self._data_dir = Path(self.settings().data_dir)
            return self._data_dir

    def settings(self) -> Settings:
        """Settings with this cache's data dir (`Settings.from_env()` on first use when none)."""
        current = self._settings
        if current is not None:
            return current
        with self._lock:
            if self._settings is None:
                if self._data_dir is None:
                    self._settings = Settings.from_env()
                else:
                    self._settings = Settings.from_env(data_dir=self._data_dir)
            return self._settings

    def store(self) -> SnapshotStore:
        """The snapshot store of the data dir (the only code that knows paths)."""
        return SnapshotStore(self.data_dir())

    @property
    def max_views(self) -> int:
        """How many scored views stay in memory (`Settings.view_cache_size` unless given)."""
        return self._max_views or self.settings().view_cache_size

    # -- the served snapshot ----------------------------------------------------------------
    def pointer(self, refresh: bool = False) -> str | None:
        """The id `snapshots/LATEST` names (re-read at most every `LATEST_TTL_S` s, or now with
        `refresh`), falling back to the newest complete snapshot when LATEST is unreadable."""
        now = time.monotonic()
        checked, sid = self._pointer
        if not refresh and sid is not None and now - checked < LATEST_TTL_S:
            return sid
        store = self.store()
        try:
            sid = store.latest_id()
        except LOAD_ERRORS as exc:
            logger.warning("snapshots/LATEST is unreadable (%s); using the newest snapshot", exc)
            try:
                ids = store.ids()
            except OSError:
                logger.exception("listing snapshots failed")
                ids = []
            sid = ids[0] if ids else None
        self._pointer = (now, sid)
        return sid

    def latest(self) -> Loaded:
        """The served snapshot: LATEST's if it loads, else the newest one that does.

        Raises LookupError when nothing is published or no snapshot can be read (each broken
        one is in `broken()` with its reason).
        """
        pointer = self.pointer()
        if pointer is None:
            raise LookupError("no snapshot published yet")
        served = self._served
        if served is not None and served[0] == pointer:
            snap = self._loaded.get(served[1])
            if snap is not None:
                return snap
        with self._lock:
            for sid in self._candidates(pointer):
                try:
                    snap = self._load(sid)
                except LOAD_ERRORS as exc:
                    self._broken[sid] = _reason(exc)
                    logger.error("snapshot %s cannot be read: %s", sid, self._broken[sid])
                    continue
                self._serve(pointer, snap)
                return snap
        raise LookupError(
            f"no readable snapshot (broken: {', '.join(self._broken) or 'none'}) in "
            f"{self.store().root}"
        )

    def latest_id(self) -> str | None:
        """The id of the served snapshot; None when there is none (nothing published or none
        readable)."""
        try:
            return self.latest().id
        except LookupError:
            return None

    def snapshot(self, sid: str | None = None) -> Loaded:
        """The served snapshot, or `sid` when it is the one held (other ids: LookupError; read
        them with `coverage()`)."""
        snap = self.latest()
        if sid is None or sid == snap.id:
            return snap
        raise LookupError(f"snapshot {sid} is not the one served ({snap.id})")

    def broken(self) -> dict[str, str]:
        """Snapshots that failed to load in this process: id → reason."""
        return dict(self._broken)

    def _candidates(self, pointer: str) -> list[str]:
        """LATEST's id, then every other complete snapshot, newest first (the store's order),
        skipping those already found broken."""
        try:
            ids = self.store().candidates()
        except OSError:
            logger.exception("listing snapshots failed")
            ids = []
        ordered = [pointer, *(i for i in ids if i != pointer)]
        return [i for i in ordered if i not in self._broken]

    def _load(self, sid: str) -> Loaded:
        """A loaded snapshot (the one in memory when it is `sid`); raises a LOAD_ERRORS type."""
        held = self._loaded.get(sid)
        if held is not None:
            return held
        t0 = time.perf_counter()
        _use_system_allocator()
        store = self.store()
        meta = store.read_meta(sid)
        members = store.read_members(sid)
        coverage = store.read_coverage(sid, columns=VIEW_COLUMNS, filters=[("total", ">", 0)])
        samples = store.read_coverage(sid, columns=SAMPLE_COLUMNS, filters=[("ci_low", ">=", 0)])
        snap = prepare(sid, meta, members, coverage, samples)
        _trim()
        logger.info("loaded snapshot %s in %.2fs", sid, time.perf_counter() - t0)
        return snap

    def _serve(self, pointer: str, snap: Loaded) -> None:
        """Make `snap` the served snapshot; drop every other snapshot's tables, views and memo."""
        if pointer != snap.id:
            logger.warning(
                "serving snapshot %s: the latest, %s, cannot be read (%s)",
                snap.id,
                pointer,
                self._broken.get(pointer, "unknown reason"),
            )
        self._served = (pointer, snap.id)
        if snap.id not in self._loaded:
            self._loaded = {snap.id: snap}
            for key in [k for k in self._views if k[0] != snap.id]:
                del self._views[key]
            for key in [k for k in self._memo if k[0] != snap.id]:
                del self._memo[key]
            _trim()

    # -- views and memo -----------------------------------------------------------------------
    def view(self, content_type: str, period: str, sid: str | None = None) -> View:
        """The scored view of (content type, period) of the served snapshot (or `sid`, when it
        is the served one). Built once, kept while among the `max_views` most recently used.

        Raises LookupError without a readable snapshot, ValueError for an unknown period.
        """
        snap = self.snapshot(sid)
        key = (snap.id, content_type, period)
        with self._lock:
            cached = self._views.get(key)
            if cached is not None:
                self._views.move_to_end(key)
                return cached
            build_lock = self._building.setdefault(key, threading.Lock())
        with build_lock:  # one build per key; other views stay readable meanwhile
            with self._lock:
                cached = self._views.get(key)
            if cached is not None:
                return cached
            t0 = time.perf_counter()
            built = build_view(snap, content_type, period)
            logger.info("scored %s/%s/%s in %.3fs", *key, time.perf_counter() - t0)
            with self._lock:
                if self._served is not None and self._served[1] == snap.id:
                    self._views[key] = built
                    while len(self._views) > self.max_views:
                        self._views.popitem(last=False)
                self._building.pop(key, None)
            _trim()
            return built

    def warm(self, types: Sequence[str], periods: Sequence[str]) -> None:
        """Score the given views of the served snapshot ahead of the first request (types the
        snapshot does not have are skipped). Raises like `view`."""
        have = self.latest().content_types
        for content_type in types:
            for period in periods:
                if content_type in have:
                    self.view(content_type, period)

    def view_keys(self) -> list[tuple[str, str, str]]:
        """(snapshot id, content type, period) of the views held, least recently used first."""
        with self._lock:
            return list(self._views)

    def loaded_ids(self) -> list[str]:
        """Ids of the snapshots whose tables are in memory (only the served one)."""
        return list(self._loaded)

    def memo(self, key: tuple, fn: Callable[[], Any]) -> Any:
        """`fn()` computed once per key for the served snapshot (LRU, `MEMO_SIZE` entries);
        entries of an older snapshot go when a new one is served."""
        full = (self.latest().id, *key)
        with self._lock:
            if full in self._memo:
                self._memo.move_to_end(full)
                return self._memo[full]
        value = fn()
        with self._lock:
            self._memo[full] = value
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)
        return value

    # -- other snapshots ------------------------------------------------------------------------
    def list(self) -> list[dict]:
        """Metas of every published snapshot, newest first (`SnapshotStore.list`)."""
        try:
            return list(self.store().list())
        except OSError:
            logger.exception("listing snapshots failed")
            return []

    def coverage(
        self,
        sid: str,
        *,
        period: str | None = None,
        member_ids: Sequence[int] | None = None,
        content_type: str | None = None,
    ) -> pd.DataFrame:
        """The coverage rows with works (`VIEW_COLUMNS`) of any snapshot, filtered: from memory
        when `sid` is served, else a filtered read of its file. All types when `content_type`
        is None or ALL_TYPES. Raises SnapshotError when `sid` cannot be read."""
        held = self._loaded.get(sid)
        if held is not None:
            cov = held.coverage
            mask = np.ones(len(cov), dtype=bool)
            if period:
                mask &= (cov["period"] == period).to_numpy()
            if content_type and content_type != scoring.ALL_TYPES:
                mask &= (cov["content_type"] == content_type).to_numpy()
            if member_ids is not None:
                mask &= cov["member_id"].isin([int(i) for i in member_ids]).to_numpy()
            return cov.loc[mask]
        filters: list[tuple[str, str, Any]] = [("total", ">", 0)]
        if period:
            filters.append(("period", "=", period))
        if content_type and content_type != scoring.ALL_TYPES:
            filters.append(("content_type", "=", content_type))
        if member_ids is not None:
            filters.append(("member_id", "in", [int(i) for i in member_ids]))
        return self.store().read_coverage(sid, columns=VIEW_COLUMNS, filters=filters)

    # -- status -------------------------------------------------------------------------------
    def warning(self) -> str | None:
        """A one-line warning when the latest published snapshot cannot be served, else None."""
        pointer = self.pointer()
        if pointer is None or pointer not in self._broken:
            return None
        served = self.latest_id()
        tail = f"showing {served}" if served else "no older snapshot can be read"
        return f"Snapshot {pointer} could not be read ({self._broken[pointer]}); {tail}"

    def reset(self) -> None:
        """Forget the served snapshot, views, memo and broken marks (a new data dir; tests)."""
        with self._lock:
            self._pointer = (0.0, None)
            self._served = None
            self._loaded = {}
            self._broken.clear()
            self._views.clear()
            self._memo.clear()


# -- the process's cache ----------------------------------------------------------------------
_cache = SnapshotCache()


def cache() -> SnapshotCache:
    """The process's SnapshotCache (tests and benches inspect it; pages use the functions)."""
    return _cache


def configure(data_dir: str | Path | None = None, settings: Settings | None = None) -> None:
    """Point the facade at a data directory (and optionally Settings): a fresh SnapshotCache.

    `settings` is what background jobs started by pages use to reach Crossref; without it,
    `Settings.from_env()` (read once, on first use) with this data directory.
    """
    global _cache
    _cache = SnapshotCache(data_dir, settings)


def reset() -> None:
    """Forget loaded snapshots, views and memo (tests; a new data dir)."""
    _cache.reset()


def data_dir() -> Path:
    """The data directory the facade reads."""
    return _cache.data_dir()


def settings() -> Settings:
    """The Settings (Crossref access for page-started jobs), with this process's data dir."""
    return _cache.settings()


def store() -> SnapshotStore:
    """The snapshot store of the data dir."""
    return _cache.store()


def snapshot_id() -> str | None:
    """Id of the served snapshot (the newest readable one); None when there is none."""
    return _cache.latest_id()


def has_snapshot() -> bool:
    """Whether a snapshot can be served."""
    return _cache.latest_id() is not None


def snapshot(sid: str | None = None) -> Loaded:
    """The served snapshot (see `SnapshotCache.snapshot`); LookupError when there is none."""
    return _cache.snapshot(sid)


def view(content_type: str, period: str, sid: str | None = None) -> View:
    """The scored view of (content type, period): see `SnapshotCache.view`."""
    return _cache.view(content_type, period, sid)


def warm(
    types: Sequence[str] = ("journal-article", scoring.ALL_TYPES),
    periods: Sequence[str] = scoring.PERIODS,
) -> None:
    """Score the common views ahead of the first request (app start-up runs this in a thread);
    a failure is logged, and shows up again on the first request."""
    try:
        _cache.warm(types, periods)
    except (LookupError, *LOAD_ERRORS):
        logger.exception("warming views failed")


def memo(key: tuple, fn: Callable[[], Any]) -> Any:
    """Per-snapshot memo: see `SnapshotCache.memo`."""
    return _cache.memo(key, fn)


def meta() -> dict:
    """meta.json of the served snapshot ({} when there is none)."""
    return dict(_cache.latest().meta) if has_snapshot() else {}


def snapshots() -> list[dict]:
    """Metas of every published snapshot, newest first."""
    return _cache.list()


def freshness() -> dict:
    """What every page's header shows about the data.

    Keys: snapshot_id, created (ISO 8601 UTC), data_as_of (Crossref's, from meta.json), source
    (api | demo | bulk), is_demo, members (count), api_url, broken (ids that failed to load)
    and warning (one line naming the unreadable latest snapshot and the one shown, or None).
    """
    c = _cache
    served = has_snapshot()  # loads (or fails to load) first: the warning depends on it
    warning = c.warning()
    broken = sorted(c.broken(), key=id_sort_key, reverse=True)
    if not served:
        return {
            "snapshot_id": None,
            "created": None,
            "data_as_of": None,
            "source": None,
            "is_demo": False,
            "members": 0,
            "api_url": None,
            "broken": broken,
            "warning": warning,
        }
    snap = c.latest()
    m = snap.meta
    return {
        "snapshot_id": snap.id,
        "created": m.get("created"),
        "data_as_of": m.get("data_as_of"),
        "source": m.get("source"),
        "is_demo": m.get("source") == "demo",
        "members": len(snap.members),
        "api_url": m.get("api_url"),
        "broken": broken,
        "warning": warning,
    }


def health() -> dict:
    """For `/healthz`: {snapshot_id, snapshot_age_s, source, members, broken, warning}.

    ``snapshot_age_s``: seconds since the served snapshot's ``created`` (meta.json), None
    without one; ``broken``: ids that failed to load in this process, newest first.
    """
    f = freshness()
    age = None
    if f["created"]:
        when = dt.datetime.fromisoformat(str(f["created"]).replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        age = round((dt.datetime.now(dt.UTC) - when).total_seconds(), 1)
    return {
        "snapshot_id": f["snapshot_id"],
        "snapshot_age_s": age,
        "source": f["source"],
        "members": f["members"],
        "broken": f["broken"],
        "warning": f["warning"],
    }


# -- memory -------------------------------------------------------------------------------------
_allocator_set = False


def _use_system_allocator() -> None:
    """Arrow's default pool keeps freed pages; the system pool lets `_trim` hand them back."""
    global _allocator_set
    if not _allocator_set:
        _allocator_set = True
        pa.set_memory_pool(pa.system_memory_pool())


def _trim() -> None:
    """Give freed heap pages back to the OS (glibc's malloc_trim; nothing elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: freed pages stay with the process
        return
