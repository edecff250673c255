"""One worker process of tests/integration/test_shared_limiter.py (not a test module).

    python tests/integration/limiter_worker.py URL DATA_DIR REDIS_URL GO FIRST COUNT shared|local

Touches ``GO.ready.<pid>``, waits for the file ``GO``, then GETs ``/members?rows=1&offset=i``
for ``COUNT`` offsets from ``FIRST`` on its own pool's threads (polite: 3), taking slots from the
shared limiter (``shared``) or pacing only itself (``local``), and prints its client stats as
one JSON line. Kept free of pytest and the mock so that it starts fast.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cache.crossref.client import CrossrefClient
from cache.crossref.settings import Settings

MAILTO = "limiter-test@example.org"  # polite pool: 3 requests/s, 3 in flight


def settings_for(url: str, data_dir: str, redis_url: str) -> Settings:
    """Polite-pool settings against ``url`` with the data dir and Redis URL given (fast retries)."""
    env = {
        "CROSSREF_MAILTO": MAILTO,
        "CROSSREF_API_URL": url,
        "DASHBOARD_DATA_DIR": data_dir,
        "CROSSREF_BACKOFF_BASE_S": "0.1",
        "REDIS_URL": redis_url,
    }
    return Settings.from_env(environ=env)


def main(argv: list[str]) -> int:
    """Run the worker; exit 0 with one JSON line on stdout, 2 when no go signal came in 60 s."""
    url, data_dir, redis_url, go_file, first, count, mode = argv
    settings = settings_for(url, data_dir, redis_url)
    offsets = range(int(first), int(first) + int(count))
    Path(f"{go_file}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while not Path(go_file).exists():
        if time.monotonic() > deadline:
            print("no go signal", file=sys.stderr)
            return 2
        time.sleep(0.01)
    limiter = "auto" if mode == "shared" else None
    with CrossrefClient(settings, use_cache=False, write_cache=False, limiter=limiter) as client:
        client.map(lambda off: client.get("/members", {"rows": 1, "offset": off}), offsets)
        report = {
            "pid": os.getpid(),
            "stats": client.stats.as_dict(),
            "limiter": type(client.limiter).__name__ if client.limiter else None,
            "failovers": client.limiter.failovers if client.limiter else 0,
            "peak_in_flight": client.pacer.peak_in_flight,
        }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
