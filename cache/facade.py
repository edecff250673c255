"""The one module pages read data through.

Pages never open files, never call Crossref and never run scoring themselves: they call the functions
here. Everything is memoised per snapshot id, and the heavy scoring for one (content type, period)
is computed once per snapshot and kept in-process (`view()`), so a callback only filters, sorts
and slices frames that already exist.

The data directory is fixed once per process (`configure()`; `app.py` calls it at start-up, and the
first call here does it lazily from `Settings.from_env()`), so a request never re-reads env vars.
The latest snapshot id is re-read from `snapshots/LATEST` at most every `_LATEST_TTL_S` seconds, so
a refresh published by the CLI shows up without restarting the app.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import metrics
from metrics import scoring

logger = logging.getLogger(__name__)

DEFAULT_TYPE = "journal-article"
DEFAULT_PERIOD = "current"
PERIOD_LABELS = {"current": "Current (last 3 years)", "backfile": "Backfile (older)", "all": "All time"}
NA = "—"

_LATEST_TTL_S = 2.0
_MAX_VIEWS = 12  # ~8–10 MB each at 33k members: 4 common types × 3 periods stay warm
_CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")

_lock = threading.RLock()
_data_dir: Path | None = None
_latest: tuple[float, str | None] = (0.0, None)
_snapshots: OrderedDict[str, Any] = OrderedDict()
_views: OrderedDict[tuple[str, str, str], View] = OrderedDict()
_memo: dict[tuple, Any] = {}
_building: dict[tuple[str, str, str], threading.Lock] = {}


# --------------------------------------------------------------------------------------------
# configuration and snapshot access
# --------------------------------------------------------------------------------------------


def configure(data_dir: str | Path | None = None) -> None:
    """Fix the data directory for this process and drop every memoised value."""
    global _data_dir
    with _lock:
        _data_dir = Path(data_dir) if data_dir is not None else None
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
    with _lock:
        if _data_dir is None:
            from cache.settings import Settings

            _data_dir = Path(Settings.from_env().data_dir)
        return _data_dir


def store():
    from cache.snapshots import SnapshotStore

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

    needed = ("member_id", "content_type", "period", "metric", "covered", "total", "coverage",
              "ci_low", "ci_high")  # `source` is not used by any view
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
                mapping = np.array([lookup.setdefault(str(v), len(lookup))
                                    for v in col.dictionary.to_pylist()], dtype=np.int16)
                idx = col.indices.to_numpy(zero_copy_only=False)
                codes = np.where(col.is_null().to_numpy(zero_copy_only=False), -1,
                                 mapping[np.nan_to_num(idx, nan=0).astype(np.int64)] if len(mapping)
                                 else -1).astype(np.int16)
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
        elif name in ("member_id", "covered", "total") and values.dtype.kind == "i" and (
                len(values) == 0 or (values.min() >= 0 and values.max() < 2**31 - 1)):
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
        meta = st.read_meta(sid) if hasattr(st, "read_meta") else json.loads(
            (folder / "meta.json").read_text(encoding="utf-8"))
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
        return {"snapshot_id": None, "created": None, "data_as_of": None, "source": None,
                "is_demo": False, "members": 0}
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


# --------------------------------------------------------------------------------------------
# vocabulary: metrics, types, periods
# --------------------------------------------------------------------------------------------


def metric_keys() -> list[str]:
    """Registry keys that have data in the latest snapshot, in registry order."""
    if not has_snapshot():
        return list(metrics.names())

    def compute():
        present = set(map(str, snapshot().coverage["metric"].unique()))
        return [k for k in metrics.names() if k in present]

    return _memoised(("metric_keys",), compute)


def metric_label(key: str) -> str:
    try:
        return metrics.get(key).label
    except KeyError:
        return key


def metric_info(key: str) -> dict:
    m = metrics.get(key)
    return {
        "key": m.key,
        "label": m.label,
        "family": getattr(m, "family", ""),
        "description": getattr(m, "description", ""),
        "why": getattr(m, "why", ""),
        "improve_url": getattr(m, "improve_url", ""),
        "default_weight": float(getattr(m, "default_weight", 0) or 0),
    }


def default_weights() -> dict[str, float]:
    w = {k: float(v) for k, v in dict(scoring.DEFAULT_WEIGHTS).items()}
    return {k: w.get(k, 0.0) for k in metric_keys()}


def type_label(content_type: str) -> str:
    if content_type == scoring.ALL_TYPES:
        return "All types"
    return content_type.replace("-", " ").capitalize()


def content_types() -> list[str]:
    """Content types in the snapshot, ALL_TYPES first, then by number of works (all periods)."""
    if not has_snapshot():
        return [DEFAULT_TYPE, scoring.ALL_TYPES]

    def compute():
        cov = snapshot().coverage
        period = cov["period"].cat.codes.to_numpy() if isinstance(cov["period"].dtype, pd.CategoricalDtype) \
            else None
        if period is None:
            cov = cov.astype({"period": "category", "metric": "category", "content_type": "category"})
            period = cov["period"].cat.codes.to_numpy()
        cats = list(cov["period"].cat.categories)
        metric = cov["metric"].cat.codes.to_numpy()
        # one row per member and type: the "all" period of the first metric (every metric has
        # the same total); the demo and API snapshots always carry the "all" period
        mask = metric == (metric[0] if len(metric) else 0)
        if "all" in cats:
            mask &= period == cats.index("all")
        types = cov["content_type"].cat.codes.to_numpy()[mask]
        works = np.bincount(types, weights=cov["total"].to_numpy()[mask].astype(float),
                            minlength=len(cov["content_type"].cat.categories))
        names = list(cov["content_type"].cat.categories)
        ordered = [str(names[i]) for i in np.argsort(-works, kind="stable")
                   if works[i] > 0 and names[i] != scoring.ALL_TYPES]
        return [scoring.ALL_TYPES, *ordered]

    return _memoised(("content_types",), compute)


def periods() -> list[str]:
    return list(scoring.PERIODS)


def valid_type(value: Any, default: str = DEFAULT_TYPE) -> str:
    types = content_types()
    if isinstance(value, str) and value in types:
        return value
    return default if default in types else (types[1] if len(types) > 1 else types[0])


def valid_period(value: Any, default: str = DEFAULT_PERIOD) -> str:
    return value if isinstance(value, str) and value in scoring.PERIODS else default


def size_tiers() -> list[tuple[str, str]]:
    """(tier, human-readable threshold) from scoring.SIZE_TIERS, in order."""
    tiers = scoring.SIZE_TIERS
    out: list[tuple[str, str]] = []
    if (isinstance(tiers, tuple | list) and tiers and all(isinstance(t, tuple | list) and len(t) == 2
                                                         and isinstance(t[1], int | float) for t in tiers)):
        bounds = sorted(((str(n), int(lo)) for n, lo in tiers), key=lambda x: x[1])
        for i, (name, lo) in enumerate(bounds):
            if i + 1 < len(bounds):
                hi = bounds[i + 1][1]
                text = f"< {hi:,} works" if lo <= 0 else f"{lo:,}–{hi - 1:,} works"
            else:
                text = f"≥ {lo:,} works"
            out.append((name, text))
        return out
    items = tiers.items() if isinstance(tiers, Mapping) else enumerate(tiers)
    for name, spec in items:
        label = str(name)
        if isinstance(spec, tuple | list) and len(spec) == 2:
            lo, hi = spec
            text = (f"{int(lo):,}–{int(hi) - 1:,} works" if hi is not None and lo is not None
                    else f"≥ {int(lo or 0):,} works")
        elif isinstance(spec, Mapping):
            text = ", ".join(f"{k}={v}" for k, v in spec.items())
        else:
            text = str(spec)
        if isinstance(name, int) and isinstance(spec, tuple | list) and len(spec) == 3:
            label, text = str(spec[0]), f"{spec[1]}–{spec[2]}"
        out.append((label, text))
    return out


def tier_names() -> list[str]:
    named = [t for t, _ in size_tiers()]
    if not has_snapshot():
        return named

    def compute():
        present = [str(t) for t in pd.unique(snapshot().members["size_tier"])]
        return [t for t in named if t in present] + [t for t in present if t not in named]

    return _memoised(("tier_names",), compute)


def country_options() -> list[tuple[str, str]]:
    """(ISO3, name) of every member country in the snapshot, sorted by name."""
    if not has_snapshot():
        return []

    def compute():
        m = members()
        pairs = (m.loc[m["country"] != "", ["country", "country_name"]].drop_duplicates("country")
                 .sort_values("country_name"))
        return [(str(c), str(n)) for c, n in zip(pairs["country"], pairs["country_name"], strict=True)]

    return _memoised(("country_options",), compute)


# --------------------------------------------------------------------------------------------
# members
# --------------------------------------------------------------------------------------------


def members() -> pd.DataFrame:
    return snapshot().members


def parse_member_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**53 else None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,15}\s*", value):
        return int(value)
    return None


def member(member_id: Any) -> dict | None:
    mid = parse_member_id(member_id)
    if mid is None or not has_snapshot():
        return None
    m = members()
    if mid not in m.index:
        return None
    row = m.loc[mid]
    out = {k: _py(row[k]) for k in m.columns if k not in ("name_lc", "name_rank")}
    for key in ("counts_type", "dois_by_year"):
        out[key] = _loads(out.get(key))
    return out


def member_name(member_id: int) -> str:
    m = members()
    return str(m.at[member_id, "name"]) if member_id in m.index else str(member_id)


def search_members(query: Any, limit: int = 20, keep: Iterable[Any] = ()) -> list[dict]:
    """Options for a server-side searched select: name substring or exact id; `keep` stays listed."""
    if not has_snapshot():
        return []
    m = members()
    keep = list(keep or ())
    if isinstance(query, str):  # a select sends the chosen option's label "Name (123)" as its search
        picked = re.search(r"\((\d{1,15})\)\s*$", query)
        if picked:
            keep.append(picked.group(1))
    keep_ids = list(dict.fromkeys(i for i in (parse_member_id(k) for k in keep) if i is not None
                                  and i in m.index))
    out = [_option(m, i) for i in keep_ids]
    q = query.strip().lower()[:100] if isinstance(query, str) else ""
    if q:
        hits: list[int] = []
        qid = parse_member_id(q)
        if qid is not None and qid in m.index:
            hits.append(qid)
        mask = m["name_lc"].str.contains(q, regex=False)
        found = m.loc[mask]
        found = found.sort_values("total_dois", ascending=False)
        hits.extend(found.index[: limit * 2].tolist())
    else:
        hits = m.sort_values("total_dois", ascending=False).index[:limit].tolist()
    seen = set(keep_ids)
    for i in hits:
        if i not in seen and len(out) < limit + len(keep_ids):
            out.append(_option(m, i))
            seen.add(i)
    return out


def _option(m: pd.DataFrame, i: int) -> dict:
    return {"value": str(i), "label": f"{m.at[i, 'name']} ({i})"}


# --------------------------------------------------------------------------------------------
# the memoised scoring view
# --------------------------------------------------------------------------------------------


@dataclass
class View:
    """Everything scored for one (snapshot, content type, period). Built once, read many times."""

    snapshot_id: str
    content_type: str
    period: str
    metrics: list[str]
    matrix: pd.DataFrame  # member_id × metric, 0–1, NaN = N/A
    covered: pd.DataFrame  # member_id × metric counts
    total: pd.DataFrame  # member_id × metric counts
    works: pd.Series  # works of the member in this type/period
    composite: pd.Series
    table: pd.DataFrame  # every member: info + works + composite + metrics
    agg: pd.DataFrame  # index metric: doi_weighted, member_mean, member_median, members, works
    _cache: dict = field(default_factory=dict, repr=False)

    def cached(self, key, fn):
        if key not in self._cache:
            self._cache[key] = fn()
        return self._cache[key]


def _slice(cov: pd.DataFrame, content_type: str, period: str) -> pd.DataFrame:
    sub = cov[(cov["period"] == period).to_numpy()]
    if content_type != scoring.ALL_TYPES:
        sub = sub[(sub["content_type"] == content_type).to_numpy()]
    sub = sub.copy()
    for col in ("metric", "content_type", "period", "source"):
        if col in sub.columns:
            sub[col] = sub[col].astype(object)
    if content_type == scoring.ALL_TYPES:
        if not (sub["content_type"] == scoring.ALL_TYPES).any():
            sub = scoring.with_all_types(sub)
        sub = sub[(sub["content_type"] == scoring.ALL_TYPES).to_numpy()]
    return sub


def _build_view(sid: str, content_type: str, period: str) -> View:
    snap = snapshot(sid)
    keys = metric_keys()
    sub = _slice(snap.coverage, content_type, period)
    matrix = scoring.coverage_matrix(sub, content_type, period, metrics=keys)
    matrix = matrix.reindex(columns=keys).astype(float)
    covered = sub.pivot_table(index="member_id", columns="metric", values="covered", aggfunc="sum")
    total = sub.pivot_table(index="member_id", columns="metric", values="total", aggfunc="sum")
    # counts as int32 (0 where the member has no row: N/A is carried by `matrix`)
    covered = covered.reindex(index=matrix.index, columns=keys).fillna(0).astype(np.int32)
    total = total.reindex(index=matrix.index, columns=keys).fillna(0).astype(np.int32)
    works = total.max(axis=1).reindex(snap.members.index).fillna(0).astype("int64")
    works.index.name = "member_id"
    comp = scoring.composite(matrix, {k: v for k, v in default_weights().items() if v})
    m = snap.members
    mat = matrix.reindex(m.index)
    numeric = pd.DataFrame({k: mat[k].to_numpy() for k in keys}, index=m.index)
    numeric.insert(0, "works", works.reindex(m.index).fillna(0).astype("int64").to_numpy())
    numeric.insert(1, "composite", comp.reindex(m.index).astype(float).to_numpy())
    # member columns are shared with the members frame (copy-on-write: no copy is made)
    table = pd.concat([m[["member_id", "name", "country", "country_name", "gem", "size_tier",
                          "total_dois", "name_lc", "name_rank"]], numeric], axis=1)
    agg = scoring.aggregate(sub, content_type, period)
    agg = agg.reindex(keys)
    return View(sid, content_type, period, keys, matrix, covered, total, works, comp, table, agg)


def view(content_type: str = DEFAULT_TYPE, period: str = DEFAULT_PERIOD, sid: str | None = None) -> View:
    sid = sid or snapshot_id()
    if sid is None:
        raise LookupError("no snapshot published yet")
    key = (sid, content_type, period)
    cached = _views.get(key)
    if cached is not None:
        return cached
    with _lock:
        build_lock = _building.setdefault(key, threading.Lock())
    with build_lock:  # one build per key; other views stay readable meanwhile
        cached = _views.get(key)
        if cached is not None:
            return cached
        t0 = time.perf_counter()
        v = _build_view(sid, content_type, period)
        _trim()
        logger.info("scored %s/%s/%s in %.3fs", sid, content_type, period, time.perf_counter() - t0)
        with _lock:
            _views[key] = v
            while len(_views) > _MAX_VIEWS:
                _views.popitem(last=False)
            _building.pop(key, None)
        return v


# --------------------------------------------------------------------------------------------
# overview / league table
# --------------------------------------------------------------------------------------------

LEAGUE_BASE_COLUMNS = ["member_id", "name", "country", "size_tier", "gem", "works", "composite"]


@dataclass(frozen=True)
class LeagueFilter:
    country: tuple[str, ...] = ()
    gem: str = "any"  # any | gem | non-gem
    tier: tuple[str, ...] = ()
    search: str = ""
    min_works: int = 0


def league(content_type: str, period: str, flt: LeagueFilter | None = None,
           sort_model: Sequence[Mapping] | None = None,
           filter_model: Mapping | None = None) -> pd.DataFrame:
    """All members matching the filters, sorted (default: composite desc, N/A last)."""
    v = view(content_type, period)
    return v.table.iloc[league_positions(v, flt, sort_model, filter_model)]


def league_positions(v: View, flt: LeagueFilter | None = None, sort_model=None,
                     filter_model=None) -> np.ndarray:
    """Row positions in `v.table` of the matching members, in display order.

    Filtering is boolean masks over columns; ordering is one `np.lexsort` over key arrays (no
    frame is reordered), so a request costs a few milliseconds at 33k members.
    """
    t = v.table
    flt = flt or LeagueFilter()
    mask = np.ones(len(t), dtype=bool)
    if flt.country:
        mask &= t["country"].isin(flt.country).to_numpy()
    if flt.gem == "gem":
        mask &= t["gem"].to_numpy(dtype=bool)
    elif flt.gem == "non-gem":
        mask &= ~t["gem"].to_numpy(dtype=bool)
    if flt.tier:
        mask &= t["size_tier"].isin(flt.tier).to_numpy()
    if flt.min_works > 0:
        mask &= (t["works"] >= flt.min_works).to_numpy()
    if flt.search:
        q = flt.search.strip().lower()[:100]
        hit = t["name_lc"].str.contains(q, regex=False).to_numpy(dtype=bool)
        qid = parse_member_id(q)
        if qid is not None:
            hit = hit | (t["member_id"] == qid).to_numpy()
        mask &= hit
    if filter_model:
        mask &= _grid_mask(t, filter_model, v.metrics)
    positions = np.flatnonzero(mask)
    return positions[_order(v, positions, sort_model)]


_PCT_COLUMNS = {"composite"}
_TEXT_SORT = {"name": "name_rank", "country": None, "country_name": None, "size_tier": None}


def _grid_mask(t: pd.DataFrame, model: Mapping, keys: list[str]) -> np.ndarray:
    """AG Grid column filter model (text and number filters) as a mask, applied on the server."""
    allowed = set(LEAGUE_BASE_COLUMNS) | set(keys) | {"country_name"}
    out = np.ones(len(t), dtype=bool)
    if not isinstance(model, Mapping):
        return out
    for col, spec in model.items():
        if col not in allowed or not isinstance(spec, Mapping):
            continue
        conds = spec.get("conditions") if isinstance(spec.get("conditions"), list) else [spec]
        op = str(spec.get("operator", "AND")).upper()
        masks = [_cond_mask(t, col, c, pct=col in keys or col in _PCT_COLUMNS)
                 for c in conds if isinstance(c, Mapping)]
        masks = [np.asarray(m, dtype=bool) for m in masks if m is not None]
        if not masks:
            continue
        combined = masks[0]
        for m in masks[1:]:
            combined = (combined | m) if op == "OR" else (combined & m)
        out &= combined
    return out


def _cond_mask(df: pd.DataFrame, col: str, cond: Mapping, pct: bool):
    kind = cond.get("filterType")
    typ = cond.get("type")
    series = df[col]
    if kind == "text":
        val = str(cond.get("filter") or "").lower()[:200]
        s = series.astype(str).str.lower()
        ops = {
            "contains": lambda: s.str.contains(val, regex=False),
            "notContains": lambda: ~s.str.contains(val, regex=False),
            "equals": lambda: s == val,
            "notEqual": lambda: s != val,
            "startsWith": lambda: s.str.startswith(val),
            "endsWith": lambda: s.str.endswith(val),
            "blank": lambda: s.str.strip() == "",
            "notBlank": lambda: s.str.strip() != "",
        }
        return ops[typ]().to_numpy(dtype=bool) if typ in ops else None
    if kind == "number":
        def num(x):
            try:
                f = float(x)
            except (TypeError, ValueError):
                return None
            if not math.isfinite(f):
                return None
            return f / 100.0 if pct else f

        a, b = num(cond.get("filter")), num(cond.get("filterTo"))
        s = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
        if typ == "blank":
            return np.isnan(s)
        if typ == "notBlank":
            return ~np.isnan(s)
        if a is None:
            return None
        eps = 1e-9 if not pct else 0.0005
        with np.errstate(invalid="ignore"):
            ops = {
                "equals": lambda: np.abs(s - a) <= eps,
                "notEqual": lambda: ~(np.abs(s - a) <= eps),
                "greaterThan": lambda: s > a,
                "greaterThanOrEqual": lambda: s >= a - eps,
                "lessThan": lambda: s < a,
                "lessThanOrEqual": lambda: s <= a + eps,
                "inRange": lambda: (s >= a) & (s <= (b if b is not None else a)),
            }
            return ops[typ]() if typ in ops else None
    return None


def _sort_key(v: View, col: str) -> np.ndarray:
    """A numeric array that sorts like column `col` (text columns: cached rank codes)."""
    t = v.table
    if col in _TEXT_SORT:
        rank_col = _TEXT_SORT[col]
        if rank_col:
            return t[rank_col].to_numpy(dtype=float)
        return v.cached(("sortkey", col), lambda: t[col].astype(str).str.lower()
                        .rank(method="dense").to_numpy(dtype=float))
    if col == "gem":
        return t["gem"].to_numpy(dtype=float)
    return t[col].to_numpy(dtype=float)


def _order(v: View, positions: np.ndarray, sort_model: Sequence[Mapping] | None) -> np.ndarray:
    allowed = set(LEAGUE_BASE_COLUMNS) | set(v.metrics) | {"country_name", "total_dois"}
    items = []
    for item in sort_model if isinstance(sort_model, list | tuple) else ():
        if isinstance(item, Mapping) and item.get("colId") in allowed and item.get("sort") in ("asc", "desc"):
            items.append((item["colId"], item["sort"] == "asc"))
    if not items:
        items = [("composite", False), ("works", False)]
    keys: list[np.ndarray] = [v.table["member_id"].to_numpy()[positions]]  # final tie-break
    for col, asc in reversed(items):
        vals = _sort_key(v, col)[positions]
        nan = np.isnan(vals)
        vals = np.where(nan, 0.0, vals if asc else -vals)
        keys.append(vals)
        keys.append(nan)  # N/A last whatever the direction
    return np.lexsort(keys)


def league_page(content_type: str, period: str, flt: LeagueFilter | None, start: int, end: int,
                sort_model=None, filter_model=None) -> tuple[list[dict], int]:
    """One block of rows for the AG Grid infinite row model, plus the total row count."""
    v = view(content_type, period)
    pos = league_positions(v, flt, sort_model, filter_model)
    start = max(0, int(start))
    end = max(start, min(int(end), start + 500))
    return records(v.table.iloc[pos[start:end]], v.metrics), len(pos)


def records(df: pd.DataFrame, keys: Sequence[str]) -> list[dict]:
    """Grid rows: JSON-safe, percentages as 0–100 rounded to 0.1, N/A as None."""
    cols = [c for c in [*LEAGUE_BASE_COLUMNS, "country_name", *keys] if c in df.columns]
    arrays = {}
    for c in cols:
        col = df[c]
        if c in keys or c == "composite":
            vals = np.round(col.to_numpy(dtype=float) * 100, 1)
            arrays[c] = [None if math.isnan(x) else float(x) for x in vals]
        elif c == "gem":
            arrays[c] = [bool(x) for x in col.to_numpy()]
        elif c in ("member_id", "works"):
            arrays[c] = [int(x) for x in col.to_numpy()]
        else:
            arrays[c] = [str(x) for x in col.to_numpy(dtype=object)]
    return [{c: arrays[c][i] for c in cols} for i in range(len(df))]


def league_csv(content_type: str, period: str, flt: LeagueFilter | None, sort_model=None,
               filter_model=None) -> str:
    v = view(content_type, period)
    df = league(content_type, period, flt, sort_model, filter_model)
    cols = ["member_id", "name", "country", "country_name", "gem", "size_tier", "works", "composite",
            *v.metrics]
    out = df[cols].copy()
    for k in ["composite", *v.metrics]:
        out[k] = (out[k].astype(float) * 100).round(2)
    rename = {k: f"{metric_label(k)} (%)" for k in v.metrics}
    rename["composite"] = "composite (%)"
    out = out.rename(columns=rename)
    return to_csv(out)


def headline(content_type: str, period: str) -> dict:
    v = view(content_type, period)
    scored = int((v.works > 0).sum())
    return {"members": len(v.table), "scored": scored, "works": int(v.works.sum()),
            "agg": v.agg}


def distribution(content_type: str, period: str) -> pd.DataFrame:
    """Box statistics per metric over members with works (member-level), in percent.

    Index metric; columns n, min, q1, median, q3, max, lowerfence, upperfence (Tukey 1.5 IQR),
    mean, at_zero (share of members at 0 %). Summaries, so the chart ships a few numbers per metric
    instead of one point per member.
    """
    v = view(content_type, period)

    def compute():
        active = v.works.reindex(v.matrix.index).fillna(0).to_numpy() > 0
        rows = {}
        for k in v.metrics:
            x = v.matrix[k].to_numpy(dtype=float)[active]
            x = x[np.isfinite(x)] * 100
            if len(x) == 0:
                continue
            q1, med, q3 = np.percentile(x, [25, 50, 75])
            iqr = q3 - q1
            lo = x[x >= q1 - 1.5 * iqr].min()
            hi = x[x <= q3 + 1.5 * iqr].max()
            rows[k] = {"n": len(x), "min": x.min(), "q1": q1, "median": med, "q3": q3, "max": x.max(),
                       "lowerfence": lo, "upperfence": hi, "mean": x.mean(),
                       "at_zero": float((x == 0).mean())}
        return pd.DataFrame.from_dict(rows, orient="index")

    return v.cached("distribution", compute)


# --------------------------------------------------------------------------------------------
# member report, peers, change
# --------------------------------------------------------------------------------------------

PEER_GROUPINGS = {"size": "Size tier", "gem": "GEM / non-GEM", "country": "Country"}


def _groups(by: str) -> pd.Series:
    def compute():
        g = scoring.peer_groups(members().reset_index(drop=True), by)
        return pd.Series(np.asarray(g, dtype=object), index=members().index).astype(str)

    return _memoised(("groups", by), compute)


def member_metrics(member_id: int, content_type: str, period: str) -> pd.DataFrame:
    """Per metric: label, value (0–1 or NaN), covered, total."""
    v = view(content_type, period)
    rows = []
    for k in v.metrics:
        val = v.matrix.at[member_id, k] if member_id in v.matrix.index else np.nan
        cov = v.covered.at[member_id, k] if member_id in v.covered.index else np.nan
        tot = v.total.at[member_id, k] if member_id in v.total.index else np.nan
        rows.append({"metric": k, "label": metric_label(k), "value": float(val),
                     "covered": None if pd.isna(cov) else int(cov),
                     "total": None if pd.isna(tot) else int(tot)})
    return pd.DataFrame(rows)


def peer_position(member_id: int, content_type: str, period: str, by: str = "size") -> dict:
    """Percentile within the member's peer group, peer median, Crossref-wide DOI-weighted value."""
    by = by if by in PEER_GROUPINGS else "size"
    v = view(content_type, period)
    groups = _groups(by)
    group = str(groups.get(member_id, ""))

    def ranks():
        active = v.works.reindex(v.matrix.index).fillna(0) > 0
        mat = v.matrix.loc[active].copy()
        mat["__composite"] = v.composite.reindex(mat.index)
        g = groups.reindex(mat.index)
        pr = scoring.percentile_ranks(mat, g)
        med = mat.groupby(g).median()
        sizes = g.value_counts()
        return pr, med, sizes

    pr, med, sizes = v.cached(("peer", by), ranks)
    rows = []
    for k in [*v.metrics, "__composite"]:
        value = v.matrix.at[member_id, k] if (k != "__composite" and member_id in v.matrix.index) else (
            v.composite.get(member_id, np.nan) if k == "__composite" else np.nan)
        rows.append({
            "metric": k,
            "label": "Composite score" if k == "__composite" else metric_label(k),
            "value": float(value) if value is not None else np.nan,
            "percentile": float(pr.at[member_id, k]) if member_id in pr.index else np.nan,
            "peer_median": float(med.at[group, k]) if group in med.index else np.nan,
            "crossref_doi_weighted": float(v.agg.at[k, "doi_weighted"]) if k in v.agg.index else np.nan,
            "crossref_member_median": float(v.agg.at[k, "member_median"]) if k in v.agg.index else np.nan,
        })
    return {"by": by, "group": group, "group_size": int(sizes.get(group, 0)),
            "frame": pd.DataFrame(rows)}


def works_by_year(member_id: int) -> pd.DataFrame:
    info = member(member_id) or {}
    data = info.get("dois_by_year") or {}
    rows = []
    if isinstance(data, Mapping):
        for y, n in data.items():
            try:
                rows.append((int(y), int(n)))
            except (TypeError, ValueError):
                continue
    elif isinstance(data, list):  # [[year, n], …] as Crossref's breakdowns
        for item in data:
            try:
                rows.append((int(item[0]), int(item[1])))
            except (TypeError, ValueError, IndexError):
                continue
    return pd.DataFrame(sorted(rows), columns=["year", "works"])


def counts_by_type(member_id: int, period: str = "all") -> pd.DataFrame:
    info = member(member_id) or {}
    ct = info.get("counts_type") or {}
    data = ct.get(period) if isinstance(ct, Mapping) else None
    rows = []
    if isinstance(data, Mapping):
        for t, n in data.items():
            try:
                rows.append((str(t), int(n)))
            except (TypeError, ValueError):
                continue
    return pd.DataFrame(sorted(rows, key=lambda r: -r[1]), columns=["content_type", "works"])


def previous_snapshot_id(sid: str | None = None) -> str | None:
    sid = sid or snapshot_id()
    ids = [m.get("id") for m in snapshots() if m.get("id")]
    ids = sorted(set(ids), reverse=True)
    older = [i for i in ids if sid is None or i < sid]
    return older[0] if older else None


def _read_coverage(sid: str, *, period: str | None = None, member_ids: Sequence[int] | None = None,
                   content_type: str | None = None) -> pd.DataFrame:
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


def change_since_previous(member_id: int, content_type: str, period: str) -> dict:
    """Per metric: value now, value in the previous snapshot, change (percentage points)."""
    prev = previous_snapshot_id()
    if prev is None:
        return {"previous": None, "frame": None}

    def compute():
        try:
            old = _read_coverage(prev, period=period, member_ids=[member_id], content_type=content_type)
            old_sub = _slice(old, content_type, period) if len(old) else old
            old_m = (scoring.coverage_matrix(old_sub, content_type, period)
                     if len(old_sub) else pd.DataFrame())
        except Exception:
            logger.exception("reading previous snapshot %s failed", prev)
            return None
        now = member_metrics(member_id, content_type, period)
        before = [float(old_m.at[member_id, k]) if (member_id in old_m.index and k in old_m.columns)
                  else np.nan for k in now["metric"]]
        now["before"] = before
        now["change_pp"] = (now["value"] - now["before"]) * 100
        return now

    frame = _memoised(("change", member_id, content_type, period, prev), compute)
    prev_meta = next((m for m in snapshots() if m.get("id") == prev), {"id": prev})
    return {"previous": prev_meta, "frame": frame}


# --------------------------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------------------------


def compare(member_ids: Sequence[Any], content_type: str, period: str, peers: str = "size") -> dict:
    """Coverage of up to 8 members per metric, plus Crossref-wide DOI-weighted, the member median
    of all members and the member median of the first member's peer group (`peers` grouping)."""
    ids = []
    for i in member_ids or ():
        mid = parse_member_id(i)
        if mid is not None and mid in members().index and mid not in ids:
            ids.append(mid)
    ids = ids[:8]
    v = view(content_type, period)
    mat = v.matrix.reindex(ids)
    return {
        "ids": ids,
        "names": {i: member_name(i) for i in ids},
        "matrix": mat,
        "works": v.works.reindex(ids).fillna(0).astype(int),
        "composite": v.composite.reindex(ids),
        "doi_weighted": v.agg["doi_weighted"],
        "member_median": v.agg["member_median"],
        "metrics": v.metrics,
        **_peer_median(v, ids[0] if ids else None, peers),
    }


def _peer_median(v: View, member_id: int | None, by: str) -> dict:
    by = by if by in PEER_GROUPINGS else "size"
    if member_id is None:
        return {"peer_by": by, "peer_group": None, "peer_median": None, "peer_size": 0}
    groups = _groups(by)
    group = str(groups.get(member_id, ""))

    def medians():
        active = v.works.reindex(v.matrix.index).fillna(0) > 0
        mat = v.matrix.loc[active]
        g = groups.reindex(mat.index)
        return mat.groupby(g).median(), g.value_counts()

    med, sizes = v.cached(("peer-median", by), medians)
    return {"peer_by": by, "peer_group": group,
            "peer_median": med.loc[group] if group in med.index else None,
            "peer_size": int(sizes.get(group, 0))}


# --------------------------------------------------------------------------------------------
# funders
# --------------------------------------------------------------------------------------------


def funding_metrics() -> list[str]:
    keys = metric_keys()
    fam = [k for k in keys if getattr(metrics.get(k), "family", "") in ("funding", "funders")]
    return fam or [k for k in keys if "fund" in k or "award" in k]


def funders_summary(content_type: str, period: str) -> dict:
    """Members ranked on funding metadata, and the gap (works without funder info) sized."""
    v = view(content_type, period)

    def compute():
        keys = funding_metrics()
        base = "funders" if "funders" in keys else (keys[0] if keys else None)
        t = v.table.loc[v.table["works"] > 0, ["member_id", "name", "country", "size_tier", "works", *keys]]
        t = t.copy()
        if base is not None:
            cov = v.covered[base].reindex(t.index)
            tot = v.total[base].reindex(t.index)
            t["with_funder"] = cov.fillna(0).astype("int64")
            t["without_funder"] = (tot.fillna(0) - cov.fillna(0)).clip(lower=0).astype("int64")
        else:
            t["with_funder"] = 0
            t["without_funder"] = t["works"]
        share_zero = {k: float((v.matrix[k].reindex(t.index) == 0).mean()) if len(t) else np.nan
                      for k in keys}
        return {"metrics": keys, "base": base, "table": t, "share_zero": share_zero,
                "gap_works": int(t["without_funder"].sum()), "works": int(t["works"].sum())}

    return v.cached("funders", compute)


def funder_drilldowns() -> list[dict]:
    """Per-funder files written by `python -m cache funder …` (drilldown/funder-*.json)."""
    d = data_dir() / "drilldown"
    out = []
    try:
        files = sorted(d.glob("funder-*.json"))
    except OSError:
        files = []
    for p in files:
        key = p.stem[len("funder-"):]
        label = key
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
            label = _funder_name(data) or key
        except (OSError, ValueError):
            data = None
        out.append({"key": key, "label": f"{label} ({key})" if label != key else key,
                    "ok": data is not None})
    return out


def _funder_name(data: Any) -> str:
    if not isinstance(data, Mapping):
        return ""
    for k in ("name", "funder_name", "label"):
        if isinstance(data.get(k), str):
            return data[k]
    f = data.get("funder")
    if isinstance(f, Mapping):
        for k in ("name", "label"):
            if isinstance(f.get(k), str):
                return f[k]
    return ""


def funder_drilldown(key: Any) -> dict | None:
    """One per-funder file: name, scalar facts and its per-publisher table (tolerant of shape)."""
    if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", key):
        return None
    p = data_dir() / "drilldown" / f"funder-{key}.json"
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, Mapping):
        return None
    table = None
    for k in ("publishers", "members", "by_member", "rows", "table"):
        if isinstance(data.get(k), list) and data[k] and isinstance(data[k][0], Mapping):
            table = pd.DataFrame(data[k])
            break
    if table is None:
        for val in data.values():
            if isinstance(val, list) and val and isinstance(val[0], Mapping):
                table = pd.DataFrame(val)
                break
    facts = {k: val for k, val in data.items() if isinstance(val, str | int | float | bool) or val is None}
    return {"key": key, "name": _funder_name(data) or key, "facts": facts, "table": table}


# --------------------------------------------------------------------------------------------
# countries
# --------------------------------------------------------------------------------------------


def countries(content_type: str, period: str, metric: str) -> pd.DataFrame:
    """Per member country: members, works, DOI-weighted and member-median coverage of `metric`."""
    v = view(content_type, period)
    if metric not in v.metrics and metric != "composite":
        metric = v.metrics[0]

    def compute():
        t = v.table.loc[(v.table["works"] > 0) & (v.table["country"] != "")]
        if metric == "composite":
            vals = t["composite"]
            cov = (t["composite"] * t["works"])
            tot = t["works"].astype(float)
        else:
            vals = t[metric]
            cov = v.covered[metric].reindex(t.index).astype(float)
            tot = v.total[metric].reindex(t.index).astype(float)
        frame = pd.DataFrame({"country": t["country"], "country_name": t["country_name"],
                              "value": vals, "cov": cov, "tot": tot, "gem": t["gem"]})
        g = frame.groupby("country", observed=True)
        out = pd.DataFrame({
            "country_name": g["country_name"].first(),
            "gem": g["gem"].first(),
            "members": g.size(),
            "works": g["tot"].sum(),
            "doi_weighted": g["cov"].sum() / g["tot"].sum().where(g["tot"].sum() > 0),
            "member_median": g["value"].median(),
            "members_at_zero": g["value"].apply(lambda s: float((s == 0).mean())),
        }).reset_index()
        return out.sort_values("works", ascending=False).reset_index(drop=True)

    return v.cached(("countries", metric), compute)


# --------------------------------------------------------------------------------------------
# shortlist and enrichment
# --------------------------------------------------------------------------------------------

SHORTLIST_GROUPS = ("gem", "small", "medium", "large")


def clean_weights(weights: Mapping[str, Any] | None) -> dict[str, float]:
    """Weights per metric from user input: finite, 0–100, unknown keys dropped, defaults filled."""
    base = default_weights()
    out = dict(base)
    for k, val in (weights or {}).items():
        if k not in base:
            continue
        try:
            f = float(val)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[k] = min(max(f, 0.0), 100.0)
    if sum(out.values()) <= 0:
        return base
    return out


def shortlist(content_type: str, period: str, weights: Mapping[str, Any] | None = None,
              min_works: int = 100, top_n: int = 10) -> dict[str, pd.DataFrame]:
    """Top N members per award peer group (GEM, then small/medium/large outside GEM)."""
    v = view(content_type, period)
    w = clean_weights(weights)
    key = ("shortlist", tuple(sorted(w.items())), int(min_works))

    def compute():
        comp = scoring.composite(v.matrix, {k: val for k, val in w.items() if val > 0})
        t = v.table.loc[v.table["works"] >= max(0, int(min_works))].copy()
        t["score"] = comp.reindex(t.index)
        t = t.loc[t["score"].notna()]
        return t

    t = v.cached(key, compute)
    n = max(1, min(int(top_n), 100))
    cols = ["member_id", "name", "country", "size_tier", "gem", "works", "score", *v.metrics]
    award = _groups("award").reindex(t.index).astype(str)
    out = {}
    for g in SHORTLIST_GROUPS:
        sub = t.loc[(award == ("GEM" if g == "gem" else g)).to_numpy()]
        out[g] = sub.sort_values(["score", "works"], ascending=[False, False]).head(n)[cols]
    return out


def shortlist_csv(content_type: str, period: str, weights=None, min_works: int = 100,
                  top_n: int = 10) -> str:
    groups = shortlist(content_type, period, weights, min_works, top_n)
    frames = []
    for g, df in groups.items():
        d = df.copy()
        d.insert(0, "peer_group", g)
        d.insert(1, "rank", range(1, len(d) + 1))
        frames.append(d)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    keys = view(content_type, period).metrics
    for k in ["score", *keys]:
        if k in out.columns:
            out[k] = (out[k].astype(float) * 100).round(2)
    out = out.rename(columns={k: f"{metric_label(k)} (%)" for k in keys} | {"score": "score (%)"})
    return to_csv(out)


def enrichment(before_id: str, after_id: str, content_type: str, period: str,
               min_works: int = 100, top_n: int = 20, weights: Mapping[str, Any] | None = None
               ) -> pd.DataFrame | None:
    """Members ranked by the change of their composite score between two snapshots.

    One row per member: composite before/after/change (fractions), works in both snapshots, and
    the metric that improved most. None when the ids are not two different published snapshots.
    """
    ids = {m.get("id") for m in snapshots()}
    if before_id not in ids or after_id not in ids or before_id == after_id:
        return None
    w = {k: v for k, v in clean_weights(weights).items() if v > 0}

    def compute():
        before = _slice(_read_coverage(before_id, period=period, content_type=content_type),
                        content_type, period)
        after = _slice(_read_coverage(after_id, period=period, content_type=content_type),
                       content_type, period)
        long = scoring.improvement(before, after, content_type, period, min_works=int(min_works),
                                   weights=w, metrics=list(metric_keys()))
        long = pd.DataFrame(long)
        if long.empty:
            return long
        comp = long[long["metric"] == scoring.COMPOSITE].set_index("member_id")
        per = long[long["metric"] != scoring.COMPOSITE].dropna(subset=["change"])
        if len(per):
            best = per.loc[per.groupby("member_id")["change"].idxmax()].set_index("member_id")
        else:
            best = pd.DataFrame(columns=["metric", "change"])
        out = pd.DataFrame({
            "member_id": comp.index.to_numpy(),
            "composite_before": comp["before"].to_numpy(),
            "composite_after": comp["after"].to_numpy(),
            "composite_change": comp["change"].to_numpy(),
            "works_before": comp["works_before"].to_numpy(),
            "works_after": comp["works_after"].to_numpy(),
        })
        out["most_improved"] = out["member_id"].map(best["metric"].map(metric_label)).fillna("")
        out["most_improved_change"] = out["member_id"].map(best["change"])
        m = members()
        out["name"] = out["member_id"].map(m["name"]).fillna("")
        out["country"] = out["member_id"].map(m["country"]).fillna("")
        return out.sort_values("composite_change", ascending=False, na_position="last")

    res = _memoised(("enrichment", before_id, after_id, content_type, period, int(min_works),
                     tuple(sorted(w.items()))), compute)
    return res.head(max(1, min(int(top_n), 200)))


# --------------------------------------------------------------------------------------------
# methodology
# --------------------------------------------------------------------------------------------


def methodology_markdown() -> str:
    from metrics import methodology

    return methodology.methodology_markdown()


# --------------------------------------------------------------------------------------------
# CSV and formatting helpers
# --------------------------------------------------------------------------------------------


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas: text starting with = + - @ (or tab/CR) gets a leading '."""
    if isinstance(value, str) and value.startswith(_CSV_DANGEROUS):
        return "'" + value
    return value


def to_csv(df: pd.DataFrame) -> str:
    """CSV text of `df` with every text cell (and header) neutralised; N/A cells left empty."""
    out = pd.DataFrame(index=range(len(df)))
    for i, col in enumerate(df.columns):
        series = df.iloc[:, i]
        name = str(csv_safe(str(col)))
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            out[name] = series.to_numpy()
        else:
            text = series.astype(object).where(series.notna(), "").astype(str)
            risky = text.str.startswith(_CSV_DANGEROUS).to_numpy(dtype=bool)
            out[name] = np.where(risky, "'" + text.to_numpy(dtype=object), text.to_numpy(dtype=object))
    return out.to_csv(index=False, lineterminator="\n", na_rep="")


def pct(value: Any, digits: int = 1) -> str:
    """0–1 → '12.3 %'; N/A → '—'."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return NA
    if not math.isfinite(f):
        return NA
    return f"{f * 100:.{digits}f} %"


def _py(x: Any) -> Any:
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return None if np.isnan(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _loads(x: Any) -> Any:
    if isinstance(x, str):
        try:
            return json.loads(x)
        except ValueError:
            return None
    return x
