"""Orchestration of an ingest: sniff each input by content, read tar archives as a stream,
send batches of works files down the fast path (or the streaming path when DuckDB cannot read
them), drop duplicate DOIs, build the tables and publish the snapshot, never an empty one."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cache.jobs.bulk import fast
from cache.jobs.bulk.archive import SPOOL_BYTES, tar_members
from cache.jobs.bulk.inputs import WORKS_KINDS, expand_paths, sniff_file, uncompressed_size
from cache.jobs.bulk.job import DEFAULT_MEMORY_LIMIT, Job, ProgressFn
from cache.jobs.bulk.results import (
    BulkIngestError,
    BulkResult,
    FileReport,
    InputReport,
    NothingScored,
)
from cache.jobs.bulk.stream import salvage_document, stream_jsonl
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
    """Score Crossref works files and (by default) publish a ``bulk`` snapshot.

    ``paths``: files or folders (searched recursively). Each file is recognised by its content
    (magic bytes, first JSON token), whatever its name: JSON Lines of works; public-data
    ``{"items": [...]}`` chunks; REST API responses saved as-is (``message-type`` ``work-list``
    or ``work``); JSON arrays of works; a single work; each plain or gzip/bz2/xz; and tar
    archives of any of these (``.tar`` public data file, ``all.json.tar.gz`` Plus snapshot),
    read as a stream. A work is a record with an integer ``member``; its DOI (compared
    case-insensitively) counts once across all inputs: the copy with the latest ``indexed``
    (then ``deposited``, then the later file) is kept and ``BulkResult.duplicates`` counts the
    copies dropped.

    ``current_year`` fixes the period split (default: this UTC year). ``strict``: raise
    :class:`BulkIngestError` on the first thing not scored (a malformed line, a damaged
    file, a record without a member, a file or archive member that holds no works).
    ``progress(done, total)`` is called with compressed bytes. ``store``: a ``SnapshotStore``
    (default: the one in ``Settings.from_env().data_dir``); ``publish=False`` only computes the
    tables. ``memory_limit``/``threads`` bound DuckDB; its working files live in a temporary
    folder (deleted at the end).

    Raises :class:`NothingScored` (a :class:`BulkIngestError`; nothing is published, the
    latest snapshot stays the latest) when no work was scored, with a message naming each
    input and what was found in it.
    """
    t0 = time.perf_counter()
    year = int(current_year or dt.datetime.now(dt.UTC).year)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files = expand_paths(paths)
    if not files:
        raise BulkIngestError("no works files given (the folders hold none)")
    with tempfile.TemporaryDirectory(prefix="bulk-duckdb-") as tmpdir:
        job = Job(year, strict, progress, memory_limit, threads, tmpdir)
        try:
            inputs, reports = _run(job, files, Path(tmpdir))
            duplicates = job.deduplicate()
            works = int(job.execute("SELECT count(*) FROM works WHERE status = 0")[0][0])
            if works == 0:
                raise NothingScored(_nothing_message(inputs), inputs)
            members, coverage, years, max_ms = tables(job)
        finally:
            job.close()
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
        "duplicates_dropped": duplicates,
        "files": len(reports),
        "inputs": [i.path for i in inputs],
        "input_bytes": sum(Path(i.path).stat().st_size for i in inputs),
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
    damaged = {f.name for f in reports if f.damage}
    return BulkResult(
        files=reports,
        works=works,
        error_count=job.error_count,
        errors=sorted(
            job.errors,
            key=lambda i: (
                not (i.file in damaged and i.message.endswith("unread")),
                _file_order(reports, i.file),
                i.line,
            ),
        ),
        no_member=no_member,
        members=members,
        coverage=coverage,
        years=years,
        meta=meta,
        snapshot_id=snapshot_id,
        duration_s=time.perf_counter() - t0,
        current_year=year,
        duplicates=duplicates,
        inputs=inputs,
    )


def _nothing_message(inputs: list[InputReport]) -> str:
    """``no work scored; nothing published …: <file>: <what it holds>; …``."""
    shown = "; ".join(f"{i.path}: {i.describe()}" for i in inputs[:10])
    more = f"; … and {len(inputs) - 10} more input(s)" if len(inputs) > 10 else ""
    return f"no work scored, nothing published (the latest snapshot is unchanged): {shown}{more}"


def _run(job: Job, paths: list[Path], tmp: Path) -> tuple[list[InputReport], list[FileReport]]:
    """Sniff every input; score works files in batches (tar members as they are read)."""
    job.bytes_total = sum(p.stat().st_size for p in paths)
    inputs: list[InputReport] = []
    reports: list[FileReport] = []
    pending: list[FileReport] = []

    def flush() -> None:
        job.register(pending)
        for batch in fast.batches(pending):
            _run_batch(job, batch)
        for report in pending:
            if report.name != report.path:  # a temporary copy of a tar member
                Path(report.path).unlink(missing_ok=True)
        pending.clear()

    for n, path in enumerate(paths, start=1):
        compression, sniffed = sniff_file(path)
        inp = InputReport(str(path), sniffed.kind, compression, sniffed.detail)
        inputs.append(inp)
        if sniffed.kind == "tar":
            for report in tar_members(path, compression, inp, tmp / f"tar-{n}", strict=job.strict):
                reports.append(report)
                pending.append(report)
                if len(pending) >= fast.BATCH_FILES or sum(r.bytes for r in pending) >= SPOOL_BYTES:
                    flush()
        elif sniffed.kind in WORKS_KINDS:
            report = FileReport(str(path), sniffed.kind, compression, path.stat().st_size)
            report.size = uncompressed_size(path, compression)
            inp.files.append(report)
            reports.append(report)
            pending.append(report)
            if len(pending) >= fast.BATCH_FILES:
                flush()
        elif job.strict:
            raise BulkIngestError(
                f"{path}: {inp.describe()}, nothing to score (--strict)", str(path)
            )
    flush()
    if job.strict:
        for report in reports:
            if report.no_member:
                raise BulkIngestError(
                    f"{report.name}: {report.no_member:,} record(s) without a member were not "
                    "scored (--strict)",
                    report.name,
                )
    return inputs, reports


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
            # name the lines DuckDB's reader refused, if that is why it failed
            too_long = "maximum_object_size" in report.fast_error
            long_line = fast.MAX_OBJECT_BYTES if too_long else None
            stream_jsonl(job, report, aggregate=True, long_line=long_line)
        else:
            salvage_document(job, report, aggregate=True)
        job.done(report)


def _file_order(reports: list[FileReport], name: str) -> int:
    for i, r in enumerate(reports):
        if r.name == name:
            return i
    return len(reports)
