"""Snapshot store: dated Parquet snapshots, published atomically (docs/architecture.md §3).

Layout under ``<data_dir>/snapshots/``::

    <id>/meta.json  members.parquet  coverage.parquet  [years.parquet]
    LATEST          the latest id, replaced with os.replace
    .tmp-<id>-…     a publish in progress (ignored by list/load; stale ones are swept)

``publish`` reserves the id by creating the empty directory ``<id>`` (``mkdir`` is atomic, so two
publishes in the same second get ``<id>`` and ``<id>-2``), writes everything into a temporary
directory, fsyncs it, renames it over the reserved ``<id>`` and only then replaces ``LATEST``. A
crash at any point leaves the previous ``LATEST`` (and its files) untouched, and a half-written
snapshot is never visible to :meth:`SnapshotStore.load`. History is kept: nothing is deleted.

Verifiable: ``meta.json`` records ``"files": {name: {"sha256": hex, "bytes": n}}`` for every
table file. :meth:`SnapshotStore.load` checks them (once per file version per process), then
checks the schema and value ranges (member ids > 0, 0 ≤ covered ≤ total, coverage within 0–1 or
NaN); any failure is a :class:`SnapshotError` naming the snapshot, the file and the reason.
Snapshots published before checksums existed still load, with the range checks.
:meth:`SnapshotStore.load_latest_readable` serves the newest snapshot that passes, with the list
of the broken ones it skipped. Tables are written sorted (members by ``member_id``; coverage by
member, content type, period, metric; years by member, content type, year, metric), so the same
data always gives the same bytes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cache.crossref.errors import SnapshotError
from cache.crossref.settings import ensure_private_dir
from metrics.scoring import COVERAGE_SCHEMA, PERIODS

logger = logging.getLogger(__name__)

# Column → dtype, in file order (docs/architecture.md §3). "str" is pandas' string dtype.
MEMBER_COLUMNS: dict[str, str] = {
    "member_id": "int64",
    "name": "str",
    "location": "str",
    "country": "str",
    "country_name": "str",
    "gem": "bool",
    "prefixes": "str",
    "total_dois": "int64",
    "current_dois": "int64",
    "backfile_dois": "int64",
    "counts_type": "str",
    "dois_by_year": "str",
    "last_status_check": "int64",
}
#: The tidy coverage table (one definition, in metrics/scoring.py): coverage is a fraction 0–1.
COVERAGE_COLUMNS: dict[str, str] = dict(COVERAGE_SCHEMA)
YEARS_COLUMNS: dict[str, str] = {
    "member_id": "int64",
    "content_type": "str",
    "year": "int64",
    "metric": "str",
    "covered": "int64",
    "total": "int64",
    "source": "str",
}
SOURCES = ("api", "demo", "bulk")

ID_RE = re.compile(r"^\d{8}T\d{6}Z-[a-z0-9][a-z0-9-]{0,40}$")
_ID_PARTS = re.compile(r"^(\d{8}T\d{6}Z)-(.*?)(?:-(\d+))?$")
LATEST = "LATEST"
TMP_PREFIX = ".tmp-"
STALE_TMP_S = 3600

TABLE_FILES: dict[str, str] = {
    "members": "members.parquet",
    "coverage": "coverage.parquet",
    "years": "years.parquet",
}
REQUIRED_TABLES = ("members", "coverage")
# Columns a loaded table must have (views rely on them); the rest of the schema is optional on
# read so that a compact or filtered read can skip columns.
REQUIRED_ON_LOAD: dict[str, tuple[str, ...]] = {
    "members": ("member_id", "name"),
    "coverage": ("member_id", "content_type", "period", "metric", "covered", "total", "coverage"),
    "years": ("member_id", "content_type", "year", "metric", "covered", "total"),
}
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "members": ("member_id",),
    "coverage": ("member_id", "content_type", "period", "metric"),
    "years": ("member_id", "content_type", "year", "metric"),
}
_HASH_CHUNK = 1 << 20

# Verdicts of checksum checks: (path, mtime_ns, size, expected sha256) → None (ok) or reason.
_verdicts: dict[tuple[str, int, int, str], str | None] = {}
_verdicts_lock = threading.Lock()


@dataclass(frozen=True)
class Snapshot:
    id: str
    meta: dict[str, Any]
    members: pd.DataFrame
    coverage: pd.DataFrame
    years: pd.DataFrame | None = None


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_snapshot_id(source: str, when: dt.datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSZ-<source>`` (UTC), sortable by time."""
    when = (when or utc_now()).astimezone(dt.UTC)
    return f"{when:%Y%m%dT%H%M%SZ}-{source}"


def id_sort_key(snapshot_id: str) -> tuple[str, int, str]:
    """Order of snapshot ids by time: (UTC second, same-second sequence, source), so that
    ``…Z-api-10`` sorts after ``…Z-api-2`` and after ``…Z-api``."""
    match = _ID_PARTS.match(snapshot_id)
    if not match:
        return (snapshot_id, 0, "")
    stamp, source, seq = match.groups()
    return (stamp, int(seq) if seq else 1, source)


def file_sha256(path: Path) -> tuple[str, int]:
    """(hex SHA-256, size in bytes) of the file at ``path``. Raises ``OSError``."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _count_bad(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def _numeric(frame: pd.DataFrame, column: str, table: str) -> np.ndarray:
    values = frame[column]
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        raise SnapshotError(f"{table}.{column} is not numeric (dtype {values.dtype})")
    return values.to_numpy(dtype="float64", na_value=np.nan)


def _example(frame: pd.DataFrame, bad: np.ndarray, column: str) -> str:
    i = int(np.flatnonzero(bad)[0])
    value = frame[column].iloc[i]
    who = ""
    if column != "member_id" and "member_id" in frame.columns:
        who = f" for member {frame['member_id'].iloc[i]}"
    return f"e.g. {value!r}{who}"


def check_table(table: str, frame: pd.DataFrame) -> None:
    """Range-check a snapshot table (``table`` is "members", "coverage" or "years").

    Checks only the columns ``frame`` has, so compact or filtered reads can use it too:
    ``member_id`` > 0; counts (``covered``, ``total``, ``total_dois`` …) are finite and ≥ 0;
    ``covered`` ≤ ``total``; ``coverage``, ``ci_low``, ``ci_high`` are fractions within 0–1 or
    NaN (N/A); ``period`` is one of current/backfile/all. Raises :class:`SnapshotError` naming the
    table, the column, how many values fail and an example.
    """
    cols = set(map(str, frame.columns))
    if "member_id" in cols:
        ids = _numeric(frame, "member_id", table)
        bad = ~(ids > 0)
        if bad.any():
            raise SnapshotError(
                f"{table}: {_count_bad(bad)} member_id value(s) are not positive "
                f"({_example(frame, bad, 'member_id')})"
            )
    counts = [
        c for c in ("covered", "total", "total_dois", "current_dois", "backfile_dois") if c in cols
    ]
    arrays: dict[str, np.ndarray] = {}
    for col in counts:
        arrays[col] = values = _numeric(frame, col, table)
        bad = ~(values >= 0) | ~np.isfinite(values)
        if bad.any():
            raise SnapshotError(
                f"{table}: {_count_bad(bad)} {col} value(s) are negative or missing "
                f"({_example(frame, bad, col)})"
            )
    if "covered" in arrays and "total" in arrays:
        bad = arrays["covered"] > arrays["total"]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise SnapshotError(
                f"{table}: {_count_bad(bad)} row(s) have covered > total (e.g. "
                f"{int(arrays['covered'][i])} > {int(arrays['total'][i])})"
            )
    for col in ("coverage", "ci_low", "ci_high"):
        if col in cols:
            values = _numeric(frame, col, table)
            bad = ~np.isnan(values) & ~((values >= 0) & (values <= 1))
            if bad.any():
                raise SnapshotError(
                    f"{table}: {_count_bad(bad)} {col} value(s) are outside 0–1 "
                    f"({_example(frame, bad, col)})"
                )
    if "period" in cols:
        unknown = set(map(str, pd.unique(frame["period"].dropna()))) - set(PERIODS)
        if unknown or frame["period"].isna().any():
            shown = sorted(unknown)[:3] if unknown else ["<null>"]
            raise SnapshotError(f"{table}.period has unknown values {shown}")


def _check_columns(table: str, frame: Any, required: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise SnapshotError(f"{table}: not a table")
    missing = [c for c in required if c not in set(map(str, frame.columns))]
    if missing:
        raise SnapshotError(f"{table}: missing column(s) {', '.join(missing)} (wrong schema)")


def _sort_order(frame: pd.DataFrame, keys: tuple[str, ...]) -> np.ndarray | None:
    """Row order sorting ``frame`` by ``keys`` ascending (text by code point, like
    ``sort_values``), or None when it is already in that order. Text keys are ranked through
    their distinct values and combined with the integer keys into one int64 key when it fits."""
    if len(frame) < 2:
        return None
    parts: list[tuple[np.ndarray, int]] = []
    for key in keys:
        col = frame[key]
        if pd.api.types.is_integer_dtype(col):
            values = col.to_numpy(dtype="int64")
            low = int(values.min())
            parts.append((values - low, int(values.max()) - low + 1))
        else:
            codes, uniques = pd.factorize(col.astype(str), sort=False)
            order = sorted(range(len(uniques)), key=lambda i: str(uniques[i]))
            rank = np.empty(len(uniques), dtype="int64")
            rank[order] = np.arange(len(uniques), dtype="int64")
            parts.append((rank[codes], max(len(uniques), 1)))
    span = 1
    for _values, n in parts:
        span *= n
    if span < 2**62:
        combined = np.zeros(len(frame), dtype="int64")
        for values, n in parts:
            combined = combined * n + values
        if bool((combined[1:] >= combined[:-1]).all()):
            return None
        return np.argsort(combined, kind="stable")
    order = np.lexsort([values for values, _n in reversed(parts)])
    return None if bool((np.diff(order) == 1).all()) else order


def sort_table(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the canonical row order of ``table`` (see :data:`SORT_KEYS`), index 0..n-1."""
    keys = tuple(k for k in SORT_KEYS[table] if k in frame.columns)
    order = _sort_order(frame, keys) if keys else None
    if order is None:
        return frame.reset_index(drop=True)
    return frame.iloc[order].reset_index(drop=True)


def _conform(frame: pd.DataFrame, columns: dict[str, str], table: str) -> pd.DataFrame:
    """Check the column set and coerce dtypes; a clear SnapshotError otherwise."""
    if not isinstance(frame, pd.DataFrame):
        raise SnapshotError(f"{table}: expected a pandas DataFrame, got {type(frame).__name__}")
    have = set(map(str, frame.columns))
    missing = [c for c in columns if c not in have]
    extra = sorted(have - set(columns))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        raise SnapshotError(f"{table}: {'; '.join(parts)} (expected exactly: {', '.join(columns)})")
    frame = frame.reset_index(drop=True)
    out = {}
    for name, dtype in columns.items():
        col = frame[name]
        try:
            if dtype == "str":
                if col.isna().any():
                    raise ValueError("contains nulls (use '' for unknown text)")
                out[name] = col.astype("str")
            elif dtype == "int64":
                out[name] = col.astype("int64")
            elif dtype == "bool":
                if col.isna().any():
                    raise ValueError("contains nulls")
                out[name] = col.astype("bool")
            else:
                out[name] = col.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise SnapshotError(f"{table}.{name}: cannot be stored as {dtype}: {exc}") from None
    return pd.DataFrame(out, copy=False)


_ARROW_KIND = {"str": "string", "int64": "integer", "float64": "floating", "bool": "boolean"}


def _arrow_kind(dtype: Any) -> str:
    import pyarrow as pa

    if pa.types.is_dictionary(dtype):
        dtype = dtype.value_type
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "string"
    if pa.types.is_integer(dtype):
        return "integer"
    if pa.types.is_floating(dtype):
        return "floating"
    if pa.types.is_boolean(dtype):
        return "boolean"
    return str(dtype)


def _check_schema(schema: Any, columns: dict[str, str], sid: str, table: str) -> None:
    """SnapshotError unless the Parquet ``schema`` has every contract column with its kind."""
    have = {f.name: _arrow_kind(f.type) for f in schema}
    wrong = [
        f"{name} ({have.get(name, 'missing')}, expected {_ARROW_KIND[dtype]})"
        for name, dtype in columns.items()
        if have.get(name) != _ARROW_KIND[dtype]
    ]
    if wrong:
        raise SnapshotError(f"snapshot {sid}: {table}.parquet has the wrong schema: {wrong}")


def _compact_read(
    path: Path,
    names: list[str],
    filters: Sequence[tuple[str, str, Any]] | None,
    columns: dict[str, str],
    sid: str,
) -> pd.DataFrame:
    """Batch-by-batch read of ``names`` (see :meth:`SnapshotStore.read_coverage`).

    Each batch is filtered and shrunk (text → shared category codes, integers → int32 when they
    fit) before the next is read, so the peak stays near the size of the result.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    text = [c for c in names if columns[c] == "str"]
    pf = pq.ParquetFile(path, read_dictionary=text, pre_buffer=False)
    _check_schema(pf.schema_arrow, columns, sid, path.stem)
    expr = pq.filters_to_expression([list(filters)]) if filters else None
    read = list(dict.fromkeys([*names, *(f[0] for f in filters or ())]))
    categories: dict[str, dict[str, int]] = {c: {} for c in text}
    parts: dict[str, list[np.ndarray]] = {c: [] for c in names}
    for batch in pf.iter_batches(batch_size=65_536, columns=read, use_threads=False):
        if expr is not None:
            batch = batch.filter(expr)
        for name in names:
            col = batch.column(name)
            if name in categories:  # map this batch's dictionary onto one shared category list
                if not pa.types.is_dictionary(col.type):
                    col = col.dictionary_encode()
                lookup = categories[name]
                mapping = np.array(
                    [lookup.setdefault(str(v), len(lookup)) for v in col.dictionary.to_pylist()],
                    dtype=np.int32,
                )
                code_type = np.int16 if len(lookup) < 2**15 else np.int32
                idx = col.indices.fill_null(0).to_numpy(zero_copy_only=False)
                codes = (mapping[idx] if len(mapping) else np.zeros(len(idx))).astype(code_type)
                if col.null_count:
                    codes[col.is_null().to_numpy(zero_copy_only=False)] = -1
                parts[name].append(codes)
                continue
            values = col.to_numpy(zero_copy_only=False)
            if columns[name] == "int64" and (
                len(values) == 0 or (values.min() > -(2**31) and values.max() < 2**31)
            ):
                values = values.astype(np.int32)  # int64 again at the end if one batch needs it
            parts[name].append(values)
        del batch
    out: dict[str, Any] = {}
    for name in names:
        chunks = parts.pop(name)
        if name in categories:
            codes = np.concatenate(chunks) if chunks else np.empty(0, np.int32)
            out[name] = pd.Categorical.from_codes(codes, categories=list(categories[name]))
        elif chunks:
            out[name] = np.concatenate(chunks)
        else:
            out[name] = np.empty(0, np.int32 if columns[name] == "int64" else np.float64)
    return pd.DataFrame(out, columns=names)


def _unreadable(sid: str, name: str, exc: BaseException) -> SnapshotError:
    reason = " ".join(str(exc).split())[:200]
    return SnapshotError(f"snapshot {sid}: {name} cannot be read ({type(exc).__name__}: {reason})")


def _verify_file(path: Path, sha256: str, size: int) -> str | None:
    """None when ``path`` has ``size`` bytes and SHA-256 ``sha256``, else the reason."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return "is missing"
    except OSError as exc:
        return f"cannot be read ({type(exc).__name__})"
    if not os.path.isfile(path):
        return "is not a file"
    key = (str(path), st.st_mtime_ns, st.st_size, sha256)
    with _verdicts_lock:
        if key in _verdicts:
            return _verdicts[key]
    if st.st_size != size:
        verdict: str | None = (
            f"has {st.st_size} bytes but meta.json records {size} (truncated or replaced)"
        )
    else:
        try:
            digest, _n = file_sha256(path)
        except OSError as exc:
            return f"cannot be read ({type(exc).__name__})"
        verdict = None if digest == sha256 else "fails its SHA-256 checksum (corrupted or modified)"
    with _verdicts_lock:
        _verdicts[key] = verdict
    return verdict


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class SnapshotStore:
    """Publish, list and load snapshots under ``<data_dir>/snapshots``."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        self.root = self.data_dir / "snapshots"

    # -- reading ----------------------------------------------------------------------------
    def _read_latest_pointer(self) -> str:
        """The text of ``LATEST``, or "" when it is missing, not UTF-8, a directory …"""
        path = self.root / LATEST
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""
        except (OSError, ValueError) as exc:  # IsADirectoryError, PermissionError, not UTF-8
            logger.warning("ignoring unreadable %s (%s)", path, type(exc).__name__)
            return ""

    def latest_id(self) -> str | None:
        """The id in ``LATEST``; if that is missing, unreadable (not UTF-8, a directory) or names
        no complete snapshot, the newest complete snapshot. Does not check the tables (see
        :meth:`load_latest_readable`)."""
        sid = self._read_latest_pointer()
        if sid and ID_RE.match(sid) and (self.root / sid / "meta.json").is_file():
            return sid
        if sid:
            logger.warning("LATEST names %r, which is not a complete snapshot", sid[:80])
        ids = self._ids()
        return ids[0] if ids else None

    def _ids(self) -> list[str]:
        """Complete snapshot ids, newest first (by id, i.e. by time)."""
        if not self.root.is_dir():
            return []
        ids = [
            p.name
            for p in self.root.iterdir()
            if ID_RE.match(p.name) and (p / "meta.json").is_file()
        ]
        return sorted(ids, key=id_sort_key, reverse=True)

    def ids(self) -> list[str]:
        """Ids of every complete snapshot (a ``meta.json`` exists), newest first."""
        return self._ids()

    def list(self) -> list[dict[str, Any]]:
        """Meta of every complete snapshot, newest first (a snapshot whose meta.json cannot be
        read is skipped with a warning; :meth:`status` tells why)."""
        metas = []
        for sid in self._ids():
            try:
                meta = self.read_meta(sid)
            except SnapshotError as exc:
                logger.warning("skipping snapshot %s: %s", sid, exc)
                continue
            metas.append(meta)
        return metas

    def read_meta(self, snapshot_id: str) -> dict[str, Any]:
        """The parsed ``meta.json`` of a snapshot. Raises :class:`SnapshotError` when the id is
        malformed, the snapshot does not exist, or meta.json is unreadable or not an object."""
        path = self._dir(snapshot_id) / "meta.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SnapshotError(f"snapshot {snapshot_id} does not exist") from None
        except (OSError, ValueError) as exc:  # also RecursionError-free: json is iterative
            reason = " ".join(str(exc).split())[:160]
            raise SnapshotError(
                f"snapshot {snapshot_id}: unreadable meta.json ({type(exc).__name__}: {reason})"
            ) from None
        if not isinstance(meta, dict):
            raise SnapshotError(f"snapshot {snapshot_id}: meta.json is not an object")
        meta.setdefault("id", snapshot_id)
        return meta

    def verify(self, snapshot_id: str, meta: dict[str, Any] | None = None) -> dict[str, Any]:
        """Check a snapshot's files against the checksums in its meta.json; returns the meta.

        Each file's SHA-256 is computed once per process per file version (path, mtime, size);
        later calls reuse the verdict. A snapshot without ``files`` in meta (published before
        checksums) only needs its required tables present. Raises :class:`SnapshotError` naming
        the snapshot, the file and the reason: missing, size differs (truncated), checksum
        mismatch, not listed in meta.json, malformed ``files`` entry.
        """
        meta = self.read_meta(snapshot_id) if meta is None else meta
        folder = self._dir(snapshot_id)
        files = meta.get("files")
        if not isinstance(files, dict):  # legacy snapshot (bulk used "files" for a count)
            for table in REQUIRED_TABLES:
                if not (folder / TABLE_FILES[table]).is_file():
                    raise SnapshotError(f"snapshot {snapshot_id}: {TABLE_FILES[table]} is missing")
            return meta
        for table, name in TABLE_FILES.items():
            if name not in files and (table in REQUIRED_TABLES or (folder / name).exists()):
                raise SnapshotError(
                    f"snapshot {snapshot_id}: {name} is not listed in meta.json (unverifiable)"
                )
        for name, record in files.items():
            if (
                not isinstance(name, str)
                or name != Path(name).name
                or name.startswith(".")
                or not isinstance(record, dict)
                or not isinstance(record.get("sha256"), str)
                or not isinstance(record.get("bytes"), int)
            ):
                raise SnapshotError(
                    f"snapshot {snapshot_id}: meta.json has a malformed files entry {name!r}"
                )
            reason = _verify_file(folder / name, record["sha256"], record["bytes"])
            if reason:
                raise SnapshotError(f"snapshot {snapshot_id}: {name} {reason}")
        return meta

    def load(self, snapshot_id: str | None = None) -> Snapshot:
        """A snapshot (the latest when ``snapshot_id`` is None), verified and range-checked.

        Raises :class:`SnapshotError` when there is no snapshot, the id is malformed, meta.json
        is unreadable, a file is missing or fails its checksum, a table cannot be decoded, has
        the wrong schema or holds out-of-range values (see :func:`check_table`). The message
        names the snapshot and the file.
        """
        sid = snapshot_id or self.latest_id()
        if sid is None:
            raise SnapshotError(f"no snapshot in {self.root} yet (run `python -m cache refresh`)")
        meta = self.verify(sid)
        folder = self._dir(sid)
        tables: dict[str, pd.DataFrame | None] = {}
        for table, name in TABLE_FILES.items():
            path = folder / name
            if table not in REQUIRED_TABLES and not path.exists():
                tables[table] = None
                continue
            try:
                frame = pd.read_parquet(path)
            except Exception as exc:  # pyarrow raises many types on damaged files
                raise _unreadable(sid, name, exc) from None
            try:
                _check_columns(table, frame, REQUIRED_ON_LOAD[table])
                check_table(table, frame)
            except SnapshotError as exc:
                raise SnapshotError(f"snapshot {sid}: {name}: {exc}") from None
            tables[table] = frame
        return Snapshot(
            id=sid,
            meta=meta,
            members=tables["members"],  # type: ignore[arg-type]
            coverage=tables["coverage"],  # type: ignore[arg-type]
            years=tables["years"],
        )

    def candidates(self) -> list[str]:
        """Ids in the order a reader should try them: the one ``LATEST`` names (when it is a
        complete snapshot), then every other complete snapshot, newest first."""
        pointed = self._read_latest_pointer()
        ids = self._ids()
        first = [pointed] if pointed in ids else []
        return first + [i for i in ids if i != pointed]

    def load_latest_readable(self) -> tuple[Snapshot, list[tuple[str, str]]]:
        """The snapshot named by ``LATEST`` if it loads, else the newest one that does.

        Returns ``(snapshot, broken)`` where ``broken`` lists ``(snapshot_id, reason)`` for each
        snapshot tried and skipped (newest first), so callers can show a warning naming them.
        Raises :class:`SnapshotError` when no snapshot exists or none loads (the message lists
        the reasons).
        """
        broken: list[tuple[str, str]] = []
        for sid in self.candidates():
            try:
                snap = self.load(sid)
            except SnapshotError as exc:
                logger.warning("snapshot %s is unreadable: %s", sid, exc)
                broken.append((sid, str(exc)))
                continue
            return snap, broken
        if not broken:
            raise SnapshotError(f"no snapshot in {self.root} yet (run `python -m cache refresh`)")
        detail = "; ".join(reason for _sid, reason in broken[:3])
        raise SnapshotError(f"no readable snapshot in {self.root}: {detail}")

    def status(self, snapshot_id: str) -> str | None:
        """None when the snapshot is servable, else the reason it is broken (one line).

        Snapshots with checksums are checked by :meth:`verify` (their values were range-checked
        at publish); older ones are loaded and range-checked in full.
        """
        try:
            meta = self.verify(snapshot_id)
            if not isinstance(meta.get("files"), dict):
                self.load(snapshot_id)
        except SnapshotError as exc:
            return str(exc).removeprefix(f"snapshot {snapshot_id}: ")
        return None

    def served_id(self) -> str | None:
        """The id :meth:`load_latest_readable` would serve, found with :meth:`status`."""
        for sid in self.candidates():
            if self.status(sid) is None:
                return sid
        return None

    def read_members(self, snapshot_id: str) -> pd.DataFrame:
        """The members table of a snapshot (:data:`MEMBER_COLUMNS`, one row per member),
        verified (:meth:`verify`) and range-checked (:func:`check_table`).

        Raises :class:`SnapshotError` naming the snapshot and file when it is missing, fails its
        checksum, cannot be decoded, has the wrong schema or out-of-range values.
        """
        self.verify(snapshot_id)
        path = self._dir(snapshot_id) / TABLE_FILES["members"]
        try:
            import pyarrow.parquet as pq

            _check_schema(pq.ParquetFile(path).schema_arrow, MEMBER_COLUMNS, snapshot_id, "members")
            frame = pd.read_parquet(path)
        except SnapshotError:
            raise
        except Exception as exc:  # pyarrow raises many types on damaged files
            raise _unreadable(snapshot_id, path.name, exc) from None
        try:
            check_table("members", frame)
        except SnapshotError as exc:
            raise SnapshotError(f"snapshot {snapshot_id}: {path.name}: {exc}") from None
        return frame

    def read_coverage(
        self,
        snapshot_id: str,
        columns: Sequence[str] | None = None,
        filters: Sequence[tuple[str, str, Any]] | None = None,
    ) -> pd.DataFrame:
        """Selected columns and rows of a snapshot's coverage table, in a compact form.

        ``columns``: names from :data:`COVERAGE_COLUMNS` (default all); ``filters``: pyarrow
        filter triples ANDed together, e.g. ``[("total", ">", 0), ("period", "=", "all")]``.
        Text columns come back as categoricals, counts as int32 when they fit, ``coverage`` as
        a fraction 0–1 (NaN = N/A). The file is verified against its checksum (once per
        process) and the rows returned are range-checked. Raises :class:`SnapshotError` naming
        the snapshot and file on any damage, ``ValueError`` for unknown column names.
        """
        names = list(columns) if columns is not None else list(COVERAGE_COLUMNS)
        unknown = [c for c in names if c not in COVERAGE_COLUMNS]
        if unknown:
            raise ValueError(f"unknown coverage column(s): {', '.join(unknown)}")
        self.verify(snapshot_id)
        path = self._dir(snapshot_id) / TABLE_FILES["coverage"]
        try:
            frame = _compact_read(path, names, filters, COVERAGE_COLUMNS, snapshot_id)
        except SnapshotError:
            raise
        except Exception as exc:  # pyarrow raises many types on damaged files
            raise _unreadable(snapshot_id, path.name, exc) from None
        try:
            check_table("coverage", frame)
        except SnapshotError as exc:
            raise SnapshotError(f"snapshot {snapshot_id}: {path.name}: {exc}") from None
        return frame

    def _dir(self, snapshot_id: str) -> Path:
        if not isinstance(snapshot_id, str) or not ID_RE.match(snapshot_id):
            raise SnapshotError(f"not a snapshot id: {snapshot_id!r}")
        return self.root / snapshot_id

    # -- writing ----------------------------------------------------------------------------
    def publish(
        self,
        members: pd.DataFrame,
        coverage: pd.DataFrame,
        meta: dict[str, Any],
        years: pd.DataFrame | None = None,
    ) -> str:
        """Validate, sort, write to a temp dir, rename into place, then point LATEST at it.

        ``members``/``coverage``/``years`` must have exactly the columns of
        :data:`MEMBER_COLUMNS` etc.; values are range-checked (:func:`check_table`). ``meta``
        needs ``source`` (api, demo or bulk); ``id``, ``created``, ``members`` and ``files``
        (SHA-256 and size of each table file) are set here (a caller's non-dict ``files`` value is
        kept as ``input_files``). Returns the new id, unique even for publishes in the same second
        from several processes. Raises :class:`SnapshotError` for invalid tables and ``OSError``
        for I/O failures; nothing is visible and LATEST is unchanged on any failure.
        """
        source = str(meta.get("source", ""))
        if source not in SOURCES:
            raise SnapshotError(f"meta.source must be one of {', '.join(SOURCES)}, not {source!r}")
        members = _conform(members, MEMBER_COLUMNS, "members")
        coverage = _conform(coverage, COVERAGE_COLUMNS, "coverage")
        if years is not None:
            years = _conform(years, YEARS_COLUMNS, "years")
        bad_periods = set(coverage["period"].unique()) - set(PERIODS)
        if bad_periods:
            raise SnapshotError(f"coverage.period has unknown values {sorted(bad_periods)}")
        if members["member_id"].duplicated().any():
            dupes = members.loc[members["member_id"].duplicated(), "member_id"].head(5).tolist()
            raise SnapshotError(f"members.member_id is not unique (e.g. {dupes})")
        tables = {"members": members, "coverage": coverage}
        if years is not None:
            tables["years"] = years
        for table, frame in tables.items():
            check_table(table, frame)
            tables[table] = sort_table(table, frame)

        ensure_private_dir(self.data_dir)
        ensure_private_dir(self.root)
        self._sweep_stale_tmp()
        created = utc_now()
        sid = self._reserve_id(source, created)
        extra = dict(meta)
        if "files" in extra:
            extra["input_files"] = extra.pop("files")
        full_meta = {
            **extra,
            "id": sid,
            "created": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "source": source,
            "members": len(members),
        }
        final = self.root / sid
        tmp = self.root / f"{TMP_PREFIX}{sid}-{uuid.uuid4().hex[:8]}"
        try:
            tmp.mkdir(mode=0o700)
            full_meta["files"] = self._write_tables(tmp, tables)
            meta_path = tmp / "meta.json"
            meta_path.write_text(
                json.dumps(full_meta, indent=2, sort_keys=True, default=str), encoding="utf-8"
            )
            _fsync_file(meta_path)
            _fsync_dir(tmp)
            os.rename(tmp, final)  # replaces the empty reserved directory atomically
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            with contextlib.suppress(OSError):
                final.rmdir()  # only succeeds while it is still the empty reservation
            raise
        _fsync_dir(self.root)
        self._write_latest(sid)
        logger.info("published snapshot %s (%d members)", sid, len(members))
        return sid

    def _write_tables(self, folder: Path, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
        """Write each table as zstd Parquet; returns ``{file name: {"sha256", "bytes"}}``."""
        files: dict[str, Any] = {}
        for table, frame in tables.items():
            path = folder / TABLE_FILES[table]
            frame.to_parquet(path, index=False, compression="zstd")
            _fsync_file(path)
            digest, size = file_sha256(path)
            files[path.name] = {"sha256": digest, "bytes": size}
        return files

    def _write_latest(self, sid: str) -> None:
        latest = self.root / LATEST
        if latest.is_dir() and not latest.is_symlink():
            # A directory named LATEST cannot be replaced by a file: move it out of the way.
            aside = self.root / f"{TMP_PREFIX}LATEST-dir-{uuid.uuid4().hex[:8]}"
            os.rename(latest, aside)
            logger.warning("moved the directory %s out of the way to %s", latest, aside.name)
        tmp = self.root / f"{TMP_PREFIX}LATEST-{uuid.uuid4().hex[:8]}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(sid + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, latest)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.root)

    def _reserve_id(self, source: str, when: dt.datetime) -> str:
        """Create the empty directory of a new id and return the id.

        ``mkdir`` fails if the name exists, also across processes, so the id is ours alone.
        Publishes in the same second are numbered ``<stamp>-<source>``, ``…-2``, ``…-3`` in the
        order they reserve (across sources), which :func:`id_sort_key` sorts by.
        """
        base = make_snapshot_id(source, when)
        stamp = base.split("-", 1)[0]
        taken = [
            id_sort_key(p.name)[1] for p in self.root.glob(f"{stamp}-*") if ID_RE.match(p.name)
        ]
        n = max(taken, default=0) + 1
        while True:
            sid = base if n == 1 else f"{base}-{n}"
            try:
                (self.root / sid).mkdir(mode=0o700)
            except FileExistsError:
                n += 1
                continue
            return sid

    def _sweep_stale_tmp(self) -> None:
        """Remove publish leftovers older than an hour: temp dirs and empty reserved ids."""
        cutoff = time.time() - STALE_TMP_S
        for path in self.root.glob(f"{TMP_PREFIX}*"):
            try:
                if path.stat().st_mtime < cutoff:
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink()
            except OSError:
                continue
        for path in self.root.iterdir():
            if not ID_RE.match(path.name):
                continue
            try:
                if path.stat().st_mtime < cutoff and not (path / "meta.json").exists():
                    path.rmdir()  # only an empty reservation; fails (and is kept) otherwise
            except OSError:
                continue
