"""Orchestration of an ingest: sniff the files, send each batch down the fast path (or the
streaming path when DuckDB cannot read it), build the tables and publish the snapshot."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa

from cache.jobs.bulk import fast
from cache.jobs.bulk.inputs import expand_paths, sniff_compression, sniff_format, uncompressed_size
from cache.jobs.bulk.job import DEFAULT_MEMORY_LIMIT, Job, ProgressFn
from cache.jobs.bulk.results import BulkIngestError, BulkResult, FileReport
from cache.jobs.bulk.stream import salvage_items, stream_jsonl
from cache.jobs.bulk.tables import SOURCE, tables


def ingest(
    paths: Iterable[str | os.PathLike],
    *,
    current_year: int | None = None,
    strict: bool = False,
    progress: ProgressFn | None = None,
    store: Any = None,
    publish: bool = True,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    threads: int | None = None,
) -> BulkResult:
    """Score works files and (by default) publish a ``bulk`` snapshot.

    ``paths``: works files (JSON Lines or ``{"items": [...]}``, gzip/bz2/xz or plain) or
    directories holding them. ``current_year`` fixes the period split (default: this UTC year).
    ``strict``: raise :class:`BulkIngestError` on the first malformed line instead of counting
    and skipping it. ``progress(done, total)`` is called with compressed bytes. ``store``: a
    ``SnapshotStore`` (default: the one in ``Settings.from_env().data_dir``); ``publish=False``
    only computes the tables. ``memory_limit``/``threads`` bound DuckDB.
    """
    t0 = time.perf_counter()
    year = int(current_year or dt.datetime.now(dt.UTC).year)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files = expand_paths(paths)
    if not files:
        raise BulkIngestError("no works files given")
    with tempfile.TemporaryDirectory(prefix="bulk-duckdb-") as tmpdir:
        job = Job(year, strict, progress, memory_limit, threads, tmpdir)
        try:
            reports = _run(job, files)
            members, coverage, years, max_ms = tables(job)
        finally:
            job.close()
    works = sum(r.works for r in reports)
    no_member = sum(r.no_member for r in reports)
    duration = time.perf_counter() - t0
    meta: dict[str, Any] = {
        "source": SOURCE,
        "api_url": "",
        "requests": 0,
        "retries": 0,
        "http_429": 0,
        "duration_s": round(duration, 3),
        "current_year": year,
        "data_as_of": (
            dt.datetime.fromtimestamp(max_ms / 1000, dt.UTC).isoformat().replace("+00:00", "Z")
            if max_ms
            else None
        ),
        "works": works,
        "files": len(reports),
        "input_bytes": sum(r.bytes for r in reports),
        "malformed_lines": job.error_count,
        "records_without_member": no_member,
    }
    snapshot_id = None
    if publish:
        if store is None:
            from cache.crossref.settings import Settings
            from cache.store.snapshots import SnapshotStore

            store = SnapshotStore(Settings.from_env().data_dir)
        snapshot_id = store.publish(members, coverage, meta, years=years)
        meta["duration_s"] = round(time.perf_counter() - t0, 3)
    return BulkResult(
        files=reports,
        works=works,
        error_count=job.error_count,
        errors=sorted(job.errors, key=lambda i: (_file_order(reports, i.file), i.line)),
        no_member=no_member,
        members=members,
        coverage=coverage,
        years=years,
        meta=meta,
        snapshot_id=snapshot_id,
        duration_s=time.perf_counter() - t0,
        current_year=year,
    )


def _run(job: Job, paths: list[Path]) -> list[FileReport]:
    """Sniff every file, then score them batch by batch."""
    reports = []
    for file_id, path in enumerate(paths, start=1):
        compression = sniff_compression(path)
        report = FileReport(
            str(path), sniff_format(path, compression), compression, path.stat().st_size
        )
        report.size = uncompressed_size(path, compression)
        reports.append(report)
        job.file_ids[report.path] = file_id
    job.bytes_total = sum(r.bytes for r in reports)
    job.con.register(
        "files_df",
        pa.table(
            {
                "filename": [r.path for r in reports],
                "file_id": pa.array(list(job.file_ids.values()), pa.int32()),
            }
        ),
    )
    job.execute("INSERT INTO files SELECT * FROM files_df")
    job.con.unregister("files_df")
    for batch in fast.batches(reports):
        _run_batch(job, batch)
        job.compact_if_big()
    return reports


def _run_batch(job: Job, batch: list[FileReport]) -> None:
    """Several files in one DuckDB query (it reads them in parallel); one by one if that
    fails; the streaming path for a file DuckDB cannot read in one go."""
    if len(batch) > 1 and fast.score(job, batch):
        return
    for report in batch:
        if fast.fast_kind(report) and fast.score(job, [report]):
            continue
        report.path_taken = "stream"
        if report.format == "jsonl":
            stream_jsonl(job, report, aggregate=True)
        else:
            salvage_items(job, report, aggregate=True)
        job.done(report)


def _file_order(reports: list[FileReport], path: str) -> int:
    for i, r in enumerate(reports):
        if r.path == path:
            return i
    return len(reports)
