"""The Plus token never appears in logs, URLs, exception texts or reprs; mailto is redacted."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from cache.crossref.client import CrossrefClient, redact_url
from cache.crossref.errors import CrossrefError
from cache.crossref.settings import Settings

TOKEN = "plus-TOKEN-5f3a9c1e-do-not-leak"
MAILTO = "secret.person@example.org"


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "cache.crossref.client", "cache.crossref.rawcache"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_token_only_in_header(tmp_path: Path, debug_logs: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        seen.append(request)
        if calls == 1:
            return httpx.Response(500, text=f"echo {request.url}")  # retried
        if calls == 2:
            raise httpx.ConnectError("boom", request=request)
        if calls == 3:
            return httpx.Response(200, json={"status": "ok", "message": {"total-results": 1}})
        return httpx.Response(401, text=f"Unauthorized: {request.url} {request.headers}")

    settings = Settings.from_env(
        environ={"CROSSREF_PLUS_TOKEN": TOKEN, "CROSSREF_MAILTO": MAILTO},
        data_dir=tmp_path,
        backoff_base_s=0.001,
        list_rate=1000.0,
    )
    with CrossrefClient(settings, transport=httpx.MockTransport(handler)) as client:
        assert client.count("/works", {"has-orcid": True}) == 1
        with pytest.raises(CrossrefError) as info:
            client.get("/members/1")
        assert "Unauthorized" in str(info.value)
        texts = [str(info.value), repr(info.value), repr(client), repr(client.stats)]
        for text in (repr(settings), str(settings)):  # mailto is not secret, the token is
            assert TOKEN not in text

    # the 500 is retried, the connection error too, then one 200 and one 401 (not retried)
    assert calls == len(seen) == 4
    for request in seen:
        assert request.headers["Crossref-Plus-API-Token"] == f"Bearer {TOKEN}"
        assert TOKEN not in str(request.url)
        assert request.url.params["mailto"] == MAILTO
        assert request.headers["User-Agent"] == (
            f"crossref-completeness-dashboard/0.1 (mailto:{MAILTO})"
        )
    assert debug_logs.records, "expected debug logging"
    log_text = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in debug_logs.records
    )
    for text in [*texts, log_text]:
        assert TOKEN not in text
        assert MAILTO not in text
    # Cached entries never hold the token either.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes()


def test_httpx_info_line_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    import cache.crossref.client  # noqa: F401  (installs the filter on httpx's logger)

    caplog.set_level(logging.INFO, logger="httpx")
    logging.getLogger("httpx").info(
        "HTTP Request: %s %s", "GET", f"http://x/works?rows=0&mailto={MAILTO}"
    )
    assert MAILTO not in caplog.text
    assert "mailto=REDACTED" in caplog.text


def test_redact_url() -> None:
    url = f"https://api.crossref.org/works?mailto={MAILTO}&rows=2"
    assert redact_url(url) == "https://api.crossref.org/works?mailto=REDACTED&rows=2"
    assert redact_url("no query") == "no query"
