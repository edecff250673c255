"""Two real processes on one data directory (issue 13 item 4): the refresh lock, `--wait`,
member refreshes that do not lose each other's update, snapshot ids reserved atomically across
processes, and a lock that a `kill -9` never leaves behind. The Crossref side is the mock on
127.0.0.1, slowed down so that the first refresh is still running when the second starts.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cache.jobs.refresh import refresh_running
from cache.store.snapshots import SnapshotStore

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    "CROSSREF_BACKOFF_BASE_S": "0.001",
    "CROSSREF_MAX_ATTEMPTS": "3",
    "CROSSREF_MAILTO": "test@example.org",
    "PYTHONDONTWRITEBYTECODE": "1",
}

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def population():  # type: ignore[no-untyped-def]
    from mock_crossref.population import Population

    return Population(n_members=300, seed=31, current_year=2026)


@pytest.fixture
def slow_api(population):  # type: ignore[no-untyped-def]
    from mock_crossref.server import MockCrossref

    with MockCrossref(population, latency_s=2.0) as api:
        yield api


def start(data_dir: Path, url: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cache", "refresh", "--data-dir", str(data_dir), *args],
        cwd=ROOT,
        env={**os.environ, **ENV, "CROSSREF_API_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_running(data_dir: Path, proc: subprocess.Popen[str]) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        holder = refresh_running(data_dir)
        if holder:
            return holder
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the first refresh never took the lock")


def finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def snapshot_of(stdout: str) -> str:
    match = re.search(r"snapshot=(\S+)", stdout)
    assert match, stdout
    return match.group(1)


def test_second_refresh_is_refused_with_the_holders_pid(tmp_path: Path, slow_api) -> None:  # type: ignore[no-untyped-def]
    first = start(tmp_path, slow_api.url)
    holder = wait_until_running(tmp_path, first)
    assert holder["pid"] == first.pid and holder["job"] == "refresh" and holder["since"]
    second = start(tmp_path, slow_api.url)
    code, out, err = finish(second)
    assert code == 75 and out == ""
    assert (
        err.strip()
        .splitlines()[-1]
        .startswith(f"refresh not started: another refresh is running (pid {first.pid}, since ")
    )
    assert "--wait" in err and "Traceback" not in err
    code, out, err = finish(first)
    assert code == 0, err
    assert refresh_running(tmp_path) is None
    assert SnapshotStore(tmp_path).latest_id() == snapshot_of(out)
    assert len(slow_api.log) == 1  # the refused refresh sent nothing


def test_wait_queues_behind_the_running_refresh(tmp_path: Path, slow_api) -> None:  # type: ignore[no-untyped-def]
    first = start(tmp_path, slow_api.url, "--no-cache")
    wait_until_running(tmp_path, first)
    second = start(tmp_path, slow_api.url, "--wait", "--no-cache")
    (c1, out1, err1), (c2, out2, err2) = finish(first), finish(second)
    assert c1 == 0 and c2 == 0, (err1, err2)
    assert f"waiting: another refresh is running (pid {first.pid}" in err2
    a, b = snapshot_of(out1), snapshot_of(out2)
    store = SnapshotStore(tmp_path)
    assert a != b and store.ids() == [b, a] and store.latest_id() == b
    # one at a time: the second request started after the first one had been answered
    first_req, second_req = sorted(slow_api.log, key=lambda r: r.start)
    assert second_req.start >= first_req.end


def test_member_refreshes_started_together_keep_both_updates(
    tmp_path: Path,
    slow_api,
    population,  # type: ignore[no-untyped-def]
) -> None:
    from mock_crossref.server import MockCrossref

    with MockCrossref(population) as fast:
        code, _out, err = finish(start(tmp_path, fast.url))
    assert code == 0, err
    store = SnapshotStore(tmp_path)
    base = store.load()
    a, b = int(population.ids[3]), int(population.ids[7])
    members = base.members.copy()
    real = dict(zip(members["member_id"], members["name"], strict=True))
    members.loc[members["member_id"].isin([a, b]), "name"] = "OLD NAME"
    stale = store.publish(members, base.coverage, {"source": "api"})

    one = start(tmp_path, slow_api.url, "--member", str(a), "--wait")
    two = start(tmp_path, slow_api.url, "--member", str(b), "--wait")
    r1, r2 = finish(one), finish(two)
    assert r1[0] == 0 and r2[0] == 0, (r1[2], r2[2])
    final = store.load()
    names = dict(zip(final.members["member_id"], final.members["name"], strict=True))
    assert names[a] == real[a] and names[b] == real[b]  # neither update lost
    assert len(final.members) == len(base.members)
    ids = {snapshot_of(r1[1]), snapshot_of(r2[1])}
    based_on = {store.read_meta(i)["based_on"] for i in ids}
    assert stale in based_on and based_on - {stale} <= ids  # the later one merged the earlier


def test_kill_9_leaves_no_lock_behind(tmp_path: Path, slow_api) -> None:  # type: ignore[no-untyped-def]
    first = start(tmp_path, slow_api.url)
    wait_until_running(tmp_path, first)
    first.send_signal(signal.SIGKILL)
    first.communicate(timeout=30)
    assert refresh_running(tmp_path) is None  # the OS dropped the lock with the process
    assert SnapshotStore(tmp_path).latest_id() is None  # nothing half-published
    code, _out, err = finish(start(tmp_path, slow_api.url))
    assert code == 0, err


PUBLISHER = """
import sys, pandas as pd
from cache.store.snapshots import SnapshotStore
from tests.unit.test_snapshots import members_frame, coverage_frame
store = SnapshotStore(sys.argv[1])
for i in range(12):
    print(store.publish(members_frame([1, 2]), coverage_frame([1, 2]), {"source": "api"}))
"""


def test_publishes_from_two_processes_get_distinct_ids(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(tmp_path)],
            cwd=ROOT,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        ids += out.split()
    assert len(ids) == 24 and len(set(ids)) == 24
    store = SnapshotStore(tmp_path)
    assert sorted(store.ids()) == sorted(ids)
    for sid in ids:
        assert len(store.load(sid).members) == 2
