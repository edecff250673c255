"""A tiny Crossref-compatible `/works` count server on 127.0.0.1 over a list of real records.

It answers `rows=0` counts with the mock's filter semantics (`mock_crossref.query.record_matches`)
and a rejected filter with Crossref's 400 `validation-failure` body, so tests can check that the
drill-down's `/works` requests count exactly what the registry's predicates count.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cache.crossref.client import CrossrefClient
from cache.crossref.settings import Settings
from mock_crossref.query import QueryError, record_matches


class _WorksServer(ThreadingHTTPServer):
    works: list[dict]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        return

    def do_GET(self) -> None:
        filt = ",".join(parse_qs(urlsplit(self.path).query).get("filter", []))
        try:
            total = sum(record_matches(w, filt) for w in self.server.works)  # type: ignore[attr-defined]
            status, body = (
                200,
                {
                    "status": "ok",
                    "message-type": "work-list",
                    "message": {"total-results": total, "items": []},
                },
            )
        except QueryError as exc:
            status, body = (
                400,
                {
                    "status": "failed",
                    "message-type": "validation-failure",
                    "message": [exc.item],
                },
            )
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def works_client(works: list[dict], data_dir: Path) -> Iterator[CrossrefClient]:
    """A client talking to a `/works` count server over ``works`` while the block runs."""
    server = _WorksServer(("127.0.0.1", 0), _Handler)
    server.works = works
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    settings = Settings(api_url=f"http://{host}:{port}", data_dir=data_dir, list_rate=200.0)
    try:
        with CrossrefClient(settings, use_cache=False, write_cache=False, limiter=None) as client:
            yield client
    finally:
        server.shutdown()
        server.server_close()
