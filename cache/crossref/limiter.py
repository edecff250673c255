"""One Crossref rate limit for the whole deployment: a limiter shared by every process.

Crossref counts requests per client (IP), not per process, so web workers, Celery workers and a
CLI refresh on one deployment must share the pool's list limits (crossref-api.md §5.1: polite
3 requests/s and 3 in flight, public 1 request/s and 1). Each request takes a *lease* from one
shared limiter before it starts and returns it when its response has been read:

* :class:`RedisLimiter` when ``REDIS_URL`` is set: Lua scripts over a sorted set of recent start
  times (the sliding window) and a sorted set of leases scored by expiry (the semaphore), timed by
  the Redis server's clock, so every machine agrees on "now".
* :class:`FileLimiter` otherwise: an exclusive lock file in the data directory (``filelock``,
  i.e. ``fcntl.flock``) guarding a small JSON state file with recent start times and the leases in
  flight (host, pid, expiry).

A lease expires ``lease_ttl_s`` after its last heartbeat (a daemon thread renews the leases this
process holds), so the slots of a process that died mid-request are freed; on the same host the
file limiter frees the leases of a dead pid at once. A returned lease keeps its slot for
``grace_s`` more seconds: the server may count the request until just after the last byte.

Limits only go down. :meth:`SharedLimiter.lower` records a lower limit advertised by Crossref's
headers (``x-rate-limit-limit`` / ``x-rate-limit-interval`` / ``x-concurrency-limit``) in the
shared state, where every process obeys it; it lapses ``lowered_ttl_s`` after the last header that
said so. :meth:`~SharedLimiter.pause` (after a 429) and :meth:`~SharedLimiter.widen` are shared
the same way. Units: rates in requests per second, times in seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from filelock import FileLock

from cache.crossref.settings import ensure_private_dir

logger = logging.getLogger(__name__)

HOST = socket.gethostname()
DEFAULT_LEASE_TTL_S = 60.0
DEFAULT_LOWERED_TTL_S = 3600.0
DEFAULT_POLL_S = 0.03
MAX_MARGIN_S = 0.2
# Window margin of the shared limiter (seconds): processes on one busy host see more jitter
# between the start time they record and the server's arrival time than threads of one process.
SHARED_MARGIN_S = 0.1


def rate_to_limit(rate: float, window_s: float = 1.0) -> tuple[int, float]:
    """A rate in requests per ``window_s`` → (max starts, window seconds), rounding down.

    3/s → (3, 1 s); 2.5/s → (2, 1 s); 0.5/s → (1, 2 s). Raises ``ValueError`` when rate ≤ 0.
    """
    if not rate > 0:
        raise ValueError("rate must be positive")
    per_window = rate * window_s
    if per_window >= 1:
        return math.floor(per_window + 1e-9), window_s
    return 1, window_s / per_window


def header_limit(limit: int | None, window_s: float | None) -> dict[float, int]:
    """An advertised limit (``limit`` requests per ``window_s`` seconds, default 1 s) as
    ``{window seconds: max starts}``; ``{}`` when there is none or it is nonsense (< 1)."""
    if limit is None or limit < 1:
        return {}
    window = window_s if window_s and window_s > 0 else 1.0
    if window <= 1.0:
        n, w = rate_to_limit(limit / window)
        return {w: n}
    return {float(window): int(limit)}


def merge_lowered(
    lowered: dict[str, Any],
    configured: dict[float, int],
    configured_concurrency: int,
    windows: dict[float, int],
    concurrency: int | None,
    now: float,
    ttl_s: float,
) -> bool:
    """Fold an advertised limit into the shared ``lowered`` record (edited in place).

    ``lowered`` is ``{"windows": {"<w>": n}, "concurrency": k, "margin_s": m, "until": t}``.
    Only limits below the configured ones are recorded; one that repeats or tightens a recorded
    limit renews ``until`` (now + ``ttl_s``). Returns True when the effective limits went down.
    """
    if lowered.get("until", 0) <= now:
        lowered.clear()
    recorded = {float(w): int(n) for w, n in (lowered.get("windows") or {}).items()}
    changed = renew = False
    for w, n in windows.items():
        effective = min(configured.get(w, n + 1), recorded.get(w, n + 1))
        if w not in configured and n / w >= min(m / v for v, m in configured.items()):
            continue  # a looser window than the configured rate never binds
        if n < effective:
            recorded[w] = n
            changed = renew = True
        elif w in recorded and n <= recorded[w]:
            renew = True
    if concurrency is not None and concurrency >= 1:
        current = min(configured_concurrency, int(lowered.get("concurrency") or 1 << 30))
        if concurrency < current:
            lowered["concurrency"] = int(concurrency)
            changed = renew = True
        elif "concurrency" in lowered and concurrency <= lowered["concurrency"]:
            renew = True
    if recorded:
        lowered["windows"] = {repr(w): n for w, n in recorded.items()}
    if renew:
        lowered["until"] = now + ttl_s
    return changed


def effective_limits(
    configured: dict[float, int],
    configured_concurrency: int,
    margin_s: float,
    lowered: dict[str, Any] | None,
    now: float,
) -> tuple[dict[float, int], int, float]:
    """(windows {seconds: max starts}, max in flight, window margin seconds) in force at ``now``:
    the configured limits, tightened by a ``lowered`` record that has not lapsed."""
    windows = dict(configured)
    concurrency = configured_concurrency
    margin = margin_s
    if lowered and lowered.get("until", 0) > now:
        for w, n in (lowered.get("windows") or {}).items():
            w = float(w)
            windows[w] = min(windows.get(w, int(n)), int(n))
        if lowered.get("concurrency"):
            concurrency = min(concurrency, int(lowered["concurrency"]))
        margin = max(margin, float(lowered.get("margin_s") or 0.0))
    return windows, max(1, concurrency), margin


class LimiterUnavailable(RuntimeError):
    """The shared state cannot be reached (Redis down, data directory unwritable)."""


class SharedLimiter(ABC):
    """Cross-process limiter: ≤ n request starts in any ``window_s`` window, ≤ ``concurrency``
    leases held, across every process sharing the same backend and ``key``.

    ``rate`` in requests per ``window_s`` seconds (default: per second); ``margin_s`` widens each
    window (the server sees arrival times, not our start times); ``grace_s`` (default: the
    margin) keeps a returned lease's slot a little longer. ``fallback``, when given, is used while
    the backend raises :class:`LimiterUnavailable` (retried every ``retry_backend_s`` seconds).
    Use :meth:`slot` as a context manager around each request.
    """

    def __init__(
        self,
        rate: float,
        concurrency: int,
        *,
        window_s: float = 1.0,
        margin_s: float = 0.05,
        grace_s: float | None = None,
        lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
        lowered_ttl_s: float = DEFAULT_LOWERED_TTL_S,
        poll_s: float = DEFAULT_POLL_S,
        fallback: SharedLimiter | None = None,
        retry_backend_s: float = 30.0,
    ) -> None:
        n, w = rate_to_limit(rate, window_s)
        self.configured: dict[float, int] = {w: n}
        self.configured_concurrency = max(1, int(concurrency))
        self.margin_s = max(0.0, margin_s)
        self.grace_s = self.margin_s if grace_s is None else max(0.0, grace_s)
        self.lease_ttl_s = lease_ttl_s
        self.lowered_ttl_s = lowered_ttl_s
        self.poll_s = poll_s
        self.fallback = fallback
        self.retry_backend_s = retry_backend_s
        self._down_until = 0.0
        self._held: dict[str, SharedLimiter] = {}  # lease id → limiter that granted it
        self._held_lock = threading.Lock()
        self._closed = threading.Event()
        self._beat: threading.Thread | None = None
        self.waited_s = 0.0  # total seconds this process spent waiting for slots
        self.failovers = 0  # times the backend failed and the fallback took over

    # -- backend ------------------------------------------------------------------------------
    @abstractmethod
    def _try_acquire(self, lease: str) -> float:
        """Take a slot for ``lease`` and return 0, or return the seconds to wait first."""

    @abstractmethod
    def _release(self, lease: str) -> None: ...

    @abstractmethod
    def _touch(self, leases: list[str]) -> None: ...

    @abstractmethod
    def _lower(self, windows: dict[float, int], concurrency: int | None) -> bool: ...

    @abstractmethod
    def _pause(self, seconds: float) -> None: ...

    @abstractmethod
    def _widen(self, step_s: float, max_margin_s: float) -> float: ...

    @abstractmethod
    def _state(self) -> dict[str, Any]: ...

    # -- failover -------------------------------------------------------------------------------
    def _backend(self) -> SharedLimiter:
        if self.fallback is not None and time.monotonic() < self._down_until:
            return self.fallback
        return self

    def _failed(self, exc: LimiterUnavailable) -> SharedLimiter:
        if self.fallback is None:
            raise exc
        if time.monotonic() >= self._down_until:
            self.failovers += 1
            logger.warning(
                "shared rate limiter unavailable (%s); using %s for %.0f s",
                exc,
                type(self.fallback).__name__,
                self.retry_backend_s,
            )
        self._down_until = time.monotonic() + self.retry_backend_s
        return self.fallback

    # -- public API ---------------------------------------------------------------------------
    def acquire(self, timeout_s: float | None = None) -> str:
        """Block until one request may start; returns its lease id (pass it to :meth:`release`).

        Raises ``TimeoutError`` after ``timeout_s`` seconds without a slot, and
        :class:`LimiterUnavailable` when the backend fails and there is no fallback."""
        lease = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex}"
        started = time.monotonic()
        deadline = None if timeout_s is None else started + timeout_s
        while True:
            backend = self._backend()
            try:
                wait = backend._try_acquire(lease)
            except LimiterUnavailable as exc:
                backend = self._failed(exc)
                wait = backend._try_acquire(lease)
            if wait <= 0:
                with self._held_lock:
                    self._held[lease] = backend
                self._start_heartbeat()
                self.waited_s += time.monotonic() - started
                return lease
            if deadline is not None and time.monotonic() + wait > deadline:
                raise TimeoutError(f"no Crossref request slot within {timeout_s:.1f} s")
            # a little jitter so processes polling for the same slot do not collide forever
            time.sleep(wait + random.random() * min(self.poll_s, 0.01))

    def release(self, lease: str) -> None:
        """Return a lease; its slot stays taken for ``grace_s`` seconds more. Never raises for a
        backend failure (the lease then lapses after ``lease_ttl_s``)."""
        with self._held_lock:
            backend = self._held.pop(lease, None)
            if backend is None:
                return
            try:
                backend._release(lease)
            except LimiterUnavailable as exc:
                logger.warning("could not return a rate-limiter lease: %s", exc)

    @contextlib.contextmanager
    def slot(self) -> Iterator[str]:
        """``with limiter.slot():`` around one request: acquire, then release on exit."""
        lease = self.acquire()
        try:
            yield lease
        finally:
            self.release(lease)

    def lower(
        self,
        limit: int | None = None,
        window_s: float | None = None,
        concurrency: int | None = None,
    ) -> bool:
        """Record a limit advertised by the server (``limit`` requests per ``window_s`` seconds,
        ``concurrency`` in flight) if it is stricter than the limits in force; every process
        sharing the limiter obeys it. Returns True when the effective limits went down."""
        windows = header_limit(limit, window_s)
        conc = int(concurrency) if concurrency is not None and concurrency >= 1 else None
        if not windows and conc is None:
            return False
        try:
            return self._backend()._lower(windows, conc)
        except LimiterUnavailable as exc:
            return self._failed(exc)._lower(windows, conc)

    def pause(self, seconds: float) -> None:
        """No process starts a request for ``seconds`` (after a 429, with its Retry-After)."""
        if seconds > 0:
            try:
                self._backend()._pause(seconds)
            except LimiterUnavailable as exc:
                self._failed(exc)._pause(seconds)

    def widen(self, step_s: float = 0.05, max_margin_s: float = MAX_MARGIN_S) -> float:
        """After a 429: widen the shared window margin by ``step_s`` (up to ``max_margin_s``
        seconds; lapses with the lowered limits). Returns the new margin in seconds."""
        try:
            return self._backend()._widen(step_s, max_margin_s)
        except LimiterUnavailable as exc:
            return self._failed(exc)._widen(step_s, max_margin_s)

    def state(self) -> dict[str, Any]:
        """The shared state now: ``{"windows": {seconds: max starts}, "concurrency": k,
        "margin_s": m, "in_flight": leases held (graces included), "recent_starts": starts in
        the longest window, "paused_s": seconds of pause left}``."""
        try:
            return self._backend()._state()
        except LimiterUnavailable as exc:
            return self._failed(exc)._state()

    @property
    def held(self) -> int:
        """Leases this limiter object holds now."""
        with self._held_lock:
            return len(self._held)

    def close(self) -> None:
        """Stop the heartbeat (leases still held lapse after ``lease_ttl_s``)."""
        self._closed.set()
        if self.fallback is not None:
            self.fallback.close()

    # -- heartbeat ----------------------------------------------------------------------------
    def _start_heartbeat(self) -> None:
        if self._beat is not None and self._beat.is_alive():
            return
        with self._held_lock:
            if self._beat is not None and self._beat.is_alive():
                return
            self._beat = threading.Thread(
                target=self._heartbeat, name="crossref-limiter-heartbeat", daemon=True
            )
            self._beat.start()

    def _heartbeat(self) -> None:
        interval = max(0.05, self.lease_ttl_s / 4)
        while not self._closed.wait(interval):
            with self._held_lock:
                by_backend: dict[int, tuple[SharedLimiter, list[str]]] = {}
                for lease, backend in self._held.items():
                    by_backend.setdefault(id(backend), (backend, []))[1].append(lease)
                for backend, leases in by_backend.values():
                    try:
                        backend._touch(leases)
                    except LimiterUnavailable as exc:
                        logger.warning("could not renew rate-limiter leases: %s", exc)


# ------------------------------------------------------------------------------------------------
# File backend
# ------------------------------------------------------------------------------------------------
def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return True
    return True


class FileLimiter(SharedLimiter):
    """The shared limiter for one machine (or one shared data directory): ``<directory>/<key>.lock``
    is held (``flock``) while ``<directory>/<key>.json`` is read and rewritten (atomically, by
    rename). Times are wall-clock seconds (``time.time``); start times more than a second in the
    future (the clock stepped back) are dropped. A corrupt state file is reset with a warning.
    Other arguments: see :class:`SharedLimiter`."""

    def __init__(self, directory: Path | str, key: str, rate: float, concurrency: int, **kw: Any):
        super().__init__(rate, concurrency, **kw)
        self.directory = Path(directory)
        self.key = key
        self.path = self.directory / f"{key}.json"
        try:
            ensure_private_dir(self.directory)
        except (OSError, ValueError) as exc:  # ConfigError is a ValueError
            raise LimiterUnavailable(f"cannot create {self.directory}: {exc}") from None
        self._flock = FileLock(str(self.directory / f"{key}.lock"), thread_local=False)
        self._thread_lock = threading.Lock()
        self._clock = time.time

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[dict[str, Any]]:
        """The state, read under the lock; written back (in place) if the caller changed it.

        In place rather than by rename: every reader holds the lock, and a rename costs
        milliseconds on some filesystems. A write cut short by a crash leaves JSON that does not
        parse, which the next reader resets (the state only matters for a couple of seconds)."""
        with self._thread_lock:
            try:
                self._flock.acquire()
            except OSError as exc:
                raise LimiterUnavailable(f"cannot lock {self.path}: {exc}") from None
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                self._flock.release()
                raise LimiterUnavailable(f"cannot open {self.path}: {exc.strerror}") from None
            try:
                raw = self._read(fd)
                state = self._parse(raw)
                yield state
                data = json.dumps(state, separators=(",", ":")).encode()
                if data != raw:
                    self._write(fd, data)
            finally:
                os.close(fd)
                self._flock.release()

    def _read(self, fd: int) -> bytes:
        try:
            return os.pread(fd, os.fstat(fd).st_size, 0)
        except OSError as exc:
            raise LimiterUnavailable(f"cannot read {self.path}: {exc.strerror}") from None

    def _parse(self, raw: bytes) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            state = json.loads(raw)
            if not isinstance(state, dict):
                raise ValueError("not an object")
            return state
        except ValueError as exc:
            logger.warning(
                "rate-limiter state %s is unreadable (%s); starting afresh", self.path, exc
            )
            return {}

    def _write(self, fd: int, data: bytes) -> None:
        try:
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
        except OSError as exc:
            raise LimiterUnavailable(f"cannot write {self.path}: {exc.strerror}") from None

    def _clean(self, state: dict[str, Any], now: float) -> tuple[dict[float, int], int, float]:
        """Drop lapsed starts and leases; return the limits in force."""
        lowered = state.get("lowered")
        if lowered and lowered.get("until", 0) <= now:
            state.pop("lowered")
            lowered = None
        windows, concurrency, margin = effective_limits(
            self.configured, self.configured_concurrency, self.margin_s, lowered, now
        )
        horizon = now - max(windows) - margin - 1.0
        starts = [float(t) for t in state.get("starts") or [] if horizon < float(t) <= now + 1.0]
        state["starts"] = sorted(starts)
        leases = {}
        for lease, info in (state.get("leases") or {}).items():
            if not isinstance(info, dict) or float(info.get("expires", 0)) <= now:
                continue
            if float(info.get("expires", 0)) > now + self.lease_ttl_s + 1.0 and not info.get(
                "released"
            ):
                info["expires"] = now + self.lease_ttl_s  # clock stepped back: cap
            if (
                not info.get("released")
                and info.get("host") == HOST
                and not _pid_alive(int(info.get("pid", 0)))
            ):
                logger.info("freed a Crossref request slot of dead process %s", info.get("pid"))
                continue
            leases[lease] = info
        state["leases"] = leases
        if float(state.get("paused_until", 0)) <= now:
            state.pop("paused_until", None)
        return windows, concurrency, margin

    def _try_acquire(self, lease: str) -> float:
        with self._transaction() as state:
            now = self._clock()
            windows, concurrency, margin = self._clean(state, now)
            wait = float(state.get("paused_until", 0)) - now
            leases = state["leases"]
            if len(leases) >= concurrency:
                soonest = min(float(i["expires"]) for i in leases.values()) - now
                return max(wait, min(self.poll_s, soonest), 0.001)
            starts = state["starts"]
            for w, n in windows.items():
                if len(starts) >= n:
                    wait = max(wait, starts[-n] + w + margin - now)
            if wait > 0:
                return wait
            starts.append(now)
            leases[lease] = {
                "pid": os.getpid(),
                "host": HOST,
                "since": now,
                "expires": now + self.lease_ttl_s,
            }
            return 0.0

    def _release(self, lease: str) -> None:
        with self._transaction() as state:
            now = self._clock()
            self._clean(state, now)
            if lease not in state["leases"]:
                return
            if self.grace_s > 0:
                state["leases"][lease] = {"released": True, "expires": now + self.grace_s}
            else:
                del state["leases"][lease]

    def _touch(self, leases: list[str]) -> None:
        with self._transaction() as state:
            now = self._clock()
            self._clean(state, now)
            for lease in leases:
                info = state["leases"].get(lease)
                if info is not None and not info.get("released"):
                    info["expires"] = now + self.lease_ttl_s

    def _lower(self, windows: dict[float, int], concurrency: int | None) -> bool:
        with self._transaction() as state:
            now = self._clock()
            self._clean(state, now)
            lowered = dict(state.get("lowered") or {})
            changed = merge_lowered(
                lowered,
                self.configured,
                self.configured_concurrency,
                windows,
                concurrency,
                now,
                self.lowered_ttl_s,
            )
            if lowered:
                state["lowered"] = lowered
            return changed

    def _pause(self, seconds: float) -> None:
        with self._transaction() as state:
            now = self._clock()
            state["paused_until"] = max(float(state.get("paused_until", 0)), now + seconds)

    def _widen(self, step_s: float, max_margin_s: float) -> float:
        with self._transaction() as state:
            now = self._clock()
            _, _, margin = self._clean(state, now)
            new = min(max(margin, max_margin_s), margin + step_s)
            lowered = state.setdefault("lowered", {})
            lowered["margin_s"] = new
            lowered["until"] = max(float(lowered.get("until", 0)), now + self.lowered_ttl_s)
            return new

    def _state(self) -> dict[str, Any]:
        with self._transaction() as state:
            now = self._clock()
            windows, concurrency, margin = self._clean(state, now)
            longest = max(windows)
            return {
                "windows": windows,
                "concurrency": concurrency,
                "margin_s": margin,
                "in_flight": len(state["leases"]),
                "recent_starts": sum(1 for t in state["starts"] if t > now - longest),
                "paused_s": max(0.0, float(state.get("paused_until", 0)) - now),
            }


# ------------------------------------------------------------------------------------------------
# Redis backend
# ------------------------------------------------------------------------------------------------
_LUA_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS: starts, leases, state. ARGV: lease, concurrency, lease ttl, margin, poll, then pairs of
# (window seconds, max starts). Returns "0" when the lease was granted, else seconds to wait.
_LUA_ACQUIRE = (
    _LUA_NOW
    + """
local lease, conc = ARGV[1], tonumber(ARGV[2])
local ttl, margin, poll = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local windows, maxw = {}, 0
for i = 6, #ARGV, 2 do
  local w = tonumber(ARGV[i])
  windows[w] = tonumber(ARGV[i + 1])
  if w > maxw then maxw = w end
end
local wait = 0
local raw = redis.call('HMGET', KEYS[3], 'lowered', 'paused_until')
if raw[1] then
  local low = cjson.decode(raw[1])
  if tonumber(low['until'] or 0) > now then
    for ws, n in pairs(low['windows'] or {}) do
      local w = tonumber(ws)
      if windows[w] == nil or n < windows[w] then windows[w] = n end
      if w > maxw then maxw = w end
    end
    if low['concurrency'] and low['concurrency'] < conc then conc = low['concurrency'] end
    if low['margin_s'] and low['margin_s'] > margin then margin = low['margin_s'] end
  end
end
if raw[2] then wait = tonumber(raw[2]) - now end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - maxw - margin - 1)
if redis.call('ZCARD', KEYS[2]) >= conc then
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  local soonest = math.min(tonumber(first[2]) - now, poll)
  return tostring(math.max(wait, soonest, 0.001))
end
for w, n in pairs(windows) do
  local nth = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', '-inf',
                         'WITHSCORES', 'LIMIT', n - 1, 1)
  if nth[2] then
    local free_at = tonumber(nth[2]) + w + margin - now
    if free_at > wait then wait = free_at end
  end
end
if wait > 0 then return tostring(wait) end
redis.call('ZADD', KEYS[1], now, lease)
redis.call('ZADD', KEYS[2], now + ttl, lease)
redis.call('PEXPIRE', KEYS[1], math.ceil((maxw + margin + 2) * 1000))
redis.call('PEXPIRE', KEYS[2], math.ceil((ttl + 2) * 1000))
return '0'
"""
)

# KEYS: leases. ARGV: seconds from now, then lease ids. Re-scores leases that still exist.
_LUA_EXPIRE_AT = (
    _LUA_NOW
    + """
local secs = tonumber(ARGV[1])
for i = 2, #ARGV do
  if secs > 0 then
    redis.call('ZADD', KEYS[1], 'XX', now + secs, ARGV[i])
  else
    redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return 1
"""
)

# KEYS: state. ARGV: seconds, ttl of the state key. Pause everyone until now + seconds.
_LUA_PAUSE = (
    _LUA_NOW
    + """
local cur = tonumber(redis.call('HGET', KEYS[1], 'paused_until') or '0')
if now + tonumber(ARGV[1]) > cur then
  redis.call('HSET', KEYS[1], 'paused_until', tostring(now + tonumber(ARGV[1])))
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""
)


class RedisLimiter(SharedLimiter):
    """The shared limiter for a multi-machine deployment: keys ``<prefix>:<key>:starts`` (sorted
    set of start times), ``…:leases`` (sorted set of leases by expiry) and ``…:state`` (hash:
    ``lowered`` JSON, ``paused_until``), all expiring when idle. Times come from the Redis
    server (``TIME``). Redis errors raise :class:`LimiterUnavailable` (or switch to
    ``fallback``). Other arguments: see :class:`SharedLimiter`."""

    def __init__(
        self,
        url: str,
        key: str,
        rate: float,
        concurrency: int,
        *,
        prefix: str = "crossref-limiter",
        client: Any = None,
        **kw: Any,
    ) -> None:
        super().__init__(rate, concurrency, **kw)
        import redis  # only needed when REDIS_URL is set

        self._redis_errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._r = client or redis.Redis.from_url(
            url, socket_timeout=5.0, socket_connect_timeout=2.0, health_check_interval=30
        )
        base = f"{prefix}:{key}"
        self._keys = [f"{base}:starts", f"{base}:leases", f"{base}:state"]
        self._acquire = self._r.register_script(_LUA_ACQUIRE)
        self._expire_at = self._r.register_script(_LUA_EXPIRE_AT)
        self._pause_script = self._r.register_script(_LUA_PAUSE)
        self._state_ttl = int(self.lowered_ttl_s + 60)
        self.url_redacted = re.sub(r"//[^@/]*@", "//***@", url)

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except self._redis_errors as exc:
            raise LimiterUnavailable(
                f"Redis at {self.url_redacted}: {type(exc).__name__}: {exc}"
            ) from None

    def _try_acquire(self, lease: str) -> float:
        args: list[Any] = [
            lease,
            self.configured_concurrency,
            self.lease_ttl_s,
            self.margin_s,
            self.poll_s,
        ]
        for w, n in self.configured.items():
            args += [w, n]
        with self._errors():
            return float(self._acquire(keys=self._keys, args=args))

    def _release(self, lease: str) -> None:
        with self._errors():
            self._expire_at(keys=[self._keys[1]], args=[self.grace_s, lease])

    def _touch(self, leases: list[str]) -> None:
        if leases:
            with self._errors():
                self._expire_at(keys=[self._keys[1]], args=[self.lease_ttl_s, *leases])

    def _now(self) -> float:
        sec, usec = self._r.time()
        return sec + usec / 1e6

    def _update_lowered(self, fn: Any) -> Any:
        """Read-modify-write of the ``lowered`` record under WATCH (retried on conflict)."""
        import redis

        result: list[Any] = []
        with self._errors(), self._r.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self._keys[2])
                    raw = pipe.hget(self._keys[2], "lowered")
                    lowered = json.loads(raw) if raw else {}
                    now = self._now()
                    result = [fn(lowered, now)]
                    pipe.multi()
                    if lowered:
                        pipe.hset(self._keys[2], "lowered", json.dumps(lowered))
                    else:
                        pipe.hdel(self._keys[2], "lowered")
                    pipe.expire(self._keys[2], self._state_ttl)
                    pipe.execute()
                    return result[0]
                except redis.WatchError:
                    continue

    def _lower(self, windows: dict[float, int], concurrency: int | None) -> bool:
        return self._update_lowered(
            lambda lowered, now: merge_lowered(
                lowered,
                self.configured,
                self.configured_concurrency,
                windows,
                concurrency,
                now,
                self.lowered_ttl_s,
            )
        )

    def _pause(self, seconds: float) -> None:
        with self._errors():
            self._pause_script(keys=[self._keys[2]], args=[seconds, self._state_ttl])

    def _widen(self, step_s: float, max_margin_s: float) -> float:
        def widen(lowered: dict[str, Any], now: float) -> float:
            if lowered.get("until", 0) <= now:
                lowered.clear()
            _, _, margin = effective_limits(
                self.configured, self.configured_concurrency, self.margin_s, lowered, now
            )
            new = min(max(margin, max_margin_s), margin + step_s)
            lowered["margin_s"] = new
            lowered["until"] = max(float(lowered.get("until", 0)), now + self.lowered_ttl_s)
            return new

        return self._update_lowered(widen)

    def _state(self) -> dict[str, Any]:
        with self._errors():
            now = self._now()
            raw, paused = self._r.hmget(self._keys[2], "lowered", "paused_until")
            lowered = json.loads(raw) if raw else None
            windows, concurrency, margin = effective_limits(
                self.configured, self.configured_concurrency, self.margin_s, lowered, now
            )
            longest = max(windows)
            return {
                "windows": windows,
                "concurrency": concurrency,
                "margin_s": margin,
                "in_flight": int(self._r.zcount(self._keys[1], f"({now}", "+inf")),
                "recent_starts": int(self._r.zcount(self._keys[0], f"({now - longest}", "+inf")),
                "paused_s": max(0.0, float(paused or 0) - now),
            }


# ------------------------------------------------------------------------------------------------
# Construction
# ------------------------------------------------------------------------------------------------
def limiter_key(pool: str, api_url: str) -> str:
    """The name shared by every process using the same pool of the same API: ``polite-api.crossref
    .org`` (a different host or port, e.g. a mock, gets its own limiter)."""
    netloc = urlsplit(api_url).netloc or api_url
    return re.sub(r"[^A-Za-z0-9._-]+", "_", f"{pool}-{netloc}")[:120]


def limiter_for(settings: Any) -> SharedLimiter:
    """The shared limiter for ``settings`` (a :class:`~cache.crossref.settings.Settings`): Redis
    when ``settings.redis_url`` is set (falling back to the file limiter while Redis is down),
    else the file limiter in ``<data_dir>/limiter``. Rates from ``list_rate`` (requests/s) and
    ``list_concurrency``; window margin: ``pace_margin_s`` but at least ``SHARED_MARGIN_S``
    seconds; release grace: ``pace_margin_s``. Raises
    :class:`LimiterUnavailable` when the data directory cannot hold the lock file."""
    key = limiter_key(settings.pool, settings.api_url)
    common = {
        "margin_s": max(settings.pace_margin_s, SHARED_MARGIN_S),
        "grace_s": settings.pace_margin_s,
    }
    rate, conc = settings.list_rate, settings.list_concurrency
    try:
        ensure_private_dir(settings.data_dir)  # 0700 when new, like every data dir the app makes
    except (OSError, ValueError) as exc:  # ConfigError is a ValueError
        raise LimiterUnavailable(f"cannot create {settings.data_dir}: {exc}") from None
    file_limiter = FileLimiter(Path(settings.data_dir) / "limiter", key, rate, conc, **common)
    redis_url = getattr(settings, "redis_url", "") or ""
    if not redis_url:
        return file_limiter
    return RedisLimiter(redis_url, key, rate, conc, fallback=file_limiter, **common)
