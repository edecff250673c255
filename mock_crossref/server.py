"""A mock Crossref REST API: stdlib HTTP server on 127.0.0.1 serving a :class:`Population`.

Routes, JSON envelopes, error bodies and headers follow the real API (shared/reference/
crossref-api.md, checked against shared/fixtures/crossref/). Extras for tests and benchmarks:
a request log with monotonic times, the maximum number of requests in flight, optional rate and
concurrency limits answered with 429, added latency, and faults injected on demand.

    with MockCrossref(Population(2000), rate_limit=3, concurrency=3) as mock:
        url = mock.url            # http://127.0.0.1:<port>
        mock.faults = FaultConfig(error_rate=0.2, kinds=("500", "timeout"))
"""

from __future__ import annotations

import base64
import json
import random
import threading
import time
import traceback
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import numpy as np

from mock_crossref.engine import WorkEngine
from mock_crossref.population import Population, hkey, tokens_of
from mock_crossref.query import (
    FACETS,
    SELECTABLE,
    WORKS_FILTERS,
    QueryError,
    WorkQuery,
    funder_id_of,
    parse_filters,
)

FAULT_KINDS = (
    "500",
    "502",
    "503",
    "504",
    "timeout",
    "malformed",
    "truncated",
    "html429",
    "429",
    "404text",
)
POOL_LIMITS = {"polite": (10, 3), "public": (5, 1), "plus": (150, 5)}
MEMBERS_FILTERS = ("prefix", "backfile-doi-count", "current-doi-count")
FUNDERS_FILTERS = ("location",)
HTML_429 = (
    b"<html><head><title>429 Too Many Requests</title></head><body>"
    b"<h1>429 Too Many Requests</h1> You have sent too many requests in a given amount "
    b"of time.</body></html>"
)
_GATEWAY = {
    "502": b"<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or "
    b"incomplete response.\n</body></html>\n",
    "503": b"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle "
    b"this request.\n</body></html>\n",
    "504": b"<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n"
    b"</body></html>\n",
}
_STACK = [
    "clojure.core$ex_info.invokeStatic(core.clj:4617)",
    "clojure.core$ex_info.invoke(core.clj:4617)",
    "qbits.spandex$response_ex__GT_ex_info.invokeStatic(spandex.clj:218)",
    "org.elasticsearch.client.RestClient$1.completed(RestClient.java:362)",
    "java.base/java.lang.Thread.run(Thread.java:833)",
]


@dataclass
class FaultConfig:
    """Faults injected into a share of requests (decided in arrival order, seeded).

    ``kinds`` among ``FAULT_KINDS``: "500" (JSON exception body), "502"/"503"/"504" (gateway
    HTML), "timeout" (sleep ``timeout_s`` then 504), "malformed" (200 with invalid JSON),
    "truncated" (200 with the JSON cut in the middle), "html429" (429 with an HTML body; also
    makes rate-limit 429s HTML), "429" (429 with a plain-text body), "404text" (404
    ``Resource not found.``). ``retry_after`` adds a ``Retry-After`` header to 429/503 answers.
    ``path_prefix`` restricts faults to request paths starting with it.
    """

    error_rate: float = 0.0
    kinds: tuple[str, ...] = ("500",)
    seed: int = 0
    retry_after: float | None = None
    timeout_s: float = 5.0
    path_prefix: str | None = None

    def __post_init__(self) -> None:
        bad = [k for k in self.kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; use {FAULT_KINDS}")


@dataclass(frozen=True)
class RequestRecord:
    """One request as the server saw it (times from ``time.monotonic()``)."""

    method: str
    path: str
    query: str
    params: dict[str, str]
    start: float
    end: float
    status: int
    in_flight: int  # requests in flight when this one arrived, itself included
    fault: str | None = None
    pool: str = "polite"
    limited: str | None = None  # why it got a rate-limit 429: "concurrency" or "rate"


@dataclass
class _Cursor:
    q: WorkQuery | None
    members: np.ndarray | None
    pos: tuple[int, int]
    last_used: float
    total: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Reply(Exception):
    def __init__(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: dict[str, str] | None = None,
    ):
        super().__init__(status)
        self.status, self.body, self.ctype = status, body, ctype
        self.headers = headers or {}


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _ok(message_type: str, message: Any) -> bytes:
    return _json(
        {
            "status": "ok",
            "message-type": message_type,
            "message-version": "1.0.0",
            "message": message,
        }
    )


def _failure(item: dict[str, str], status: int = 400, kind: str = "validation-failure"):
    return _Reply(status, _json({"status": "failed", "message-type": kind, "message": [item]}))


def _not_found() -> _Reply:
    return _Reply(404, b"Resource not found.", "text/plain")


def _exception_body(description: str) -> bytes:
    return _json(
        {
            "status": "error",
            "message-type": "exception",
            "message-version": "1.0.0",
            "message": {
                "name": "class clojure.lang.ExceptionInfo",
                "description": f"clojure.lang.ExceptionInfo: {description}",
                "message": "Response Exception",
                "stack": _STACK,
                "cause": None,
            },
        }
    )


class MockCrossref:
    """The mock API server. ``start()`` returns the base URL; also a context manager."""

    def __init__(
        self,
        population: Population,
        *,
        rate_limit: float | None = None,
        concurrency: int | None = None,
        latency_s: float = 0.0,
        pool: str = "polite",
        faults: FaultConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        cursor_ttl_s: float = 300.0,
        rate_tolerance_s: float = 0.02,
        warm: bool | None = None,
        reject_filters: tuple[str, ...] | list[str] | set[str] = (),
        empty_works_members: tuple[int, ...] | list[int] | set[int] = (),
    ):
        if pool not in ("polite", "public", "plus", "auto"):
            raise ValueError("pool must be polite, public, plus or auto")
        self.population = population
        self.engine = WorkEngine(population)
        self.rate_limit = rate_limit
        self.concurrency = concurrency
        self.latency_s = latency_s
        self.pool = pool
        self._faults = faults or FaultConfig()
        self._fault_rng = random.Random(self._faults.seed)
        self.host, self.port = host, port
        self.cursor_ttl_s = cursor_ttl_s
        self.rate_tolerance_s = rate_tolerance_s
        self._lock = threading.Lock()
        self._log: list[RequestRecord] = []
        self._arrivals: deque[float] = deque()
        self._in_flight = 0
        self.max_in_flight = 0
        self._cursors: dict[str, _Cursor] = {}
        self._cursor_seq = 0
        # build the /members items in the background (id order, ahead of a paging client);
        # default: only for big populations
        self.warm = population.n_members > 5000 if warm is None else warm
        self._stop_warm = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""
        #: /works filter names answered with Crossref's real 400 ``filter-not-available`` body,
        #: as a server without that filter does (mutable: tests add and remove names)
        self.reject_filters: set[str] = set(reject_filters)
        #: member ids whose /members/{id}/works lists nothing (total 0) while their summary in
        #: /members keeps its counts, as when Crossref's works index lags its member summaries
        self.empty_works_members: set[int] = {int(i) for i in empty_works_members}

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> str:
        if self._httpd is not None:
            return self.url
        mock = self

        class Handler(_Handler):
            server_mock = mock

        httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        httpd.daemon_threads = True
        httpd.request_queue_size = 128
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="mock-crossref",
            daemon=True,
        )
        self._thread.start()
        if self.warm:
            self._stop_warm.clear()
            threading.Thread(
                target=self._warm_members, name="mock-crossref-warm", daemon=True
            ).start()
        return self.url

    def _warm_members(self) -> None:
        pop = self.population
        for start in range(0, pop.n_members, 500):
            if self._stop_warm.is_set():
                return
            pop.members_json(range(start, min(pop.n_members, start + 500)))
            time.sleep(0.001)  # let request threads have the GIL

    def stop(self) -> None:
        self._stop_warm.set()
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> MockCrossref:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- faults and stats
    @property
    def faults(self) -> FaultConfig:
        return self._faults

    @faults.setter
    def faults(self, value: FaultConfig | None) -> None:
        with self._lock:
            self._faults = value or FaultConfig()
            self._fault_rng = random.Random(self._faults.seed)

    @property
    def log(self) -> list[RequestRecord]:
        """A copy of the request log (thread-safe)."""
        with self._lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()
            self.max_in_flight = 0

    def max_rate(self, window_s: float = 1.0, statuses: tuple[int, ...] | None = None) -> int:
        """Most requests that *started* within any window of ``window_s`` seconds."""
        starts = sorted(r.start for r in self.log if statuses is None or r.status in statuses)
        best, j = 0, 0
        for i, s in enumerate(starts):
            while starts[j] <= s - window_s:
                j += 1
            best = max(best, i - j + 1)
        return best

    # ---------------------------------------------------------------- admission
    def _admit(self, pool: str) -> tuple[int, str | None, bool]:
        """Register an arrival; return (in_flight, fault kind, why it is rate-limited or None)."""
        now = time.monotonic()
        with self._lock:
            self._in_flight += 1
            inflight = self._in_flight
            self.max_in_flight = max(self.max_in_flight, inflight)
            limited: str | None = None
            if self.concurrency is not None and inflight > self.concurrency:
                limited = "concurrency"
            if self.rate_limit is not None and not limited:
                window = 1.0 - self.rate_tolerance_s
                while self._arrivals and self._arrivals[0] <= now - window:
                    self._arrivals.popleft()
                limited = "rate" if len(self._arrivals) >= self.rate_limit else None
            if not limited:
                self._arrivals.append(now)
            fault = None
            fc = self._faults
            if not limited and fc.error_rate > 0 and self._fault_rng.random() < fc.error_rate:
                fault = fc.kinds[self._fault_rng.randrange(len(fc.kinds))]
            return inflight, fault, limited

    def _record(self, rec: RequestRecord) -> None:
        with self._lock:
            self._log.append(rec)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def pool_for(self, params: dict[str, str], headers) -> str:
        if self.pool != "auto":
            return self.pool
        if headers.get("Crossref-Plus-API-Token"):
            return "plus"
        if params.get("mailto") or "mailto:" in (headers.get("User-Agent") or ""):
            return "polite"
        return "public"

    def rate_headers(self, pool: str) -> dict[str, str]:
        limit, conc = POOL_LIMITS[pool]
        return {
            "x-api-pool": pool,
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-interval": "1s",
            "x-concurrency-limit": str(conc),
        }

    # ---------------------------------------------------------------- routing
    def handle(self, path: str, params: dict[str, str]) -> bytes:
        parts = [unquote(p) for p in path.split("/") if p]
        if not parts:
            raise _not_found()
        head = parts[0]
        if head == "members":
            if len(parts) == 1:
                return self.members_list(params)
            if not parts[1].isdigit():
                raise _not_found()
            m = self.population.member_index(int(parts[1]))
            if m is None:
                raise _not_found()
            if len(parts) == 2:
                return (
                    b'{"status":"ok","message-type":"member","message-version":"1.0.0",'
                    b'"message":' + self.population.member_json(m) + b"}"
                )
            if len(parts) == 3 and parts[2] == "works":
                return self.works_list(params, member=m)
            raise _not_found()
        if head == "works":
            if len(parts) == 1:
                return self.works_list(params)
            doi = "/".join(parts[1:])
            if doi.endswith("/agency"):
                raise _not_found()
            loc = self.engine.locate(doi)
            if loc is None:
                raise _not_found()
            rec = self.engine.records([loc])[0]
            return _ok("work", rec)
        if head == "funders":
            if len(parts) == 1:
                return self.funders_list(params)
            rest = parts[1:]
            works = rest[-1] == "works"
            if works:
                rest = rest[:-1]
            fid = funder_id_of("/".join(rest))
            f = self.population.funder_by_id.get(fid)
            if f is None:
                raise _not_found()
            if works:
                return self.works_list(params, funder=f.idx)
            return _ok("funder", self.funder_item(f, full=True))
        if head == "prefixes" and len(parts) == 2:
            m = self.population.prefix_owner.get(parts[1])
            if m is None:
                raise _not_found()
            return _ok(
                "prefix",
                {
                    "member": f"https://id.crossref.org/member/{int(self.population.ids[m])}",
                    "name": self.population.names[m],
                    "prefix": f"https://id.crossref.org/prefix/{parts[1]}",
                },
            )
        raise _not_found()

    # ---------------------------------------------------------------- params
    @staticmethod
    def _int(params: dict[str, str], name: str, default: int, maximum: int) -> int:
        raw = params.get(name)
        if raw is None or raw == "":
            return default
        if not raw.isdigit() or int(raw) > maximum:
            raise _failure(
                {
                    "type": "integer-not-valid",
                    "value": raw,
                    "message": f"Integer specified as {raw} but must be a positive "
                    f"integer less than or equal to {maximum}. ",
                }
            )
        return int(raw)

    def _cursor_token(self) -> str:
        self._purge_cursors()
        with self._lock:
            self._cursor_seq += 1
            seq = self._cursor_seq
        raw = b"".join(hkey(self.population.seed, seq, k).to_bytes(8, "big") for k in range(5))
        body = base64.b64encode(raw).decode().rstrip("=")
        # real tokens are long base64 strings with + / = in them; make sure ours have all three
        return f"DnF1ZXJ5VGhlbkZldGNo{body}+/{seq}Aw=="

    def _purge_cursors(self) -> None:
        now = time.monotonic()
        with self._lock:
            for k in [k for k, c in self._cursors.items() if now - c.last_used > self.cursor_ttl_s]:
                del self._cursors[k]

    def _get_cursor(self, token: str) -> _Cursor:
        self._purge_cursors()
        with self._lock:
            cur = self._cursors.get(token)
        if cur is None:
            raise _failure(
                {
                    "type": "cursor-invalid",
                    "value": token,
                    "message": "Cursor specified but it is invalid",
                },
                404,
                "resource-failure",
            )
        return cur

    # ---------------------------------------------------------------- /members
    def members_list(self, params: dict[str, str]) -> bytes:
        pop = self.population
        if "sample" in params:
            raise _failure(
                {
                    "type": "parameter-not-allowed",
                    "value": "sample",
                    "message": "This route does not support sample",
                }
            )
        rows = self._int(params, "rows", 20, 1000)
        offset = self._int(params, "offset", 0, 80000)
        if offset + rows > 80000:
            raise _failure(
                {
                    "type": "integer-not-valid",
                    "value": str(offset),
                    "message": f"Integer specified as {offset} but offset + rows must "
                    "be less than or equal to 80000. ",
                }
            )
        query = params.get("query")
        cursor = params.get("cursor")
        if cursor and cursor != "*":
            cur = self._get_cursor(cursor)
            with cur.lock:
                members = cur.members
                start = cur.pos[0]
                chunk = members[start : start + rows]
                cur.pos = (start + len(chunk), 0)
                cur.last_used = time.monotonic()
            return self._members_page(chunk, len(members), rows, 0, query, cursor)
        members = pop.search_members(query) if query else np.arange(pop.n_members)
        if "filter" in params:
            members = self._member_filters(members, params["filter"])
        if cursor == "*":
            token = self._cursor_token()
            chunk = members[:rows]
            with self._lock:
                self._cursors[token] = _Cursor(None, members, (len(chunk), 0), time.monotonic())
            return self._members_page(chunk, len(members), rows, 0, query, token)
        chunk = members[offset : offset + rows] if rows else members[:0]
        return self._members_page(chunk, len(members), rows, offset, query, None)

    def _member_filters(self, members: np.ndarray, filt: str) -> np.ndarray:
        tot = self.population.member_totals()
        for part in filt.split(","):
            name, _, value = part.partition(":")
            name = name.strip()
            if name not in MEMBERS_FILTERS:
                raise _failure(
                    {
                        "type": "filter-not-available",
                        "value": name,
                        "message": f"Filter '{name}' specified but there is no such "
                        "filter for this route. Valid filters for this "
                        f"route are: {', '.join(MEMBERS_FILTERS)}",
                    }
                )
            if name == "prefix":
                owner = self.population.prefix_owner.get(value.strip())
                members = members[members == owner] if owner is not None else members[:0]
            else:
                if not value.strip().isdigit():
                    raise _failure(
                        {
                            "type": "integer-not-valid",
                            "value": value,
                            "message": f"Integer specified as {value} but must be a "
                            "positive integer",
                        }
                    )
                col = tot["current" if name.startswith("current") else "backfile"]
                members = members[col[members] == int(value)]
        return members

    def _members_page(
        self,
        chunk: np.ndarray,
        total: int,
        rows: int,
        offset: int,
        query: str | None,
        cursor: str | None,
    ) -> bytes:
        items = b",".join(self.population.members_json(chunk.tolist())) if len(chunk) else b""
        head = {
            "items-per-page": rows,
            "query": {"start-index": offset, "search-terms": query or None},
            "total-results": int(total),
        }
        if cursor:
            head["next-cursor"] = cursor
        h = _json(head)[:-1]
        return (
            b'{"status":"ok","message-type":"member-list","message-version":"1.0.0",'
            b'"message":' + h + b',"items":[' + items + b"]}}"
        )

    # ---------------------------------------------------------------- /works
    def works_list(
        self, params: dict[str, str], *, member: int | None = None, funder: int | None = None
    ) -> bytes:
        eng, pop = self.engine, self.population
        rows = self._int(params, "rows", 20, 1000)
        offset = self._int(params, "offset", 0, 10000)
        sample = self._int(params, "sample", 0, 100) if "sample" in params else None
        select = None
        if params.get("select"):
            select = [s.strip() for s in params["select"].split(",") if s.strip()]
            bad = [s for s in select if s not in SELECTABLE]
            if bad:
                raise _failure(
                    {
                        "type": "select-not-valid",
                        "value": bad[0],
                        "message": f"Select field '{bad[0]}' is not valid. Valid "
                        f"select fields are: {', '.join(SELECTABLE)}",
                    }
                )
        facets: dict[str, int] = {}
        if params.get("facet"):
            for part in params["facet"].split(","):
                name, _, lim = part.partition(":")
                name = name.strip()
                if name not in FACETS:
                    raise _failure(
                        {
                            "type": "facet-not-available",
                            "value": name,
                            "message": f"Facet '{name}' specified but there is no such "
                            "facet for this route. Valid facets for this "
                            f"route are: {', '.join(FACETS)}",
                        }
                    )
                lim = lim.strip() or "*"
                if lim != "*" and not lim.isdigit():
                    raise _failure(
                        {
                            "type": "facet-count-not-valid",
                            "value": lim,
                            "message": f"Facet count specified as {lim} but must be "
                            "* or a positive integer",
                        }
                    )
                facets[name] = 1000 if lim == "*" else min(int(lim), 1000)
        query_text = params.get("query") or next(
            (v for k, v in params.items() if k.startswith("query.")), None
        )
        try:
            cursor = params.get("cursor")
            if cursor and cursor != "*":
                cur = self._get_cursor(cursor)
                q = cur.q
            else:
                self._reject_filters(params.get("filter"))
                q = parse_filters(pop, params.get("filter"), member=member, funder=funder)
                if member is not None and int(pop.ids[member]) in self.empty_works_members:
                    q.empty = True
                if query_text:
                    hits = set(pop.search_members(query_text).tolist())
                    q.members = [
                        m
                        for m in (q.members if q.members is not None else sorted(hits))
                        if m in hits
                    ]
                    if not q.members:
                        q.empty = True
        except QueryError as exc:
            raise _failure(exc.item, exc.status) from None
        score = 1.0 if query_text else 0.0
        message: dict[str, Any] = {}
        if facets:
            message["facets"] = eng.facets(q, facets)
        else:
            message["facets"] = {}
        if sample is not None:
            seed = hkey(
                pop.seed,
                zlib.crc32(json.dumps(sorted(params.items())).encode()),
                member if member is not None else -1 & 0xFFFF,
                funder if funder is not None else -1 & 0xFFFF,
            )
            items = eng.sample(q, sample, seed)
            message["total-results"] = len(items)
            message["items"] = eng.records(items, select, score)
            message["items-per-page"] = rows
            message["query"] = {"start-index": 0, "search-terms": query_text}
            return _ok("work-list", message)
        scope = eng.scope(q)
        if cursor:
            if cursor == "*":
                token = self._cursor_token()
                cur = _Cursor(q, None, (0, 0), time.monotonic())
                with self._lock:
                    self._cursors[token] = cur
            else:
                token = cursor
            with cur.lock:
                items, pos = eng.page(q, cur.pos, rows, scope) if rows else ([], cur.pos)
                cur.pos = pos
                cur.last_used = time.monotonic()
            message["next-cursor"] = token
        else:
            if rows:
                got, _ = eng.page(q, (0, 0), offset + rows, scope)
                items = got[offset:]
            else:
                items = []
        if cursor:
            if cur.total is None:
                cur.total = eng.count(q, scope)
            message["total-results"] = cur.total
        else:
            message["total-results"] = eng.count(q, scope)
        message["items"] = eng.records(items, select, score)
        message["items-per-page"] = rows
        message["query"] = {"start-index": 0 if cursor else offset, "search-terms": query_text}
        return _ok("work-list", message)

    def _reject_filters(self, filt: str | None) -> None:
        """Raise Crossref's 400 body for the first filter named in ``reject_filters``."""
        if not filt or not self.reject_filters:
            return
        for part in filt.split(","):
            name = part.partition(":")[0].strip()
            if name in self.reject_filters:
                valid = ", ".join(f for f in WORKS_FILTERS if f not in self.reject_filters)
                raise QueryError(
                    "filter-not-available",
                    name,
                    f"Filter '{name}' specified but there is no such filter for this route. "
                    f"Valid filters for this route are: {valid}",
                )

    # ---------------------------------------------------------------- /funders
    def funder_item(self, f, full: bool = False) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": f.id,
            "location": f.location,
            "name": f.name,
            "alt-names": list(f.alt_names),
            "uri": f"https://doi.org/{f.doi}",
            "replaces": [],
            "replaced-by": [],
            "tokens": tokens_of(" ".join([f.name, *f.alt_names])),
        }
        if not full:
            return item
        wc = int(self.engine.funder_counts(f.idx).sum())
        return {
            "hierarchy-names": {f.id: f.name},
            "replaced-by": [],
            "work-count": wc,
            "name": f.name,
            "descendants": [],
            "descendant-work-count": wc,
            "id": f.id,
            "tokens": item["tokens"],
            "replaces": [],
            "uri": item["uri"],
            "hierarchy": {f.id: {}},
            "alt-names": list(f.alt_names),
            "location": f.location,
        }

    def funders_list(self, params: dict[str, str]) -> bytes:
        if "sample" in params:
            raise _failure(
                {
                    "type": "parameter-not-allowed",
                    "value": "sample",
                    "message": "This route does not support sample",
                }
            )
        rows = self._int(params, "rows", 20, 1000)
        offset = self._int(params, "offset", 0, 80000)
        funders = list(self.population.registry_funders)
        query = params.get("query")
        if query:
            qt = set(tokens_of(query))
            funders = [f for f in funders if qt <= set(tokens_of(" ".join([f.name, *f.alt_names])))]
        if params.get("filter"):
            for part in params["filter"].split(","):
                name, _, value = part.partition(":")
                if name.strip() not in FUNDERS_FILTERS:
                    raise _failure(
                        {
                            "type": "filter-not-available",
                            "value": name.strip(),
                            "message": f"Filter '{name.strip()}' specified but there "
                            "is no such filter for this route. Valid filters"
                            " for this route are: location",
                        }
                    )
                funders = [f for f in funders if f.location == value]
        chunk = funders[offset : offset + rows] if rows else []
        return _ok(
            "funder-list",
            {
                "items-per-page": rows,
                "query": {"start-index": offset, "search-terms": query},
                "total-results": len(funders),
                "items": [self.funder_item(f) for f in chunk],
            },
        )


class _Handler(BaseHTTPRequestHandler):
    server_mock: MockCrossref
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else keep-alive responses wait ~40 ms for delayed ACKs
    wbufsize = -1  # buffer headers and body; flushed once per response
    server_version = "mock-crossref/1.0"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        return

    def do_GET(self) -> None:
        mock = self.server_mock
        start = time.monotonic()
        split = urlsplit(self.path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        pool = mock.pool_for(params, self.headers)
        inflight, fault, limited = mock._admit(pool)
        fc = mock.faults
        if fault and fc.path_prefix and not split.path.startswith(fc.path_prefix):
            fault = None
        status = 500
        logged = False

        def record(status: int) -> None:
            mock._record(
                RequestRecord(
                    "GET",
                    split.path,
                    split.query,
                    params,
                    start,
                    time.monotonic(),
                    status,
                    inflight,
                    fault,
                    pool,
                    limited,
                )
            )

        try:
            if mock.latency_s:
                time.sleep(mock.latency_s)
            headers = mock.rate_headers(pool)
            if limited:
                if "html429" in fc.kinds:
                    reply = _Reply(429, HTML_429, "text/html")
                else:
                    reply = _Reply(
                        429,
                        _json(
                            {
                                "status": "failed",
                                "message-type": "too-many-requests",
                                "message": [
                                    {
                                        "type": "rate-limit-exceeded",
                                        "value": str(mock.rate_limit),
                                        "message": "Too many requests: slow down "
                                        "or lower concurrency",
                                    }
                                ],
                            }
                        ),
                    )
                if fc.retry_after is not None:
                    reply.headers["Retry-After"] = f"{fc.retry_after:g}"
            elif fault:
                reply = self._fault_reply(fault, fc, split.path, params)
            else:
                try:
                    body = mock.handle(split.path, params)
                    reply = _Reply(200, body)
                except _Reply as r:
                    reply = r
                except Exception as exc:  # a bug in the mock: answer like Crossref does
                    traceback.print_exc()
                    reply = _Reply(500, _exception_body(repr(exc)))
            status = reply.status
            # logged before the bytes go out, so a client that got the answer finds it logged
            record(status)
            logged = True
            self._send(reply, headers)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            if not logged:
                record(status)
            mock._leave()

    def _fault_reply(
        self, fault: str, fc: FaultConfig, path: str, params: dict[str, str]
    ) -> _Reply:
        if fault == "500":
            return _Reply(
                500, _exception_body("Response Exception qbits.spandex.Response@759258fe")
            )
        if fault in _GATEWAY:
            r = _Reply(int(fault), _GATEWAY[fault], "text/html")
            if fault == "503" and fc.retry_after is not None:
                r.headers["Retry-After"] = f"{fc.retry_after:g}"
            return r
        if fault == "timeout":
            time.sleep(fc.timeout_s)
            return _Reply(504, _GATEWAY["504"], "text/html")
        if fault == "malformed":
            return _Reply(
                200,
                b'{"status":"ok","message-type":"work-list","message":{"items":'
                b'[{"DOI":"10.9/x",,}]',
            )
        if fault == "truncated":
            try:
                body = self.server_mock.handle(path, params)
            except _Reply as r:
                body = r.body
            except Exception:
                body = _exception_body("truncated")
            return _Reply(200, body[: max(1, len(body) // 2)])
        if fault == "html429":
            r = _Reply(429, HTML_429, "text/html")
        elif fault == "429":
            r = _Reply(429, b"Too Many Requests", "text/plain")
        else:  # 404text
            return _not_found()
        if fc.retry_after is not None:
            r.headers["Retry-After"] = f"{fc.retry_after:g}"
        return r

    def _send(self, reply: _Reply, headers: dict[str, str]) -> None:
        self.send_response(reply.status)
        ctype = reply.ctype
        if ctype == "application/json":
            ctype = "application/json;charset=utf-8"
        elif ctype.startswith("text/"):
            ctype += ";charset=utf-8"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        for k, v in {**headers, **reply.headers}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(reply.body)
        self.wfile.flush()
