"""Run the mock Crossref API in the foreground.

    python -m mock_crossref [--port 8080] [--members 33000]

The one CLI of the mock; its defaults are the demo population's (``mock.demo``), so the mock you
start by hand serves the same members as the demo snapshot.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

from mock_crossref.demo import DEMO_MEMBERS, DEMO_SEED
from mock_crossref.population import Population
from mock_crossref.server import FAULT_KINDS, FaultConfig, MockCrossref


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mock_crossref", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--members", type=int, default=DEMO_MEMBERS)
    ap.add_argument("--seed", type=int, default=DEMO_SEED)
    ap.add_argument("--current-year", type=int, default=datetime.now(UTC).year)
    ap.add_argument("--rate-limit", type=float, default=None, help="429 above this many req/s")
    ap.add_argument("--concurrency", type=int, default=None, help="429 above this many in flight")
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every response")
    ap.add_argument("--pool", default="polite", choices=("polite", "public", "plus", "auto"))
    ap.add_argument("--error-rate", type=float, default=0.0)
    ap.add_argument("--faults", default="500", help=f"comma list of {','.join(FAULT_KINDS)}")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    pop = Population(args.members, seed=args.seed, current_year=args.current_year)
    faults = FaultConfig(error_rate=args.error_rate, kinds=tuple(args.faults.split(",")))
    mock = MockCrossref(
        pop,
        rate_limit=args.rate_limit,
        concurrency=args.concurrency,
        latency_s=args.latency,
        pool=args.pool,
        faults=faults,
        host=args.host,
        port=args.port,
    )
    url = mock.start()
    print(
        f"mock Crossref API: {pop.n_members} members, {pop.total_works:,} works "
        f"(built in {time.perf_counter() - t0:.2f} s) at {url}  (Ctrl-C to stop)\n"
        f"try: CROSSREF_API_URL={url} python -m cache refresh --data-dir /tmp/mock-data",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        mock.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
