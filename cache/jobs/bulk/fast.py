"""The fast path: DuckDB reads, decompresses and scores whole files (several per query) in one
go; rows that come out without a member are explained by the streaming path's line scan."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import duckdb

from cache.jobs.bulk import sql
from cache.jobs.bulk.job import Job
from cache.jobs.bulk.results import FileReport
from cache.jobs.bulk.stream import salvage_document, stream_jsonl

logger = logging.getLogger(__name__)

#: Largest line DuckDB's reader takes in one go (its buffers are 2x this per thread). Longer
#: lines (real records with thousands of authors reach a few MB) go through the streaming path.
MAX_OBJECT_BYTES = 16 << 20
#: Largest JSON document (`{"items": [...]}` chunk, API response, array) DuckDB reads (the
#: 2020-2024 chunks hold 3,000 records, tens of MB); larger ones are parsed in Python.
MAX_DOCUMENT_BYTES = 256 << 20
#: Files read by one DuckDB query (in parallel, one thread per file: a gzip stream cannot be
#: split), at most this many and this many compressed bytes.
BATCH_FILES = 32
BATCH_BYTES = 4 << 30


#: How DuckDB gets the works out of one parsed JSON document, per document kind: the
#: from_json structure and the expression over the parsed value ``d`` that yields one work
#: per row.
DOCUMENT_READERS: dict[str, tuple[object, str]] = {
    "items": ({"items": [sql.WORK_STRUCTURE]}, "unnest(d.items)"),
    "api-list": ({"message": {"items": [sql.WORK_STRUCTURE]}}, "unnest(d.message.items)"),
    "api-work": ({"message-type": "VARCHAR", "message": sql.WORK_STRUCTURE}, "d.message"),
    "array": ([sql.WORK_STRUCTURE], "unnest(d)"),
    "work": (sql.WORK_STRUCTURE, "d"),
}


def fast_kind(report: FileReport) -> str | None:
    """How DuckDB can read the file in one query: "jsonl", a key of :data:`DOCUMENT_READERS`,
    or None (stream it)."""
    if report.compression not in ("gzip", "none"):
        return None  # DuckDB reads gzip (and zstd) only
    if any(c in report.path for c in "*?[{"):
        return None  # DuckDB would take the name for a glob pattern
    if report.format == "jsonl":
        return "jsonl"
    if (
        report.format in DOCUMENT_READERS
        and (report.size or MAX_DOCUMENT_BYTES) < MAX_DOCUMENT_BYTES
    ):
        return report.format
    return None


def batches(reports: list[FileReport]) -> Iterator[list[FileReport]]:
    """Consecutive files DuckDB can read in one query (same kind and compression), up to
    BATCH_FILES files or BATCH_BYTES compressed bytes; other files alone."""
    batch: list[FileReport] = []
    for report in reports:
        kind = fast_kind(report)
        if batch and (
            kind is None
            or (kind, report.compression) != (fast_kind(batch[0]), batch[0].compression)
            or len(batch) >= BATCH_FILES
            or sum(r.bytes for r in batch) + report.bytes > BATCH_BYTES
        ):
            yield batch
            batch = []
        batch.append(report)
        if kind is None:
            yield batch
            batch = []
    if batch:
        yield batch


def score(job: Job, batch: list[FileReport]) -> bool:
    """Score ``batch`` in one DuckDB query; False (nothing recorded) if DuckDB cannot read it."""
    kind = fast_kind(batch[0])
    paths = [r.path for r in batch]
    comp = batch[0].compression
    if kind == "jsonl":
        # Each line is parsed once, straight into the columns of WORK_STRUCTURE. A line that
        # does not parse, or is not an object, comes out as a row of NULLs: without a
        # member, like an object that has none (status 1), told apart by the line scan.
        source = (
            "SELECT t AS w, NULL::VARCHAR AS json, false AS invalid, t.filename AS filename "
            f"FROM read_ndjson(?, columns={sql.WORK_COLUMNS_SQL}, ignore_errors=true, "
            f"compression=?, maximum_object_size={MAX_OBJECT_BYTES}, filename=true) t"
        )
        params: list[Any] = [paths, comp]
    else:
        biggest = max(r.size or 0 for r in batch)
        structure, works = DOCUMENT_READERS[kind]
        where = " WHERE d['message-type'] = 'work'" if kind == "api-work" else ""
        # each top-level value of the file (usually one) is a document
        source = (
            f"SELECT {works} AS w, NULL::VARCHAR AS json, false AS invalid, filename FROM ("
            "SELECT from_json(json, ?) AS d, filename FROM read_json_objects(?, "
            f"format='unstructured', compression=?, "
            f"maximum_object_size={max(biggest + 1024, 1 << 20)}, filename=true)){where}"
        )
        params = [json.dumps(structure), paths, comp]
    try:
        stats = job.insert(source, params)
    except duckdb.Error as exc:
        # a cut-off or corrupt gzip stream, a document that does not parse …
        logger.info("%s: DuckDB could not read it in one go (%s)", ", ".join(paths), exc)
        for report in batch:
            report.fast_error = str(exc)
        return False
    for report in batch:
        report.works = stats.get((report.path, 0), 0)
        suspect = stats.get((report.path, 1), 0)
        if suspect:
            _explain(job, report, suspect)
        job.done(report)
    return True


def _explain(job: Job, report: FileReport, suspect: int) -> None:
    """Rows without a member from the fast path: find the malformed lines among them."""
    if report.format != "jsonl":
        junk = salvage_document(job, report, aggregate=False)
        report.no_member = suspect - junk
        return
    errors_before, listed_before = job.error_count, len(job.errors)
    stream_jsonl(job, report, aggregate=False)
    if report.errors + report.no_member != suspect:
        # DuckDB's reader dropped lines that do parse (e.g. longer than its buffer):
        # score the whole file on the streaming path instead
        logger.info(
            "%s: %d rows without a member from DuckDB's reader, but %d malformed lines and "
            "%d objects without a member; rescoring",
            report.path,
            suspect,
            report.errors,
            report.no_member,
        )
        job.forget(report)
        del job.errors[listed_before:]
        job.error_count = errors_before
        report.errors = report.no_member = 0
        report.path_taken = "stream"
        stream_jsonl(job, report, aggregate=True, long_line=MAX_OBJECT_BYTES)
