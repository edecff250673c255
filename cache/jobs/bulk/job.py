"""One ingest's DuckDB session: the connection, the table of partial aggregates every path
writes into (and its compaction), malformed-line bookkeeping and progress."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import duckdb

from cache.jobs.bulk import sql
from cache.jobs.bulk.results import BulkIngestError, BulkIssue, FileReport

DEFAULT_MEMORY_LIMIT = "1GB"
#: Malformed lines kept in BulkResult.errors (the count is always exact).
MAX_LISTED_ERRORS = 1000
#: Compacting the partial-aggregate table once it holds this many rows keeps it small.
COMPACT_ROWS = 2_000_000
UNKNOWN_TYPE = "unknown"

ProgressFn = Callable[[int, int], None]

METRIC_COLS = [sql.column_name(k) for k in sql.METRIC_SQL]
SHARE_COLS = [(sql.column_name(k) + "_num", sql.column_name(k) + "_den") for k in sql.SHARE_SQL]
SUM_COLS = ["n", *METRIC_COLS, *[c for pair in SHARE_COLS for c in pair]]
KEY_COLS = ["member_id", "publisher", "prefix", "type", "year"]


def _aggregate_sql(source: str) -> str:
    """Partial aggregates of ``source``, grouped by file, status and the key columns.

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
    aggs = [
        f"count(*) FILTER (WHERE coalesce({expr}, false)) AS {sql.column_name(key)}"
        for key, expr in sql.METRIC_SQL.items()
    ]
    for (num, den), (ncol, dcol) in zip(sql.SHARE_SQL.values(), SHARE_COLS, strict=True):
        aggs += [f"coalesce(sum({num}), 0) AS {ncol}", f"coalesce(sum({den}), 0) AS {dcol}"]
    return (
        f"SELECT filename, {status} AS status, member_id, "
        "coalesce(w.publisher, '') AS publisher, coalesce(w.prefix, '') AS prefix, "
        f"coalesce(nullif(trim(w.type), ''), '{UNKNOWN_TYPE}') AS type, "
        f"{sql.YEAR_SQL} AS year, "
        "count(*) AS n, max(w.indexed.timestamp) AS indexed_ms, "
        + ", ".join(aggs)
        + f" FROM ({q}) GROUP BY ALL"
    )


_PART_COLUMNS = (
    "file_id INTEGER, status INTEGER, member_id BIGINT, publisher VARCHAR, prefix VARCHAR, "
    "type VARCHAR, year BIGINT, n BIGINT, indexed_ms BIGINT, "
    + ", ".join(f"{c} BIGINT" for c in SUM_COLS[1:])
)


class Job:
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
        self.execute("SET enable_progress_bar = false")  # the CLI draws its own (bytes read)
        for macro in sql.MACROS:
            self.execute(macro)
        self.execute(f"CREATE TEMP TABLE part ({_PART_COLUMNS})")
        self.execute("CREATE TEMP TABLE files (filename VARCHAR, file_id INTEGER)")
        self.errors: list[BulkIssue] = []
        self.error_count = 0
        self.bytes_done = 0
        self.bytes_total = 0
        self.file_ids: dict[str, int] = {}

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run a statement to completion (DuckDB 2 refuses new work with a result pending)."""
        return self.con.execute(statement, list(params)).fetchall()

    # -- bookkeeping -----------------------------------------------------------------------
    def tick(self, extra: int = 0) -> None:
        if self.progress is not None:
            self.progress(min(self.bytes_done + extra, self.bytes_total), self.bytes_total)

    def done(self, report: FileReport) -> None:
        self.bytes_done += report.bytes
        self.tick()

    def issue(self, report: FileReport, line: int, message: str) -> None:
        report.errors += 1
        self.error_count += 1
        issue = BulkIssue(report.path, line, message)
        if self.strict:
            raise BulkIngestError(f"malformed input at {issue}", report.path, line)
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(issue)

    # -- partial table ---------------------------------------------------------------------
    def insert(self, source: str, params: Sequence[Any] = ()) -> dict[tuple[str, int], int]:
        """Aggregate ``source`` into ``part``; returns row counts per (file, status)."""
        self.execute("CREATE OR REPLACE TEMP TABLE cur AS " + _aggregate_sql(source), params)
        self.execute(
            "INSERT INTO part SELECT f.file_id, c.* EXCLUDE (filename) "
            "FROM cur c JOIN files f USING (filename) WHERE c.status = 0"
        )
        stats = self.execute("SELECT filename, status, sum(n)::BIGINT FROM cur GROUP BY ALL")
        unknown = {str(f) for f, _, _ in stats} - set(self.file_ids)
        if unknown:  # never drop works silently: this would be a bug, say so loudly
            raise RuntimeError(f"DuckDB reported unexpected file names {sorted(unknown)}")
        return {(str(f), int(s)): int(n) for f, s, n in stats}

    def compact_if_big(self) -> None:
        """Sum the partial rows of finished files once there are many (between files only)."""
        rows = self.execute("SELECT count(*) FROM part")[0][0]
        if rows < COMPACT_ROWS:
            return
        sums = {c: f"sum({c})::BIGINT" for c in SUM_COLS}
        cols = [
            "0 AS file_id",
            "status",
            *KEY_COLS,
            sums["n"],
            "max(indexed_ms)",
            *[sums[c] for c in SUM_COLS[1:]],
        ]
        self.execute(
            f"CREATE OR REPLACE TEMP TABLE part2 AS SELECT {', '.join(cols)} FROM part "
            f"GROUP BY status, {', '.join(KEY_COLS)}"
        )
        self.execute("DELETE FROM part")
        self.execute("INSERT INTO part SELECT * FROM part2")
        self.execute("DROP TABLE part2")

    def close(self) -> None:
        self.con.close()
