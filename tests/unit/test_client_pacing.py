"""Pacing math, the threaded pacer, header adaptation, the retry-delay policy, and the
deployment-wide limiter shared by processes (file backend; Redis in tests/integration)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from cache.crossref.client import CrossrefClient, Pacer, rate_to_limit, retry_delay
from cache.crossref.limiter import (
    HOST,
    FileLimiter,
    LimiterUnavailable,
    RedisLimiter,
    effective_limits,
    header_limit,
    merge_lowered,
)
from cache.crossref.settings import Settings


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(3.0, (3, 1.0)), (1.0, (1, 1.0)), (2.5, (2, 1.0)), (10, (10, 1.0)), (0.5, (1, 2.0))],
)
def test_rate_to_limit(rate: float, expected: tuple[int, float]) -> None:
    assert rate_to_limit(rate) == expected


def test_delay_math_sliding_window() -> None:
    p = Pacer(3, 3)
    assert p.delay_for(0.0) == 0
    for t in (0.0, 0.1, 0.2):
        p.record_start(t)
    # A 4th start must wait until the 1st leaves the 1-second window.
    assert p.delay_for(0.5) == pytest.approx(0.5)
    assert p.delay_for(1.0) == 0
    p.record_start(1.0)
    assert p.delay_for(1.05) == pytest.approx(0.05)  # next: 0.1 + 1
    assert p.delay_for(1.1) == 0


def test_delay_math_with_margin_and_pause() -> None:
    p = Pacer(1, 1, margin_s=0.05)
    p.record_start(10.0)
    assert p.delay_for(10.5) == pytest.approx(0.55)
    p2 = Pacer(3, 3, clock=lambda: 100.0)
    p2.pause(2.0)
    assert p2.delay_for(100.0) == pytest.approx(2.0)


def test_lower_only_tightens() -> None:
    p = Pacer(3, 3)
    assert not p.lower(10, 1.0, 3)  # polite headers advertise single-record limits: ignored
    assert p.limits == {1.0: 3} and p.max_in_flight == 3
    assert p.lower(1, 1.0, 1)
    assert p.limits == {1.0: 1} and p.max_in_flight == 1 and p.rate == 1.0
    assert not p.lower(5, 1.0, 2)  # never raised again
    q = Pacer(3, 3)
    assert q.lower(50, 60.0, None)  # 50 per minute is stricter than 3/s
    assert q.limits == {1.0: 3, 60.0: 50}
    assert q.rate == pytest.approx(50 / 60)
    assert not q.lower(0, 1.0, 0)  # nonsense values are ignored


def test_threaded_pacer_respects_rate_and_concurrency() -> None:
    # A 0.2-second window keeps the test short: at most 4 starts per 0.2 s, 2 in flight.
    pacer = Pacer(20, 2, window_s=0.2)  # 20/s = 4 per 0.2 s
    starts: list[float] = []
    in_flight = 0
    peak = 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal in_flight, peak
        with pacer:
            with lock:
                starts.append(time.monotonic())
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.01)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=work) for _ in range(14)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    starts.sort()
    assert peak <= 2 and pacer.peak_in_flight <= 2
    for i, t0 in enumerate(starts):
        assert sum(1 for t in starts[i:] if t - t0 < 0.2 - 1e-3) <= 4
    assert starts[-1] - starts[0] >= 0.2 * (14 // 4) - 0.01  # it did have to wait


def test_client_adapts_to_lower_headers(tmp_path: Path) -> None:
    headers = {"x-rate-limit-limit": "1", "x-rate-limit-interval": "1s", "x-concurrency-limit": "1"}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "ok", "message": {}}, headers=headers)

    settings = Settings.from_env(environ={"CROSSREF_MAILTO": "a@example.org"}, data_dir=tmp_path)
    with CrossrefClient(settings, transport=httpx.MockTransport(handler)) as client:
        assert client.pacer.rate == 3.0 and client.pacer.max_in_flight == 3
        client.get("/works", {"rows": 0})
        assert client.pacer.rate == 1.0 and client.pacer.max_in_flight == 1


def test_client_ignores_higher_headers(tmp_path: Path) -> None:
    headers = {
        "x-rate-limit-limit": "10",
        "x-rate-limit-interval": "1s",
        "x-concurrency-limit": "3",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "ok", "message": {}}, headers=headers)

    settings = Settings.from_env(environ={}, data_dir=tmp_path)  # public: 1/s, 1 in flight
    with CrossrefClient(settings, transport=httpx.MockTransport(handler)) as client:
        client.get("/works", {"rows": 0})
        assert client.pacer.rate == 1.0 and client.pacer.max_in_flight == 1


class TestRetryDelay:
    def test_exponential_with_equal_jitter(self) -> None:
        for attempt, full in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0)]:
            assert retry_delay(attempt, rand=lambda: 0.0) == pytest.approx(full / 2)
            assert retry_delay(attempt, rand=lambda: 1.0) == pytest.approx(full)

    def test_capped(self) -> None:
        assert retry_delay(30, base_s=0.5, max_s=30.0, rand=lambda: 1.0) == 30.0

    def test_retry_after_honoured(self) -> None:
        assert retry_delay(1, 7.0, rand=lambda: 0.0) == pytest.approx(7.0)
        assert 7.0 <= retry_delay(5, 7.0) <= 7.0 + 0.25
        assert retry_delay(1, 0.0, rand=lambda: 0.0) == 0.0

    def test_retry_after_capped(self) -> None:
        assert retry_delay(1, 9999.0, retry_after_max_s=120.0, rand=lambda: 0.0) == 120.0

    def test_jitter_spreads(self) -> None:
        delays = {round(retry_delay(3), 6) for _ in range(50)}
        assert len(delays) > 10
        assert all(1.0 <= d <= 2.0 for d in delays)


def test_release_grace_keeps_the_slot_briefly() -> None:
    pacer = Pacer(1000, 1, release_grace_s=0.05)
    pacer.acquire()
    pacer.release()
    started = time.monotonic()
    pacer.acquire()  # the server may still count the finished request for a moment
    assert time.monotonic() - started >= 0.045
    pacer.release()


def test_widen_after_429() -> None:
    p = Pacer(3, 3, margin_s=0.05)
    p.record_start(0.0)
    p.record_start(0.0)
    p.record_start(0.0)
    assert p.delay_for(0.0) == pytest.approx(1.05)
    assert p.widen() == pytest.approx(0.10)
    assert p.delay_for(0.0) == pytest.approx(1.10)
    for _ in range(10):
        p.widen()
    assert p.delay_for(0.0) == pytest.approx(1.20)  # capped


# --------------------------------------------------------------------------------------------
# The deployment-wide limiter (cache/crossref/limiter.py): file backend and its semantics
# --------------------------------------------------------------------------------------------
def _file_limiter(d: Path, rate: float = 10, conc: int = 2, **kw) -> FileLimiter:
    kw.setdefault("window_s", 0.4)  # 10/s = 4 per 0.4 s: keeps the tests short
    kw.setdefault("margin_s", 0.0)
    return FileLimiter(d, "polite-test", rate, conc, **kw)


def test_two_file_limiters_share_one_rate_and_concurrency(tmp_path: Path) -> None:
    # two limiter objects on one directory stand for two processes
    limiters = [_file_limiter(tmp_path), _file_limiter(tmp_path)]
    starts: list[float] = []
    in_flight = peak = 0
    lock = threading.Lock()

    def work(limiter: FileLimiter) -> None:
        nonlocal in_flight, peak
        with limiter.slot():
            with lock:
                starts.append(time.time())
                in_flight += 1
                peak = max(peak, in_flight)
            time.sleep(0.01)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=work, args=(limiters[i % 2],)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak <= 2
    recorded = sorted(json.loads((tmp_path / "polite-test.json").read_text())["starts"])
    starts.sort()
    assert len(recorded) == 12  # both limiters wrote their starts into the one shared state
    for i, t0 in enumerate(recorded):
        assert sum(1 for t in recorded[i:] if t - t0 < 0.4) <= 4
    for i, t0 in enumerate(starts):  # as the threads saw them (a little scheduling jitter)
        assert sum(1 for t in starts[i:] if t - t0 < 0.4 - 0.05) <= 4
    assert starts[-1] - starts[0] >= 0.4 * (12 // 4 - 1)  # it did have to wait


def test_dead_process_lease_is_reclaimed_at_once(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    state = {
        "starts": [],
        "leases": {
            "dead": {"pid": proc.pid, "host": HOST, "since": time.time(), "expires": 2e9},
        },
    }
    (tmp_path / "polite-test.json").write_text(json.dumps(state))
    limiter = _file_limiter(tmp_path, rate=100, conc=1)
    t0 = time.monotonic()
    limiter.release(limiter.acquire(timeout_s=1.0))
    assert time.monotonic() - t0 < 0.5


def test_lease_lapses_without_heartbeat_but_lives_with_it(tmp_path: Path) -> None:
    other_host = {"pid": 1, "host": "elsewhere", "since": time.time(), "expires": time.time() + 0.3}
    (tmp_path / "polite-test.json").write_text(json.dumps({"leases": {"x": other_host}}))
    limiter = _file_limiter(tmp_path, rate=100, conc=1, lease_ttl_s=0.3)
    t0 = time.monotonic()
    lease = limiter.acquire(timeout_s=2.0)  # waits for the other host's lease to lapse
    assert 0.2 <= time.monotonic() - t0 < 1.5
    time.sleep(0.6)  # two TTLs: the heartbeat keeps our live lease
    other = _file_limiter(tmp_path, rate=100, conc=1, lease_ttl_s=0.3)
    with pytest.raises(TimeoutError):
        other.acquire(timeout_s=0.2)
    limiter.release(lease)
    other.release(other.acquire(timeout_s=1.0))
    limiter.close()


def test_lowered_limits_are_shared_and_lapse(tmp_path: Path) -> None:
    a = _file_limiter(tmp_path, rate=3, conc=3, window_s=1.0, lowered_ttl_s=0.3)
    b = _file_limiter(tmp_path, rate=3, conc=3, window_s=1.0, lowered_ttl_s=0.3)
    assert not a.lower(10, 1.0, 3)  # polite headers advertise single-record limits: ignored
    assert b.state()["windows"] == {1.0: 3} and b.state()["concurrency"] == 3
    assert a.lower(1, 1.0, 1)
    assert b.state()["windows"] == {1.0: 1} and b.state()["concurrency"] == 1
    assert not b.lower(2, 1.0, 2)  # never raised by a looser header
    assert a.lower(50, 60.0, None)  # 50 per minute is stricter than 1/s
    assert b.state()["windows"] == {1.0: 1, 60.0: 50}
    time.sleep(0.35)  # no header repeated it: back to the configured limits
    assert b.state()["windows"] == {1.0: 3} and b.state()["concurrency"] == 3


def test_merge_lowered_renews_only_on_confirmation() -> None:
    lowered: dict = {}
    assert merge_lowered(lowered, {1.0: 3}, 3, {1.0: 2}, 1, now=100.0, ttl_s=10)
    assert lowered == {"windows": {"1.0": 2}, "concurrency": 1, "until": 110.0}
    assert not merge_lowered(lowered, {1.0: 3}, 3, {1.0: 2}, 1, now=105.0, ttl_s=10)
    assert lowered["until"] == 115.0  # the same limit again renews it
    assert not merge_lowered(lowered, {1.0: 3}, 3, {1.0: 5}, 3, now=106.0, ttl_s=10)
    assert lowered["until"] == 115.0  # looser headers do not
    windows, conc, margin = effective_limits({1.0: 3}, 3, 0.05, lowered, 114.0)
    assert (windows, conc, margin) == ({1.0: 2}, 1, 0.05)
    assert effective_limits({1.0: 3}, 3, 0.05, lowered, 116.0) == ({1.0: 3}, 3, 0.05)
    assert header_limit(1, 1.0) == {1.0: 1} and header_limit(5, 0.5) == {1.0: 10}
    assert header_limit(0, 1.0) == {} and header_limit(None, None) == {}


def test_pause_and_widen_reach_other_processes(tmp_path: Path) -> None:
    a = _file_limiter(tmp_path, rate=100, conc=3)
    b = _file_limiter(tmp_path, rate=100, conc=3)
    a.pause(0.3)
    assert b.state()["paused_s"] > 0.2
    t0 = time.monotonic()
    b.release(b.acquire())
    assert time.monotonic() - t0 >= 0.25
    assert a.widen() == pytest.approx(0.05)
    assert b.state()["margin_s"] == pytest.approx(0.05)
    for _ in range(10):
        b.widen()
    assert a.state()["margin_s"] == pytest.approx(0.2)  # capped


def test_corrupt_state_file_starts_afresh(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "polite-test.json").write_bytes(b"\x00garbage{")
    limiter = _file_limiter(tmp_path, rate=100, conc=1)
    limiter.release(limiter.acquire(timeout_s=1.0))
    assert "unreadable" in caplog.text
    assert json.loads((tmp_path / "polite-test.json").read_text())["starts"]


def test_clients_on_one_data_dir_share_a_lowered_limit(tmp_path: Path) -> None:
    headers = {"x-rate-limit-limit": "1", "x-rate-limit-interval": "1s", "x-concurrency-limit": "1"}

    def lowering(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": "ok", "message": {}}, headers=headers)

    settings = Settings.from_env(environ={"CROSSREF_MAILTO": "a@example.org"}, data_dir=tmp_path)
    transport = httpx.MockTransport(lowering)
    with (
        CrossrefClient(settings, transport=transport, use_cache=False) as a,
        CrossrefClient(settings, transport=transport) as b,
    ):
        assert isinstance(a.limiter, FileLimiter) and (tmp_path / "limiter").is_dir()
        assert b.limiter.state()["concurrency"] == 3
        a.get("/works", {"rows": 0})
        # b never saw the headers: its own pacer keeps 3, the shared limiter says 1
        assert b.pacer.max_in_flight == 3
        assert b.limiter.state()["concurrency"] == 1
        assert b.limiter.state()["windows"] == {1.0: 1}


def test_client_without_shared_limiter(tmp_path: Path) -> None:
    settings = Settings.from_env(environ={}, data_dir=tmp_path / "d")
    ok = httpx.MockTransport(lambda r: httpx.Response(200, json={"status": "ok", "message": {}}))
    with CrossrefClient(settings, transport=ok, use_cache=False, limiter=None) as client:
        client.get("/works")
        assert client.limiter is None
    assert not (tmp_path / "d" / "limiter").exists()


def test_redis_down_falls_back_to_the_file_limiter(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    fallback = _file_limiter(tmp_path, rate=100, conc=1)
    limiter = RedisLimiter(f"redis://:secret@127.0.0.1:{port}/0", "k", 100, 1, fallback=fallback)
    limiter.release(limiter.acquire(timeout_s=5.0))
    assert limiter.failovers == 1
    assert "secret" not in limiter.url_redacted
    assert (tmp_path / "polite-test.json").exists()
    without = RedisLimiter(f"redis://127.0.0.1:{port}/0", "k", 100, 1)
    with pytest.raises(LimiterUnavailable):
        without.acquire()
