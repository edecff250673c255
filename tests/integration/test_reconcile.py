"""Reconciliation: bulk ingest = registry predicates = the mock API's filter counts.

All works of a few mock members are pulled over loopback with a cursor (plain urllib, as any
client would) and written to a temporary .jsonl.gz. Then, for every member × content type ×
period and every metric, three independent counts must be identical:

(a) ``cache.jobs.bulk.ingest`` (DuckDB SQL over the file);
(b) ``metrics.REGISTRY[key].predicate`` / ``.share`` in Python over the same records;
(c) the mock's ``/works?filter=member:…,type:…,<metric filter>[,from/until-pub-date]&rows=0``
    ``total-results``, for every metric that has a ``works_filter`` or a ``count_filter``;
(d) and, for the 12 metrics of the member summary, the mock's ``/members/{id}``
    ``coverage-type`` (with ``counts-type`` as the totals).
"""

from __future__ import annotations

import gzip
import json
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

import metrics
from cache.jobs import bulk
from mock_crossref import MockCrossref, Population

pytestmark = pytest.mark.slow

YEAR = 2026
N_MEMBERS = 500
SEED = 20260616
PICK = 4
PERIOD_FILTER = {
    "current": f"from-pub-date:{YEAR - 2}",
    "backfile": f"until-pub-date:{YEAR - 3}",
    "all": None,
}


def get(base: str, path: str, params: dict[str, str | int]) -> dict:
    url = f"{base}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=60) as resp:
        body = json.load(resp)
    assert body["status"] == "ok", body
    return body["message"]


@pytest.fixture(scope="module")
def mock_url():
    population = Population(N_MEMBERS, seed=SEED, current_year=YEAR)
    server = MockCrossref(population)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def pick_members(base: str) -> list[dict]:
    """Members with a few hundred works in both periods that together have most elements.

    Greedy: each pick adds the most coverage keys (from the member summary) not yet covered.
    """
    items = get(base, "/members", {"rows": 1000})["items"]
    assert len(items) == N_MEMBERS
    fit = sorted(
        (
            m
            for m in items
            if 150 <= m["counts"]["total-dois"] <= 1000
            and m["counts-type"]["current"]
            and m["counts-type"]["backfile"]
        ),
        key=lambda m: m["id"],
    )

    def keys(m: dict) -> set[str]:
        return {k.rsplit("-", 1)[0] for k, v in m["coverage"].items() if v and v > 0}

    chosen: list[dict] = []
    seen: set[str] = set()
    for _ in range(PICK):
        best = max(
            (m for m in fit if m not in chosen), key=lambda m: (len(keys(m) - seen), len(keys(m)))
        )
        chosen.append(best)
        seen |= keys(best)
    return chosen


def harvest(base: str, member_id: int, pages: list[bytes] | None = None) -> list[dict]:
    """Every work of a member, cursor-paged; each response body is kept in ``pages`` as is."""
    works: list[dict] = []
    cursor = "*"
    while True:
        params = {"cursor": cursor, "rows": 1000}
        url = f"{base}/members/{member_id}/works?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=60) as resp:
            raw = resp.read()
        body = json.loads(raw)
        assert body["status"] == "ok", body
        msg = body["message"]
        if pages is not None:
            pages.append(raw)
        works += msg["items"]
        if len(msg["items"]) < 1000:
            return works
        cursor = msg["next-cursor"]


def python_counts(works: list[dict]) -> dict[tuple, dict[str, tuple[int, int]]]:
    return metrics.tally_by_slice(works, YEAR, metrics.REGISTRY)


def api_count(base: str, member: int, ctype: str, period: str, clause: str | None) -> int:
    parts = [f"member:{member}", f"type:{ctype}"]
    if PERIOD_FILTER[period]:
        parts.append(PERIOD_FILTER[period])
    if clause:
        parts.append(clause)
    return int(get(base, "/works", {"filter": ",".join(parts), "rows": 0})["total-results"])


@pytest.fixture(scope="module")
def reconciled(mock_url, tmp_path_factory):
    chosen = pick_members(mock_url)
    works: list[dict] = []
    pages: list[bytes] = []
    for m in chosen:
        got = harvest(mock_url, m["id"], pages)
        assert len(got) == m["counts"]["total-dois"], m["id"]
        works += got
    folder = tmp_path_factory.mktemp("reconcile")
    path = folder / "works.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for w in works:
            fh.write(json.dumps(w, ensure_ascii=False) + "\n")
    result = bulk.ingest([path], current_year=YEAR, publish=False)
    # the same responses saved as the API sent them (half gzipped), as harvesters keep them
    saved = folder / "pages"
    saved.mkdir()
    for i, raw in enumerate(pages):
        name = saved / f"page-{i:03d}.json"
        if i % 2:
            name.with_suffix(".json.gz").write_bytes(gzip.compress(raw))
        else:
            name.write_bytes(raw)
    return chosen, works, result, saved


def test_saved_api_pages_score_like_json_lines(reconciled) -> None:
    """Bulk on the /works responses saved as-is gives exactly the JSON Lines tables."""
    _, works, result, saved = reconciled
    pages = bulk.ingest([saved], current_year=YEAR, publish=False)
    assert {f.format for f in pages.files} == {"api-list"}
    assert pages.works == result.works == len(works) and pages.duplicates == 0
    for frame in ("coverage", "years", "members"):
        a = getattr(pages, frame).reset_index(drop=True)
        b = getattr(result, frame).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_categorical=False)


def bulk_counts(result) -> dict[tuple, dict[str, tuple[int, int]]]:
    out: dict[tuple, dict[str, tuple[int, int]]] = {}
    for row in result.coverage.itertuples():
        out.setdefault((row.member_id, row.content_type, row.period), {})[row.metric] = (
            int(row.covered),
            int(row.total),
        )
    return out


def test_bulk_equals_python_predicates(reconciled) -> None:
    _chosen, works, result, _saved = reconciled
    assert result.works == len(works) and result.error_count == 0 and result.no_member == 0
    py = python_counts(works)
    got = bulk_counts(result)
    # bulk also writes empty periods (total 0); everything else must match exactly
    for cell, values in got.items():
        if cell not in py:
            assert all(v == (0, 0) for v in values.values()), cell
            continue
        assert values == py[cell], cell
    assert set(py) <= set(got)
    # the test is only meaningful if the members actually have most elements
    present = {k for vals in py.values() for k, (c, _) in vals.items() if c > 0}
    assert len(present) >= 24, sorted(set(metrics.REGISTRY) - present)


def test_bulk_equals_api_filter_counts(reconciled, mock_url) -> None:
    _chosen, _works, result, _saved = reconciled
    got = bulk_counts(result)
    filtered = {
        key: m.gap_filter(True)
        for key, m in metrics.REGISTRY.items()
        if m.works_filter or m.count_filter
    }
    assert len(filtered) >= 20
    tasks = []
    for (member, ctype, period), values in got.items():
        tasks.append(((member, ctype, period), None, values["references"][1]))
        for key in filtered:
            tasks.append(((member, ctype, period), key, values[key][0]))

    def run(task):
        (member, ctype, period), key, _ = task
        return api_count(mock_url, member, ctype, period, filtered[key] if key else None)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(run, tasks))
    mismatches = [
        (cell, key or "total", expected, answer)
        for (cell, key, expected), answer in zip(tasks, answers, strict=True)
        if expected != answer
    ]
    assert not mismatches, mismatches[:20]
    assert len({t[0][0] for t in tasks}) == PICK


def test_bulk_members_match_the_member_summary(reconciled) -> None:
    chosen, _works, result, _saved = reconciled
    members = result.members.set_index("member_id")
    for m in chosen:
        row = members.loc[m["id"]]
        assert row["name"] == m["primary-name"]
        assert row["total_dois"] == m["counts"]["total-dois"]
        assert row["current_dois"] == m["counts"]["current-dois"]
        assert row["backfile_dois"] == m["counts"]["backfile-dois"]
        counts_type = json.loads(row["counts_type"])
        for period in ("all", "current", "backfile"):
            assert counts_type[period] == {
                t: n for t, n in m["counts-type"][period].items() if n
            }, (m["id"], period)


def test_bulk_equals_the_member_summary_coverage(reconciled, mock_url) -> None:
    """(d) For the 12 summary metrics, bulk coverage = the mock's `coverage-type` exactly."""
    chosen, _works, result, _saved = reconciled
    cov = result.coverage
    summary_keys = {m.coverage_key: k for k, m in metrics.REGISTRY.items() if m.coverage_key}
    assert len(summary_keys) == 12
    checked = 0
    for m in chosen:
        member = get(mock_url, f"/members/{m['id']}", {})
        for period, by_type in member["coverage-type"].items():
            for ctype, values in by_type.items():
                total = member["counts-type"][period].get(ctype, 0)
                rows = cov[
                    (cov.member_id == m["id"])
                    & (cov.content_type == ctype)
                    & (cov.period == period)
                ].set_index("metric")
                for ckey, key in summary_keys.items():
                    assert rows.at[key, "total"] == total
                    if total:
                        assert rows.at[key, "covered"] == round(values[ckey] * total)
                        assert abs(rows.at[key, "coverage"] - values[ckey]) < 1e-12
                        checked += 1
    assert checked > 100
