"""The final tables: the scored works summed per member × content type × issued year and
rolled up to the periods of docs/architecture.md §5, as the snapshot contract's members,
coverage and years frames."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from cache.jobs.bulk import sql
from cache.jobs.bulk.job import METRIC_COLS, SHARE_COLS, SUM_COLS, Job

SOURCE = "bulk"


def tables(job: Job) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int | None]:
    """(members, coverage, years, max indexed timestamp) from the scored works (after
    :meth:`Job.deduplicate`): summed per member × publisher × prefix × type × issued year, then
    per period."""
    y = job.current_year
    counts = [f"count_if({c})::BIGINT AS {c}" for c in METRIC_COLS]
    counts += [f"sum({c})::BIGINT AS {c}" for pair in SHARE_COLS for c in pair]
    job.execute(
        "CREATE OR REPLACE TEMP TABLE part AS SELECT member_id, publisher, prefix, type, year, "
        "count(*)::BIGINT AS n, max(indexed_ms) AS indexed_ms, "
        + ", ".join(counts)
        + " FROM works WHERE status = 0 GROUP BY ALL"
    )
    sums = ", ".join(f"sum({c})::BIGINT AS {c}" for c in SUM_COLS)
    job.execute(
        "CREATE OR REPLACE TEMP TABLE by_year AS "
        f"SELECT member_id, type, year, {sums} FROM part GROUP BY ALL"
    )
    period = (
        f"CASE WHEN year IS NULL THEN NULL WHEN year >= {y - 2} THEN 'current' ELSE 'backfile' END"
    )
    job.execute(
        "CREATE OR REPLACE TEMP TABLE by_period AS "
        f"SELECT member_id, type, {period} AS period, {sums} FROM by_year "
        f"WHERE year IS NOT NULL GROUP BY ALL "
        f"UNION ALL SELECT member_id, type, 'all' AS period, {sums} FROM by_year GROUP BY ALL"
    )
    # every (member, type) of `all` gets a row in every period, with total 0 when empty
    zeros = ", ".join(f"0::BIGINT AS {c}" for c in SUM_COLS)
    job.execute(
        "INSERT INTO by_period SELECT a.member_id, a.type, p.period, "
        f"{zeros} FROM (SELECT DISTINCT member_id, type FROM by_period) a "
        "CROSS JOIN (VALUES ('current'), ('backfile')) p(period) "
        "ANTI JOIN by_period b ON a.member_id = b.member_id AND a.type = b.type "
        "AND b.period = p.period"
    )
    coverage = _long(job, "by_period", ["member_id", "type", "period"], with_ci=True)
    years = _long(
        job, "by_year WHERE year IS NOT NULL", ["member_id", "type", "year"], with_ci=False
    )
    members = _members(job)
    max_ms = job.execute("SELECT max(indexed_ms) FROM part")[0][0]
    return members, coverage, years, (int(max_ms) if max_ms is not None else None)


def _long(job: Job, table: str, keys: list[str], *, with_ci: bool) -> pd.DataFrame:
    """Wide per-key sums → the contract's long rows (one per metric), melted in numpy."""
    order = [*keys[:2]]
    if "period" in keys:
        order.append("CASE period WHEN 'current' THEN 0 WHEN 'backfile' THEN 1 ELSE 2 END")
    if "year" in keys:
        order.append("year")
    wide = job.con.execute(
        f"SELECT {', '.join(keys)}, {', '.join(SUM_COLS)} FROM {table} ORDER BY {', '.join(order)}"
    ).df()
    metric_keys = [*sql.METRIC_SQL, *sql.SHARE_SQL]
    k = len(metric_keys)
    n = len(wide)
    totals = wide["n"].to_numpy(dtype=np.int64)
    covered = np.empty((n, k), dtype=np.int64)
    total = np.empty((n, k), dtype=np.int64)
    for j, col in enumerate(METRIC_COLS):
        covered[:, j] = wide[col].to_numpy(dtype=np.int64)
        total[:, j] = totals
    for j, (ncol, dcol) in enumerate(SHARE_COLS, start=len(METRIC_COLS)):
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


def _members(job: Job) -> pd.DataFrame:
    con = job.con
    y = job.current_year
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
            "counts_type": [json.dumps(counts_type.get(int(m), {}), sort_keys=True) for m in ids],
            "dois_by_year": [
                json.dumps(dict(sorted(by_year.get(int(m), {}).items()))) for m in ids
            ],
            "last_status_check": base["last_status_check"].astype("int64"),
        }
    )
    return members


def _repeat_categorical(values: pd.Series, k: int) -> pd.Categorical:
    """Each value ``k`` times, as a categorical."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    return pd.Categorical.from_codes(np.repeat(codes, k), categories=list(uniques))
