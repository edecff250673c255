"""Run the mock Crossref API standalone: ``python -m cache.mock --port 8080 --members 33000``."""

from __future__ import annotations

import argparse
import time

from cache.mock.population import Population
from cache.mock.server import FAULT_KINDS, FaultConfig, MockCrossref


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m cache.mock", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--members", type=int, default=33000)
    ap.add_argument("--seed", type=int, default=20260616)
    ap.add_argument("--current-year", type=int, default=2026)
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
    mock = MockCrossref(pop, rate_limit=args.rate_limit, concurrency=args.concurrency,
                        latency_s=args.latency, pool=args.pool, faults=faults, host=args.host,
                        port=args.port)
    url = mock.start()
    print(f"mock Crossref API: {pop.n_members} members, {pop.total_works:,} works "
          f"(built in {time.perf_counter() - t0:.2f} s) at {url}  (Ctrl-C to stop)", flush=True)
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
