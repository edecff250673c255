"""One Crossref rate limit for the whole deployment (issue 12 item 4).

Four real processes share one limiter — the lock file in one data directory, or a real
``redis-server`` on loopback — and send list requests to the mock Crossref API, which answers 429
as soon as more than 3 requests start within a second or more than 3 are in flight. Without the
shared limiter the same four processes get 429s (the control run); with it there are none, and the
mock's own request log shows the limit held. A second test checks that a limit lowered by one
process's response headers is obeyed by processes that never saw those headers.

The workers are ``tests/integration/limiter_worker.py``.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis

from cache.crossref.client import CrossrefClient
from cache.crossref.limiter import RedisLimiter, limiter_key
from mock_crossref import Population
from mock_crossref.server import MockCrossref
from tests.integration.limiter_worker import settings_for

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("limiter_worker.py")

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pop() -> Population:
    return Population(300, seed=11)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A real redis-server on loopback (no persistence). Skipped when the binary is missing,
    except under CI=true, where it must be there (``.ci/run`` installs it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("redis-server is not installed (apt-get install -y redis-server)")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


def _run_workers(
    url: str, data_dir: Path, redis_url: str, n_proc: int, each: int, *, shared: bool = True
) -> tuple[list[dict], float]:
    """Start ``n_proc`` worker processes, release them together; their reports and the seconds
    from the go signal to the last exit."""
    go = data_dir.parent / f"go-{data_dir.name}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                url,
                str(data_dir),
                redis_url,
                str(go),
                str(i * each),
                str(each),
                "shared" if shared else "local",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n_proc)
    ]
    try:
        deadline = time.monotonic() + 30
        while len(list(go.parent.glob(go.name + ".ready.*"))) < n_proc:
            assert time.monotonic() < deadline, "workers did not start"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.02)
        t0 = time.monotonic()
        go.touch()
        outputs = [p.communicate(timeout=60) for p in procs]
        elapsed = time.monotonic() - t0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    reports = []
    for p, (out, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err[-2000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports, elapsed


def _assert_limits_held(mock: MockCrossref, reports: list[dict], expected: int) -> None:
    log = mock.log
    statuses = [r.status for r in log]
    limited = [(r.limited, round(r.start, 3)) for r in log if r.status == 429]
    assert not limited, f"{len(limited)} requests got 429: {limited[:10]}"
    starts = sorted(r.start for r in log)
    crowded = [starts[i : i + 4] for i in range(len(starts) - 3) if starts[i + 3] - starts[i] < 1]
    assert not crowded, f"4 requests started within 1 s: {crowded[:3]}"
    assert statuses.count(200) == expected == len(log)
    assert sum(r["stats"]["http_429"] for r in reports) == 0
    assert sum(r["stats"]["retries"] for r in reports) == 0
    assert mock.max_rate(1.0) <= 3, f"{mock.max_rate(1.0)} requests started within 1 s"
    assert max(r.in_flight for r in log) <= 3 and mock.max_in_flight <= 3


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_four_processes_share_one_limit(backend, pop, tmp_path, request):
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else ""
    data_dir = tmp_path / "data"  # ONE data directory for every process
    each = 5
    # 0.9 s per request: at 3 requests/s about 3 are in flight, so both limits bind.
    with MockCrossref(pop, rate_limit=3, concurrency=3, latency_s=0.9) as mock:
        reports, elapsed = _run_workers(mock.url, data_dir, redis_url, 4, each)
        _assert_limits_held(mock, reports, 4 * each)
        expected_kind = "RedisLimiter" if backend == "redis" else "FileLimiter"
        assert {r["limiter"] for r in reports} == {expected_kind}
        assert all(r["failovers"] == 0 for r in reports)
        # 20 requests within 3 per second need at least (20 - 3) / 3 s
        assert elapsed >= (4 * each - 3) / 3
        assert max(r.in_flight for r in mock.log) >= 2  # the processes did overlap
    if backend == "file":
        assert (data_dir / "limiter").is_dir()


def test_control_without_shared_limiter_gets_429s(pop, tmp_path):
    """Four clients pacing only themselves (each within 3/s and 3 in flight) exceed the mock's
    limits together: the tests above can fail. Threads of one process stand in for the four
    processes here (each client has its own pacer), which keeps the control fast."""
    with MockCrossref(pop, rate_limit=3, concurrency=3, latency_s=0.3) as mock:
        settings = settings_for(mock.url, str(tmp_path / "data"), "")
        clients = [
            CrossrefClient(settings, use_cache=False, write_cache=False, limiter=None)
            for _ in range(4)
        ]
        try:
            with ThreadPoolExecutor(4) as pool:
                list(
                    pool.map(
                        lambda c: c.map(lambda o: c.get("/members", {"rows": 1, "offset": o}), [0]),
                        clients,
                    )
                )
        finally:
            for c in clients:
                c.close()
        assert sum(1 for r in mock.log if r.status == 429) > 0


def test_lowered_limit_reaches_processes_that_never_saw_it(pop, tmp_path):
    """The mock's public pool advertises ``x-concurrency-limit: 1``. One client learns it from a
    response; three new processes (configured for the polite 3 in flight) obey it from their first
    request: one in flight at a time, no 429 from a mock that allows only one."""
    data_dir = tmp_path / "data"
    with MockCrossref(pop, pool="public", rate_limit=3, concurrency=1, latency_s=0.25) as mock:
        settings = settings_for(mock.url, str(data_dir), "")
        with CrossrefClient(settings, use_cache=False, write_cache=False) as first:
            first.get("/members", {"rows": 1})
            state = first.limiter.state()
        assert state["concurrency"] == 1 and state["windows"] == {1.0: 3}
        mock.clear_log()
        reports, _ = _run_workers(mock.url, data_dir, "", 3, 2)
        _assert_limits_held(mock, reports, 6)
        assert max(r.in_flight for r in mock.log) == 1


def test_redis_limiter_shares_lowered_limits_pause_and_frees_dead_leases(redis_url):
    """Two limiter objects on one Redis key behave as one: a limit lowered through one binds the
    other (and is kept in Redis), a pause set by one stops the other, and a lease whose holder
    stopped renewing it (a dead process) is freed after its TTL."""
    key = limiter_key("polite", f"http://127.0.0.1:{_free_port()}")
    # 100/s so that only the concurrency binds here
    a = RedisLimiter(redis_url, key, 100, 3, lease_ttl_s=0.5, margin_s=0.0, grace_s=0.0)
    b = RedisLimiter(redis_url, key, 100, 3, lease_ttl_s=0.5, margin_s=0.0, grace_s=0.0)
    try:
        assert a.lower(200, 1.0, 1)  # 200/s is looser: only the concurrency goes down
        assert b.state()["concurrency"] == 1 and b.state()["windows"] == {1.0: 100}
        lease = a.acquire()
        with pytest.raises(TimeoutError):
            b.acquire(timeout_s=0.2)  # one in flight, held by a
        a.release(lease)
        b.release(b.acquire(timeout_s=1.0))
        with redis.Redis.from_url(redis_url) as r:
            raw = r.hget(f"crossref-limiter:{key}:state", "lowered")
        assert json.loads(raw)["concurrency"] == 1

        # a dead holder: take a lease, then stop the heartbeat without returning it
        a.close()
        a._held.clear()
        a._try_acquire("dead-process-lease")
        t0 = time.monotonic()
        b.release(b.acquire(timeout_s=3.0))
        assert 0.2 <= time.monotonic() - t0 <= 2.0  # waited for the TTL (0.5 s), not forever

        b.pause(0.6)
        t0 = time.monotonic()
        a.release(a.acquire(timeout_s=3.0))
        assert time.monotonic() - t0 >= 0.5
    finally:
        a.close()
        b.close()
