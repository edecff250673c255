"""Raw-response cache: diskcache with JSON values (never pickle), TTL, directory 0700.

Keys are ``GET <base-url><path>?<sorted params>`` with ``mailto`` and any token excluded, so the
same query from the polite and the public pool shares an entry, while the mock (a loopback base
URL) never shares entries with api.crossref.org. Values go through ``diskcache.JSONDisk``: a value
that is not JSON-serialisable is refused with ``TypeError`` and nothing is unpickled on read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import diskcache

from cache.crossref.settings import ensure_private_dir

logger = logging.getLogger(__name__)

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
        if mode == diskcache.core.MODE_PICKLE:
            raise ValueError("refusing to unpickle a cache entry (JSON values only)")
        return super().fetch(mode, filename, value, read)


class RawCache:
    """Thin wrapper around ``diskcache.Cache(directory, disk=JSONDisk)`` with a fixed TTL."""

    def __init__(self, directory: Path, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.directory = ensure_private_dir(Path(directory))
        self.ttl_s = ttl_s
        self._cache = diskcache.Cache(
            directory=str(self.directory),
            disk=SafeJSONDisk,
            disk_compress_level=1,
            eviction_policy="least-recently-stored",
        )
        # diskcache may create its sub-directories later with the process umask; the parent
        # directory being 0700 is what keeps them private.
        ensure_private_dir(self.directory)

    def get(self, key: str) -> Any | None:
        try:
            return self._cache.get(key, default=None, retry=True)
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            logger.warning("ignoring unreadable cache entry (%s)", type(exc).__name__)
            return None

    def set(self, key: str, value: Any) -> None:
        """Store a JSON value with the TTL. Raises ``TypeError`` for non-JSON values."""
        # JSONDisk serialises before anything touches the disk, so a bad value leaves no entry.
        self._cache.set(key, value, expire=self.ttl_s, retry=True)

    def expire_time(self, key: str) -> float | None:
        """Epoch seconds when ``key`` expires (None when absent)."""
        _value, expire = self._cache.get(key, default=(None, None), expire_time=True)
        return expire

    def __contains__(self, key: str) -> bool:
        return key in self._cache

    def __len__(self) -> int:
        return len(self._cache)

    def clear(self) -> int:
        return self._cache.clear()

    def close(self) -> None:
        self._cache.close()

    def __enter__(self) -> RawCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
