"""Raw-response cache: hits, keys, --no-cache, TTL, JSON-not-pickle, 0700."""

from __future__ import annotations

import logging
import re
import sqlite3
import stat
import time
import zlib
from pathlib import Path

import httpx
import pytest

from cache.crossref.client import CrossrefClient
from cache.crossref.rawcache import RawCache, cache_key
from cache.crossref.settings import Settings


def make(tmp_path: Path, calls: list[httpx.Request], *, use_cache: bool = True, **overrides):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(
            200, json={"status": "ok", "message": {"total-results": len(calls), "items": []}}
        )

    options = {"data_dir": tmp_path / "data", "list_rate": 1000.0, "pace_margin_s": 0.0}
    options.update(overrides)
    settings = Settings.from_env(environ={"CROSSREF_MAILTO": "me@example.org"}, **options)
    return CrossrefClient(settings, transport=httpx.MockTransport(handler), use_cache=use_cache)


def test_hit_is_not_a_request(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []
    with make(tmp_path, calls) as client:
        assert client.count("/works", {"member": 1}) == 1
        assert client.count("/works", {"member": 1}) == 1  # from the cache
        assert client.count("/works", {"member": 2}) == 2
        assert client.stats.as_dict() == {
            "requests": 2,
            "retries": 0,
            "http_429": 0,
            "failures": 0,
            "cache_hits": 1,
        }
    assert len(calls) == 2
    # Survives a new client (it is on disk).
    with make(tmp_path, calls) as client:
        assert client.count("/works", {"member": 1}) == 1
        assert client.stats.cache_hits == 1 and client.stats.requests == 0


def test_no_cache_bypasses_reads_but_writes(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []
    with make(tmp_path, calls, use_cache=False) as client:
        client.get("/members", {"rows": 1})
        assert client.get("/members", {"rows": 1})["total-results"] == 2
        assert client.stats.cache_hits == 0
    with make(tmp_path, calls) as client:
        assert client.get("/members", {"rows": 1})["total-results"] == 2  # the last write
        assert len(calls) == 2


def test_key_sorted_without_mailto_or_token() -> None:
    a = cache_key(
        "get",
        "https://api.crossref.org/",
        "/works",
        {"rows": "0", "filter": "x:1", "mailto": "a@b"},
    )
    b = cache_key(
        "GET", "https://api.crossref.org", "/works", {"filter": "x:1", "rows": "0", "token": "t"}
    )
    assert a == b == "GET https://api.crossref.org/works?filter=x%3A1&rows=0"
    # The base URL is part of the key: the mock never shares entries with the real API.
    assert cache_key("GET", "http://127.0.0.1:5000", "/works", {}) != cache_key(
        "GET", "https://api.crossref.org", "/works", {}
    )


def test_ttl_is_24h_by_default(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []
    with make(tmp_path, calls) as client:
        client.get("/members/1")
    with RawCache(tmp_path / "data" / "http") as cache:
        key = cache_key("GET", "https://api.crossref.org", "/members/1", {})
        expires = cache.expire_time(key)
        assert expires is not None
        assert expires - time.time() == pytest.approx(86_400, abs=60)


def test_entries_expire(tmp_path: Path) -> None:
    with RawCache(tmp_path / "http", ttl_s=0.2) as cache:
        cache.set("k", {"a": 1})
        assert cache.get("k") == {"a": 1}
        time.sleep(0.3)
        assert cache.get("k") is None


def test_json_not_pickle(tmp_path: Path) -> None:
    directory = tmp_path / "http"
    with RawCache(directory) as cache:
        cache.set("small", {"a": [1, 2.5, None, "x"]})
        cache.set("big", {"items": ["y" * 100] * 2000})  # large enough to go to a file
        with pytest.raises(TypeError):
            cache.set("bad", {"a": {1, 2}})  # a set is not JSON: refused
        with pytest.raises(TypeError):
            cache.set("obj", object())
        assert "bad" not in cache and "obj" not in cache
        assert cache.get("small") == {"a": [1, 2.5, None, "x"]}
        assert len(cache) == 2
    with sqlite3.connect(directory / "cache.db") as db:
        rows = db.execute("SELECT key, mode, filename, value FROM Cache").fetchall()
    assert len(rows) == 2
    for _key, mode, filename, value in rows:
        assert mode != 4  # diskcache MODE_PICKLE
        raw = (directory / filename).read_bytes() if filename else bytes(value)
        text = zlib.decompress(raw).decode("utf-8")
        assert text.startswith("{")  # JSON text, not a pickle stream
        assert not raw.startswith(b"\x80")


def test_refuses_to_unpickle(tmp_path: Path) -> None:
    directory = tmp_path / "http"
    with RawCache(directory) as cache:
        cache.set("k", {"a": 1})
    with sqlite3.connect(directory / "cache.db") as db:
        db.execute("UPDATE Cache SET mode = 4")
    with RawCache(directory) as cache:
        assert cache.get("k") is None  # a tampered entry is ignored, never unpickled


def test_cache_dir_is_0700(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []
    with make(tmp_path, calls) as client:
        client.get("/members/1")
    http_dir = tmp_path / "data" / "http"
    assert stat.S_IMODE(http_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


# ---------------------------------------------------------------------------------------------
# A disposable cache that is broken is moved aside, never stops the work (issue 13)
# ---------------------------------------------------------------------------------------------
def broken_dirs(parent: Path, name: str) -> list[Path]:
    return sorted(parent.glob(f"{name}.broken-*"))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "directory", "file-instead-of-dir"])
def test_broken_raw_cache_is_moved_aside(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[httpx.Request] = []
    with make(tmp_path, calls) as client:  # a healthy cache with entries
        for member in range(1, 40):
            client.count("/works", {"member": member})
    http = tmp_path / "data" / "http"
    db = http / "cache.db"
    if damage == "garbage":
        db.write_bytes(b"\x00garbage not sqlite" * 500)
    elif damage == "truncated":
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 3])
    elif damage == "directory":
        db.unlink()
        db.mkdir()
    else:
        for p in sorted(http.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        http.rmdir()
        http.write_text("not a directory")
    calls.clear()
    with caplog.at_level(logging.WARNING), make(tmp_path, calls) as client:
        assert client.count("/works", {"member": 1}) == 1  # works, from the network
        assert client.count("/works", {"member": 1}) == 1  # and caches again
    assert len(calls) == 1
    moved = broken_dirs(tmp_path / "data", "http")
    assert len(moved) == 1 and re.fullmatch(r"http\.broken-\d{8}T\d{6}Z", moved[0].name)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("raw-response cache" in w and "moved it to http.broken-" in w for w in warnings)
    assert all("\n" not in w for w in warnings)
    assert stat.S_IMODE(http.stat().st_mode) == 0o700


def test_healthy_cache_is_not_moved(tmp_path: Path) -> None:
    calls: list[httpx.Request] = []
    for _ in range(3):
        with make(tmp_path, calls) as client:
            client.count("/works", {"member": 1})
    assert len(calls) == 1 and broken_dirs(tmp_path / "data", "http") == []


def test_disk_full_on_write_turns_caching_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import diskcache

    def full(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(diskcache.Cache, "set", full)
    calls: list[httpx.Request] = []
    with caplog.at_level(logging.WARNING), make(tmp_path, calls) as client:
        for member in (1, 2, 3):
            assert client.count("/works", {"member": member}) == member
    warnings = [r.getMessage() for r in caplog.records if "cannot be written" in r.getMessage()]
    assert len(warnings) == 1 and "disk is full" in warnings[0]


def test_cache_that_cannot_be_opened_at_all_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import diskcache

    def no_space(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(diskcache, "Cache", no_space)
    calls: list[httpx.Request] = []
    with caplog.at_level(logging.WARNING), make(tmp_path, calls) as client:
        assert client.count("/works", {"member": 1}) == 1
        assert client.count("/works", {"member": 1}) == 2  # no cache: asked again
    assert any("continuing without it" in r.getMessage() for r in caplog.records)


def test_jobs_cache_is_disposable_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cache.crossref import rawcache

    jobs = tmp_path / "jobs"
    cache = rawcache.open_disposable_cache(jobs, label="jobs cache")
    cache.set("k", {"pickled": object.__name__})
    cache.close()
    (jobs / "cache.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 3000)  # torn header
    cache = rawcache.open_disposable_cache(jobs, label="jobs cache")
    assert cache.get("k") is None and len(broken_dirs(tmp_path, "jobs")) == 1
    cache.set("k", 1)
    cache.close()

    def always(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(rawcache, "_open", always)
    with pytest.raises(rawcache.CacheUnavailable, match=r"jobs cache at .* cannot be opened"):
        rawcache.open_disposable_cache(tmp_path / "other", label="jobs cache")
    monkeypatch.undo()
    monkeypatch.setattr(rawcache, "_check_index", always)
    fallback = rawcache.open_disposable_cache(
        tmp_path / "third", label="jobs cache", fallback_to_temp=True
    )
    fallback.set("x", 1)
    assert fallback.get("x") == 1 and not str(fallback.directory).startswith(str(tmp_path))
    assert stat.S_IMODE(Path(fallback.directory).stat().st_mode) == 0o700
    fallback.close()
