"""CrossrefClient against the mock Crossref API over loopback: pacing measured from the mock's
request log, retries with Retry-After, the error budget, random faults, the Plus token."""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cache.crossref.client import CrossrefClient
from cache.crossref.errors import CrossrefError, ErrorBudgetExceeded
from cache.crossref.settings import Settings
from mock_crossref import population as population_mod
from mock_crossref import server as mock_server

MockCrossref = mock_server.MockCrossref
FaultConfig = mock_server.FaultConfig

TOKEN = "plus-3d1f0c9e-NEVER-LOG-ME"
MAILTO = "it-tests@example.org"


@pytest.fixture(scope="module")
def population():  # type: ignore[no-untyped-def]
    return population_mod.Population(n_members=2000, seed=11, current_year=2026)


@pytest.fixture
def member_ids(population) -> list[int]:  # type: ignore[no-untyped-def]
    return [int(x) for x in population.ids]


def settings_for(url: str, tmp_path: Path, **overrides: object) -> Settings:
    options: dict[str, object] = {"data_dir": tmp_path, "backoff_base_s": 0.01}
    options.update(overrides)
    env = {"CROSSREF_API_URL": url, "CROSSREF_MAILTO": MAILTO}
    return Settings.from_env(environ=env, **options)


@pytest.fixture
def mock(population) -> Iterator[object]:  # type: ignore[no-untyped-def]
    with MockCrossref(population, rate_limit=3, concurrency=3) as server:
        yield server


def max_in_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    best = j = 0
    for i, s in enumerate(starts):
        while starts[j] <= s - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_polite_pacing_measured_by_the_server(mock, member_ids, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    s = settings_for(mock.url, tmp_path)
    assert (s.pool, s.list_rate, s.list_concurrency) == ("polite", 3.0, 3)
    started = time.monotonic()
    with CrossrefClient(s, use_cache=False) as client:
        got = client.map(client.member, member_ids[:6])
        assert client.stats.http_429 == 0
    elapsed = time.monotonic() - started
    assert [m["id"] for m in got] == member_ids[:6]
    log = mock.log
    assert len(log) == 6 and {r.status for r in log} == {200}
    assert max_in_window([r.start for r in log], 1.0) <= 3
    assert mock.max_rate(1.0) <= 3 and mock.max_in_flight <= 3
    assert elapsed >= 1.0  # 6 requests at 3/s: two windows


def test_public_pacing_one_at_a_time(population, member_ids, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with MockCrossref(population, rate_limit=1, concurrency=1, pool="public") as server:
        s = Settings.from_env(environ={"CROSSREF_API_URL": server.url}, data_dir=tmp_path)
        assert (s.pool, s.list_rate, s.list_concurrency) == ("public", 1.0, 1)
        with CrossrefClient(s, use_cache=False) as client:
            client.map(client.member, member_ids[:2])
        log = sorted(server.log, key=lambda r: r.start)
    assert [r.status for r in log] == [200, 200]
    assert all(b.start - a.start >= 0.98 for a, b in itertools.pairwise(log))
    assert server.max_in_flight == 1


def test_lowers_limits_from_headers(population, member_ids, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The public pool advertises concurrency 1; a polite-configured client must follow it.
    with (
        MockCrossref(population, pool="public") as server,
        CrossrefClient(settings_for(server.url, tmp_path), use_cache=False) as client,
    ):
        client.member(member_ids[0])
        assert client.pacer.max_in_flight == 1
        assert client.pacer.rate == 3.0  # 5/s advertised is above our list limit


def test_retry_after_is_honoured(population, member_ids, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # pool="plus": the mock advertises 150/s, so only Retry-After slows this test down.
    faults = FaultConfig(error_rate=0.5, kinds=("html429",), retry_after=0.25, seed=3)
    with MockCrossref(population, faults=faults, pool="plus") as server:
        s = settings_for(server.url, tmp_path, list_rate=50.0)
        with CrossrefClient(s, use_cache=False) as client:
            for member_id in member_ids[:3]:
                assert client.member(member_id)["id"] == member_id
            stats = client.stats.as_dict()
        log = sorted(server.log, key=lambda r: r.start)
    limited = [i for i, r in enumerate(log) if r.status == 429]
    assert limited, "the seeded faults should produce at least one 429"
    assert stats["http_429"] == len(limited) == stats["retries"]
    for i in limited:
        assert log[i + 1].start - log[i].end >= 0.25 - 0.01  # waited for Retry-After


def test_ten_percent_budget_aborts(population, member_ids, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    faults = FaultConfig(error_rate=0.5, kinds=("500", "503"), seed=5)
    with MockCrossref(population, faults=faults, pool="plus") as server:
        s = settings_for(server.url, tmp_path, list_rate=100.0, max_attempts=1)
        with CrossrefClient(s, use_cache=False) as client:

            def tolerant(member_id: int) -> dict | None:
                # A job that tolerates single failures still stops when the budget is spent.
                try:
                    return client.member(member_id)
                except CrossrefError as exc:
                    if isinstance(exc, ErrorBudgetExceeded):
                        raise
                    return None

            with pytest.raises(ErrorBudgetExceeded) as info:
                client.map(tolerant, member_ids[:200])
            assert re.fullmatch(
                r"error budget exceeded: \d+ of \d+ requests failed \(last: 50[03] .* from "
                r"/members/\d+\)",
                str(info.value),
            )
            assert client.stats.requests < 40  # stopped soon after passing 10 %, not after 200


def test_every_request_failing_aborts_fast(population, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    faults = FaultConfig(error_rate=1.0, kinds=("500",))
    with MockCrossref(population, faults=faults, pool="plus") as server:
        s = settings_for(server.url, tmp_path, list_rate=100.0, max_attempts=3)
        with (
            CrossrefClient(s, use_cache=False) as client,
            pytest.raises(ErrorBudgetExceeded) as info,
        ):
            list(client.iter_member_pages())
        assert str(info.value) == (
            "error budget exceeded: 1 of 1 requests failed "
            "(last: 500 Internal Server Error from /members)"
        )
        assert len(server.log) == 3


def test_random_faults_of_every_kind_are_survived(population, member_ids, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    kinds = ("500", "502", "503", "504", "timeout", "malformed", "truncated", "html429", "429")
    faults = FaultConfig(error_rate=0.2, kinds=kinds, seed=9, timeout_s=0.6, retry_after=0.05)
    with MockCrossref(population, faults=faults, pool="plus") as server:
        s = settings_for(server.url, tmp_path, list_rate=100.0, timeout_s=0.3)
        with CrossrefClient(s, use_cache=False) as client:
            got = client.map(client.member, member_ids[:40])
            pages = list(client.iter_member_pages(rows=1000))
            stats = client.stats.as_dict()
        seen_faults = {r.fault for r in server.log if r.fault}
    assert [m["id"] for m in got] == member_ids[:40]
    assert sorted(m["id"] for page in pages for m in page) == member_ids
    assert stats["failures"] == 0 and stats["retries"] >= 5
    assert len(seen_faults) >= 4


def test_plus_token_reaches_server_but_not_logs(
    population,
    member_ids,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "cache"):
        caplog.set_level(logging.DEBUG, logger=name)
    with MockCrossref(
        population, pool="auto", faults=FaultConfig(error_rate=0.3, seed=2)
    ) as server:
        s = settings_for(server.url, tmp_path, plus_token=TOKEN, list_rate=50.0)
        with CrossrefClient(s) as client:
            for member_id in member_ids[:4]:
                client.member(member_id)
            text_bits = [repr(client), repr(s)]
        log = server.log
    assert {r.pool for r in log} == {"plus"}  # the server saw the Plus header
    assert all(TOKEN not in r.query for r in log)  # and never in the URL
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    everything = caplog.text + "\n".join(text_bits)
    assert TOKEN not in everything
    assert MAILTO not in caplog.text
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes()
