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
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cache.crossref.client import CrossrefClient  # noqa: E402
from cache.crossref.settings import Settings  # noqa: E402
from cache.jobs.refresh import refresh_all  # noqa: E402
from cache.store.snapshots import SnapshotStore  # noqa: E402

POLITE_RATE = 3
POLITE_CONCURRENCY = 3


def floor_s(requests: int, latency_s: float) -> float:
    return requests / POLITE_RATE + latency_s


class MockProcess:
    """``python -m mock_crossref`` in a child process, so the server does not share our GIL
    (on a 2-core machine an in-process mock would slow the client it is measuring)."""

    def __init__(self, members: int, latency_s: float) -> None:
        cmd = [
            sys.executable,
            "-m",
            "mock_crossref",
            "--port",
            "0",
            "--members",
            str(members),
            "--latency",
            str(latency_s),
            "--rate-limit",
            str(POLITE_RATE),
            "--concurrency",
            str(POLITE_CONCURRENCY),
            "--pool",
            "polite",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"mock did not start: {line!r}")
        self.url = match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", type=int, default=33_000)
    ap.add_argument("--latency", type=float, default=0.1, help="mock latency per response (s)")
    ap.add_argument("--sample", type=int, default=300, help="members timed for the naive baseline")
    args = ap.parse_args(argv)

    t = time.perf_counter()
    mock = MockProcess(args.members, args.latency)
    print(f"mock: {args.members} members, ready in {time.perf_counter() - t:.1f} s at {mock.url}")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-refresh-") as tmp:
            settings = Settings.from_env(
                environ={}, api_url=mock.url, mailto="bench@example.org", data_dir=Path(tmp)
            )
            # -- ours: offset paging, rows=1000, pages fetched concurrently within the limits
            started = time.perf_counter()
            with CrossrefClient(settings, use_cache=False, write_cache=False) as client:
                result = refresh_all(client, SnapshotStore(tmp), source="demo")
                ours_stats = client.stats.as_dict()
            ours_wall = time.perf_counter() - started
            ours_floor = floor_s(result.requests, args.latency)

            # -- naive baseline: one /members/{id} request per member, timed on a sample
            ids = SnapshotStore(tmp).load(result.snapshot_id).members["member_id"].tolist()
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
    print(
        f"mock limits: {POLITE_RATE} req/s and {POLITE_CONCURRENCY} in flight (429 beyond); "
        f"latency {args.latency:.2f} s a response"
    )
    print(f"{'':<34}{'requests':>10}{'wall s':>11}{'floor s':>10}{'wall/floor':>12}{'429s':>6}")
    print(
        f"{'ours: /members?rows=1000 pages':<34}{result.requests:>10}{ours_wall:>11.2f}"
        f"{ours_floor:>10.2f}{ours_wall / ours_floor:>12.3f}{ours_stats['http_429']:>6}"
    )
    print(
        f"{'naive: /members/{id} each':<34}{naive_requests:>10}{naive_wall:>11.0f}"
        f"{naive_floor:>10.0f}{naive_wall / naive_floor:>12.3f}{naive_stats['http_429']:>6}"
    )
    print()
    print(
        f"floor = requests / {POLITE_RATE} per s + one latency. Wall time includes converting "
        f"and publishing the snapshot ({result.members} members, {result.coverage_rows} "
        f"coverage rows)."
    )
    print(
        f"naive baseline: timed on {len(sample)} members ({naive_sample_wall:.1f} s), "
        f"extrapolated linearly to {len(ids)} members"
    )
    print(
        f"speed-up over naive: {naive_wall / ours_wall:.0f}x wall time, "
        f"{naive_requests / result.requests:.0f}x fewer requests"
    )
    ok = result.requests <= 40 and ours_wall <= 1.2 * ours_floor and ours_stats["http_429"] == 0
    print(f"targets (<= 40 requests, <= 1.2x floor, 0 429s): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
