"""The metric SQL on individual records, one row each (for tests and checks of the SQL against
the registry's Python predicates)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from cache.jobs.bulk import sql


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def evaluate_records(records: Iterable[dict | str], *, reader: str = "from_json") -> pd.DataFrame:
    """The SQL metrics on each record, one row per record, in order (for tests and checks).

    ``reader``: ``"from_json"`` (the streaming path's parse) or ``"read_ndjson"`` (the fast
    path's: the records go through a temporary JSON Lines file). Columns: every key of
    :data:`cache.jobs.bulk.sql.METRIC_SQL` (bool), ``<key>:num`` and ``<key>:den`` for each depth
    metric, ``member_id`` and ``year``.
    """
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    con = duckdb.connect(config={"threads": 1})
    try:
        con.execute("SET enable_progress_bar = false").fetchall()
        with tempfile.TemporaryDirectory(prefix="bulk-eval-") as tmp:
            for macro in sql.MACROS:
                con.execute(macro).fetchall()
            if reader == "read_ndjson":
                path = Path(tmp) / "records.jsonl"
                path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
                q = (
                    "SELECT row_number() OVER () - 1 AS i, t AS w FROM read_ndjson("
                    f"{_sql_str(str(path))}, columns={sql.WORK_COLUMNS_SQL}, "
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
                q = f"SELECT i, from_json(line, '{sql.WORK_STRUCTURE_JSON}') AS w FROM recs"
            else:
                raise ValueError(f"reader must be from_json or read_ndjson, not {reader!r}")
            q = sql.with_helpers(q)
            cols = [f'coalesce({e}, false) AS "{k}"' for k, e in sql.METRIC_SQL.items()]
            for k, (num, den) in sql.SHARE_SQL.items():
                cols += [f'{num} AS "{k}:num"', f'{den} AS "{k}:den"']
            cols += [f"{sql.MEMBER_SQL} AS member_id", f"{sql.YEAR_SQL} AS year"]
            return con.execute(f"SELECT {', '.join(cols)} FROM ({q}) ORDER BY i").df()
    finally:
        con.close()
