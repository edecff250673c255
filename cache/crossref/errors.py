"""Typed exceptions of the data layer, and the mapping from Crossref error bodies onto them.

Crossref error shapes (real bodies in shared/fixtures/crossref/errors/):

* 400 ``{"status":"failed","message-type":"validation-failure","message":[{type,value,message}…]}``
* 404 ``{"status":"failed","message-type":"resource-failure",
  "message":[{"type":"cursor-invalid",…}]}``
* 404 ``text/plain`` ``Resource not found.`` (unknown member id)
* 429 JSON or HTML (``<h1>429 Too Many Requests</h1> You have sent too many requests…``)
* 5xx ``{"status":"error","message-type":"exception","message":{name,description,message,stack}}``

Messages carry the request *path* only (never the query string, so never ``mailto``) and never a
token. ``summary`` is the short form used in one-line reports: ``500 Internal Server Error from
/members``.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import re
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any


class CrossrefError(Exception):
    """Base class. ``summary`` is a short one-line description; ``str()`` adds the detail."""

    retryable = False

    def __init__(
        self,
        summary: str,
        detail: str = "",
        *,
        status: int | None = None,
        path: str | None = None,
        kind: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.summary = summary
        self.detail = detail
        self.status = status
        self.path = path
        self.kind = kind
        self.retry_after = retry_after
        super().__init__(f"{summary}: {detail}" if detail else summary)


class ValidationFailure(CrossrefError):
    """400 ``validation-failure``: a bad parameter, filter or value. Not retried."""


class ResourceFailure(CrossrefError):
    """``resource-failure`` (e.g. ``cursor-invalid``). Not retried."""


class NotFound(CrossrefError):
    """404 ``Resource not found.``. Not retried."""


class Unauthorized(CrossrefError):
    """401/403, e.g. an invalid Plus token. Not retried."""


class RateLimited(CrossrefError):
    """429 Too Many Requests (JSON or HTML body). Retried with backoff / Retry-After."""

    retryable = True


class ServerError(CrossrefError):
    """5xx, including Crossref ``exception`` bodies with a stack trace. Retried."""

    retryable = True


class MalformedResponse(CrossrefError):
    """A 200 whose body is not the expected JSON envelope (malformed or truncated). Retried."""

    retryable = True


class TransportFailure(CrossrefError):
    """Timeout or connection error (no HTTP response). Retried."""

    retryable = True


class ErrorBudgetExceeded(CrossrefError):
    """Too many requests failed after all retries; the job must stop."""


class SnapshotError(Exception):
    """A snapshot could not be published or loaded (bad columns, missing snapshot, bad id)."""


def status_phrase(status: int) -> str:
    """The standard reason phrase of an HTTP status (``429`` → ``"Too Many Requests"``).

    An unknown code gives ``"HTTP error"``; never raises.
    """
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


_TAG_RE = re.compile(r"<[^>]+>")
_WS_RE = re.compile(r"\s+")


def _plain_text(text: str, limit: int = 200) -> str:
    """HTML or plain text → one short line."""
    text = html.unescape(_TAG_RE.sub(" ", text))
    text = _WS_RE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join_messages(items: Any) -> tuple[str, str | None]:
    """Crossref ``message`` list of ``{type, value, message}`` → (joined text, first type)."""
    if not isinstance(items, list):
        items = [items]
    texts: list[str] = []
    first_type: str | None = None
    for item in items:
        if isinstance(item, dict):
            first_type = first_type or item.get("type")
            text = str(item.get("message") or item.get("type") or "").strip()
        else:
            text = str(item).strip()
        if text:
            texts.append(text)
    return "; ".join(texts), first_type


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.UTC)
        seconds = (when - _dt.datetime.now(_dt.UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def error_from_response(
    status: int,
    text: str,
    *,
    path: str,
    content_type: str = "",
    retry_after: str | None = None,
) -> CrossrefError:
    """Map a non-200 Crossref response onto a typed exception with a readable message.

    Returns (never raises) by Crossref's ``message-type`` first: ``validation-failure`` →
    :class:`ValidationFailure`, ``resource-failure`` → :class:`ResourceFailure`,
    ``exception`` → :class:`ServerError` (5xx); else by status: 429 → :class:`RateLimited`
    (``retry_after`` in seconds from the ``Retry-After`` header), 5xx → :class:`ServerError`,
    404 → :class:`NotFound`, 401/403 → :class:`Unauthorized`, 400 → :class:`ValidationFailure`,
    anything else → :class:`CrossrefError`. JSON or HTML/plain bodies are reduced to one line.
    """
    summary = f"{status} {status_phrase(status)} from {path}"
    body: Any = None
    if text and ("json" in content_type or text.lstrip().startswith(("{", "["))):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
    message_type = body.get("message-type") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None

    if message_type == "validation-failure":
        detail, kind = _join_messages(message)
        return ValidationFailure(summary, detail, status=status, path=path, kind=kind)
    if message_type == "resource-failure":
        detail, kind = _join_messages(message)
        if kind:
            summary = f"{summary} ({kind})"
        return ResourceFailure(summary, detail, status=status, path=path, kind=kind)
    if message_type == "exception" and isinstance(message, dict):
        name = str(message.get("name") or "").removeprefix("class ").strip()
        msg = str(message.get("message") or message.get("description") or "").strip()
        detail = f"{msg} ({name})" if msg and name else (msg or name)
        cls = ServerError if status >= 500 else CrossrefError
        return cls(summary, _plain_text(detail), status=status, path=path, kind="exception")

    if body is not None and message is not None:
        detail, kind = _join_messages(message)
    else:
        detail, kind = _plain_text(text or ""), None

    after = parse_retry_after(retry_after)
    if status == 429:
        return RateLimited(summary, detail, status=status, path=path, kind=kind, retry_after=after)
    if status >= 500:
        return ServerError(summary, detail, status=status, path=path, kind=kind, retry_after=after)
    if status == 404:
        return NotFound(summary, detail, status=status, path=path, kind=kind)
    if status in (401, 403):
        return Unauthorized(summary, detail, status=status, path=path, kind=kind)
    if status == 400:
        return ValidationFailure(summary, detail, status=status, path=path, kind=kind)
    return CrossrefError(summary, detail, status=status, path=path, kind=kind)
