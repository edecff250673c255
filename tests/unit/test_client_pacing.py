"""Pacing math, the threaded pacer, header adaptation, and the retry-delay policy."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from cache.crossref.client import CrossrefClient, Pacer, rate_to_limit, retry_delay
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
