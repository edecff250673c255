"""Raw-response cache: diskcache with JSON values (never pickle), TTL, directory 0700.

Keys are ``GET <base-url><path>?<sorted params>`` with ``mailto`` and any token excluded, so the
same query from the polite and the public pool shares an entry, while the mock (a loopback base
URL) never shares entries with api.crossref.org. Values go through ``diskcache.JSONDisk``: a value
that is not JSON-serialisable is refused with ``TypeError`` and nothing is unpickled on read.

The cache is disposable: :func:`open_disposable_cache` (also used for the app's ``jobs/`` cache)
checks the SQLite index before opening it; one that is garbage, truncated or cannot be opened is
renamed ``<dir>.broken-<UTC time>`` with a one-line warning and a fresh one is started. When
even a fresh one cannot be opened (disk full, read-only), the raw cache is simply not used for
the run, and a write that fails mid-run (disk full) turns caching off for the rest of the run.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import diskcache

from cache.crossref.settings import ensure_private_dir

logger = logging.getLogger(__name__)

BROKEN_INFIX = ".broken-"
_DB_NAME = "cache.db"  # diskcache's SQLite index inside the cache directory


class CacheUnavailable(OSError):
    """A disposable cache could not be opened, not even as a fresh, empty one."""


def move_aside(path: Path) -> Path:
    """Rename ``path`` to ``<path>.broken-<YYYYmmddTHHMMSSZ>`` (``-2``, ``-3`` … if taken) in the
    same directory and return the new path. Raises ``OSError`` if the rename fails."""
    path = Path(path)
    stamp = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    target = path.with_name(f"{path.name}{BROKEN_INFIX}{stamp}")
    n = 2
    while target.exists():
        target = path.with_name(f"{path.name}{BROKEN_INFIX}{stamp}-{n}")
        n += 1
    os.rename(path, target)
    return target


def _is_transient(exc: BaseException) -> bool:
    """Another process holds the database: not a reason to throw the cache away."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _check_index(directory: Path) -> None:
    """Raise when the cache's SQLite index exists but is not a healthy database.

    ``PRAGMA quick_check`` reads every page of the index (keys and metadata only; diskcache keeps
    large values in separate files), a few milliseconds for thousands of entries.
    """
    db = directory / _DB_NAME
    if not db.exists() and not db.is_symlink():
        return
    if not db.is_file():
        raise sqlite3.DatabaseError(f"{_DB_NAME} is not a regular file")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        rows = con.execute("PRAGMA quick_check").fetchall()
    finally:
        con.close()
    if rows != [("ok",)]:
        first = str(rows[0][0]) if rows else "no result"
        raise sqlite3.DatabaseError(f"integrity check failed: {first[:120]}")


def _open(directory: Path, cache_kwargs: dict[str, Any]) -> diskcache.Cache:
    ensure_private_dir(directory)
    _check_index(directory)
    cache = diskcache.Cache(directory=str(directory), **cache_kwargs)
    try:
        len(cache)  # touches the Cache table
    except BaseException:
        cache.close()
        raise
    return cache


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def open_disposable_cache(
    directory: Path, *, label: str = "cache", fallback_to_temp: bool = False, **cache_kwargs: Any
) -> diskcache.Cache:
    """Open ``diskcache.Cache(directory, **cache_kwargs)``, replacing a broken one.

    A cache whose index is garbage, truncated or unopenable (``sqlite3.DatabaseError``,
    ``OSError`` such as disk full, ``ValueError``) is moved aside with :func:`move_aside` and a
    one-line warning naming ``label``, then a fresh, empty cache is opened in ``directory``.
    A locked database (another process) is never moved aside. When no cache can be opened there,
    ``fallback_to_temp`` opens one in a new private temporary directory (with a warning);
    otherwise :class:`CacheUnavailable` is raised. A file where the directory should be is moved
    aside like a broken cache; a read-only location ends in the fallback or the exception.
    """
    directory = Path(directory)
    try:
        return _open(directory, cache_kwargs)
    except (sqlite3.Error, OSError, ValueError) as exc:  # ConfigError is a ValueError
        first: BaseException = exc
        if not _is_transient(exc) and (directory.exists() or directory.is_symlink()):
            try:
                moved = move_aside(directory)
            except OSError as move_exc:
                logger.warning(
                    "%s at %s is unusable (%s) and could not be moved aside (%s)",
                    label,
                    directory,
                    _reason(exc),
                    _reason(move_exc),
                )
            else:
                logger.warning(
                    "%s at %s was unusable (%s); moved it to %s and started a fresh one",
                    label,
                    directory,
                    _reason(exc),
                    moved.name,
                )
                try:
                    return _open(directory, cache_kwargs)
                except (sqlite3.Error, OSError, ValueError) as again:
                    first = again
    if fallback_to_temp:
        temp = Path(tempfile.mkdtemp(prefix="crossref-dashboard-cache-"))
        logger.warning(
            "%s at %s cannot be opened (%s); using %s for this run",
            label,
            directory,
            _reason(first),
            temp,
        )
        return diskcache.Cache(directory=str(temp), **cache_kwargs)
    raise CacheUnavailable(f"{label} at {directory} cannot be opened ({_reason(first)})")


EXCLUDED_PARAMS = frozenset({"mailto", "token", "api_key", "crossref-plus-api-token"})
DEFAULT_TTL_S = 86_400


def cache_key(method: str, base_url: str, path: str, params: Mapping[str, Any] | None) -> str:
    """Deterministic key: method, base URL, path and the sorted params minus mailto/tokens."""
    items = sorted(
        (str(k), str(v))
        for k, v in (params or {}).items()
        if str(k).lower() not in EXCLUDED_PARAMS and v is not None
    )
    query = urlencode(items)
    return f"{method.upper()} {base_url.rstrip('/')}{path}" + (f"?{query}" if query else "")


class SafeJSONDisk(diskcache.JSONDisk):
    """JSONDisk that also refuses to unpickle on read, whatever the database says."""

    def fetch(self, mode, filename, value, read):  # type: ignore[no-untyped-def]
        """Read one stored value; raises ``ValueError`` for a pickled entry (JSON only)."""
        if mode == diskcache.core.MODE_PICKLE:
            raise ValueError("refusing to unpickle a cache entry (JSON values only)")
        return super().fetch(mode, filename, value, read)


class RawCache:
    """Thin wrapper around ``diskcache.Cache(directory, disk=JSONDisk)`` with a fixed TTL.

    Opened with :func:`open_disposable_cache` (a broken cache is moved aside). ``available`` is
    False when no cache could be opened at all: then reads miss and writes do nothing. A write
    that fails with a database or disk error (e.g. disk full) logs one warning and turns writes
    off for the rest of this object's life; reads that fail count as misses.
    """

    def __init__(self, directory: Path, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.directory = Path(directory)
        self.ttl_s = ttl_s
        self._writable = True
        self._cache: diskcache.Cache | None
        try:
            self._cache = open_disposable_cache(
                self.directory,
                label="raw-response cache",
                disk=SafeJSONDisk,
                disk_compress_level=1,
                eviction_policy="least-recently-stored",
            )
        except CacheUnavailable as exc:
            logger.warning("%s; continuing without it", exc)
            self._cache = None

    @property
    def available(self) -> bool:
        """False when no cache could be opened at all (then reads miss and writes do nothing)."""
        return self._cache is not None

    def get(self, key: str) -> Any | None:
        """The stored JSON value (a Crossref response ``message``) for ``key``, or None.

        None on a miss, an expired entry (TTL ``ttl_s`` seconds) or an unreadable entry (logged);
        never raises for a broken cache.
        """
        if self._cache is None:
            return None
        try:
            return self._cache.get(key, default=None, retry=True)
        except (ValueError, UnicodeDecodeError, OSError, sqlite3.Error) as exc:
            logger.warning("ignoring unreadable cache entry (%s)", type(exc).__name__)
            return None

    def set(self, key: str, value: Any) -> None:
        """Store a JSON value with the TTL. Raises ``TypeError`` for non-JSON values; database and
        disk errors (disk full, corrupt index) are logged once and turn caching off."""
        if self._cache is None or not self._writable:
            return
        # JSONDisk serialises before anything touches the disk, so a bad value leaves no entry.
        try:
            self._cache.set(key, value, expire=self.ttl_s, retry=True)
        except (sqlite3.Error, OSError) as exc:
            self._writable = False
            logger.warning(
                "raw-response cache at %s cannot be written (%s); not caching for the rest of "
                "this run",
                self.directory,
                _reason(exc),
            )

    def expire_time(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires (None when absent)."""
        if self._cache is None:
            return None
        _value, expire = self._cache.get(key, default=(None, None), expire_time=True)
        return expire

    def __contains__(self, key: str) -> bool:
        return self._cache is not None and key in self._cache

    def __len__(self) -> int:
        return 0 if self._cache is None else len(self._cache)

    def clear(self) -> int:
        """Delete every entry; returns how many were removed (0 without a cache)."""
        return 0 if self._cache is None else self._cache.clear()

    def close(self) -> None:
        """Close the underlying ``diskcache.Cache`` (no-op without one)."""
        if self._cache is not None:
            self._cache.close()

    def __enter__(self) -> RawCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
