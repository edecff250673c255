"""Crossref REST API client: the only module in the project that imports httpx.

* Paced: at most ``list_rate`` request starts in any 1-second window and at most
  ``list_concurrency`` in flight (polite 3/3, public 1/1), lowered further when the
  ``x-rate-limit-*`` / ``x-concurrency-limit`` headers say less. The same limits apply to
  single-record requests (``/members/{id}``): conservative, and one pacer is easy to reason about.
  The limits hold for the whole deployment, not per process: every request also takes a slot
  from a shared limiter (Redis when ``REDIS_URL`` is set, else a lock file in the data
  directory; :mod:`cache.crossref.limiter`), where lowered limits are recorded for every process.
* Retried: 429, 5xx, timeouts, connection errors and malformed/truncated JSON, with exponential
  backoff and jitter, honouring ``Retry-After``; ``max_attempts`` in all (:func:`retry_delay`).
* Error budget: a request that still fails after all attempts is a failure; when failures pass
  ``error_budget`` of the finished requests (after ``error_budget_min_requests``, or at once when
  every finished request failed) :class:`ErrorBudgetExceeded` is raised and the client refuses
  further requests, so a job aborts instead of hammering a broken server.
* Cached: successful responses go into the raw-response cache (JSON, TTL 24 h); cache hits are
  neither counted as requests nor paced. Cursor requests are never cached (a cursor can stay
  byte-identical from page to page).
* Private: the Plus token travels only in a request header; it is never logged, never put in a
  URL, never in an exception message or repr. Logged URLs have ``mailto`` redacted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import orjson

from cache.crossref.errors import (
    CrossrefError,
    ErrorBudgetExceeded,
    MalformedResponse,
    TransportFailure,
    error_from_response,
)
from cache.crossref.limiter import (
    LimiterUnavailable,
    SharedLimiter,
    header_limit,
    limiter_for,
    rate_to_limit,
)
from cache.crossref.query import filter_param, param_str
from cache.crossref.rawcache import RawCache, cache_key
from cache.crossref.settings import Settings, ensure_private_dir

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def _loads(data: bytes) -> Any:
    """A response body parsed with orjson (a 1000-member page is ~5 MB), else with json."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)  # e.g. NaN literals or huge ints, which orjson refuses


MEMBERS_OFFSET_LIMIT = 80_000  # offset + rows on /members and /funders (crossref-api.md §0.8)
MAX_ROWS = 1000
MAX_SAMPLE = 100

_MAILTO_RE = re.compile(r"(mailto(?:=|%3A|:))[^&\s\"')]*", re.IGNORECASE)


def redact_url(url: object) -> str:
    """URL (or any text) with the mailto address replaced by ``REDACTED``."""
    return _MAILTO_RE.sub(r"\1REDACTED", str(url))


class _RedactMailtoFilter(logging.Filter):
    """Attached to httpx's logger: its INFO line carries the full URL, mailto included."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # pragma: no cover - never break logging
            return True
        redacted = redact_url(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_HTTPX_FILTER = _RedactMailtoFilter()
_httpx_logger = logging.getLogger("httpx")
if not any(isinstance(f, _RedactMailtoFilter) for f in _httpx_logger.filters):
    _httpx_logger.addFilter(_HTTPX_FILTER)


# --------------------------------------------------------------------------------------------
# Retry policy
# --------------------------------------------------------------------------------------------
def retry_delay(
    attempt: int,
    retry_after: float | None = None,
    *,
    base_s: float = 0.5,
    max_s: float = 30.0,
    retry_after_max_s: float = 120.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    With ``Retry-After``: that many seconds (capped at ``retry_after_max_s``) plus a little
    jitter so waiting threads do not restart in lock-step. Otherwise exponential backoff with
    "equal jitter": uniformly within [½, 1] × min(max_s, base_s × 2^(attempt-1)).
    """
    if retry_after is not None and retry_after >= 0:
        return min(retry_after, retry_after_max_s) + rand() * base_s * 0.5
    exp = min(max_s, base_s * 2 ** max(0, attempt - 1))
    return exp * (0.5 + 0.5 * rand())


# --------------------------------------------------------------------------------------------
# Pacing
# --------------------------------------------------------------------------------------------
__all__ = ["CrossrefClient", "Pacer", "rate_to_limit", "retry_delay"]


class Pacer:
    """Thread-safe, in-process pacer: ≤ n request starts in any sliding window, ≤ k requests in
    flight. It is the first layer: the threads of one process queue here, then take a slot from
    the deployment-wide :class:`~cache.crossref.limiter.SharedLimiter`.

    Several windows can apply at once (e.g. 3 per 1 s and 50 per 60 s); limits only go down.
    ``margin_s`` widens every window a little so that the server, which sees arrival times
    rather than our start times, never counts one request too many in its window. A finished
    request also keeps its in-flight slot for ``release_grace_s`` (default: the margin): the
    server may count it until just after we have read the last byte.
    """

    def __init__(
        self,
        rate: float,
        concurrency: int,
        *,
        window_s: float = 1.0,
        margin_s: float = 0.0,
        release_grace_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        n, w = rate_to_limit(rate, window_s)
        self._limits: dict[float, int] = {w: n}
        self._max_in_flight = max(1, int(concurrency))
        self._margin_s = margin_s
        self._clock = clock
        self._cond = threading.Condition()
        self._starts: deque[float] = deque()
        self._in_flight = 0
        self._releasing: list[float] = []  # when recently finished requests stop counting
        self._grace_s = margin_s if release_grace_s is None else release_grace_s
        self._paused_until = 0.0
        self.peak_in_flight = 0

    # -- read-only views ------------------------------------------------------------------
    @property
    def max_in_flight(self) -> int:
        """Most requests this process lets run at once (after any lowering)."""
        return self._max_in_flight

    @property
    def limits(self) -> dict[float, int]:
        """{window seconds: max starts}."""
        with self._cond:
            return dict(self._limits)

    @property
    def rate(self) -> float:
        """The effective sustained rate in requests per second."""
        with self._cond:
            return min(n / w for w, n in self._limits.items())

    # -- the math ---------------------------------------------------------------------------
    def delay_for(self, now: float) -> float:
        """Seconds until one more request may start (0 when it may start now). No locking."""
        wait = self._paused_until - now
        for window, n in self._limits.items():
            if len(self._starts) >= n:
                wait = max(wait, self._starts[-n] + window + self._margin_s - now)
        return max(0.0, wait)

    def record_start(self, now: float) -> None:
        """Count a request start at ``now`` (clock seconds). No locking."""
        self._starts.append(now)
        horizon = now - max(self._limits) - self._margin_s
        keep = max(self._limits.values())
        while len(self._starts) > keep and self._starts[0] <= horizon:
            self._starts.popleft()

    # -- the lock ---------------------------------------------------------------------------
    def _busy(self, now: float) -> tuple[int, float | None]:
        """(slots taken now, when the next delayed release frees one)."""
        if self._releasing:
            self._releasing = [t for t in self._releasing if t > now]
        nxt = min(self._releasing) if self._releasing else None
        return self._in_flight + len(self._releasing), nxt

    def acquire(self) -> None:
        """Block until one more request may start within this process's limits."""
        with self._cond:
            while True:
                now = self._clock()
                busy, next_free = self._busy(now)
                if busy < self._max_in_flight:
                    wait = self.delay_for(now)
                    if wait <= 0:
                        self._in_flight += 1
                        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
                        self.record_start(now)
                        return
                    self._cond.wait(timeout=wait)
                elif next_free is not None and self._in_flight < self._max_in_flight:
                    self._cond.wait(timeout=max(0.0, next_free - now))
                else:
                    self._cond.wait()

    def release(self) -> None:
        """A request finished; its slot frees after ``release_grace_s`` seconds."""
        with self._cond:
            self._in_flight -= 1
            if self._grace_s > 0:
                self._releasing.append(self._clock() + self._grace_s)
            self._cond.notify_all()

    def __enter__(self) -> Pacer:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- adapting -----------------------------------------------------------------------------
    def lower(
        self,
        limit: int | None = None,
        window_s: float | None = None,
        concurrency: int | None = None,
    ) -> bool:
        """Apply a limit advertised by the server if it is stricter. Returns True if changed."""
        changed = False
        with self._cond:
            for w, n in header_limit(limit, window_s).items():
                if w in self._limits:
                    if n < self._limits[w]:
                        self._limits[w] = n
                        changed = True
                elif n / w < min(n_old / w_old for w_old, n_old in self._limits.items()):
                    self._limits[w] = n
                    changed = True
            if concurrency is not None and 1 <= concurrency < self._max_in_flight:
                self._max_in_flight = int(concurrency)
                changed = True
            if changed:
                self._cond.notify_all()
        return changed

    def widen(self, step_s: float = 0.05, max_margin_s: float = 0.2) -> float:
        """After a 429: widen the window margin a little (up to ``max_margin_s``). Returns the
        new margin. Jitter between our start times and the server's arrival times grows with
        load, and a 429 says the server counted one request too many in its window."""
        with self._cond:
            self._margin_s = min(max(self._margin_s, max_margin_s), self._margin_s + step_s)
            return self._margin_s

    def pause(self, seconds: float) -> None:
        """No request starts for ``seconds`` (used after a 429 with Retry-After)."""
        with self._cond:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


# --------------------------------------------------------------------------------------------
# Stats
# --------------------------------------------------------------------------------------------
@dataclass
class ClientStats:
    """Counters. ``requests`` are logical requests sent to the network (cache hits excluded);
    each extra attempt is one ``retries``; HTTP attempts = requests + retries."""

    requests: int = 0
    retries: int = 0
    http_429: int = 0
    failures: int = 0
    cache_hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "http_429": self.http_429,
                "failures": self.failures,
                "cache_hits": self.cache_hits,
            }


def _parse_interval(value: str | None) -> float | None:
    if not value:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*", value)
    if not m:
        return None
    number = float(m.group(1))
    unit = m.group(2) or "s"
    return number / 1000 if unit == "ms" else number * 60 if unit == "m" else number


def _parse_int(value: str | None) -> int | None:
    try:
        return int(str(value).strip()) if value is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------
class CrossrefClient:
    """Paced, retried, cached access to the Crossref REST API. Use as a context manager.

    ``limiter``: the deployment-wide limiter every request also takes its slot from; ``"auto"``
    (default) builds it from settings (:func:`~cache.crossref.limiter.limiter_for`: Redis when
    ``REDIS_URL`` is set, else a lock file in the data directory), ``None`` paces this process
    only (tests with an in-memory transport, or a data directory that cannot hold the lock).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        use_cache: bool = True,
        write_cache: bool = True,
        sleep: Callable[[float], Any] | None = None,
        limiter: SharedLimiter | str | None = "auto",
    ) -> None:
        self.settings = settings
        self.use_cache = use_cache
        self.write_cache = write_cache
        self.stats = ClientStats()
        self.pacer = Pacer(
            settings.list_rate, settings.list_concurrency, margin_s=settings.pace_margin_s
        )
        self._own_limiter = limiter == "auto"
        self.limiter: SharedLimiter | None = None
        if limiter == "auto":
            try:
                self.limiter = limiter_for(settings)
            except LimiterUnavailable as exc:
                logger.warning("pacing this process only: %s", exc)
        elif isinstance(limiter, SharedLimiter):
            self.limiter = limiter
        elif limiter is not None:
            raise ValueError("limiter must be 'auto', None or a SharedLimiter")
        self._abort = threading.Event()
        self._abort_error: ErrorBudgetExceeded | None = None
        self._finished = 0  # logical requests that succeeded or failed (budget denominator)
        self._budget_lock = threading.Lock()
        self._sleep = sleep
        headers = {"User-Agent": settings.user_agent, "Accept": "application/json"}
        if settings.plus_token:
            headers["Crossref-Plus-API-Token"] = f"Bearer {settings.plus_token}"
        self._http = httpx.Client(
            base_url=settings.api_url,
            headers=headers,
            transport=transport,
            timeout=httpx.Timeout(settings.timeout_s, connect=min(10.0, settings.timeout_s)),
            limits=httpx.Limits(
                max_connections=settings.list_concurrency,
                max_keepalive_connections=settings.list_concurrency,
            ),
            follow_redirects=False,  # a redirect must never carry the token elsewhere
            # Plain-http base URLs (the mock) never use TLS: skip loading the CA bundle.
            verify=not settings.api_url.startswith("http://"),
        )
        self._cache: RawCache | None = None
        if use_cache or write_cache:
            ensure_private_dir(settings.data_dir)
            self._cache = RawCache(settings.http_dir, settings.cache_ttl_s)

    def __repr__(self) -> str:
        token = "set" if self.settings.plus_token else "none"
        return (
            f"CrossrefClient(api_url={self.settings.api_url!r}, pool={self.settings.pool!r}, "
            f"plus_token={token}, use_cache={self.use_cache})"
        )

    # -- lifecycle --------------------------------------------------------------------------
    def close(self) -> None:
        """Close the HTTP connections, the raw-response cache and a limiter built here."""
        self._http.close()
        if self._own_limiter and self.limiter is not None:
            self.limiter.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> CrossrefClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- public API ---------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict:
        """The JSON ``message`` of ``GET path?params``: paced, retried, cached."""
        return self._get(path, params, cacheable=True)

    def member(self, member_id: int | str) -> dict:
        return self.get(f"/members/{int(member_id)}")

    def iter_member_pages(
        self, rows: int = MAX_ROWS, *, on_total: Callable[[int], Any] | None = None
    ) -> Iterator[list[dict]]:
        """All of ``/members`` by offset paging; yields page 1 (whose ``total-results`` sizes
        the job), then the other pages as they arrive (not in offset order), fetched
        concurrently within the pacer's limits."""
        if not 1 <= rows <= MAX_ROWS:
            raise ValueError(f"rows must be within 1..{MAX_ROWS}")
        first = self.get("/members", {"rows": rows, "offset": 0})
        total = int(first.get("total-results") or 0)
        if on_total is not None:
            on_total(total)
        offsets = list(range(rows, total, rows))
        if offsets and offsets[-1] + rows > MEMBERS_OFFSET_LIMIT:
            raise CrossrefError(
                f"/members has {total} members: offset paging stops at {MEMBERS_OFFSET_LIMIT}"
            )
        if not offsets:
            yield list(first.get("items") or [])
            return

        stop = threading.Event()
        arrived: queue.Queue[tuple[list[dict] | None, BaseException | None]] = queue.Queue()

        def page(offset: int) -> None:
            # Results travel through a queue, not the futures, so that each page can be
            # garbage-collected once the caller has converted it (33 pages of parsed JSON held
            # to the end would cost a lot of memory and long GC pauses).
            try:
                if stop.is_set():
                    raise CrossrefError("cancelled")
                message = self.get("/members", {"rows": rows, "offset": offset})
                arrived.put((list(message.get("items") or []), None))
            except BaseException as exc:
                arrived.put((None, exc))

        # Queue the other pages before handing page 1 to the caller, who converts it while
        # they download.
        workers = max(1, min(len(offsets), self.settings.list_concurrency))
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crossref")
        futures = [executor.submit(page, offset) for offset in offsets]
        try:
            items = list(first.get("items") or [])
            del first
            yield items
            del items
            for _ in offsets:
                items_or_none, error = arrived.get()
                if error is not None:
                    raise error
                yield items_or_none or []
        finally:
            stop.set()  # a failed or abandoned job starts no more requests
            for future in futures:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)

    def count(self, path: str, filters: Mapping[str, Any] | None = None) -> int:
        """``total-results`` of a ``rows=0`` query."""
        params: dict[str, Any] = {"rows": 0}
        if filters:
            params["filter"] = filter_param(filters)
        return int(self.get(path, params).get("total-results") or 0)

    def facet(self, path: str, filters: Mapping[str, Any] | None, facet: str) -> dict[str, int]:
        """Values of one facet (``facet=name:*``, ``rows=0``). Counts are approximate."""
        params: dict[str, Any] = {"rows": 0, "facet": f"{facet}:*"}
        if filters:
            params["filter"] = filter_param(filters)
        facets = self.get(path, params).get("facets") or {}
        block = facets.get(facet)
        if block is None and len(facets) == 1:
            block = next(iter(facets.values()))
        values = (block or {}).get("values") or {}
        return {str(k): int(v) for k, v in values.items()}

    def sample(
        self,
        path: str,
        filters: Mapping[str, Any] | None = None,
        n: int = MAX_SAMPLE,
        select: Iterable[str] | None = None,
    ) -> list[dict]:
        """A random sample of up to ``n`` (≤ 100) works."""
        if not 1 <= n <= MAX_SAMPLE:
            raise ValueError(f"sample size must be within 1..{MAX_SAMPLE}")
        params: dict[str, Any] = {"sample": n}
        if filters:
            params["filter"] = filter_param(filters)
        if select:
            params["select"] = ",".join(select)
        return list(self.get(path, params).get("items") or [])

    def iter_cursor(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        rows: int = MAX_ROWS,
        max_items: int | None = None,
        *,
        on_total: Callable[[int], Any] | None = None,
    ) -> Iterator[dict]:
        """Items of a cursor-paged list. Stops on a short page (items < rows), on a missing
        ``next-cursor`` or at ``max_items``; an unchanged ``next-cursor`` is normal (it is sent
        again, URL-encoded). ``on_total`` receives the first page's ``total-results``."""
        if not 1 <= rows <= MAX_ROWS:
            raise ValueError(f"rows must be within 1..{MAX_ROWS}")
        base = {k: v for k, v in (params or {}).items() if k not in ("cursor", "offset")}
        base["rows"] = rows
        cursor = "*"
        yielded = 0
        while max_items is None or yielded < max_items:
            message = self._get(path, {**base, "cursor": cursor}, cacheable=False)
            if on_total is not None and cursor == "*":
                on_total(int(message.get("total-results") or 0))
            items = message.get("items") or []
            for item in items:
                if max_items is not None and yielded >= max_items:
                    return
                yielded += 1
                yield item
            next_cursor = message.get("next-cursor")
            if len(items) < rows or not next_cursor:
                return
            cursor = str(next_cursor)

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        progress: Callable[[int, int], Any] | None = None,
    ) -> list[R]:
        """``[fn(x) for x in items]`` on threads, within the pacer's concurrency; in order.
        The first exception cancels what has not started and is re-raised."""
        items = list(items)
        results: dict[int, R] = {}
        for done, (index, result) in enumerate(self._fan_out_indexed(fn, items), start=1):
            results[index] = result
            if progress is not None:
                progress(done, len(items))
        return [results[i] for i in range(len(items))]

    # -- fan-out ----------------------------------------------------------------------------
    def _fan_out_indexed(self, fn: Callable[[T], R], items: list[T]) -> Iterator[tuple[int, R]]:
        if not items:
            return
        stop = threading.Event()

        def run(item: T) -> R:
            if stop.is_set():
                raise CrossrefError("cancelled")
            return fn(item)

        workers = max(1, min(len(items), self.settings.list_concurrency))
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crossref")
        futures: dict[Future[R], int] = {}
        try:
            futures = {executor.submit(run, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            stop.set()  # a failed or abandoned job starts no more work
            for future in futures:
                future.cancel()
            executor.shutdown(wait=True, cancel_futures=True)

    # -- one request ------------------------------------------------------------------------
    def _get(self, path: str, params: Mapping[str, Any] | None, *, cacheable: bool) -> dict:
        if "://" in path:
            raise ValueError("pass a path relative to the API base URL, not a full URL")
        path = "/" + path.lstrip("/")
        query = {
            str(k): filter_param(v) if isinstance(v, Mapping) else param_str(v)
            for k, v in (params or {}).items()
            if v is not None
        }
        key = cache_key("GET", self.settings.api_url, path, query)
        if cacheable and self.use_cache and self._cache is not None:
            hit = self._cache.get(key)
            if hit is not None:
                self.stats.add(cache_hits=1)
                logger.debug("cache hit %s", redact_url(key))
                return hit
        if self.settings.mailto:
            query["mailto"] = self.settings.mailto
        message = self._request_with_retries(path, query)
        if cacheable and self.write_cache and self._cache is not None:
            try:
                self._cache.set(key, message)
            except (TypeError, ValueError, OSError) as exc:
                logger.warning("could not cache %s: %s", path, type(exc).__name__)
        return message

    def _request_with_retries(self, path: str, query: dict[str, str]) -> dict:
        if self._abort_error is not None:
            raise self._abort_error
        self.stats.add(requests=1)
        s = self.settings
        last: CrossrefError | None = None
        for attempt in range(1, s.max_attempts + 1):
            try:
                message = self._attempt(path, query)
            except CrossrefError as exc:
                if not exc.retryable:
                    self._finish(None)
                    raise
                last = exc
                if attempt >= s.max_attempts or self._abort.is_set():
                    break
                delay = retry_delay(
                    attempt,
                    exc.retry_after,
                    base_s=s.backoff_base_s,
                    max_s=s.backoff_max_s,
                    retry_after_max_s=s.retry_after_max_s,
                )
                if exc.status == 429:
                    self.pacer.pause(delay)
                    self.pacer.widen()
                    if self.limiter is not None:  # the whole deployment backs off
                        self.limiter.pause(delay)
                        self.limiter.widen()
                self.stats.add(retries=1)
                logger.warning(
                    "%s; retrying in %.2fs (attempt %d of %d)",
                    exc.summary,
                    delay,
                    attempt + 1,
                    s.max_attempts,
                )
                if self._wait(delay):
                    break
                continue
            self._finish(None)
            return message
        assert last is not None
        self._finish(last)
        raise last

    def _wait(self, seconds: float) -> bool:
        """Sleep; True when the job was aborted meanwhile."""
        if self._sleep is not None:
            self._sleep(seconds)
            return self._abort.is_set()
        return self._abort.wait(seconds)

    def _finish(self, error: CrossrefError | None) -> None:
        """Record the outcome of a logical request; raise when the error budget is spent."""
        s = self.settings
        with self._budget_lock:
            self._finished += 1
            if error is None:
                return
            self.stats.add(failures=1)
            failures, finished = self.stats.failures, self._finished
            over = failures > s.error_budget * finished
            enough = finished >= s.error_budget_min_requests or failures == finished
            if not (over and enough) and self._abort_error is None:
                return
            if self._abort_error is None:
                self._abort_error = ErrorBudgetExceeded(
                    f"error budget exceeded: {failures} of {finished} requests failed "
                    f"(last: {error.summary})",
                    kind="error-budget",
                )
                self._abort.set()
                logger.info("%s", self._abort_error)
            abort = self._abort_error
        raise abort from error

    def _attempt(self, path: str, query: dict[str, str]) -> dict:
        shared = self.limiter.slot() if self.limiter is not None else contextlib.nullcontext()
        with self.pacer, shared:
            started = time.monotonic()
            try:
                response = self._http.get(path, params=query)
            except httpx.TimeoutException as exc:
                logger.debug("GET %s timed out (%s)", path, type(exc).__name__)
                raise TransportFailure(f"timeout from {path}", path=path) from None
            except httpx.TransportError as exc:
                detail = self._scrub(f"{type(exc).__name__}: {exc}")
                logger.debug("GET %s failed: %s", path, detail)
                raise TransportFailure(f"connection error from {path}", detail, path=path) from None
            elapsed_ms = (time.monotonic() - started) * 1000
        self._adapt(response.headers)
        status = response.status_code
        logger.debug("GET %s -> %d (%.0f ms)", redact_url(response.request.url), status, elapsed_ms)
        if status == 200:
            return self._message(response, path)
        if status == 429:
            self.stats.add(http_429=1)
        error = error_from_response(
            status,
            self._scrub(response.text),
            path=path,
            content_type=response.headers.get("content-type", ""),
            retry_after=response.headers.get("retry-after"),
        )
        level = logging.WARNING if status == 429 else logging.DEBUG
        logger.log(level, "GET %s -> %s", redact_url(response.request.url), error.summary)
        raise error

    def _message(self, response: httpx.Response, path: str) -> dict:
        try:
            body = _loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise MalformedResponse(
                f"malformed JSON from {path}", f"{len(response.content)} bytes", path=path
            ) from None
        if not isinstance(body, dict) or "message" not in body or body.get("status") != "ok":
            raise MalformedResponse(
                f"unexpected response from {path}", "no 'status: ok' envelope", path=path
            )
        message = body["message"]
        if not isinstance(message, dict):
            raise MalformedResponse(f"unexpected response from {path}", "message is not an object")
        return message

    def _adapt(self, headers: httpx.Headers) -> None:
        limit = _parse_int(headers.get("x-rate-limit-limit") or headers.get("x-ratelimit-limit"))
        interval = _parse_interval(
            headers.get("x-rate-limit-interval") or headers.get("x-ratelimit-interval")
        )
        concurrency = _parse_int(headers.get("x-concurrency-limit"))
        if limit is None and concurrency is None:
            return
        if self.pacer.lower(limit, interval, concurrency):
            logger.info(
                "server limits lower than ours: now %s starts per window, %d in flight",
                self.pacer.limits,
                self.pacer.max_in_flight,
            )
        if self.limiter is not None and self.limiter.lower(limit, interval, concurrency):
            logger.info("recorded the lower server limits in the shared rate limiter")

    def _scrub(self, text: str) -> str:
        """Text with the token and the mailto address removed (for messages and logs)."""
        text = redact_url(text)
        token = self.settings.plus_token
        if token:
            text = text.replace(token, "***")
        mailto = self.settings.mailto
        if mailto:
            text = text.replace(mailto, "REDACTED").replace(quote(mailto, safe=""), "REDACTED")
        return text
