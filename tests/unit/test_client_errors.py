"""Crossref error bodies → typed exceptions; retries, Retry-After, error budget (MockTransport)."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cache.crossref.client import CrossrefClient
from cache.crossref.errors import (
    CrossrefError,
    ErrorBudgetExceeded,
    MalformedResponse,
    NotFound,
    RateLimited,
    ResourceFailure,
    ServerError,
    TransportFailure,
    ValidationFailure,
    error_from_response,
    parse_retry_after,
)
from cache.crossref.settings import Settings
from tests import FIXTURES

ERRORS = FIXTURES / "crossref" / "errors"
HTML_429 = (
    "<html><head><title>429 Too Many Requests</title></head><body>"
    "<h1>429 Too Many Requests</h1> You have sent too many requests in a given amount of time."
    "</body></html>"
)
OK = {"status": "ok", "message-type": "work-list", "message": {"total-results": 7, "items": []}}


def fixture_text(name: str) -> str:
    path = ERRORS / name
    return path.read_text(encoding="utf-8")


def make_client(
    tmp_path: Path,
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    sleeps: list[float] | None = None,
    **overrides: object,
) -> CrossrefClient:
    options: dict[str, object] = {
        "data_dir": tmp_path,
        "list_rate": 1000.0,
        "list_concurrency": 3,
        "backoff_base_s": 0.001,
        "pace_margin_s": 0.0,
        "max_attempts": 4,
    }
    options.update(overrides)
    settings = Settings.from_env(environ={"CROSSREF_MAILTO": "me@example.org"}, **options)
    sleep = sleeps.append if sleeps is not None else None
    return CrossrefClient(
        settings, transport=httpx.MockTransport(handler), use_cache=False, sleep=sleep
    )


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fixture", "status", "cls", "needle", "kind"),
    [
        (
            "members-filter-not-available.2026-06.json",
            400,
            ValidationFailure,
            "Filter 'has-full-text' specified but there is no such filter for this route. "
            "Valid filters for this route are: prefix, backfile-doi-count, current-doi-count",
            "filter-not-available",
        ),
        (
            "funders-filter-not-available.2026-06.json",
            400,
            ValidationFailure,
            "Valid filters for this route are: location",
            "filter-not-available",
        ),
        (
            "rows-not-integer.2026-06.json",
            400,
            ValidationFailure,
            "Integer specified as things but must be a positive integer less than or equal to "
            "1000.",
            "integer-not-valid",
        ),
        (
            "members-sample-not-allowed.2026-06.json",
            400,
            ValidationFailure,
            "This route does not support sample",
            "parameter-not-allowed",
        ),
        (
            "works-sample-200-too-large.2022-11.json",
            400,
            ValidationFailure,
            "less than or equal to 100.",
            "integer-not-valid",
        ),
        (
            "cursor-invalid.2026-06.json",
            404,
            ResourceFailure,
            "Cursor specified but it is invalid",
            "cursor-invalid",
        ),
        (
            "members-cursor-exception-500.2022-11.json",
            500,
            ServerError,
            "Response Exception (clojure.lang.ExceptionInfo)",
            "exception",
        ),
    ],
)
def test_fixture_error_shapes(
    tmp_path: Path, fixture: str, status: int, cls: type, needle: str, kind: str
) -> None:
    body = fixture_text(fixture)
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(status, text=body, headers={"content-type": "application/json"})

    # error_budget=1.0: see the raw error rather than the budget abort wrapping it.
    with make_client(tmp_path, handler, error_budget=1.0) as client, pytest.raises(cls) as info:
        client.get("/members", {"filter": "has-full-text:true"})
    err = info.value
    assert isinstance(err, CrossrefError)
    assert needle in str(err)
    assert err.kind == kind and err.status == status
    assert str(err).startswith(f"{status} ")
    assert "from /members" in err.summary
    assert "stack" not in str(err) and "qbits" not in str(err)  # no stack trace in messages
    assert "mailto" not in str(err) and "me@example.org" not in str(err)
    # 4xx answers are final; 5xx are retried.
    assert calls == (4 if status >= 500 else 1)


def test_validation_messages_joined() -> None:
    body = json.dumps(
        {
            "status": "failed",
            "message-type": "validation-failure",
            "message": [
                {"type": "a", "value": "x", "message": "First problem."},
                {"type": "b", "value": "y", "message": "Second problem."},
            ],
        }
    )
    err = error_from_response(400, body, path="/works", content_type="application/json")
    assert isinstance(err, ValidationFailure)
    assert str(err) == "400 Bad Request from /works: First problem.; Second problem."


def test_plain_text_404_is_not_found(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404, text="Resource not found.", headers={"content-type": "text/plain"}
        )

    with make_client(tmp_path, handler) as client, pytest.raises(NotFound) as info:
        client.member(99999999)
    assert str(info.value) == "404 Not Found from /members/99999999: Resource not found."
    assert client.stats.failures == 0  # a definite answer, not a reliability failure


def test_html_429_message() -> None:
    err = error_from_response(429, HTML_429, path="/works", content_type="text/html")
    assert isinstance(err, RateLimited)
    assert str(err).startswith("429 Too Many Requests from /works: 429 Too Many Requests ")
    assert "<h1>" not in str(err)
    assert "You have sent too many requests" in str(err)


def test_json_429_message() -> None:
    body = json.dumps({"status": "failed", "message-type": "rate-limit", "message": "Slow down"})
    err = error_from_response(429, body, path="/works", retry_after="3")
    assert isinstance(err, RateLimited) and err.retry_after == 3.0
    assert str(err) == "429 Too Many Requests from /works: Slow down"


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


# ---------------------------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------------------------
def flaky(
    responses: list[Callable[[], httpx.Response]],
) -> Callable[[httpx.Request], httpx.Response]:
    seq = iter(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        return next(seq)()

    return handler


def ok() -> httpx.Response:
    return httpx.Response(200, json=OK)


def test_429_with_retry_after_then_success(tmp_path: Path) -> None:
    sleeps: list[float] = []
    handler = flaky(
        [
            lambda: httpx.Response(429, text=HTML_429, headers={"Retry-After": "0.3"}),
            lambda: httpx.Response(429, text=HTML_429),
            ok,
        ]
    )
    with make_client(tmp_path, handler, sleeps=sleeps) as client:
        assert client.count("/works", {"has-orcid": True}) == 7
        stats = client.stats.as_dict()
    assert stats == {"requests": 1, "retries": 2, "http_429": 2, "failures": 0, "cache_hits": 0}
    assert 0.3 <= sleeps[0] <= 0.31  # Retry-After honoured (plus a hair of jitter)
    assert sleeps[1] < 0.01  # no Retry-After: exponential backoff from the (tiny) base


@pytest.mark.parametrize(
    "bad",
    [
        lambda: httpx.Response(500, text="oops"),
        lambda: httpx.Response(502, text="<html>Bad Gateway</html>"),
        lambda: httpx.Response(503, text=""),
        lambda: httpx.Response(504, text="Gateway Timeout"),
        lambda: httpx.Response(200, text='{"status":"ok","message":{"items":[{"DOI":'),  # truncated
        lambda: httpx.Response(200, text="<html>not json</html>"),  # malformed
        lambda: httpx.Response(200, json={"status": "error"}),  # no envelope
    ],
)
def test_transient_errors_are_retried(tmp_path: Path, bad: Callable[[], httpx.Response]) -> None:
    with make_client(tmp_path, flaky([bad, bad, ok])) as client:
        assert client.get("/works")["total-results"] == 7
        assert client.stats.retries == 2 and client.stats.failures == 0


def test_timeouts_and_connection_errors_are_retried(tmp_path: Path) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ReadTimeout("timed out", request=request)
        if calls == 2:
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if calls == 3:
            raise httpx.RemoteProtocolError("peer closed connection", request=request)
        return ok()

    with make_client(tmp_path, handler) as client:
        assert client.get("/works")["total-results"] == 7
        assert client.stats.retries == 3


def test_gives_up_after_max_attempts(tmp_path: Path) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 12:  # 3 logical requests x 4 attempts, then healthy
            raise httpx.ConnectTimeout("timed out", request=request)
        return ok()

    with make_client(tmp_path, handler, error_budget=1.0) as client:
        for _ in range(3):
            with pytest.raises(TransportFailure, match="timeout from /works"):
                client.get("/works")
        assert client.get("/works")["total-results"] == 7
        assert calls == 13
        assert client.stats.as_dict() == {
            "requests": 4,
            "retries": 9,
            "http_429": 0,
            "failures": 3,
            "cache_hits": 0,
        }


# ---------------------------------------------------------------------------------------------
# Error budget
# ---------------------------------------------------------------------------------------------
def test_every_request_failing_aborts_at_once(tmp_path: Path) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(500, text="Internal Server Error")

    with make_client(tmp_path, handler) as client:
        with pytest.raises(ErrorBudgetExceeded) as info:
            client.get("/members", {"rows": 1000})
        assert str(info.value) == (
            "error budget exceeded: 1 of 1 requests failed "
            "(last: 500 Internal Server Error from /members)"
        )
        assert isinstance(info.value.__cause__, ServerError)
        assert calls == 4
        # The client refuses further work: the job must stop.
        with pytest.raises(ErrorBudgetExceeded):
            client.get("/works")
        assert calls == 4


def test_budget_passes_ten_percent(tmp_path: Path) -> None:
    # Requests 1-10 succeed, then every request fails: the second failure makes 2 of 12 > 10 %.
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return ok() if calls <= 10 else httpx.Response(503, text="busy")

    with make_client(tmp_path, handler, max_attempts=2) as client:
        for _ in range(10):
            client.get("/works")
        with pytest.raises(ServerError):
            client.get("/works")  # 1 of 11 = 9 %: still within budget
        with pytest.raises(ErrorBudgetExceeded, match="2 of 12 requests failed"):
            client.get("/works")
    # 10 successes, then 2 failed requests of 2 attempts each: the budget counts requests
    assert calls == 10 + 2 * 2


def test_twenty_percent_random_faults_complete(tmp_path: Path) -> None:
    # Faults decided by (request, attempt), not by thread timing: the test is deterministic.
    attempts: dict[str, int] = {}
    lock = threading.Lock()

    def faulty(key: str, attempt: int) -> bool:
        return random.Random(f"{key}/{attempt}").random() < 0.2

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.params["offset"]
        with lock:
            attempts[key] = attempts.get(key, 0) + 1
            attempt = attempts[key]
        if faulty(key, attempt):
            return (
                httpx.Response(500, text="x") if attempt % 2 else httpx.Response(429, text=HTML_429)
            )
        return ok()

    with make_client(tmp_path, handler, max_attempts=6) as client:
        results = client.map(lambda i: client.get("/works", {"offset": i}), range(200))
        assert len(results) == 200
        stats = client.stats.as_dict()
    expected_retries = sum(n - 1 for n in attempts.values())
    assert stats["failures"] == 0 and stats["requests"] == 200
    assert stats["retries"] == expected_retries and 20 <= expected_retries <= 90
    assert stats["http_429"] > 0


def test_map_aborts_when_everything_fails(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad Gateway")

    with make_client(tmp_path, handler, max_attempts=3) as client:
        with pytest.raises(ErrorBudgetExceeded, match="requests failed"):
            client.map(lambda i: client.get("/works", {"offset": i}), range(50))
        assert client.stats.requests < 50  # stopped early instead of working through the list


def test_malformed_error_type() -> None:
    assert MalformedResponse.retryable and RateLimited.retryable and ServerError.retryable
    assert not ValidationFailure.retryable and not NotFound.retryable
