"""A small synthetic snapshot in the contract's shape (docs/architecture.md §3), for page tests.

Deterministic (seeded), written through the real `SnapshotStore.publish`, with one member whose
name is HTML (`HOSTILE_NAME`) and one whose name starts with '=' (CSV formula injection).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

HOSTILE_NAME = '<script>alert(1)</script><img src=x onerror="alert(2)"> Hostile Press'
HOSTILE_ID = 999001
FORMULA_NAME = '=HYPERLINK("http://evil.example","click")'
FORMULA_ID = 999002

TYPES = ("journal-article", "book-chapter", "proceedings-article", "dataset")
COUNTRIES = [
    ("IDN", "Indonesia", True),
    ("USA", "United States", False),
    ("BRA", "Brazil", False),
    ("GBR", "United Kingdom", False),
    ("JPN", "Japan", False),
    ("BGD", "Bangladesh", True),
    ("GHA", "Ghana", True),
    ("", "", False),
]


def coverage_keys() -> list[str]:
    import metrics

    keys = [m.key for m in metrics.REGISTRY.values() if getattr(m, "coverage_key", None)]
    extra = [k for k in ("clinical-trial-numbers", "funder-doi") if k in metrics.REGISTRY]
    return keys + extra


def make_tables(n_members: int = 240, seed: int = 7, current_year: int = 2026):
    rng = np.random.default_rng(seed)
    keys = coverage_keys()
    member_rows, cov_rows = [], []
    ids = [*list(range(1000, 1000 + n_members - 2)), HOSTILE_ID, FORMULA_ID]
    for n, mid in enumerate(ids):
        c, cname, gem = COUNTRIES[n % len(COUNTRIES)]
        size = int(rng.choice([5, 40, 300, 2500, 40000], p=[0.25, 0.3, 0.25, 0.15, 0.05]))
        types = {"journal-article": size}
        if rng.random() < 0.4:
            types["book-chapter"] = int(size * rng.uniform(0.1, 1.0)) + 1
        if rng.random() < 0.2:
            types["proceedings-article"] = int(size * rng.uniform(0.05, 0.5)) + 1
        if rng.random() < 0.1:
            types["dataset"] = int(rng.integers(1, 50))
        if n % 17 == 3:  # a member with only book chapters: journal-article N/A
            types = {"book-chapter": size}
        cur_share = rng.uniform(0.1, 0.6)
        counts = {"all": {}, "current": {}, "backfile": {}}
        for t, tot in types.items():
            cur = round(tot * cur_share)
            counts["all"][t], counts["current"][t], counts["backfile"][t] = tot, cur, tot - cur
        if n % 23 == 5:  # nothing current at all
            for t in types:
                counts["backfile"][t] += counts["current"][t]
                counts["current"][t] = 0
        name = (
            HOSTILE_NAME
            if mid == HOSTILE_ID
            else FORMULA_NAME
            if mid == FORMULA_ID
            else f"Fictitious {['Press', 'University', 'Society', 'Journals'][n % 4]} {mid}"
        )
        total = sum(types.values())
        years = {
            str(current_year - k): int(total * w)
            for k, w in enumerate([0.15, 0.2, 0.15, 0.1, 0.1, 0.3])
        }
        member_rows.append(
            {
                "member_id": mid,
                "name": name,
                "location": cname or "Atlantis",
                "country": c,
                "country_name": cname,
                "gem": gem,
                "prefixes": f"10.{5000 + n}",
                "total_dois": total,
                "current_dois": sum(counts["current"].values()),
                "backfile_dois": sum(counts["backfile"].values()),
                "counts_type": json.dumps(counts),
                "dois_by_year": json.dumps(years),
                "last_status_check": 1_763_700_000_000,
            }
        )
        skill = rng.beta(1.2, 1.5)
        for period in ("current", "backfile", "all"):
            for t in types:
                tot = counts[period][t]
                for k in keys:
                    p = (
                        0.0
                        if (
                            k
                            in (
                                "funders",
                                "award-numbers",
                                "ror-ids",
                                "funder-doi",
                                "clinical-trial-numbers",
                            )
                            and rng.random() < 0.7
                        )
                        else min(1.0, max(0.0, skill + rng.normal(0, 0.2)))
                    )
                    cov = round(p * tot)
                    cov_rows.append((mid, t, period, k, cov, tot, (cov / tot) if tot else np.nan))
    members = pd.DataFrame(member_rows)
    coverage = pd.DataFrame(
        cov_rows,
        columns=["member_id", "content_type", "period", "metric", "covered", "total", "coverage"],
    )
    # "all" = current + backfile exactly
    cur = coverage[coverage.period == "current"].set_index(["member_id", "content_type", "metric"])
    back = coverage[coverage.period == "backfile"].set_index(
        ["member_id", "content_type", "metric"]
    )
    allp = (cur[["covered", "total"]] + back[["covered", "total"]]).reset_index()
    allp["period"] = "all"
    allp["coverage"] = allp["covered"] / allp["total"].where(allp["total"] > 0)
    coverage = pd.concat([coverage[coverage.period != "all"], allp], ignore_index=True)
    coverage["source"] = "coverage-type"
    coverage["ci_low"] = np.nan
    coverage["ci_high"] = np.nan
    coverage["member_id"] = coverage["member_id"].astype("int64")
    coverage["covered"] = coverage["covered"].astype("int64")
    coverage["total"] = coverage["total"].astype("int64")
    return members, coverage


def publish(
    data_dir: Path,
    n_members: int = 240,
    seed: int = 7,
    created: dt.datetime | None = None,
    source: str = "demo",
) -> str:
    from cache.store.snapshots import SnapshotStore

    members, coverage = make_tables(n_members, seed)
    created = created or dt.datetime(2026, 11, 20, 6, 0, tzinfo=dt.UTC)
    meta = {
        "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source": source,
        "api_url": "http://127.0.0.1:0",
        "members": len(members),
        "requests": 1,
        "retries": 0,
        "http_429": 0,
        "duration_s": 0.1,
        "current_year": 2026,
        "data_as_of": (created - dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    store = SnapshotStore(data_dir)
    try:
        return store.publish(members, coverage, meta)
    except TypeError:  # older signature
        return store.publish(members=members, coverage=coverage, meta=meta)
