"""Snapshot store: schema, publish/list/load, atomicity under simulated crashes."""

from __future__ import annotations

import hashlib
import json
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
    # rows are stored sorted by member, content type, period, metric: backfile before current
    assert snap.coverage["period"].tolist()[:2] == ["backfile", "current"]
    assert np.isnan(snap.coverage["coverage"].iloc[0])
    assert snap.coverage["coverage"].iloc[1] == 0.25
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


# ---------------------------------------------------------------------------------------------
# Checksums, range checks, fallback, LATEST repair, id reservation, deterministic order
# ---------------------------------------------------------------------------------------------
def strip_checksums(store: SnapshotStore, sid: str) -> None:
    """Make ``sid`` look like a snapshot published before checksums existed."""
    path = store.root / sid / "meta.json"
    meta = json.loads(path.read_text())
    del meta["files"]
    path.write_text(json.dumps(meta))


def test_meta_records_sha256_of_every_file(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    sid = store.publish(members_frame([1]), coverage_frame([1]), {"source": "api"}, years_frame())
    files = store.read_meta(sid)["files"]
    folder = tmp_path / "snapshots" / sid
    assert set(files) == {"members.parquet", "coverage.parquet", "years.parquet"}
    for name, record in files.items():
        data = (folder / name).read_bytes()
        assert record == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def test_bulk_files_count_is_kept_apart(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    sid = store.publish(members_frame([1]), coverage_frame([1]), {"source": "bulk", "files": 3})
    meta = store.read_meta(sid)
    assert meta["input_files"] == 3 and isinstance(meta["files"], dict)
    assert len(store.load(sid).members) == 1


@pytest.mark.parametrize("name", ["members.parquet", "coverage.parquet", "years.parquet"])
def test_any_changed_byte_is_caught(tmp_path: Path, name: str) -> None:
    store = SnapshotStore(tmp_path)
    sid = store.publish(members_frame([1]), coverage_frame([1]), {"source": "api"}, years_frame())
    path = tmp_path / "snapshots" / sid / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match=rf"snapshot {sid}: {name} fails its SHA-256"):
        store.load(sid)
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(SnapshotError, match=rf"{name} has \d+ bytes but meta.json records"):
        store.load(sid)
    path.unlink()
    with pytest.raises(SnapshotError, match=rf"{name} is (missing|not listed)"):
        store.load(sid)


def test_checksum_verdict_is_computed_once_per_file_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cache.store import snapshots

    store = SnapshotStore(tmp_path)
    sid = publish(store, [1, 2])
    calls: list[str] = []
    real = snapshots.file_sha256

    def counting(path):  # type: ignore[no-untyped-def]
        calls.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(snapshots, "file_sha256", counting)
    store.load(sid)
    store.load(sid)
    store.read_coverage(sid, columns=["member_id", "coverage"])
    assert sorted(calls) == ["coverage.parquet", "members.parquet"]  # once each
    path = tmp_path / "snapshots" / sid / "coverage.parquet"
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))  # a new version
    store.load(sid)
    assert calls.count("coverage.parquet") == 2


def test_meta_files_entry_cannot_point_outside(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    sid = publish(store, [1])
    path = tmp_path / "snapshots" / sid / "meta.json"
    meta = json.loads(path.read_text())
    meta["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "bytes": 1}
    path.write_text(json.dumps(meta))
    with pytest.raises(SnapshotError, match="malformed files entry"):
        store.load(sid)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda m, c: (m, c.assign(coverage=1.5)), "coverage value(s) are outside 0–1"),
        (lambda m, c: (m, c.assign(coverage=-0.1)), "coverage value(s) are outside 0–1"),
        (lambda m, c: (m, c.assign(covered=5, total=4)), "covered > total"),
        (lambda m, c: (m, c.assign(total=-1)), "total value(s) are negative"),
        (lambda m, c: (m.assign(member_id=[0, 2]), c), "member_id value(s) are not positive"),
        (lambda m, c: (m, c.assign(ci_low=2.0)), "ci_low value(s) are outside 0–1"),
    ],
)
def test_publish_refuses_out_of_range_values(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    store = SnapshotStore(tmp_path)
    members, coverage = mutate(members_frame([1, 2]), coverage_frame([1, 2]))
    with pytest.raises(SnapshotError, match=re.escape(message)):
        store.publish(members, coverage, {"source": "api"})
    assert store.latest_id() is None


def test_legacy_snapshot_loads_with_range_checks(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    sid = publish(store, [1, 2])
    strip_checksums(store, sid)
    assert len(store.load(sid).members) == 2  # published before checksums: still served
    assert store.status(sid) is None
    path = tmp_path / "snapshots" / sid / "coverage.parquet"
    frame = pd.read_parquet(path)
    frame.loc[1, "coverage"] = -1.47e260  # what a garbled page decoded to in issue 13
    frame.to_parquet(path, index=False)
    with pytest.raises(SnapshotError, match=r"coverage.parquet: coverage: 1 coverage value"):
        store.load(sid)
    with pytest.raises(SnapshotError, match="outside 0–1"):
        store.read_coverage(sid)
    assert "outside 0–1" in (store.status(sid) or "")


def test_wrong_schema_is_broken(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    sid = publish(store, [1])
    strip_checksums(store, sid)
    path = tmp_path / "snapshots" / sid / "coverage.parquet"
    pd.read_parquet(path).drop(columns=["covered"]).to_parquet(path, index=False)
    with pytest.raises(SnapshotError, match=r"missing column.*covered.*wrong schema"):
        store.load(sid)


def test_load_latest_readable_falls_back_and_names_the_broken(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    good = publish(store, [1])
    bad = publish(store, [1, 2])
    (tmp_path / "snapshots" / bad / "coverage.parquet").write_bytes(b"PAR1 garbage")
    snap, broken = store.load_latest_readable()
    assert snap.id == good and len(snap.members) == 1
    assert [sid for sid, _ in broken] == [bad]
    assert "coverage.parquet" in broken[0][1]
    assert store.served_id() == good
    assert store.status(good) is None and "coverage.parquet" in (store.status(bad) or "")
    (tmp_path / "snapshots" / good / "meta.json").write_text("{not json")
    with pytest.raises(SnapshotError, match="no readable snapshot"):
        store.load_latest_readable()


@pytest.mark.parametrize("kind", ["not-utf8", "directory", "missing-target", "garbage-id"])
def test_bad_latest_pointer_is_like_a_missing_one(tmp_path: Path, kind: str) -> None:
    store = SnapshotStore(tmp_path)
    publish(store, [1])
    newest = publish(store, [1, 2])
    latest = tmp_path / "snapshots" / "LATEST"
    latest.unlink()
    if kind == "not-utf8":
        latest.write_bytes(b"\xff\xfe\x00garbage")
    elif kind == "directory":
        latest.mkdir()
        (latest / "x").write_text("x")
    elif kind == "missing-target":
        latest.write_text("20991231T000000Z-api\n")
    else:
        latest.write_text("../../etc\n")
    assert store.latest_id() == newest
    assert store.load().id == newest
    assert store.load_latest_readable()[0].id == newest
    again = publish(store, [1, 2, 3])  # never blocks the publish that repairs it
    assert latest.is_file() and latest.read_text().strip() == again
    assert store.latest_id() == again


def test_same_second_ids_are_reserved_and_sorted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from cache.store import snapshots

    fixed = dt.datetime(2026, 11, 21, 14, 25, 3, tzinfo=dt.UTC)
    monkeypatch.setattr(snapshots, "utc_now", lambda: fixed)
    store = SnapshotStore(tmp_path)
    ids = [publish(store, [1], source="demo" if i == 3 else "api") for i in range(12)]
    assert ids[:3] == ["20261121T142503Z-api", "20261121T142503Z-api-2", "20261121T142503Z-api-3"]
    assert ids[3] == "20261121T142503Z-demo-4"  # the sequence is per second, across sources
    assert len(set(ids)) == 12 and all(snapshots.ID_RE.match(i) for i in ids)
    assert store.ids() == ids[::-1]  # "-10" is newer than "-9", "-2" and the first
    assert store.latest_id() == ids[-1]
    assert [m["id"] for m in store.list()] == ids[::-1]


def test_reservation_is_atomic_across_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = SnapshotStore(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(lambda i: publish(SnapshotStore(tmp_path), [1, i + 2]), range(16)))
    assert len(set(ids)) == 16
    for sid in ids:
        assert len(store.load(sid).members) == 2
    leftovers = [p.name for p in (tmp_path / "snapshots").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_failed_publish_releases_its_reserved_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SnapshotStore(tmp_path)
    good = publish(store, [1])

    def boom(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(SnapshotStore, "_write_tables", boom)
    with pytest.raises(OSError, match="No space"):
        publish(store, [1, 2])
    monkeypatch.undo()
    names = sorted(p.name for p in (tmp_path / "snapshots").iterdir())
    assert names == sorted([good, "LATEST"])  # no empty reserved directory left behind


def test_stale_empty_reservation_is_swept(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    publish(store, [1])
    stale = tmp_path / "snapshots" / "20200101T000000Z-api"
    stale.mkdir()
    old = time.time() - 7200
    os.utime(stale, (old, old))
    publish(store, [1])
    assert not stale.exists()


def test_tables_are_written_in_canonical_order(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    members = members_frame([5, 3, 9, 1])
    coverage = coverage_frame([5, 3, 9, 1])
    coverage.loc[len(coverage)] = [3, "book", "all", "abstracts", 0, 1, 0.0, "x", np.nan, np.nan]
    years = pd.concat(
        [years_frame().assign(member_id=m, year=y) for m in (9, 1) for y in (2025, 2019)]
    )
    first = store.publish(members, coverage, {"source": "bulk"}, years)
    rng = np.random.default_rng(7)
    second = store.publish(
        members.sample(frac=1, random_state=1),
        coverage.iloc[rng.permutation(len(coverage))],
        {"source": "bulk"},
        years.iloc[::-1],
    )
    snap = store.load(first)
    assert snap.members["member_id"].tolist() == [1, 3, 5, 9]
    keys = ["member_id", "content_type", "period", "metric"]
    assert (
        snap.coverage[keys].values.tolist() == snap.coverage.sort_values(keys)[keys].values.tolist()
    )
    assert snap.coverage["content_type"].tolist()[2:4] == ["book", "journal-article"]
    assert snap.years is not None
    assert list(zip(snap.years["member_id"], snap.years["year"], strict=True)) == [
        (1, 2019),
        (1, 2025),
        (9, 2019),
        (9, 2025),
    ]
    a, b = store.read_meta(first)["files"], store.read_meta(second)["files"]
    assert a == b  # same data in any order: byte-identical tables
