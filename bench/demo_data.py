"""The full demo snapshot the benches measure against, built once into bench/results/demo-data."""

from __future__ import annotations

import time
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / "results" / "demo-data"


def ensure_demo_snapshot(data_dir: Path = DEFAULT_DIR, n_members: int = 33_000) -> str:
    """The latest snapshot id in `data_dir`, building the demo snapshot there first if none."""
    from cache.store.snapshots import SnapshotStore

    sid = SnapshotStore(data_dir).latest_id()
    if sid:
        return sid
    print(f"building the demo snapshot ({n_members:,} members) into {data_dir} …", flush=True)
    from cache.crossref.settings import Settings
    from mock_crossref.demo import build_demo_snapshot

    t0 = time.perf_counter()
    sid = build_demo_snapshot(Settings.from_env(data_dir=data_dir), n_members=n_members)
    print(f"  done in {time.perf_counter() - t0:.1f} s", flush=True)
    return sid
