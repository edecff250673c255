"""Configuration, snapshot loading and the per-snapshot memo: the state every other module reads.

The data directory is fixed once per process (`configure()`; `app.py` calls it at start-up, and the
first call here does it lazily from `Settings.from_env()`), so a request never re-reads env vars.
The latest snapshot id is re-read from `snapshots/LATEST` at most every `_LATEST_TTL_S` seconds, so
a refresh published by the CLI shows up without restarting the app. Only the latest snapshot stays
loaded; other snapshots are read filtered (`_read_coverage`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from metrics import scoring

if TYPE_CHECKING:
    from cache.crossref.settings import Settings

logger = logging.getLogger(__name__)

_LATEST_TTL_S = 2.0

_lock = threading.RLock()
_data_dir: Path | None = None
_settings: Settings | None = None
_latest: tuple[float, str | None] = (0.0, None)
_snapshots: OrderedDict[str, Any] = OrderedDict()
_views: OrderedDict[tuple[str, str, str], Any] = OrderedDict()  # (sid, type, period) -> views.View
_memo: dict[tuple, Any] = {}
_building: dict[tuple[str, str, str], threading.Lock] = {}


def configure(data_dir: str | Path | None = None, settings: Settings | None = None) -> None:
    """Fix the data directory (and optionally the Settings) for this process; drop memoised values.

    `settings` is what work-level drill-downs use to reach Crossref; without it they use
    `Settings.from_env()` (read once, on first use) with this data directory.
    """
    global _data_dir, _settings
    with _lock:
        if data_dir is None and settings is not None:
            data_dir = settings.data_dir
        _data_dir = Path(data_dir) if data_dir is not None else None
        _settings = settings
        if settings is not None and Path(settings.data_dir) != _data_dir:
            _settings = dataclasses.replace(settings, data_dir=_data_dir)
        reset()


def reset() -> None:
    """Forget loaded snapshots and views (tests; a new data dir)."""
    global _latest
    with _lock:
        _latest = (0.0, None)
        _snapshots.clear()
        _views.clear()
        _memo.clear()


def data_dir() -> Path:
    global _data_dir
    current = _data_dir
    if current is not None:  # no lock once set (a forked background job must not wait on it)
        return current
    with _lock:
        if _data_dir is None:
            from cache.crossref.settings import Settings

            _data_dir = Path(Settings.from_env().data_dir)
        return _data_dir


def settings() -> Settings:
    """The Settings for Crossref access (work-level drill-downs), with this process's data dir."""
    global _settings
    current, folder = _settings, data_dir()
    if current is not None and Path(current.data_dir) == folder:  # no lock (see data_dir)
        return current
    with _lock:
        if _settings is None or Path(_settings.data_dir) != folder:
            from cache.crossref.settings import Settings

            _settings = Settings.from_env(data_dir=folder)
        return _settings


def store():
    from cache.store.snapshots import SnapshotStore

    return SnapshotStore(data_dir())


def snapshot_id() -> str | None:
    """Latest published snapshot id (re-read from disk at most every couple of seconds)."""
    global _latest
    now = time.monotonic()
    checked, sid = _latest
    if sid is not None and now - checked < _LATEST_TTL_S:
        return sid
    try:
        sid = store().latest_id()
    except Exception:  # a half-written or missing store is "no snapshot", never a 500
        logger.exception("reading the latest snapshot id failed")
        sid = None
    _latest = (now, sid)
    return sid


def has_snapshot() -> bool:
    return snapshot_id() is not None


@dataclass
class Loaded:
    """A snapshot prepared for querying (the store's Snapshot is frozen; this one is ours)."""

    id: str
    meta: dict
    members: pd.DataFrame
    coverage: pd.DataFrame
    years: pd.DataFrame | None = None


def _prepare(snap) -> Loaded:
    """Make a loaded snapshot cheap to query: categorical codes, indexed members, size tiers."""
    cov = snap.coverage
    for col in ("content_type", "period", "metric", "source"):
        if col in cov.columns and not isinstance(cov[col].dtype, pd.CategoricalDtype):
            cov[col] = cov[col].astype("category")
    empty_ci = [c for c in ("ci_low", "ci_high") if c in cov.columns and cov[c].isna().all()]
    if empty_ci:
        cov = cov.drop(columns=empty_ci)
    members = snap.members.copy()
    members["member_id"] = members["member_id"].astype("int64")
    members = members.drop_duplicates("member_id").set_index("member_id", drop=False)
    members.index.name = None
    for col, default in (("name", ""), ("country", ""), ("country_name", ""), ("location", "")):
        if col not in members.columns:
            members[col] = default
        members[col] = members[col].fillna(default).astype(str)
    if "gem" not in members.columns:
        members["gem"] = False
    members["gem"] = members["gem"].fillna(False).astype(bool)
    for col in ("total_dois", "current_dois", "backfile_dois"):
        if col not in members.columns:
            members[col] = 0
        members[col] = pd.to_numeric(members[col], errors="coerce").fillna(0).astype("int64")
    members["size_tier"] = pd.Series(
        np.asarray(scoring.size_tier(members["total_dois"])), index=members.index
    ).astype(str)
    members["name_lc"] = members["name"].str.lower()
    members["name_rank"] = members["name_lc"].rank(method="first").astype("int32")
    return Loaded(snap.id, dict(snap.meta), members, cov, getattr(snap, "years", None))


_CATEGORICAL = ("content_type", "period", "metric", "source")
_ID_RE = re.compile(r"\A[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9._-]{1,40}\Z")


def _read_coverage_compact(path: Path) -> pd.DataFrame:
    """coverage.parquet read row group by row group into a compact frame.

    Text columns become categoricals (codes mapped from each row group's Parquet dictionary onto
    one shared category list), counts become int32 when they fit, rows with no works (total 0,
    i.e. N/A) are dropped (every view treats a missing row as N/A anyway) and all-empty interval
    columns are skipped. The resident size of a 33k-member snapshot is about a third of a plain
    `read_parquet`, without its memory peak.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    needed = (
        "member_id",
        "content_type",
        "period",
        "metric",
        "covered",
        "total",
        "coverage",
        "ci_low",
        "ci_high",
    )  # `source` is not used by any view
    names = [c for c in pq.ParquetFile(path).schema_arrow.names if c in needed]
    cats = [c for c in _CATEGORICAL if c in names]
    pf = pq.ParquetFile(path, read_dictionary=cats) if cats else pq.ParquetFile(path)
    categories: dict[str, dict[str, int]] = {c: {} for c in cats}
    parts: dict[str, list[np.ndarray]] = {c: [] for c in names}
    for i in range(pf.num_row_groups):
        table = pf.read_row_group(i, columns=names)
        keep = table.column("total").to_numpy() > 0
        for name in names:
            col = table.column(name).combine_chunks()
            if name in cats:
                if not isinstance(col.type, pa.DictionaryType):
                    col = col.dictionary_encode()
                lookup = categories[name]
                mapping = np.array(
                    [lookup.setdefault(str(v), len(lookup)) for v in col.dictionary.to_pylist()],
                    dtype=np.int16,
                )
                idx = col.indices.to_numpy(zero_copy_only=False)
                codes = np.where(
                    col.is_null().to_numpy(zero_copy_only=False),
                    -1,
                    mapping[np.nan_to_num(idx, nan=0).astype(np.int64)] if len(mapping) else -1,
                ).astype(np.int16)
                parts[name].append(codes[keep])
            else:
                parts[name].append(col.to_numpy(zero_copy_only=False)[keep])
        del table
    cols: dict[str, Any] = {}
    for name in names:
        values = np.concatenate(parts.pop(name)) if pf.num_row_groups else np.array([])
        if name in cats:
            cols[name] = pd.Categorical.from_codes(values, categories=list(categories[name]))
        elif name in ("ci_low", "ci_high"):
            if len(values) and np.isfinite(values.astype(float)).any():
                cols[name] = values
        elif (
            name in ("member_id", "covered", "total")
            and values.dtype.kind == "i"
            and (len(values) == 0 or (values.min() >= 0 and values.max() < 2**31 - 1))
        ):
            cols[name] = values.astype(np.int32)
        else:
            cols[name] = values
    frame = pd.DataFrame(cols)
    pa.default_memory_pool().release_unused()
    _trim()
    return frame


_allocator_set = False


def _use_system_allocator() -> None:
    """Arrow's default pool keeps freed pages; the system pool lets `_trim` hand them back."""
    global _allocator_set
    if not _allocator_set:
        _allocator_set = True
        try:
            import pyarrow as pa

            pa.set_memory_pool(pa.system_memory_pool())
        except Exception:  # an exotic pyarrow build: keep its default
            pass


def _trim() -> None:
    """Give freed heap pages back to the OS (glibc only; a no-op elsewhere)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _load(sid: str):
    """Meta, members and a compact coverage table of one snapshot (falls back to the store)."""
    _use_system_allocator()
    st = store()
    folder = data_dir() / "snapshots" / sid
    if not _ID_RE.match(sid):
        return st.load(sid)
    try:
        meta = (
            st.read_meta(sid)
            if hasattr(st, "read_meta")
            else json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        )
        members = pd.read_parquet(folder / "members.parquet")
        coverage = _read_coverage_compact(folder / "coverage.parquet")
    except Exception:
        logger.exception("compact read of snapshot %s failed; using SnapshotStore.load", sid)
        return st.load(sid)
    return Loaded(sid, dict(meta), members, coverage, None)


def snapshot(sid: str | None = None):
    """The loaded Snapshot (latest when sid is None); raises LookupError when there is none."""
    sid = sid or snapshot_id()
    if sid is None:
        raise LookupError("no snapshot published yet")
    with _lock:
        if sid in _snapshots:
            _snapshots.move_to_end(sid)
            return _snapshots[sid]
        t0 = time.perf_counter()
        snap = _prepare(_load(sid))
        logger.info("loaded snapshot %s in %.2fs", sid, time.perf_counter() - t0)
        _snapshots[sid] = snap
        _trim()
        while len(_snapshots) > 1:  # only the latest stays loaded (others are read filtered)
            old, _ = _snapshots.popitem(last=False)
            for key in [k for k in _views if k[0] == old]:
                del _views[key]
        return snap


def meta() -> dict:
    return dict(snapshot().meta) if has_snapshot() else {}


def freshness() -> dict:
    """What every page shows: snapshot id/date, Crossref's data_as_of, source, demo flag."""
    if not has_snapshot():
        return {
            "snapshot_id": None,
            "created": None,
            "data_as_of": None,
            "source": None,
            "is_demo": False,
            "members": 0,
        }
    m = snapshot().meta
    return {
        "snapshot_id": snapshot().id,
        "created": m.get("created"),
        "data_as_of": m.get("data_as_of"),
        "source": m.get("source"),
        "is_demo": m.get("source") == "demo",
        "members": int(m.get("members") or len(snapshot().members)),
        "api_url": m.get("api_url"),
    }


def snapshots() -> list[dict]:
    """Metas of every published snapshot, newest first."""
    try:
        return list(store().list())
    except Exception:
        logger.exception("listing snapshots failed")
        return []


def _memoised(key: tuple, fn):
    full = (snapshot_id(), *key)
    with _lock:
        if full in _memo:
            return _memo[full]
    value = fn()
    with _lock:
        if len(_memo) > 512:
            _memo.clear()
        _memo[full] = value
    return value


def _read_coverage(
    sid: str,
    *,
    period: str | None = None,
    member_ids: Sequence[int] | None = None,
    content_type: str | None = None,
) -> pd.DataFrame:
    """A filtered read of another snapshot's coverage table (no need to hold it all in memory)."""
    if sid in _snapshots:
        cov = _snapshots[sid].coverage
        mask = np.ones(len(cov), dtype=bool)
        if period:
            mask &= (cov["period"] == period).to_numpy()
        if content_type and content_type != scoring.ALL_TYPES:
            mask &= (cov["content_type"] == content_type).to_numpy()
        if member_ids is not None:
            mask &= cov["member_id"].isin(list(member_ids)).to_numpy()
        return cov.loc[mask].copy()
    import pyarrow.parquet as pq

    path = data_dir() / "snapshots" / sid / "coverage.parquet"
    filters = []
    if period:
        filters.append(("period", "=", period))
    if content_type and content_type != scoring.ALL_TYPES:
        filters.append(("content_type", "=", content_type))
    if member_ids is not None:
        filters.append(("member_id", "in", [int(i) for i in member_ids]))
    table = pq.read_table(path, filters=filters or None)
    return table.to_pandas()
