"""refresh_all / refresh_members / the demo builder against the mock Crossref API (loopback)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from cache.crossref.client import CrossrefClient
from cache.crossref.errors import CrossrefError
from cache.crossref.settings import Settings
from cache.jobs.refresh import refresh_all, refresh_members
from cache.store.snapshots import SnapshotStore
from mock_crossref import demo
from mock_crossref import population as population_mod
from mock_crossref import server as server_mod


@pytest.fixture(scope="module")
def population():  # type: ignore[no-untyped-def]
    return population_mod.Population(n_members=2000, seed=31, current_year=2026)


def settings_for(url: str, tmp_path: Path, **overrides: object) -> Settings:
    options: dict[str, object] = {"data_dir": tmp_path, "backoff_base_s": 0.01, "timeout_s": 0.5}
    options.update(overrides)
    return Settings.from_env(
        environ={"CROSSREF_API_URL": url, "CROSSREF_MAILTO": "t@example.org"}, **options
    )


def digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_twenty_percent_faults_refresh_completes(population, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kinds = ("500", "502", "503", "504", "malformed", "truncated", "html429", "timeout")
    faults = server_mod.FaultConfig(error_rate=0.2, kinds=kinds, seed=4, timeout_s=0.8)
    store = SnapshotStore(tmp_path)
    with server_mod.MockCrossref(population, faults=faults, pool="plus") as api:
        s = settings_for(api.url, tmp_path, list_rate=50.0)
        with CrossrefClient(s, use_cache=False) as client:
            result = refresh_all(client, store, rows=200)  # 10 pages: faults will hit some
            ids = [int(population.ids[i]) for i in range(0, 2000, 100)]
            partial = refresh_members(client, store, ids)
        log = api.log
    assert result.members == 2000 and result.requests == 10
    assert result.retries > 0 and any(r.fault for r in log)
    snap = store.load(result.snapshot_id)
    assert sorted(snap.members["member_id"]) == sorted(int(x) for x in population.ids)
    assert snap.meta["retries"] == result.retries
    assert partial.members == 20 and store.latest_id() == partial.snapshot_id
    # a --member refresh updates those members inside the latest snapshot, keeping the others
    merged = store.load(partial.snapshot_id)
    assert sorted(merged.members["member_id"]) == sorted(int(x) for x in population.ids)
    assert merged.meta["based_on"] == result.snapshot_id
    assert len(merged.coverage) == len(snap.coverage)


def test_failure_mid_refresh_publishes_nothing(population, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = SnapshotStore(tmp_path)
    with server_mod.MockCrossref(population, pool="plus") as api:
        s = settings_for(api.url, tmp_path, list_rate=3.0, max_attempts=2)
        with CrossrefClient(s, use_cache=False) as client:
            good = refresh_all(client, store).snapshot_id
        before = digest(tmp_path / "snapshots")

        def break_after_first_page(done: int, total: int) -> None:
            # Pages 2 and 3 share page 1's rate window; the server breaks before page 4.
            if done > 0:
                api.faults = server_mod.FaultConfig(error_rate=1.0, kinds=("503",))

        once = settings_for(api.url, tmp_path, list_rate=3.0, max_attempts=1)
        with CrossrefClient(once, use_cache=False) as client, pytest.raises(CrossrefError):
            refresh_all(client, store, progress=break_after_first_page, rows=200)
        statuses = [r.status for r in api.log]
    assert 503 in statuses and statuses.count(200) >= 3
    assert store.latest_id() == good
    assert digest(tmp_path / "snapshots") == before


def test_demo_snapshot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.from_env(environ={}, data_dir=tmp_path)
    seen: list[tuple[int, int]] = []
    sid = demo.build_demo_snapshot(
        settings, n_members=600, progress=lambda d, t: seen.append((d, t))
    )
    store = SnapshotStore(tmp_path)
    snap = store.load()
    # the demo publishes a dated history: two earlier snapshots, then the current one (latest)
    assert snap.id == sid and re.fullmatch(r"\d{8}T\d{6}Z-demo(-\d+)?", sid)
    assert len(store.list()) == 3
    assert snap.meta["source"] == "demo" and snap.meta["members"] == 600
    assert snap.meta["api_url"].startswith("http://127.0.0.1:")
    assert seen[-1] == (600, 600)
    assert len(snap.coverage) > 0 and set(snap.coverage["source"]) == {"coverage-type"}
    assert not (tmp_path / "http").exists() or not any((tmp_path / "http").rglob("*.val"))

    def no_build(*args: object, **kwargs: object) -> str:
        raise AssertionError("ensure_snapshot must not rebuild when a snapshot exists")

    monkeypatch.setattr(demo, "build_demo_snapshot", no_build)
    assert demo.ensure_snapshot(settings) == sid


def test_ensure_snapshot_builds_when_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake_build(settings: Settings, n_members: int = 0, progress=None) -> str:  # type: ignore[no-untyped-def]
        calls.append(n_members)
        return "20260101T000000Z-demo"

    monkeypatch.setattr(demo, "build_demo_snapshot", fake_build)
    assert demo.ensure_snapshot(Settings.from_env(environ={}, data_dir=tmp_path)) == (
        "20260101T000000Z-demo"
    )
    assert calls == [demo.DEMO_MEMBERS]
