"""Member JSON → snapshot tables (real Crossref fixtures), and refresh jobs over MockTransport."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from cache.crossref.client import CrossrefClient
from cache.crossref.errors import CrossrefError, ErrorBudgetExceeded
from cache.crossref.settings import Settings
from cache.jobs.refresh import COVERAGE_KEYS, members_to_tables, refresh_all, refresh_members
from cache.store.snapshots import COVERAGE_COLUMNS, MEMBER_COLUMNS, SnapshotStore
from tests import FIXTURES

MEMBERS = FIXTURES / "crossref" / "members"


def load(name: str) -> dict:
    path = MEMBERS / name
    return json.loads(path.read_text(encoding="utf-8"))["message"]


@pytest.fixture(scope="module")
def fixtures() -> dict[str, dict]:
    return {
        "hindawi": load("member-98-hindawi.2026-06.json"),
        "allen": load("member-9-allen-press-zero-dois.2022-11.json"),
        "annals": load("member-1-annals-of-family-medicine.2022-11.json"),
        "ama": load("member-10-ama.2022-11.json"),
        "bir": load("member-45-british-institute-of-radiology.2022-11.json"),
    }


def test_coverage_rows_match_crossref_exactly(fixtures: dict[str, dict]) -> None:
    items = list(fixtures.values())
    members, coverage = members_to_tables(items)
    assert list(members.columns) == list(MEMBER_COLUMNS)
    assert list(coverage.columns) == list(COVERAGE_COLUMNS)
    assert set(coverage["metric"]) == set(COVERAGE_KEYS) and len(COVERAGE_KEYS) == 12
    assert set(coverage["source"]) == {"coverage-type"}
    assert coverage["ci_low"].isna().all() and coverage["ci_high"].isna().all()
    for m in items:
        rows = coverage[coverage["member_id"] == m["id"]]
        for period in ("current", "backfile", "all"):
            counts = m["counts-type"][period]
            cov = m["coverage-type"][period]
            got = rows[rows["period"] == period]
            expected_types = set(cov) | set(counts) or set(m["counts-type"]["all"])
            assert set(got["content_type"]) == expected_types
            for row in got.itertuples():
                total = counts.get(row.content_type, 0)
                assert row.total == total
                if total == 0:
                    assert math.isnan(row.coverage) and row.covered == 0
                else:
                    value = cov[row.content_type][row.metric]
                    assert row.coverage == value  # exactly Crossref's float
                    assert row.covered == round(value * total)


def test_all_types_reproduces_flat_coverage(fixtures: dict[str, dict]) -> None:
    for key in ("hindawi", "ama", "bir", "annals"):
        m = fixtures[key]
        _, coverage = members_to_tables([m])
        for period in ("current", "backfile"):
            rows = coverage[coverage["period"] == period]
            if rows["total"].sum() == 0:
                continue
            for metric in COVERAGE_KEYS:
                part = rows[rows["metric"] == metric]
                value = part["covered"].sum() / part["total"].sum()
                assert value == pytest.approx(m["coverage"][f"{metric}-{period}"], abs=1e-5)


def test_empty_period_rows(fixtures: dict[str, dict]) -> None:
    m = fixtures["hindawi"]  # June 2026: "current": {}
    _, coverage = members_to_tables([m])
    current = coverage[coverage["period"] == "current"]
    assert set(current["content_type"]) == set(m["counts-type"]["all"])
    assert len(current) == 12 * len(m["counts-type"]["all"])
    assert (current["total"] == 0).all() and current["coverage"].isna().all()
    # Undated types (journal, component, dataset) count in "all" only.
    all_rows = coverage[(coverage["period"] == "all") & (coverage["content_type"] == "dataset")]
    assert (all_rows["total"] == 1).all()


def test_zero_doi_member_has_no_coverage_rows(fixtures: dict[str, dict]) -> None:
    members, coverage = members_to_tables([fixtures["allen"]])
    assert len(members) == 1 and len(coverage) == 0
    assert members.loc[0, "total_dois"] == 0
    assert str(coverage["coverage"].dtype) == "float64"


def test_member_row(fixtures: dict[str, dict]) -> None:
    members, _ = members_to_tables([fixtures["annals"], fixtures["hindawi"], fixtures["annals"]])
    assert members["member_id"].tolist() == [1, 98]  # duplicates keep the first
    row = members.iloc[0]
    assert row["name"] == "Annals of Family Medicine"
    assert row["location"] == "Leawood, KS, United States"
    assert (row["country"], row["country_name"], row["gem"]) == ("USA", "United States", False)
    assert row["prefixes"] == "10.1370"
    assert (row["total_dois"], row["current_dois"], row["backfile_dois"]) == (2920, 688, 2232)
    assert json.loads(row["counts_type"]) == fixtures["annals"]["counts-type"]
    by_year = json.loads(row["dois_by_year"])
    assert by_year["2022"] == 411 and list(by_year) == sorted(by_year)
    assert row["last_status_check"] == 1667949669715
    assert members.iloc[1]["country"] == "GBR"
    assert members.iloc[1]["prefixes"].startswith("10.7167,10.1100,10.1155")


def test_null_coverage_values_become_nan(fixtures: dict[str, dict]) -> None:
    m = json.loads(json.dumps(fixtures["annals"]))
    m["coverage-type"]["current"]["journal-article"]["orcids"] = None
    del m["coverage-type"]["current"]["proceedings-article"]
    _, coverage = members_to_tables([m])
    cur = coverage[coverage["period"] == "current"].set_index(["content_type", "metric"])
    assert math.isnan(cur.loc[("journal-article", "orcids"), "coverage"])
    assert cur.loc[("journal-article", "orcids"), "total"] == 400
    assert cur.loc[("proceedings-article", "abstracts"), "total"] == 288
    assert math.isnan(cur.loc[("proceedings-article", "abstracts"), "coverage"])


def test_conversion_is_fast(fixtures: dict[str, dict]) -> None:
    import time

    base = list(fixtures.values())
    # These fixtures are big members (~130 coverage rows each, 3x a typical member); a fifth
    # of the population keeps the test short. bench/refresh.py times the full 33k.
    items = [{**base[i % len(base)], "id": i} for i in range(1, 6_601)]  # member ids are > 0
    started = time.perf_counter()
    members, coverage = members_to_tables(items)
    elapsed = time.perf_counter() - started
    assert len(members) == 6_600 and len(coverage) > 800_000
    assert elapsed < 5  # ~1 s here; loose for shared CI cores


# ---------------------------------------------------------------------------------------------
# Jobs over MockTransport
# ---------------------------------------------------------------------------------------------
def population(fixtures: dict[str, dict], n: int) -> list[dict]:
    base = list(fixtures.values())
    return [{**base[i % len(base)], "id": 1000 + i} for i in range(n)]


def serve(items: list[dict], *, fail: bool = False):  # type: ignore[no-untyped-def]
    by_id = {m["id"]: m for m in items}

    def handler(request: httpx.Request) -> httpx.Response:
        if fail:
            return httpx.Response(500, text="Internal Server Error")
        path = request.url.path
        if path == "/members":
            rows = int(request.url.params["rows"])
            offset = int(request.url.params.get("offset", 0))
            message = {"total-results": len(items), "items": items[offset : offset + rows]}
        elif path.startswith("/members/"):
            member = by_id.get(int(path.rsplit("/", 1)[1]))
            if member is None:
                return httpx.Response(404, text="Resource not found.")
            message = member
        else:
            return httpx.Response(404, text="Resource not found.")
        return httpx.Response(200, json={"status": "ok", "message-type": "x", "message": message})

    return httpx.MockTransport(handler)


def client_for(tmp_path: Path, transport: httpx.MockTransport) -> CrossrefClient:
    settings = Settings.from_env(
        environ={"CROSSREF_MAILTO": "me@example.org"},
        data_dir=tmp_path,
        list_rate=1000.0,
        backoff_base_s=0.001,
        pace_margin_s=0.0,
    )
    return CrossrefClient(settings, transport=transport, use_cache=False)


def test_refresh_all_publishes(tmp_path: Path, fixtures: dict[str, dict]) -> None:
    items = population(fixtures, 1200)
    store = SnapshotStore(tmp_path)
    seen: list[tuple[int, int]] = []
    with client_for(tmp_path, serve(items)) as client:
        result = refresh_all(client, store, progress=lambda d, t: seen.append((d, t)), rows=500)
    assert result.members == 1200 and result.requests == 3
    assert seen[0] == (0, 1200) and seen[-1] == (1200, 1200)
    snap = store.load()
    assert snap.id == result.snapshot_id == store.latest_id()
    meta = snap.meta
    assert meta["source"] == "api" and meta["members"] == 1200
    assert meta["requests"] == 3 and meta["retries"] == 0 and meta["http_429"] == 0
    assert isinstance(meta["duration_s"], float) and meta["current_year"] >= 2025
    assert meta["data_as_of"].startswith("2026-06")  # max last-status-check-time (Hindawi 2026)
    assert meta["api_url"] == "https://api.crossref.org"
    assert sorted(snap.members["member_id"]) == list(range(1000, 2200))
    assert "members=1200 requests=3 retries=0 429s=0" in result.summary()


def test_refresh_all_failure_publishes_nothing(tmp_path: Path, fixtures: dict[str, dict]) -> None:
    store = SnapshotStore(tmp_path)
    with client_for(tmp_path, serve(population(fixtures, 10))) as client:
        good = refresh_all(client, store).snapshot_id
    with client_for(tmp_path, serve([], fail=True)) as client, pytest.raises(ErrorBudgetExceeded):
        refresh_all(client, store)
    assert store.latest_id() == good and len(store.list()) == 1


def test_refresh_all_rejects_incomplete_listing(tmp_path: Path, fixtures: dict[str, dict]) -> None:
    items = population(fixtures, 20)

    def handler(request: httpx.Request) -> httpx.Response:
        message = {"total-results": 100, "items": items}  # claims 100, has 20
        return httpx.Response(200, json={"status": "ok", "message": message})

    store = SnapshotStore(tmp_path)
    with (
        client_for(tmp_path, httpx.MockTransport(handler)) as client,
        pytest.raises(CrossrefError, match="incomplete refresh: got 20 distinct members of 100"),
    ):
        refresh_all(client, store, rows=1000)
    assert store.latest_id() is None


def test_refresh_members(tmp_path: Path, fixtures: dict[str, dict]) -> None:
    items = population(fixtures, 50)
    store = SnapshotStore(tmp_path)
    with client_for(tmp_path, serve(items)) as client:
        result = refresh_members(client, store, [1003, 1001, 1003])
    snap = store.load()
    assert result.requests == 2
    assert snap.members["member_id"].tolist() == [1001, 1003]  # stored sorted by member id
    assert snap.meta["scope"] == "members" and snap.meta["member_ids"] == [1003, 1001]
    assert set(snap.coverage["member_id"]) <= {1001, 1003}
    assert not np.isinf(snap.coverage["coverage"].fillna(0)).any()
    assert isinstance(snap.coverage, pd.DataFrame)
