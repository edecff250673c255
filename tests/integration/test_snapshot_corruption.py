"""Damaged snapshots (issue 13): garbled and truncated files are refused or served only with
in-range values, never with coverage outside 0–1; the app-side readers and `python -m cache
export` say which file is broken; the newest readable snapshot is served instead.

The snapshot is built by the real conversion from real Crossref member records
(tests/fixtures/crossref/members), replicated to 2,000 members so every table file spans
several 4 KB blocks.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cache.crossref.errors import SnapshotError
from cache.jobs.cli import app
from cache.jobs.refresh import members_to_tables
from cache.store.snapshots import SnapshotStore
from tests import FIXTURES

MEMBERS = FIXTURES / "crossref" / "members"
REAL = [
    "member-98-hindawi.2026-06.json",
    "member-1-annals-of-family-medicine.2022-11.json",
    "member-10-ama.2022-11.json",
    "member-45-british-institute-of-radiology.2022-11.json",
    "member-9-allen-press-zero-dois.2022-11.json",
]
BLOCK = 4096
TRIALS = 6  # seeded trials per file, each garbling 4 KB at three offsets


@pytest.fixture(scope="module")
def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    base = [json.loads((MEMBERS / n).read_text(encoding="utf-8"))["message"] for n in REAL]
    items = []
    for i in range(2000):
        item = dict(base[i % len(base)])
        item["id"] = 1000 + i
        item["primary-name"] = f"{item.get('primary-name', '')} #{i}"
        items.append(item)
    return members_to_tables(items)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, tables) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("pristine")
    members, coverage = tables
    sid = SnapshotStore(root).publish(members, coverage, {"source": "api"})
    for name in ("members.parquet", "coverage.parquet"):
        assert (root / "snapshots" / sid / name).stat().st_size > 3 * BLOCK, name
    return root, sid


def copy_of(pristine: tuple[Path, str], dest: Path, *, legacy: bool) -> tuple[SnapshotStore, str]:
    root, sid = pristine
    shutil.copytree(root, dest, dirs_exist_ok=True)
    store = SnapshotStore(dest)
    if legacy:  # published before checksums: only decoding and range checks protect it
        meta_path = dest / "snapshots" / sid / "meta.json"
        meta = json.loads(meta_path.read_text())
        del meta["files"]
        meta_path.write_text(json.dumps(meta))
    return store, sid


def garble(path: Path, seed: int) -> list[int]:
    data = bytearray(path.read_bytes())
    rng = random.Random(seed)
    offsets = sorted(rng.randrange(0, max(1, len(data) - BLOCK)) for _ in range(3))
    for off in offsets:
        data[off : off + BLOCK] = rng.randbytes(min(BLOCK, len(data) - off))
    path.write_bytes(bytes(data))
    return offsets


def assert_in_range(snap_members: pd.DataFrame, coverage: pd.DataFrame) -> None:
    values = coverage["coverage"].to_numpy(dtype=float)
    finite = values[~np.isnan(values)]
    assert ((finite >= 0) & (finite <= 1)).all()
    covered = coverage["covered"].to_numpy(dtype=float)
    total = coverage["total"].to_numpy(dtype=float)
    assert ((covered >= 0) & (covered <= total)).all()
    assert (snap_members["member_id"].to_numpy() > 0).all()
    assert (coverage["member_id"].to_numpy() > 0).all()


def read_all(store: SnapshotStore, sid: str) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Every way the product reads a snapshot; each either raises SnapshotError or returns."""
    out = []
    snap = store.load(sid)
    out.append((snap.members, snap.coverage))
    members = store.read_members(sid)
    coverage = store.read_coverage(
        sid,
        columns=["member_id", "content_type", "period", "metric", "covered", "total", "coverage"],
        filters=[("total", ">", 0)],
    )
    out.append((members, coverage))
    return out


@pytest.mark.parametrize("legacy", [False, True], ids=["checksummed", "legacy"])
@pytest.mark.parametrize("name", ["members.parquet", "coverage.parquet"])
def test_garbled_blocks_never_serve_out_of_range_values(
    tmp_path: Path,
    pristine,  # type: ignore[no-untyped-def]
    name: str,
    legacy: bool,
) -> None:
    refused = 0
    for seed in range(TRIALS):
        store, sid = copy_of(pristine, tmp_path / f"t{seed}", legacy=legacy)
        offsets = garble(store.root / sid / name, seed=1000 * seed + len(name))
        try:
            results = read_all(store, sid)
        except SnapshotError as exc:
            assert name in str(exc), (offsets, str(exc))
            assert sid in str(exc)
            refused += 1
            continue
        assert legacy, f"checksummed snapshot served after garbling {name} at {offsets}"
        for members, coverage in results:
            assert_in_range(members, coverage)
    if not legacy:
        assert refused == TRIALS


@pytest.mark.parametrize("legacy", [False, True], ids=["checksummed", "legacy"])
@pytest.mark.parametrize("name", ["members.parquet", "coverage.parquet", "meta.json"])
@pytest.mark.parametrize("keep", [0.0, 0.5, 0.97])
def test_truncated_files_are_refused(
    tmp_path: Path,
    pristine,  # type: ignore[no-untyped-def]
    name: str,
    legacy: bool,
    keep: float,
) -> None:
    store, sid = copy_of(pristine, tmp_path, legacy=legacy)
    path = store.root / sid / name
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(SnapshotError, match=name.replace(".", r"\.")):
        store.load(sid)


def test_broken_latest_falls_back_and_export_says_why(
    tmp_path: Path,
    pristine,  # type: ignore[no-untyped-def]
    tables,  # type: ignore[no-untyped-def]
) -> None:
    store, good = copy_of(pristine, tmp_path, legacy=False)
    members, coverage = tables
    bad = store.publish(
        members.head(10),
        coverage[coverage["member_id"].isin(members["member_id"].head(10))],
        {"source": "api"},
    )
    garble(store.root / bad / "coverage.parquet", seed=3)
    assert store.latest_id() == bad

    snap, broken = store.load_latest_readable()
    assert snap.id == good and [b[0] for b in broken] == [bad]
    assert_in_range(snap.members, snap.coverage)

    runner = CliRunner()
    result = runner.invoke(app, ["export", "--data-dir", str(tmp_path)])
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in result.stderr
    assert f"snapshot {bad}: coverage.parquet fails its SHA-256 checksum" in line
    assert f"--snapshot {good}" in line
    assert result.stdout == ""  # nothing half-exported

    listing = runner.invoke(app, ["snapshots", "--data-dir", str(tmp_path)])
    assert listing.exit_code == 0, listing.stderr
    rows = {
        line.split()[1]: line
        for line in listing.stdout.splitlines()
        if "│" in line and "Z-" in line
    }
    assert "broken: coverage.parquet fails its SHA-256" in rows[bad]
    assert "ok, served" in rows[good]
    assert f"serving {good}: the latest, {bad}, is broken" in " ".join(listing.stdout.split())

    ok = runner.invoke(app, ["export", "--data-dir", str(tmp_path), "--snapshot", good])
    assert ok.exit_code == 0 and ok.stdout.startswith("member_id,member_name,")


def test_bad_meta_json_is_a_broken_snapshot(
    tmp_path: Path,
    pristine,  # type: ignore[no-untyped-def]
) -> None:
    store, sid = copy_of(pristine, tmp_path, legacy=False)
    meta = store.root / sid / "meta.json"
    for content in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"files": {"members.parquet": 3}}'):
        meta.write_bytes(content)
        with pytest.raises(SnapshotError, match=r"meta\.json"):
            store.load(sid)
        assert store.status(sid) is not None
    meta.unlink()
    meta.mkdir()
    assert store.ids() == [] and store.latest_id() is None  # no meta.json file: not complete
