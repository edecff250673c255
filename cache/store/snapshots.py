"""Snapshot store: dated Parquet snapshots, published atomically (docs/architecture.md §3).

Layout under ``<data_dir>/snapshots/``::

    <id>/meta.json  members.parquet  coverage.parquet  [years.parquet]
    LATEST          the latest id, replaced with os.replace
    .tmp-<id>-…     a publish in progress (ignored by list/load; stale ones are swept)

``publish`` writes everything into a temporary directory, fsyncs it, renames it to ``<id>`` and
only then replaces ``LATEST``. A crash at any point leaves the previous ``LATEST`` (and its files)
untouched, and a half-written snapshot is never visible to :meth:`SnapshotStore.load`. History
is kept: nothing is deleted.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cache.crossref.errors import SnapshotError
from cache.crossref.settings import ensure_private_dir

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
COVERAGE_COLUMNS: dict[str, str] = {
    "member_id": "int64",
    "content_type": "str",
    "period": "str",
    "metric": "str",
    "covered": "int64",
    "total": "int64",
    "coverage": "float64",
    "source": "str",
    "ci_low": "float64",
    "ci_high": "float64",
}
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
PERIODS = ("current", "backfile", "all")

ID_RE = re.compile(r"^\d{8}T\d{6}Z-[a-z0-9][a-z0-9-]{0,40}$")
LATEST = "LATEST"
TMP_PREFIX = ".tmp-"
STALE_TMP_S = 3600


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
    def latest_id(self) -> str | None:
        """The id in ``LATEST``; if that file is missing, the newest complete snapshot."""
        try:
            sid = (self.root / LATEST).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            sid = ""
        if sid and ID_RE.match(sid) and (self.root / sid / "meta.json").is_file():
            return sid
        if sid:
            logger.warning("LATEST names %r, which is not a complete snapshot", sid)
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
        return sorted(ids, reverse=True)

    def list(self) -> list[dict[str, Any]]:
        """Meta of every complete snapshot, newest first."""
        metas = []
        for sid in self._ids():
            try:
                meta = self.read_meta(sid)
            except SnapshotError as exc:
                logger.warning("skipping snapshot %s: %s", sid, exc)
                continue
            metas.append(meta)
        metas.sort(key=lambda m: (str(m.get("created", "")), str(m.get("id", ""))), reverse=True)
        return metas

    def read_meta(self, snapshot_id: str) -> dict[str, Any]:
        path = self._dir(snapshot_id) / "meta.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SnapshotError(f"snapshot {snapshot_id} does not exist") from None
        except ValueError as exc:
            raise SnapshotError(f"snapshot {snapshot_id}: unreadable meta.json ({exc})") from None
        if not isinstance(meta, dict):
            raise SnapshotError(f"snapshot {snapshot_id}: meta.json is not an object")
        meta.setdefault("id", snapshot_id)
        return meta

    def load(self, snapshot_id: str | None = None) -> Snapshot:
        """A snapshot (the latest when ``snapshot_id`` is None)."""
        sid = snapshot_id or self.latest_id()
        if sid is None:
            raise SnapshotError(f"no snapshot in {self.root} yet (run `python -m cache refresh`)")
        meta = self.read_meta(sid)
        folder = self._dir(sid)
        try:
            members = pd.read_parquet(folder / "members.parquet")
            coverage = pd.read_parquet(folder / "coverage.parquet")
            years_path = folder / "years.parquet"
            years = pd.read_parquet(years_path) if years_path.exists() else None
        except (OSError, ValueError) as exc:
            raise SnapshotError(f"snapshot {sid}: cannot read tables ({exc})") from None
        return Snapshot(id=sid, meta=meta, members=members, coverage=coverage, years=years)

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
        """Validate, write to a temp dir, rename into place, then point LATEST at it."""
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

        ensure_private_dir(self.data_dir)
        ensure_private_dir(self.root)
        self._sweep_stale_tmp()
        created = utc_now()
        sid = self._unique_id(make_snapshot_id(source, created))
        full_meta = {
            **meta,
            "id": sid,
            "created": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "source": source,
            "members": len(members),
        }
        tmp = self.root / f"{TMP_PREFIX}{sid}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir(mode=0o700)
        try:
            self._write_tables(tmp, members, coverage, years)
            meta_path = tmp / "meta.json"
            meta_path.write_text(
                json.dumps(full_meta, indent=2, sort_keys=True, default=str), encoding="utf-8"
            )
            _fsync_file(meta_path)
            _fsync_dir(tmp)
            os.rename(tmp, self.root / sid)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        _fsync_dir(self.root)
        self._write_latest(sid)
        logger.info("published snapshot %s (%d members)", sid, len(members))
        return sid

    def _write_tables(
        self,
        folder: Path,
        members: pd.DataFrame,
        coverage: pd.DataFrame,
        years: pd.DataFrame | None,
    ) -> None:
        tables = {"members": members, "coverage": coverage}
        if years is not None:
            tables["years"] = years
        for name, frame in tables.items():
            path = folder / f"{name}.parquet"
            frame.to_parquet(path, index=False, compression="zstd")
            _fsync_file(path)

    def _write_latest(self, sid: str) -> None:
        tmp = self.root / f"{TMP_PREFIX}LATEST-{uuid.uuid4().hex[:8]}"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(sid + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.root / LATEST)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(self.root)

    def _unique_id(self, sid: str) -> str:
        """Two publishes in the same second get ``…-<source>-2``, ``-3`` …"""
        if not (self.root / sid).exists():
            return sid
        n = 2
        while (self.root / f"{sid}-{n}").exists():
            n += 1
        return f"{sid}-{n}"

    def _sweep_stale_tmp(self) -> None:
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
