"""One ingest's DuckDB session: the connection, the table of scored works every path writes
into (one narrow row per work: DOI, timestamps, grouping keys, one boolean per metric),
duplicate removal, malformed-line bookkeeping and progress."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cache.jobs.bulk import sql
from cache.jobs.bulk.results import BulkIngestError, BulkIssue, FileReport

DEFAULT_MEMORY_LIMIT = "1GB"
#: Malformed lines kept in BulkResult.errors (the count is always exact).
MAX_LISTED_ERRORS = 1000
UNKNOWN_TYPE = "unknown"

ProgressFn = Callable[[int, int], None]

METRIC_COLS = [sql.column_name(k) for k in sql.METRIC_SQL]
SHARE_COLS = [(sql.column_name(k) + "_num", sql.column_name(k) + "_den") for k in sql.SHARE_SQL]
SUM_COLS = ["n", *METRIC_COLS, *[c for pair in SHARE_COLS for c in pair]]
KEY_COLS = ["member_id", "publisher", "prefix", "type", "year"]


def _work_rows_sql(source: str) -> str:
    """One row per record of ``source``: status, DOI, timestamps, keys and metric values.

    ``source`` yields ``w`` (the parsed work), ``json`` (raw text, or NULL when unknown),
    ``invalid`` (the line did not parse) and ``filename``. ``status``: 0 scored, 1 no member
    (an object without one, or, when ``json`` is unknown, anything that came out as NULLs),
    2 invalid JSON, 3 valid JSON that is not an object.
    """
    q = sql.with_helpers(
        f"SELECT w, json, invalid, filename, {sql.MEMBER_SQL} AS member_id FROM ({source})"
    )
    status = (
        "CASE WHEN invalid THEN 2 WHEN member_id IS NOT NULL THEN 0 "
        "WHEN json IS NOT NULL AND json_type(json) <> 'OBJECT' THEN 3 ELSE 1 END"
    )
    cols = [
        f"coalesce({expr}, false) AS {sql.column_name(key)}" for key, expr in sql.METRIC_SQL.items()
    ]
    for (num, den), (ncol, dcol) in zip(sql.SHARE_SQL.values(), SHARE_COLS, strict=True):
        cols += [f"coalesce({num}, 0)::INTEGER AS {ncol}", f"coalesce({den}, 0)::INTEGER AS {dcol}"]
    return (
        f"SELECT filename, {status} AS status, {sql.DOI_SQL} AS doi, "
        f"{sql.INDEXED_SQL} AS indexed_ms, {sql.DEPOSITED_SQL} AS deposited_ms, member_id, "
        "coalesce(w.publisher, '') AS publisher, coalesce(w.prefix, '') AS prefix, "
        f"coalesce(nullif(trim(w.type), ''), '{UNKNOWN_TYPE}') AS type, "
        f"{sql.YEAR_SQL} AS year, " + ", ".join(cols) + f" FROM ({q})"
    )


_WORK_COLUMNS = (
    "ins INTEGER, file_id INTEGER, status TINYINT, doi VARCHAR, indexed_ms BIGINT, "
    "deposited_ms BIGINT, member_id BIGINT, publisher VARCHAR, prefix VARCHAR, type VARCHAR, "
    "year BIGINT, "
    + ", ".join(
        [f"{c} BOOLEAN" for c in METRIC_COLS] + [f"{c} INTEGER" for p in SHARE_COLS for c in p]
    )
)


class Job:
    """The state of one ingest: a DuckDB database in ``tmpdir`` (so the per-work table can
    outgrow memory: DuckDB compresses it on disk), the files registered so far, malformed-line
    issues, damaged files and progress in compressed bytes."""

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
        self.tmpdir = Path(tmpdir)
        self.con = duckdb.connect(
            str(self.tmpdir / "bulk.duckdb"),
            config={
                "memory_limit": memory_limit,
                "threads": threads or max(1, min(os.cpu_count() or 1, 8)),
                "preserve_insertion_order": False,
                "temp_directory": str(self.tmpdir / "spill"),
            },
        )
        self.execute("SET enable_progress_bar = false")  # the CLI draws its own (bytes read)
        for macro in sql.MACROS:
            self.execute(macro)
        self.execute(f"CREATE TABLE works ({_WORK_COLUMNS})")
        self.execute("CREATE TABLE files (filename VARCHAR, file_id INTEGER)")
        self.errors: list[BulkIssue] = []
        self.error_count = 0
        self.bytes_done = 0
        self.bytes_total = 0
        self.file_ids: dict[str, int] = {}
        self.names: dict[str, str] = {}  # read path -> name shown
        self.duplicates = 0
        self._inserts = 0

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run a statement to completion (DuckDB 2 refuses new work with a result pending)."""
        return self.con.execute(statement, list(params)).fetchall()

    # -- bookkeeping -----------------------------------------------------------------------
    def register(self, reports: Sequence[FileReport]) -> None:
        """Give each new file an id (DuckDB reports rows by file name)."""
        new = [r for r in reports if r.path not in self.file_ids]
        if not new:
            return
        start = len(self.file_ids) + 1
        for i, r in enumerate(new):
            self.file_ids[r.path] = start + i
            self.names[r.path] = r.name
        table = pa.table(
            {
                "filename": [r.path for r in new],
                "file_id": pa.array([self.file_ids[r.path] for r in new], pa.int32()),
            }
        )
        self.con.register("files_df", table)
        try:
            self.execute("INSERT INTO files SELECT * FROM files_df")
        finally:
            self.con.unregister("files_df")

    def tick(self, extra: int = 0) -> None:
        """Report progress: compressed bytes done so far (plus ``extra`` of the current file)."""
        if self.progress is not None:
            total = max(self.bytes_total, self.bytes_done + extra)
            self.progress(min(self.bytes_done + extra, total), total)

    def done(self, report: FileReport) -> None:
        """``report`` is scored: count its bytes as done."""
        self.bytes_done += report.bytes
        self.tick()

    def issue(self, report: FileReport, line: int, message: str) -> None:
        """A malformed line (1-based); raises under ``strict``."""
        report.errors += 1
        self.error_count += 1
        issue = BulkIssue(report.name, line, message)
        if self.strict:
            raise BulkIngestError(f"malformed input at {issue}", report.name, line)
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(issue)

    def damage(self, report: FileReport, line: int, message: str) -> None:
        """The data of ``report`` broke off (truncated or corrupt compressed stream) at line
        ``line``: recorded on the report (listed first in the summary) and as an issue."""
        report.damage = message
        self.issue(report, line, message)

    # -- the works table ---------------------------------------------------------------------
    def insert(self, source: str, params: Sequence[Any] = ()) -> dict[tuple[str, int], int]:
        """Add the records of ``source`` to ``works``; returns row counts per (file, status)."""
        self._inserts += 1
        ins = self._inserts
        self.execute(
            f"INSERT INTO works SELECT {ins}, f.file_id, r.* EXCLUDE (filename) "
            f"FROM ({_work_rows_sql(source)}) r JOIN files f USING (filename)",
            params,
        )
        stats = self.execute(
            "SELECT f.filename, w.status, count(*)::BIGINT FROM works w JOIN files f "
            f"USING (file_id) WHERE w.ins = {ins} GROUP BY ALL"
        )
        return {(str(f), int(s)): int(n) for f, s, n in stats}

    def forget(self, report: FileReport) -> None:
        """Drop every row of ``report`` (before scoring it again another way)."""
        self.execute("DELETE FROM works WHERE file_id = ?", [self.file_ids[report.path]])

    def deduplicate(self) -> int:
        """Keep one row per DOI (compared case-insensitively): the latest by ``indexed``, then
        ``deposited``, then the later file. Returns the number of rows dropped; rows without a
        DOI are all kept."""
        self.execute(
            "CREATE OR REPLACE TEMP TABLE losers AS "
            "WITH d AS (SELECT doi FROM works WHERE status = 0 AND doi IS NOT NULL "
            "GROUP BY doi HAVING count(*) > 1) "
            "SELECT rid FROM (SELECT w.rowid AS rid, row_number() OVER (PARTITION BY w.doi "
            "ORDER BY w.indexed_ms DESC NULLS LAST, w.deposited_ms DESC NULLS LAST, "
            "w.file_id DESC, w.ins DESC, w.rowid DESC) AS rank "
            "FROM works w SEMI JOIN d USING (doi) WHERE w.status = 0) WHERE rank > 1"
        )
        dropped = int(self.execute("SELECT count(*) FROM losers")[0][0])
        if dropped:
            self.execute("DELETE FROM works WHERE rowid IN (SELECT rid FROM losers)")
        self.execute("DROP TABLE losers")
        self.duplicates = dropped
        return dropped

    def close(self) -> None:
        self.con.close()
