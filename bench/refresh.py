"""Benchmark: full refresh of the demo population through the mock Crossref API.

Runs the real pipeline (``CrossrefClient`` + ``refresh_all`` + ``SnapshotStore.publish``) against
the mock on 127.0.0.1 with realistic latency (default 0.1 s a response) and the polite pool's
list limits enforced **by the mock** (3 requests/s, 3 in flight; a too-fast client gets 429s).

Prints, for our offset-paged refresh and for a naive one-request-per-member baseline
(``/members/{id}``):
* requests made and wall time;
* the rate-limit floor: requests ÷ 3 per second, plus one response latency;
* the ratio of wall time to that floor (1.0 = as fast as the limits allow).

The naive baseline would take hours at 3 requests/s, so it is timed on a sample of members
(``--sample``, default 300) and extrapolated linearly to the whole population; the output says so.

Targets (shared/DESIGN.md §9): ≤ 40 requests, ≤ 1.2× the floor, zero 429s.

    python bench/refresh.py [--members 33000] [--latency 0.1] [--sample 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cache.client import CrossrefClient
from cache.demo import DEMO_SEED
from cache.refresh import refresh_all
from cache.settings import Settings
from cache.snapshots import SnapshotStore

POLITE_RATE = 3
POLITE_CONCURRENCY = 3


def floor_s(requests: int, latency_s: float) -> float:
    return requests / POLITE_RATE + latency_s


def mock_429s(mock: object) -> int | None:
    log = getattr(mock, "log", None)
    if log is None:
        return None
    return sum(1 for record in list(log) if getattr(record, "status", None) == 429)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=33_000)
    ap.add_argument("--latency", type=float, default=0.1, help="mock latency per response (s)")
    ap.add_argument("--sample", type=int, default=300, help="members timed for the naive baseline")
    args = ap.parse_args(argv)

    from cache.mock.population import Population
    from cache.mock.server import MockCrossref

    year = dt.datetime.now(dt.UTC).year
    t = time.perf_counter()
    population = Population(n_members=args.members, seed=DEMO_SEED, current_year=year)
    print(f"population: {args.members} members built in {time.perf_counter() - t:.1f} s")

    with tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp:
        mock = MockCrossref(
            population,
            rate_limit=POLITE_RATE,
            concurrency=POLITE_CONCURRENCY,
            latency_s=args.latency,
            pool="polite",
        )
        base_url = mock.start()
        try:
            settings = Settings.from_env(
                environ={}, api_url=base_url, mailto="bench@example.org", data_dir=Path(tmp)
            )
            # -- ours: offset paging, rows=1000, pages fetched concurrently within the limits
            started = time.perf_counter()
            with CrossrefClient(settings, use_cache=False, write_cache=False) as client:
                result = refresh_all(client, SnapshotStore(tmp), source="demo")
                ours_stats = client.stats.as_dict()
            ours_wall = time.perf_counter() - started
            ours_floor = floor_s(result.requests, args.latency)
            ours_429_server = mock_429s(mock)

            # -- naive baseline: one /members/{id} request per member, on a sample
            ids = [int(x) for x in population.ids]
            step = max(1, len(ids) // max(1, args.sample))
            sample = ids[::step][: args.sample]
            started = time.perf_counter()
            with CrossrefClient(settings, use_cache=False, write_cache=False) as client:
                client.map(client.member, sample)
                naive_stats = client.stats.as_dict()
            naive_sample_wall = time.perf_counter() - started
        finally:
            mock.stop()

    naive_requests = len(ids)
    naive_wall = naive_sample_wall * len(ids) / max(1, len(sample))
    naive_floor = floor_s(naive_requests, args.latency)

    print()
    print(f"mock: latency {args.latency:.2f} s, limits {POLITE_RATE} req/s and "
          f"{POLITE_CONCURRENCY} in flight (429 beyond)")
    print(f"{'':<34}{'requests':>10}{'wall s':>11}{'floor s':>10}{'wall/floor':>12}{'429s':>6}")
    print(f"{'ours: /members?rows=1000 pages':<34}{result.requests:>10}{ours_wall:>11.2f}"
          f"{ours_floor:>10.2f}{ours_wall / ours_floor:>12.3f}{ours_stats['http_429']:>6}")
    print(f"{'naive: /members/{id} each':<34}{naive_requests:>10}{naive_wall:>11.0f}"
          f"{naive_floor:>10.0f}{naive_wall / naive_floor:>12.3f}{naive_stats['http_429']:>6}")
    print()
    print(f"naive baseline timed on {len(sample)} members ({naive_sample_wall:.1f} s) and "
          f"extrapolated linearly to {len(ids)} members")
    print(f"ours: {result.members} members, {result.coverage_rows} coverage rows, "
          f"retries {ours_stats['retries']}, snapshot published; 429s seen by the server: "
          f"{'n/a' if ours_429_server is None else ours_429_server}")
    print(f"speed-up over naive: {naive_wall / ours_wall:.0f}x wall time, "
          f"{naive_requests / result.requests:.0f}x fewer requests")
    ok = result.requests <= 40 and ours_wall <= 1.2 * ours_floor and ours_stats["http_429"] == 0
    print(f"targets (<= 40 requests, <= 1.2x floor, 0 429s): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
