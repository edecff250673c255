"""Snapshot store: schema, publish/list/load, atomicity under simulated crashes."""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cache.crossref.errors import SnapshotError
from cache.store.snapshots import (
    COVERAGE_COLUMNS,
    MEMBER_COLUMNS,
    YEARS_COLUMNS,
    SnapshotStore,
    make_snapshot_id,
)


def members_frame(ids: list[int]) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "member_id": ids,
            "name": [f"=Member {i}" for i in ids],
            "location": ["Leawood, KS, United States"] * n,
            "country": ["USA"] * n,
            "country_name": ["United States"] * n,
            "gem": [False] * n,
            "prefixes": ["10.1370"] * n,
            "total_dois": [10] * n,
            "current_dois": [4] * n,
            "backfile_dois": [6] * n,
            "counts_type": ['{"all":{"journal-article":10}}'] * n,
            "dois_by_year": ['{"2024":4}'] * n,
            "last_status_check": [1_781_565_008_263] * n,
        }
    )


def coverage_frame(ids: list[int]) -> pd.DataFrame:
    rows = []
    for i in ids:
        rows.append((i, "journal-article", "current", "orcids", 1, 4, 0.25))
        rows.append((i, "journal-article", "backfile", "orcids", 0, 0, np.nan))
    frame = pd.DataFrame(
        rows,
        columns=["member_id", "content_type", "period", "metric", "covered", "total", "coverage"],
    )
    frame["source"] = "coverage-type"
    frame["ci_low"] = np.nan
    frame["ci_high"] = np.nan
    return frame


def years_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": [1],
            "content_type": ["journal-article"],
            "year": [2024],
            "metric": ["orcids"],
            "covered": [1],
            "total": [2],
            "source": ["bulk"],
        }
    )


def publish(store: SnapshotStore, ids: list[int], source: str = "api", **meta: object) -> str:
    return store.publish(members_frame(ids), coverage_frame(ids), {"source": source, **meta})


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_roundtrip_and_dtypes(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    assert store.latest_id() is None and store.list() == []
    sid = store.publish(
        members_frame([1, 2]),
        coverage_frame([1, 2]),
        {"source": "api", "requests": 3},
        years_frame(),
    )
    assert re.fullmatch(r"\d{8}T\d{6}Z-api", sid)
    assert (tmp_path / "snapshots" / "LATEST").read_text().strip() == sid
    assert store.latest_id() == sid
    snap = store.load()
    assert snap.id == sid
    assert snap.meta["id"] == sid and snap.meta["source"] == "api"
    assert snap.meta["members"] == 2 and snap.meta["requests"] == 3
    assert snap.meta["created"].endswith("Z")
    assert list(snap.members.columns) == list(MEMBER_COLUMNS)
    assert list(snap.coverage.columns) == list(COVERAGE_COLUMNS)
    assert snap.years is not None and list(snap.years.columns) == list(YEARS_COLUMNS)
    for frame, schema in ((snap.members, MEMBER_COLUMNS), (snap.coverage, COVERAGE_COLUMNS)):
        for col, dtype in schema.items():
            assert str(frame[col].dtype) == dtype, col
    assert snap.coverage["coverage"].iloc[0] == 0.25
    assert np.isnan(snap.coverage["coverage"].iloc[1])
    assert snap.members["name"].iloc[0] == "=Member 1"  # stored as is; neutralised on export
    files = sorted(p.name for p in (tmp_path / "snapshots" / sid).iterdir())
    assert files == ["coverage.parquet", "members.parquet", "meta.json", "years.parquet"]
    assert store.load(sid).years is not None


def test_history_kept_and_listed_newest_first(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = publish(store, [1])
    second = publish(store, [1, 2], source="demo")
    third = publish(store, [1, 2, 3])
    assert len({first, second, third}) == 3  # same second: suffixed, still unique
    listed = store.list()
    assert [m["id"] for m in listed] == [third, second, first]
    assert [m["members"] for m in listed] == [3, 2, 1]
    assert {"id", "created", "source", "members"} <= set(listed[0])
    assert store.latest_id() == third
    assert len(store.load(first).members) == 1  # older snapshots stay loadable


def test_snapshot_id_format() -> None:
    import datetime as dt

    when = dt.datetime(2026, 11, 21, 14, 25, 3, tzinfo=dt.UTC)
    assert make_snapshot_id("api", when) == "20261121T142503Z-api"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m, c: (m.drop(columns=["gem"]), c), "members: missing column"),
        (lambda m, c: (m.assign(extra=1), c), "members: unexpected column"),
        (lambda m, c: (m, c.drop(columns=["ci_low", "ci_high"])), "coverage: missing column"),
        (lambda m, c: (m.assign(name=None), c), "members.name"),
        (lambda m, c: (m.assign(total_dois="many"), c), "members.total_dois"),
        (lambda m, c: (m, c.assign(period="someday")), "coverage.period"),
        (lambda m, c: (pd.concat([m, m]), c), "not unique"),
    ],
)
def test_publish_validates(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    store = SnapshotStore(tmp_path)
    good = publish(store, [1])
    before = tree_digest(tmp_path / "snapshots")
    members, coverage = mutate(members_frame([1, 2]), coverage_frame([1, 2]))
    with pytest.raises(SnapshotError, match=re.escape(message)):
        store.publish(members, coverage, {"source": "api"})
    assert store.latest_id() == good
    assert tree_digest(tmp_path / "snapshots") == before


def test_publish_needs_a_known_source(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match=r"meta\.source"):
        SnapshotStore(tmp_path).publish(members_frame([1]), coverage_frame([1]), {})


@pytest.mark.parametrize("crash_at", ["coverage.parquet", "meta", "rename"])
def test_crash_mid_publish_leaves_previous_latest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: str
) -> None:
    store = SnapshotStore(tmp_path)
    good = publish(store, [1])
    before = tree_digest(tmp_path / "snapshots")

    class Crash(RuntimeError):
        pass

    if crash_at == "coverage.parquet":
        real = pd.DataFrame.to_parquet

        def to_parquet(self, path, *args, **kwargs):  # type: ignore[no-untyped-def]
            if str(path).endswith("coverage.parquet"):
                Path(path).write_bytes(b"PAR1 half a file")
                raise Crash("disk full")
            return real(self, path, *args, **kwargs)

        monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    elif crash_at == "meta":
        real_write = Path.write_text

        def write_text(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if self.name == "meta.json":
                raise Crash("killed")
            return real_write(self, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_text)
    else:

        def rename(src, dst):  # type: ignore[no-untyped-def]
            raise Crash("killed")

        monkeypatch.setattr(os, "rename", rename)

    with pytest.raises(Crash):
        publish(store, [1, 2, 3])
    monkeypatch.undo()
    assert store.latest_id() == good
    assert [m["id"] for m in store.list()] == [good]
    assert len(store.load().members) == 1
    assert tree_digest(tmp_path / "snapshots") == before  # nothing half-written left behind


def test_crash_before_latest_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SnapshotStore(tmp_path)
    good = publish(store, [1])
    latest_before = (tmp_path / "snapshots" / "LATEST").read_bytes()

    def replace(src, dst):  # type: ignore[no-untyped-def]
        raise RuntimeError("killed just before LATEST moved")

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(RuntimeError):
        publish(store, [1, 2])
    monkeypatch.undo()
    assert (tmp_path / "snapshots" / "LATEST").read_bytes() == latest_before
    assert store.latest_id() == good
    assert len(store.load().members) == 1
    assert not list((tmp_path / "snapshots").glob(".tmp-LATEST*"))


def test_hard_crash_leftovers_are_invisible_and_swept(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    good = publish(store, [1])
    leftover = tmp_path / "snapshots" / ".tmp-20991231T000000Z-api-deadbeef"
    leftover.mkdir()
    (leftover / "members.parquet").write_bytes(b"partial")
    assert store.latest_id() == good
    assert [m["id"] for m in store.list()] == [good]
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    publish(store, [1])
    assert not leftover.exists()


def test_latest_missing_falls_back_to_newest(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    publish(store, [1])
    newest = publish(store, [1, 2])
    (tmp_path / "snapshots" / "LATEST").unlink()
    assert store.latest_id() == newest


def test_load_errors(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    with pytest.raises(SnapshotError, match="no snapshot"):
        store.load()
    publish(store, [1])
    for bad in ("../../etc", "20991231T000000Z-api/../x", "nope"):
        with pytest.raises(SnapshotError, match="not a snapshot id"):
            store.load(bad)
    with pytest.raises(SnapshotError, match="does not exist"):
        store.load("20991231T000000Z-api")


def test_dirs_are_private(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "data")
    sid = publish(store, [1])
    for path in (
        tmp_path / "data",
        tmp_path / "data" / "snapshots",
        tmp_path / "data" / "snapshots" / sid,
    ):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
