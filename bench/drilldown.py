"""Benchmark: the work-level drill-down of one member at the polite pool's list limits.

Runs ``cache.jobs.drilldown.fetch`` (totals, counts, per-year facets, samples and gap lists per
content type) against the mock Crossref API on 127.0.0.1 with 0.1 s latency and the polite list
limits enforced *by the mock* (3 requests/s, 3 in flight; a too-fast client gets 429s), for a
mid-sized and a large member. Also prints the planned requests by kind.

Prints requests, wall time, the rate-limit floor (requests ÷ 3 per s) and the ratio to it, plus
the naive baseline of fetching every work of the member with a cursor (1000 per page) and
evaluating the predicates locally — its request count and floor, which is what the filters save.

    python bench/drilldown.py [--members 33000] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cache.crossref.client import CrossrefClient  # noqa: E402
from cache.crossref.settings import Settings  # noqa: E402
from cache.jobs import drilldown  # noqa: E402
from mock_crossref.population import Population  # noqa: E402
from mock_crossref.server import MockCrossref  # noqa: E402

POLITE_RATE = 3
YEAR = 2026


def pick_members(pop: Population) -> list[dict]:
    """A mid-sized member (~5k works) and the largest one under 200k works."""
    items = [pop.member_item(i) for i in range(pop.n_members)]
    dated = [m for m in items if m["counts"]["current-dois"] > 0]
    mid = min(dated, key=lambda m: abs(m["counts"]["total-dois"] - 5_000))
    large = max(
        (m for m in dated if m["counts"]["total-dois"] < 200_000),
        key=lambda m: m["counts"]["total-dois"],
    )
    return [mid, large]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=33_000)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()

    pop = Population(n_members=args.members, current_year=YEAR)
    mock = MockCrossref(
        pop,
        rate_limit=POLITE_RATE,
        concurrency=POLITE_RATE,
        latency_s=args.latency,
        pool="polite",
        warm=False,
    )
    url = mock.start()
    try:
        for member in pick_members(pop):
            with tempfile.TemporaryDirectory() as tmp:
                settings = Settings.from_env(
                    api_url=url, mailto="bench@example.org", data_dir=Path(tmp)
                )
                with CrossrefClient(settings, use_cache=False) as client:
                    t0 = time.perf_counter()
                    result = drilldown.fetch(client, member["id"], current_year=YEAR)
                    wall = time.perf_counter() - t0
                    stats = client.stats
            floor = stats.requests / POLITE_RATE + args.latency
            total = sum(member["counts-type"]["all"].values())
            naive = 1 + math.ceil(total / 1000)
            print(f"member {member['id']} ({total:,} works, types {', '.join(result['types'])})")
            plan = ", ".join(f"{k}={v}" for k, v in result["requests_by_kind"].items())
            print(f"  planned requests by kind: {plan} (gap lists: first pages)")
            print(
                f"  drill-down: requests={stats.requests} wall={wall:.1f}s "
                f"floor={floor:.1f}s ratio={wall / floor:.2f}x 429s={stats.http_429} "
                f"retries={stats.retries}"
            )
            print(
                f"  naive (every work by cursor): requests={naive} "
                f"floor={naive / POLITE_RATE:.0f}s (grows with the member's size; "
                f"the drill-down does not)"
            )
            time.sleep(1.0)  # let the mock's 1 s rate window empty before the next client
    finally:
        mock.stop()


if __name__ == "__main__":
    main()
