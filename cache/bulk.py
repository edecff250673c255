"""Bulk scoring of Crossref works files (public data file, Plus snapshots, harvested pages).

``python -m cache bulk FILE…`` → :func:`ingest` → a snapshot with ``meta.source == "bulk"``.

Both public-data formats are read, whatever the file name says (the content is sniffed):

* JSON Lines, one work per line (the 2025+ public data file), gzip-compressed or plain;
* ``{"items": [ … ]}`` per file (the 2020–2024 chunks of 3,000 records, often pretty-printed).

Every metric of the registry that can be measured on a work (presence metrics and the depth
metric, see :mod:`cache.bulk_sql`) is computed in DuckDB per member × content type × issued year,
then rolled up to the periods of docs/architecture.md §5 (`current`, `backfile`, `all`; works
with no issued year count only in `all`).

Design (measured on 2 cores, see bench/bulk.py):

* **Fast path**: one DuckDB query per file. ``read_ndjson(columns=…, ignore_errors=true)``
  streams and decompresses the file inside DuckDB and parses each line once, straight into the
  columns of :data:`cache.bulk_sql.WORK_STRUCTURE` (only the fields the metrics read); the
  metric expressions of :mod:`cache.bulk_sql` feed a hash aggregate per member × publisher ×
  prefix × type × issued year. Memory is bounded by DuckDB's ``memory_limit`` and its reader
  buffers, and does not grow with the file. The partial aggregates of every file go into one
  small table that is summed at the end (and compacted when it grows).
* Malformed lines (invalid JSON, invalid UTF-8, JSON that is not an object) come out of the
  fast path as rows of NULLs, i.e. without a member, exactly like a valid object that has no
  ``member``. Counting them is free, but DuckDB does not say where they are, so only a file
  that has such rows runs the **line scan**: a streaming reader in Python (zlib + pyarrow, no
  per-line Python work) that numbers every physical line, asks DuckDB which lines are bad and
  reports each with file and line number (and objects without a member as a count). If the
  scan does not account for every row (DuckDB's reader also drops valid lines longer than its
  buffer), the file is rescored on the streaming path.
* **Streaming path**: a gzip file cut short (or corrupt) makes DuckDB's reader fail outright;
  then the same streaming reader scores every complete line before the cut (DuckDB over Arrow
  chunks, ``from_json`` with the same structure, the same SQL) and reports the truncation with
  its line number. bz2/xz files always take this path. ``{"items": …}`` documents are read by
  DuckDB in one piece; a document that does not parse is salvaged item by item in Python.
* ``strict=True`` turns the first malformed line (in file order) into a
  :class:`BulkIngestError` naming file and line; a malformed line is never fatal otherwise and
  never dropped silently (``BulkResult.errors`` lists the first 1,000 with file and line,
  ``error_count`` counts them all).
* The SQL is checked against the registry's Python predicates work by work
  (tests/unit/test_bulk.py) and, per member, against the mock API's filter counts
  (tests/integration/test_reconcile.py).
"""

from __future__ import annotations

import bz2
import datetime as dt
import json
import logging
import lzma
import os
import re
import tempfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from cache import bulk_sql

logger = logging.getLogger(__name__)

SOURCE = "bulk"
PERIODS = ("current", "backfile", "all")
UNKNOWN_TYPE = "unknown"

DEFAULT_MEMORY_LIMIT = "1GB"
#: Largest line DuckDB's reader takes in one go (its buffers are 2x this per thread). Longer
#: lines (real records with thousands of authors reach a few MB) go through the streaming path.
MAX_OBJECT_BYTES = 16 << 20
#: Largest `{"items": [...]}` document DuckDB reads (the 2020-2024 chunks hold 3,000 records,
#: tens of MB); larger ones are parsed item by item in Python.
MAX_DOCUMENT_BYTES = 256 << 20
#: Decompressed bytes per chunk on the streaming (diagnose / salvage) path.
CHUNK_BYTES = 16 << 20
#: Malformed lines kept in BulkResult.errors (the count is always exact).
MAX_LISTED_ERRORS = 1000
#: Files read by one DuckDB query (in parallel, one thread per file: a gzip stream cannot be
#: split), at most this many and this many compressed bytes.
BATCH_FILES = 32
BATCH_BYTES = 4 << 30
#: Compacting the partial-aggregate table once it holds this many rows keeps it small.
COMPACT_ROWS = 2_000_000

WORK_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")

ProgressFn = Callable[[int, int], None]


# --------------------------------------------------------------------------------------------
# Results and errors
# --------------------------------------------------------------------------------------------
class BulkIssue(NamedTuple):
    """One malformed line: ``(file, line, message)``; ``line`` is 1-based."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class BulkIngestError(ValueError):
    """A malformed line under ``strict=True``, or input that cannot be read at all."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None):
        super().__init__(message)
        self.file = file
        self.line = line


@dataclass
class FileReport:
    path: str
    format: str  # "jsonl" | "items"
    compression: str  # "gzip" | "bz2" | "xz" | "none"
    bytes: int
    works: int = 0  # objects attributed to a member (scored)
    errors: int = 0  # malformed lines
    no_member: int = 0  # JSON objects without a usable `member` (not scored)
    path_taken: str = "fast"  # "fast" | "stream" (DuckDB could not read it in one go)
    size: int | None = None  # uncompressed bytes when known (plain files, gzip ISIZE)


@dataclass
class BulkResult:
    files: list[FileReport]
    works: int
    error_count: int
    errors: list[BulkIssue]  # the first MAX_LISTED_ERRORS, in file and line order
    no_member: int
    members: pd.DataFrame
    coverage: pd.DataFrame
    years: pd.DataFrame
    meta: dict[str, Any]
    snapshot_id: str | None
    duration_s: float
    current_year: int

    @property
    def works_per_second(self) -> float:
        return self.works / self.duration_s if self.duration_s > 0 else float("nan")

    def summary(self, max_errors: int = 5) -> str:
        lines = [
            f"bulk: {self.works:,} works of {len(self.members):,} members from "
            f"{len(self.files)} file(s) in {self.duration_s:.1f} s "
            f"({self.works_per_second:,.0f} works/s)"
        ]
        if self.snapshot_id:
            lines.append(f"published snapshot {self.snapshot_id}")
        if self.error_count:
            lines.append(f"{self.error_count:,} malformed line(s) skipped:")
            lines += [f"  {issue}" for issue in self.errors[:max_errors]]
            if self.error_count > max_errors:
                lines.append(f"  … and {self.error_count - max_errors:,} more")
        if self.no_member:
            lines.append(f"{self.no_member:,} record(s) without a member id were not scored")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Input discovery and sniffing
# --------------------------------------------------------------------------------------------
def expand_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; directories are searched (recursively) for works files. A file named
    twice is read once."""
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and _looks_like_works_file(p.name)
            )
        elif path.is_file():
            found = [path]
        else:
            raise BulkIngestError(f"{path}: no such file or directory", str(path))
        for p in found:
            key = p.resolve()
            if key in seen:
                logger.warning("%s: given more than once; read once", p)
                continue
            seen.add(key)
            out.append(p)
    return out


def _looks_like_works_file(name: str) -> bool:
    name = name.lower()
    for comp in COMPRESSED_SUFFIXES:
        name = name.removesuffix(comp)
    return name.endswith(WORK_SUFFIXES)


def sniff_compression(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    return "none"


_ITEMS_HEAD = re.compile(rb'^\s*\{\s*"items"\s*:\s*\[')


def sniff_format(path: Path, compression: str) -> str:
    """``"items"`` for a ``{"items": [...]}`` document, else ``"jsonl"``."""
    head = b""
    try:
        for block in _decompressed_blocks(path, compression, block_bytes=1 << 16):
            head += block.data
            if len(head.lstrip()) >= 64 or block.truncated or block.corrupt:
                break
    except OSError:
        return "jsonl"
    return "items" if _ITEMS_HEAD.match(head) else "jsonl"


class _Block(NamedTuple):
    data: bytes
    consumed: int  # compressed bytes read so far
    truncated: bool = False  # the compressed stream ended early (no end-of-stream marker)
    corrupt: str = ""  # a decompression error message


def _decompressor(compression: str):
    if compression == "gzip":
        return zlib.decompressobj(wbits=31)
    if compression == "bz2":
        return bz2.BZ2Decompressor()
    if compression == "xz":
        return lzma.LZMADecompressor()
    return None


def _decompressed_blocks(
    path: Path, compression: str, block_bytes: int = 4 << 20
) -> Iterator[_Block]:
    """Decompressed data of a file, tolerant of a cut-off end (reported, not raised).

    Handles concatenated gzip members. The last block has ``truncated`` or ``corrupt`` set
    when the stream did not end properly.
    """
    consumed = 0
    with open(path, "rb") as fh:
        dec = _decompressor(compression)
        if dec is None:
            while chunk := fh.read(block_bytes):
                consumed += len(chunk)
                yield _Block(chunk, consumed)
            return
        buf = b""
        while True:
            if not buf:
                buf = fh.read(block_bytes)
                consumed += len(buf)
                if not buf:
                    break
            try:
                data = dec.decompress(buf)
            except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
                yield _Block(b"", consumed, corrupt=f"corrupt {compression} data ({exc})")
                return
            buf = b""
            if data:
                yield _Block(data, consumed)
            if dec.eof:
                rest = dec.unused_data
                while not rest.strip(b"\0"):  # end of file (NUL padding is harmless)
                    more = fh.read(block_bytes)
                    consumed += len(more)
                    if not more:
                        return
                    rest = (rest + more).lstrip(b"\0")
                rest = rest.lstrip(b"\0")
                if compression == "gzip" and rest[:2] != b"\x1f\x8b":
                    yield _Block(b"", consumed, corrupt="trailing data after the gzip stream")
                    return
                dec = _decompressor(compression)
                buf = rest
        if not dec.eof:
            yield _Block(b"", consumed, truncated=True)


# --------------------------------------------------------------------------------------------
# SQL
# --------------------------------------------------------------------------------------------
_METRIC_COLS = [bulk_sql.column_name(k) for k in bulk_sql.METRIC_SQL]
_SHARE_COLS = [
    (bulk_sql.column_name(k) + "_num", bulk_sql.column_name(k) + "_den") for k in bulk_sql.SHARE_SQL
]
_SUM_COLS = ["n", *_METRIC_COLS, *[c for pair in _SHARE_COLS for c in pair]]
_KEY_COLS = ["member_id", "publisher", "prefix", "type", "year"]


def _aggregate_sql(source: str) -> str:
    """Partial aggregates of ``source``, grouped by file, status and the key columns.

    ``source`` yields ``w`` (the parsed work), ``json`` (raw text, or NULL when unknown),
    ``invalid`` (the line did not parse) and ``filename``. ``status``: 0 scored, 1 no member
    (an object without one, or, when ``json`` is unknown, anything that came out as NULLs),
    2 invalid JSON, 3 valid JSON that is not an object.
    """
    q = (
        "SELECT w, json, invalid, filename, TRY_CAST(trim(w.member) AS BIGINT) AS member_id "
        f"FROM ({source})"
    )
    for level in bulk_sql.HELPER_SQL:
        q = "SELECT *, " + ", ".join(f"{e} AS {n}" for n, e in level.items()) + f" FROM ({q})"
    status = (
        "CASE WHEN invalid THEN 2 WHEN member_id IS NOT NULL THEN 0 "
        "WHEN json IS NOT NULL AND json_type(json) <> 'OBJECT' THEN 3 ELSE 1 END"
    )
    aggs = [
        f"count(*) FILTER (WHERE coalesce({expr}, false)) AS {bulk_sql.column_name(key)}"
        for key, expr in bulk_sql.METRIC_SQL.items()
    ]
    for (num, den), (ncol, dcol) in zip(bulk_sql.SHARE_SQL.values(), _SHARE_COLS, strict=True):
        aggs += [f"coalesce(sum({num}), 0) AS {ncol}", f"coalesce(sum({den}), 0) AS {dcol}"]
    return (
        f"SELECT filename, {status} AS status, member_id, "
        "coalesce(w.publisher, '') AS publisher, coalesce(w.prefix, '') AS prefix, "
        f"coalesce(nullif(trim(w.type), ''), '{UNKNOWN_TYPE}') AS type, "
        f"{bulk_sql.YEAR_SQL} AS year, "
        "count(*) AS n, max(w.indexed.timestamp) AS indexed_ms, "
        + ", ".join(aggs)
        + f" FROM ({q}) GROUP BY ALL"
    )


_PART_COLUMNS = (
    "file_id INTEGER, status INTEGER, member_id BIGINT, publisher VARCHAR, prefix VARCHAR, "
    "type VARCHAR, year BIGINT, n BIGINT, indexed_ms BIGINT, "
    + ", ".join(f"{c} BIGINT" for c in _SUM_COLS[1:])
)


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fast_kind(report: FileReport) -> str | None:
    """How DuckDB can read the file in one query: "jsonl", "items" or None (stream it)."""
    if report.compression not in ("gzip", "none"):
        return None  # DuckDB reads gzip (and zstd) only
    if any(c in report.path for c in "*?[{"):
        return None  # DuckDB would take the name for a glob pattern
    if report.format == "jsonl":
        return "jsonl"
    if report.size is not None and report.size < MAX_DOCUMENT_BYTES:
        return "items"
    return None


def _batches(reports: list[FileReport]) -> Iterator[list[FileReport]]:
    """Consecutive files DuckDB can read in one query (same kind and compression), up to
    BATCH_FILES files or BATCH_BYTES compressed bytes; other files alone."""
    batch: list[FileReport] = []
    for report in reports:
        kind = _fast_kind(report)
        if batch and (
            kind is None
            or (kind, report.compression) != (_fast_kind(batch[0]), batch[0].compression)
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


# --------------------------------------------------------------------------------------------
# The ingest
# --------------------------------------------------------------------------------------------
class _Ingest:
    def __init__(
        self,
        current_year: int,
        strict: bool,
        progress: ProgressFn | None,
        memory_limit: str,
        threads: int | None,
        tmpdir: str,
    ) -> None:
        self.current_year = current_year
        self.strict = strict
        self.progress = progress
        self.con = duckdb.connect(
            config={
                "memory_limit": memory_limit,
                "threads": threads or max(1, min(os.cpu_count() or 1, 8)),
                "preserve_insertion_order": False,
                "temp_directory": tmpdir,
            }
        )
        self._exec("SET enable_progress_bar = false")  # the CLI draws its own (bytes read)
        for macro in bulk_sql.MACROS:
            self._exec(macro)
        self._exec(f"CREATE TEMP TABLE part ({_PART_COLUMNS})")
        self._exec("CREATE TEMP TABLE files (filename VARCHAR, file_id INTEGER)")
        self.errors: list[BulkIssue] = []
        self.error_count = 0
        self.bytes_done = 0
        self.bytes_total = 0
        self.file_ids: dict[str, int] = {}

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run a statement to completion (DuckDB 2 refuses new work with a result pending)."""
        return self.con.execute(sql, list(params)).fetchall()

    # -- bookkeeping -----------------------------------------------------------------------
    def _tick(self, extra: int = 0) -> None:
        if self.progress is not None:
            self.progress(min(self.bytes_done + extra, self.bytes_total), self.bytes_total)

    def _done(self, report: FileReport) -> None:
        self.bytes_done += report.bytes
        self._tick()

    def _issue(self, report: FileReport, line: int, message: str) -> None:
        report.errors += 1
        self.error_count += 1
        issue = BulkIssue(report.path, line, message)
        if self.strict:
            raise BulkIngestError(f"malformed input at {issue}", report.path, line)
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(issue)

    # -- files and batches -----------------------------------------------------------------
    def run(self, paths: list[Path]) -> list[FileReport]:
        reports = []
        for file_id, path in enumerate(paths, start=1):
            compression = sniff_compression(path)
            report = FileReport(
                str(path), sniff_format(path, compression), compression, path.stat().st_size
            )
            report.size = _uncompressed_size(path, compression)
            reports.append(report)
            self.file_ids[report.path] = file_id
        self.bytes_total = sum(r.bytes for r in reports)
        self.con.register(
            "files_df",
            pa.table(
                {
                    "filename": [r.path for r in reports],
                    "file_id": pa.array(list(self.file_ids.values()), pa.int32()),
                }
            ),
        )
        self._exec("INSERT INTO files SELECT * FROM files_df")
        self.con.unregister("files_df")
        for batch in _batches(reports):
            self._run_batch(batch)
            self._compact_if_big()
        return reports

    def _run_batch(self, batch: list[FileReport]) -> None:
        """Several files in one DuckDB query (it reads them in parallel); one by one if that
        fails; the streaming path for a file DuckDB cannot read in one go."""
        if len(batch) > 1 and self._fast(batch):
            return
        for report in batch:
            if _fast_kind(report) and self._fast([report]):
                continue
            report.path_taken = "stream"
            if report.format == "jsonl":
                self._stream_jsonl(report, aggregate=True)
            else:
                self._salvage_items(report, aggregate=True)
            self._done(report)

    def _fast(self, batch: list[FileReport]) -> bool:
        kind = _fast_kind(batch[0])
        paths = [r.path for r in batch]
        comp = batch[0].compression
        if kind == "jsonl":
            # Each line is parsed once, straight into the columns of WORK_STRUCTURE. A line that
            # does not parse, or is not an object, comes out as a row of NULLs: without a
            # member, like an object that has none (status 1), told apart by the line scan.
            source = (
                "SELECT t AS w, NULL::VARCHAR AS json, false AS invalid, t.filename AS filename "
                f"FROM read_ndjson(?, columns={bulk_sql.WORK_COLUMNS_SQL}, ignore_errors=true, "
                f"compression=?, maximum_object_size={MAX_OBJECT_BYTES}, filename=true) t"
            )
            params: list[Any] = [paths, comp]
        else:
            biggest = max(r.size or 0 for r in batch)
            source = (
                "SELECT unnest(from_json(json, ?).items) AS w, NULL::VARCHAR AS json, "
                "false AS invalid, filename FROM read_json_objects(?, format='unstructured', "
                f"compression=?, maximum_object_size={max(biggest + 1024, 1 << 20)}, "
                "filename=true)"
            )
            params = [bulk_sql.ITEMS_STRUCTURE_JSON, paths, comp]
        try:
            stats = self._insert(source, params)
        except duckdb.Error as exc:
            # a cut-off or corrupt gzip stream, a document that does not parse …
            logger.info("%s: DuckDB could not read it in one go (%s)", ", ".join(paths), exc)
            return False
        for report in batch:
            report.works = stats.get((report.path, 0), 0)
            suspect = stats.get((report.path, 1), 0)
            if suspect:
                self._explain(report, suspect)
            self._done(report)
        return True

    def _explain(self, report: FileReport, suspect: int) -> None:
        """Rows without a member from the fast path: find the malformed lines among them."""
        if report.format == "items":
            junk = self._salvage_items(report, aggregate=False)
            report.no_member = suspect - junk
            return
        errors_before, listed_before = self.error_count, len(self.errors)
        self._stream_jsonl(report, aggregate=False)
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
            self._exec("DELETE FROM part WHERE file_id = ?", [self.file_ids[report.path]])
            del self.errors[listed_before:]
            self.error_count = errors_before
            report.errors = report.no_member = 0
            report.path_taken = "stream"
            self._stream_jsonl(report, aggregate=True)

    def _insert(self, source: str, params: Sequence[Any] = ()) -> dict[tuple[str, int], int]:
        """Aggregate ``source`` into ``part``; returns row counts per (file, status)."""
        self._exec("CREATE OR REPLACE TEMP TABLE cur AS " + _aggregate_sql(source), params)
        self._exec(
            "INSERT INTO part SELECT f.file_id, c.* EXCLUDE (filename) "
            "FROM cur c JOIN files f USING (filename) WHERE c.status = 0"
        )
        stats = self._exec("SELECT filename, status, sum(n)::BIGINT FROM cur GROUP BY ALL")
        unknown = {str(f) for f, _, _ in stats} - set(self.file_ids)
        if unknown:  # never drop works silently: this would be a bug, say so loudly
            raise RuntimeError(f"DuckDB reported unexpected file names {sorted(unknown)}")
        return {(str(f), int(s)): int(n) for f, s, n in stats}

    # -- JSON Lines, streamed --------------------------------------------------------------
    def _stream_jsonl(self, report: FileReport, *, aggregate: bool) -> None:
        """Number every line; report the bad ones; optionally score the good ones."""
        works = no_member = 0
        line_no = 0  # lines seen so far
        carry = b""
        ended_badly: _Block | None = None
        path = Path(report.path)
        for block in _decompressed_blocks(path, report.compression, block_bytes=CHUNK_BYTES // 4):
            if block.truncated or block.corrupt:
                ended_badly = block
                break
            carry += block.data
            if len(carry) < CHUNK_BYTES and block.data:
                continue
            cut = carry.rfind(b"\n")
            if cut < 0:
                continue
            chunk, carry = carry[:cut], carry[cut + 1 :]
            w, nm = self._scan_chunk(chunk, line_no + 1, report, aggregate)
            works, no_member = works + w, no_member + nm
            line_no += chunk.count(b"\n") + 1
            if aggregate:
                self._tick(block.consumed)
        if ended_badly is not None:
            # complete lines before the cut are fine; the partial last line is not
            cut = carry.rfind(b"\n")
            if cut >= 0:
                chunk, carry = carry[:cut], carry[cut + 1 :]
                w, nm = self._scan_chunk(chunk, line_no + 1, report, aggregate)
                works, no_member = works + w, no_member + nm
                line_no += chunk.count(b"\n") + 1
            what = ended_badly.corrupt or f"truncated {report.compression} stream"
            if carry.strip():
                self._issue(report, line_no + 1, f"{what}: line cut off at end of data")
            else:
                self._issue(report, line_no + 1, f"{what}: data ends after line {line_no}")
        elif carry:
            w, nm = self._scan_chunk(carry, line_no + 1, report, aggregate)
            works, no_member = works + w, no_member + nm
        report.no_member = no_member
        if aggregate:
            report.works = works

    def _scan_chunk(
        self, chunk: bytes, first_line: int, report: FileReport, aggregate: bool
    ) -> tuple[int, int]:
        """One chunk of complete lines (no final newline) → (works scored, no-member count)."""
        lines = _split_lines(chunk)
        n = len(lines)
        try:
            text = lines.cast(pa.large_string())
            bad_utf8: list[int] = []
        except (pa.ArrowInvalid, UnicodeDecodeError):
            text, bad_utf8 = _decode_lines(lines)
        table = pa.table(
            {"ln": pa.array(np.arange(first_line, first_line + n, dtype=np.int64)), "line": text}
        )
        self.con.register("chunk_lines", table)
        try:
            bad = self._exec(
                "SELECT ln, json_valid(line) AS valid, "
                "CASE WHEN json_valid(line) THEN json_type(line) END AS t "
                "FROM chunk_lines WHERE NOT regexp_full_match(line, '[ \\t\\r]*') "
                "AND (NOT json_valid(line) OR json_type(line) <> 'OBJECT') ORDER BY ln"
            )
            utf8_lines = {first_line + i for i in bad_utf8}
            issues = [(ln, "invalid UTF-8") for ln in sorted(utf8_lines)]
            for ln, valid, jtype in bad:
                if int(ln) in utf8_lines:
                    continue
                if not valid:
                    issues.append((int(ln), _json_error(text[int(ln) - first_line].as_py())))
                else:
                    issues.append((int(ln), f"not a JSON object (a JSON {_json_kind(jtype)})"))
            for ln, message in sorted(issues):
                self._issue(report, ln, message)
            if not aggregate:
                got = self._exec(
                    "SELECT count(*) FROM chunk_lines WHERE json_valid(line) "
                    "AND json_type(line) = 'OBJECT' AND TRY_CAST(trim(from_json(line, "
                    '\'{"member": "VARCHAR"}\').member) AS BIGINT) IS NULL'
                )
                return 0, int(got[0][0])
            stats = self._insert(
                "SELECT CASE WHEN json_valid(line) THEN from_json(line, ?) END AS w, "
                "line AS json, NOT json_valid(line) AS invalid, ? AS filename FROM chunk_lines "
                "WHERE NOT regexp_full_match(line, '[ \\t\\r]*')",
                [bulk_sql.WORK_STRUCTURE_JSON, report.path],
            )
            return stats.get((report.path, 0), 0), stats.get((report.path, 1), 0)
        finally:
            self.con.unregister("chunk_lines")

    # -- {"items": [...]} documents, item by item ----------------------------------------
    def _salvage_items(self, report: FileReport, *, aggregate: bool) -> int:
        """Parse the document item by item in Python (small files: 3,000 records each).

        Reports every item that is not an object and where the document stops parsing; with
        ``aggregate`` also scores the objects. Returns the number of non-object items.
        """
        data = bytearray()
        ended_badly: _Block | None = None
        for block in _decompressed_blocks(Path(report.path), report.compression):
            if block.truncated or block.corrupt:
                ended_badly = block
                break
            data += block.data
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            self._issue(report, line, "invalid UTF-8; the rest of the file was skipped")
            text = bytes(data[: exc.start]).decode("utf-8", errors="ignore")
            ended_badly = None
        items, problem = _scan_items(text)
        good: list[str] = []
        junk = 0
        for line, item in items:
            if isinstance(item, dict):
                if aggregate:
                    good.append(json.dumps(item, ensure_ascii=False))
            else:
                junk += 1
                self._issue(report, line, f"item is not a JSON object (a JSON {_py_kind(item)})")
        if problem is not None:
            line, message = problem
            if ended_badly is not None:
                what = ended_badly.corrupt or f"truncated {report.compression} stream"
                message = f"{what}: {message}"
            self._issue(report, line, message + "; the rest of the file was skipped")
        elif ended_badly is not None:
            what = ended_badly.corrupt or f"truncated {report.compression} stream"
            self._issue(report, text.count("\n") + 1, what)
        if not aggregate:
            return junk
        report.works = report.no_member = 0
        if good:
            self.con.register("chunk_lines", pa.table({"line": pa.array(good, pa.large_string())}))
            try:
                stats = self._insert(
                    "SELECT from_json(line, ?) AS w, line AS json, false AS invalid, "
                    "? AS filename FROM chunk_lines",
                    [bulk_sql.WORK_STRUCTURE_JSON, report.path],
                )
            finally:
                self.con.unregister("chunk_lines")
            report.works = stats.get((report.path, 0), 0)
            report.no_member = stats.get((report.path, 1), 0)
        return junk

    # -- partial table ---------------------------------------------------------------------
    def _compact_if_big(self) -> None:
        """Sum the partial rows of finished files once there are many (between files only)."""
        rows = self._exec("SELECT count(*) FROM part")[0][0]
        if rows < COMPACT_ROWS:
            return
        sums = {c: f"sum({c})::BIGINT" for c in _SUM_COLS}
        cols = [
            "0 AS file_id",
            "status",
            *_KEY_COLS,
            sums["n"],
            "max(indexed_ms)",
            *[sums[c] for c in _SUM_COLS[1:]],
        ]
        self._exec(
            f"CREATE OR REPLACE TEMP TABLE part2 AS SELECT {', '.join(cols)} FROM part "
            f"GROUP BY status, {', '.join(_KEY_COLS)}"
        )
        self._exec("DELETE FROM part")
        self._exec("INSERT INTO part SELECT * FROM part2")
        self._exec("DROP TABLE part2")

    # -- final tables ----------------------------------------------------------------------
    def tables(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int | None]:
        """(members, coverage, years, max indexed timestamp) from the partial aggregates."""
        y = self.current_year
        sums = ", ".join(f"sum({c})::BIGINT AS {c}" for c in _SUM_COLS)
        self._exec(
            "CREATE OR REPLACE TEMP TABLE by_year AS "
            f"SELECT member_id, type, year, {sums} FROM part GROUP BY ALL"
        )
        period = (
            f"CASE WHEN year IS NULL THEN NULL WHEN year >= {y - 2} THEN 'current' "
            "ELSE 'backfile' END"
        )
        self._exec(
            "CREATE OR REPLACE TEMP TABLE by_period AS "
            f"SELECT member_id, type, {period} AS period, {sums} FROM by_year "
            f"WHERE year IS NOT NULL GROUP BY ALL "
            f"UNION ALL SELECT member_id, type, 'all' AS period, {sums} FROM by_year GROUP BY ALL"
        )
        # every (member, type) of `all` gets a row in every period, with total 0 when empty
        zeros = ", ".join(f"0::BIGINT AS {c}" for c in _SUM_COLS)
        self._exec(
            "INSERT INTO by_period SELECT a.member_id, a.type, p.period, "
            f"{zeros} FROM (SELECT DISTINCT member_id, type FROM by_period) a "
            "CROSS JOIN (VALUES ('current'), ('backfile')) p(period) "
            "ANTI JOIN by_period b ON a.member_id = b.member_id AND a.type = b.type "
            "AND b.period = p.period"
        )
        coverage = self._long("by_period", ["member_id", "type", "period"], with_ci=True)
        years = self._long(
            "by_year WHERE year IS NOT NULL", ["member_id", "type", "year"], with_ci=False
        )
        members = self._members()
        max_ms = self._exec("SELECT max(indexed_ms) FROM part")[0][0]
        return members, coverage, years, (int(max_ms) if max_ms is not None else None)

    def _long(self, table: str, keys: list[str], *, with_ci: bool) -> pd.DataFrame:
        """Wide per-key sums → the contract's long rows (one per metric), melted in numpy."""
        order = [*keys[:2]]
        if "period" in keys:
            order.append("CASE period WHEN 'current' THEN 0 WHEN 'backfile' THEN 1 ELSE 2 END")
        if "year" in keys:
            order.append("year")
        wide = self.con.execute(
            f"SELECT {', '.join(keys)}, {', '.join(_SUM_COLS)} FROM {table} "
            f"ORDER BY {', '.join(order)}"
        ).df()
        metric_keys = [*bulk_sql.METRIC_SQL, *bulk_sql.SHARE_SQL]
        k = len(metric_keys)
        n = len(wide)
        totals = wide["n"].to_numpy(dtype=np.int64)
        covered = np.empty((n, k), dtype=np.int64)
        total = np.empty((n, k), dtype=np.int64)
        for j, col in enumerate(_METRIC_COLS):
            covered[:, j] = wide[col].to_numpy(dtype=np.int64)
            total[:, j] = totals
        for j, (ncol, dcol) in enumerate(_SHARE_COLS, start=len(_METRIC_COLS)):
            covered[:, j] = wide[ncol].to_numpy(dtype=np.int64)
            total[:, j] = wide[dcol].to_numpy(dtype=np.int64)
        covered, total = covered.ravel(), total.ravel()
        # repeated text as categoricals (cheap to build; the snapshot store writes plain str)
        out: dict[str, Any] = {
            "member_id": np.repeat(wide["member_id"].to_numpy(dtype=np.int64), k),
            "content_type": _repeat_categorical(wide["type"], k),
        }
        if "period" in keys:
            out["period"] = _repeat_categorical(wide["period"], k)
        if "year" in keys:
            out["year"] = np.repeat(wide["year"].to_numpy(dtype=np.int64), k)
        out["metric"] = pd.Categorical.from_codes(
            np.tile(np.arange(k, dtype=np.int32), n), categories=metric_keys
        )
        out["covered"] = covered
        out["total"] = total
        if with_ci:
            with np.errstate(divide="ignore", invalid="ignore"):
                out["coverage"] = np.where(total > 0, covered / np.maximum(total, 1), np.nan)
        out["source"] = pd.Categorical.from_codes(np.zeros(n * k, dtype=np.int8), [SOURCE])
        if with_ci:
            out["ci_low"] = np.full(n * k, np.nan)
            out["ci_high"] = np.full(n * k, np.nan)
        return pd.DataFrame(out)

    def _members(self) -> pd.DataFrame:
        con = self.con
        y = self.current_year
        base = con.execute(
            f"""
            WITH names AS (
                SELECT member_id, publisher, sum(n) AS n FROM part GROUP BY ALL
            ), prefixes AS (
                SELECT member_id, string_agg(DISTINCT prefix, ',' ORDER BY prefix)
                    FILTER (WHERE prefix <> '') AS prefixes FROM part GROUP BY member_id
            ), totals AS (
                SELECT member_id, sum(n)::BIGINT AS total_dois,
                    coalesce(sum(n) FILTER (WHERE year >= {y - 2}), 0)::BIGINT AS current_dois,
                    coalesce(sum(n) FILTER (WHERE year <= {y - 3}), 0)::BIGINT AS backfile_dois,
                    coalesce(max(indexed_ms), 0)::BIGINT AS last_status_check
                FROM part GROUP BY member_id
            )
            , best AS (
                SELECT member_id, first(publisher ORDER BY n DESC, publisher) AS name
                FROM names GROUP BY member_id
            )
            SELECT t.member_id, b.name, coalesce(p.prefixes, '') AS prefixes,
                t.total_dois, t.current_dois, t.backfile_dois, t.last_status_check
            FROM totals t JOIN prefixes p USING (member_id) JOIN best b USING (member_id)
            ORDER BY t.member_id
            """
        ).df()
        by_type = con.execute(
            f"""
            SELECT member_id, type,
                CASE WHEN year IS NULL THEN NULL WHEN year >= {y - 2} THEN 'current'
                     ELSE 'backfile' END AS period, year, sum(n)::BIGINT AS n
            FROM by_year GROUP BY ALL
            """
        ).df()
        counts_type: dict[int, dict[str, dict[str, int]]] = {}
        by_year: dict[int, dict[str, int]] = {}
        has_year = by_type["year"].notna().to_numpy()
        rows = zip(
            by_type["member_id"].to_numpy(dtype=np.int64).tolist(),
            by_type["type"].to_numpy(dtype=object).tolist(),
            by_type["period"].to_numpy(dtype=object).tolist(),
            np.where(has_year, by_type["year"].fillna(0).to_numpy(dtype=np.int64), 0).tolist(),
            has_year.tolist(),
            by_type["n"].to_numpy(dtype=np.int64).tolist(),
            strict=True,
        )
        for mid, ctype, per, year, dated, n in rows:
            entry = counts_type.setdefault(mid, {"all": {}, "current": {}, "backfile": {}})
            entry["all"][ctype] = entry["all"].get(ctype, 0) + n
            if dated:
                entry[per][ctype] = entry[per].get(ctype, 0) + n
                years = by_year.setdefault(mid, {})
                years[str(year)] = years.get(str(year), 0) + n
        ids = base["member_id"].astype("int64")
        members = pd.DataFrame(
            {
                "member_id": ids,
                "name": base["name"].fillna("").astype(str),
                "location": "",
                "country": "",
                "country_name": "",
                "gem": False,
                "prefixes": base["prefixes"].astype(str),
                "total_dois": base["total_dois"].astype("int64"),
                "current_dois": base["current_dois"].astype("int64"),
                "backfile_dois": base["backfile_dois"].astype("int64"),
                "counts_type": [
                    json.dumps(counts_type.get(int(m), {}), sort_keys=True) for m in ids
                ],
                "dois_by_year": [
                    json.dumps(dict(sorted(by_year.get(int(m), {}).items()))) for m in ids
                ],
                "last_status_check": base["last_status_check"].astype("int64"),
            }
        )
        return members

    def close(self) -> None:
        self.con.close()


# --------------------------------------------------------------------------------------------
# Helpers of the streaming path
# --------------------------------------------------------------------------------------------
def _repeat_categorical(values: pd.Series, k: int) -> pd.Categorical:
    """Each value ``k`` times, as a categorical."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return pd.Categorical.from_codes(np.repeat(codes, k), categories=list(uniques))


def _uncompressed_size(path: Path, compression: str) -> int | None:
    """Size of the data: the file size, or gzip's ISIZE trailer (exact for one member < 4 GB)."""
    size = path.stat().st_size
    if compression == "none":
        return size
    if compression != "gzip" or size < 18:
        return None
    with open(path, "rb") as fh:
        fh.seek(-4, os.SEEK_END)
        return int.from_bytes(fh.read(4), "little")


def _split_lines(chunk: bytes) -> pa.Array:
    """The lines of ``chunk`` (split on ``\\n``, no Python loop) as a binary array."""
    arr = pa.array([chunk], pa.large_binary())
    return pc.split_pattern(arr, pattern=b"\n").flatten()


def _decode_lines(lines: pa.Array) -> tuple[pa.Array, list[int]]:
    """UTF-8 decode line by line (only when the chunk as a whole is not valid UTF-8)."""
    out: list[str] = []
    bad: list[int] = []
    for i, raw in enumerate(lines.to_pylist()):
        try:
            out.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append(i)
            out.append("")
    return pa.array(out, pa.large_string()), bad


def _json_error(line: str | None) -> str:
    try:
        json.loads(line or "")
    except ValueError as exc:
        msg = getattr(exc, "msg", str(exc))
        col = getattr(exc, "colno", None)
        return f"invalid JSON: {msg}" + (f" (column {col})" if col else "")
    return "invalid JSON"


def _json_kind(duck_type: str | None) -> str:
    return {
        "ARRAY": "array",
        "VARCHAR": "string",
        "NULL": "null",
        "BOOLEAN": "boolean",
        "UBIGINT": "number",
        "BIGINT": "number",
        "DOUBLE": "number",
    }.get(str(duck_type), str(duck_type).lower())


def _py_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


_WS = re.compile(r"[ \t\n\r]*")


def _scan_items(text: str) -> tuple[list[tuple[int, Any]], tuple[int, str] | None]:
    """Items of ``{"items": [...]}`` with their line numbers, up to the first problem.

    Returns ``(items, problem)``; ``problem`` is ``(line, message)`` when the document does not
    parse to the end (truncated, malformed or not the expected shape).
    """
    decoder = json.JSONDecoder()
    items: list[tuple[int, Any]] = []
    newlines = [m.start() for m in re.finditer("\n", text)]

    def line_of(pos: int) -> int:
        return int(np.searchsorted(newlines, pos, side="left")) + 1 if newlines else 1

    m = re.compile(r'\s*\{\s*"items"\s*:\s*\[').match(text)
    if not m:
        return items, (1, 'not a {"items": [...]} document')
    pos = m.end()
    end = len(text)
    first = True
    while True:
        pos = _WS.match(text, pos).end()
        if pos >= end:
            return items, (line_of(end), "document ends inside the items list")
        if text[pos] == "]":
            pos += 1
            break
        if not first:
            if text[pos] != ",":
                return items, (line_of(pos), "invalid JSON: expected ',' or ']' in items")
            pos = _WS.match(text, pos + 1).end()
        try:
            item, new_pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return items, (exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})")
        items.append((line_of(pos), item))
        pos = new_pos
        first = False
    rest = text[pos:]
    try:
        tail_ok = re.fullmatch(r"\s*(,\s*\"[^\"]*\"\s*:[\s\S]*)?\}\s*", rest) is not None
    except RecursionError:  # pragma: no cover
        tail_ok = False
    if not tail_ok:
        return items, (line_of(pos), "invalid JSON after the items list")
    return items, None


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------
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
        job = _Ingest(year, strict, progress, memory_limit, threads, tmpdir)
        try:
            reports = job.run(files)
            members, coverage, years, max_ms = job.tables()
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
            from cache.settings import Settings
            from cache.snapshots import SnapshotStore

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


def evaluate_records(records: Iterable[dict | str], *, reader: str = "from_json") -> pd.DataFrame:
    """The SQL metrics on each record, one row per record, in order (for tests and checks).

    ``reader``: ``"from_json"`` (the streaming path's parse) or ``"read_ndjson"`` (the fast
    path's: the records go through a temporary JSON Lines file). Columns: every key of
    :data:`cache.bulk_sql.METRIC_SQL` (bool), ``<key>:num`` and ``<key>:den`` for each depth
    metric, ``member_id`` and ``year``.
    """
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute("SET enable_progress_bar = false").fetchall()
        with tempfile.TemporaryDirectory(prefix="bulk-eval-") as tmp:
            for macro in bulk_sql.MACROS:
                con.execute(macro).fetchall()
            if reader == "read_ndjson":
                path = Path(tmp) / "records.jsonl"
                path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
                q = (
                    "SELECT row_number() OVER () - 1 AS i, t AS w FROM read_ndjson("
                    f"{_sql_str(str(path))}, columns={bulk_sql.WORK_COLUMNS_SQL}, "
                    "ignore_errors=true) t"
                )
            elif reader == "from_json":
                table = pa.table(
                    {
                        "i": pa.array(range(len(lines)), pa.int64()),
                        "line": pa.array(lines, pa.large_string()),
                    }
                )
                con.register("recs", table)
                q = f"SELECT i, from_json(line, '{bulk_sql.WORK_STRUCTURE_JSON}') AS w FROM recs"
            else:
                raise ValueError(f"reader must be from_json or read_ndjson, not {reader!r}")
            for level in bulk_sql.HELPER_SQL:
                q = (
                    "SELECT *, "
                    + ", ".join(f"{e} AS {n}" for n, e in level.items())
                    + f" FROM ({q})"
                )
            cols = [f'coalesce({e}, false) AS "{k}"' for k, e in bulk_sql.METRIC_SQL.items()]
            for k, (num, den) in bulk_sql.SHARE_SQL.items():
                cols += [f'{num} AS "{k}:num"', f'{den} AS "{k}:den"']
            cols += [
                "TRY_CAST(trim(w.member) AS BIGINT) AS member_id",
                f"{bulk_sql.YEAR_SQL} AS year",
            ]
            return con.execute(f"SELECT {', '.join(cols)} FROM ({q}) ORDER BY i").df()
    finally:
        con.close()


def _file_order(reports: list[FileReport], path: str) -> int:
    for i, r in enumerate(reports):
        if r.path == path:
            return i
    return len(reports)

