"""Cursor and offset paging, count/facet/sample parameters, map (MockTransport)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from cache.crossref.client import CrossrefClient, filter_param
from cache.crossref.settings import Settings

CURSOR = "DnF1ZXJ5VGhlbkZldGNoBgAAAAAAFw+/a9B=="  # has + / =


def envelope(message: dict) -> httpx.Response:
    return httpx.Response(
        200,
        json={"status": "ok", "message-type": "x", "message-version": "1.0.0", "message": message},
    )


def make_client(tmp_path: Path, handler, **overrides) -> CrossrefClient:  # type: ignore[no-untyped-def]
    options = {
        "data_dir": tmp_path,
        "list_rate": 1000.0,
        "list_concurrency": 3,
        "pace_margin_s": 0.0,
    }
    options.update(overrides)
    settings = Settings.from_env(environ={"CROSSREF_MAILTO": "me@example.org"}, **options)
    return CrossrefClient(settings, transport=httpx.MockTransport(handler))


def raw_query(request: httpx.Request) -> str:
    return request.url.query.decode()


def test_cursor_is_encoded_and_short_page_stops(tmp_path: Path) -> None:
    requests: list[httpx.Request] = []
    pages = [[{"n": 1}, {"n": 2}], [{"n": 3}, {"n": 4}], [{"n": 5}]]

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        page = pages[len(requests) - 1]
        # The next-cursor never changes (as on the real API): paging must still go on.
        return envelope({"total-results": 5, "items": page, "next-cursor": CURSOR})

    totals: list[int] = []
    with make_client(tmp_path, handler) as client:
        items = list(
            client.iter_cursor(
                "/members/98/works", {"filter": {"has-orcid": True}}, rows=2, on_total=totals.append
            )
        )
    assert [i["n"] for i in items] == [1, 2, 3, 4, 5]
    assert len(requests) == 3  # stopped on the short page, not on the unchanged cursor
    assert totals == [5]
    assert requests[0].url.params["cursor"] == "*"
    for request in requests[1:]:
        query = raw_query(request)
        assert "cursor=DnF1ZXJ5VGhlbkZldGNoBgAAAAAAFw%2B%2Fa9B%3D%3D" in query
        assert request.url.params["cursor"] == CURSOR
        assert request.url.params["filter"] == "has-orcid:true"
        assert request.url.params["rows"] == "2"


def test_cursor_full_last_page_then_empty(tmp_path: Path) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        items = [{"n": 1}, {"n": 2}] if calls == 1 else []
        return envelope({"items": items, "next-cursor": CURSOR})

    with make_client(tmp_path, handler) as client:
        assert len(list(client.iter_cursor("/works", {}, rows=2))) == 2
    assert calls == 2


def test_cursor_max_items_and_no_cache(tmp_path: Path) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return envelope({"items": [{"n": calls}] * 3, "next-cursor": CURSOR})

    with make_client(tmp_path, handler) as client:
        assert len(list(client.iter_cursor("/works", None, rows=3, max_items=6))) == 6
        assert calls == 2  # no third request once max_items is reached
        assert len(list(client.iter_cursor("/works", None, rows=3, max_items=4))) == 4
        assert calls == 4  # cursor pages are never served from the cache
        assert client.stats.cache_hits == 0


def test_member_pages_offsets_and_concurrency(tmp_path: Path) -> None:
    total = 2345
    lock = threading.Lock()
    in_flight = 0
    peak = 0
    offsets: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        rows = int(request.url.params["rows"])
        offset = int(request.url.params["offset"])
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
            offsets.append(offset)
        time.sleep(0.05)
        with lock:
            in_flight -= 1
        ids = range(offset, min(total, offset + rows))
        return envelope({"total-results": total, "items": [{"id": i} for i in ids]})

    seen_total: list[int] = []
    with make_client(tmp_path, handler) as client:
        pages = list(client.iter_member_pages(rows=500, on_total=seen_total.append))
    assert seen_total == [total]
    assert sorted(offsets) == [0, 500, 1000, 1500, 2000]  # page 1 gives the total: no rows=0
    assert sorted(i["id"] for page in pages for i in page) == list(range(total))
    assert peak == 3  # pages after the first run concurrently, within the limit


def test_member_pages_single_page(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return envelope({"total-results": 2, "items": [{"id": 1}, {"id": 2}]})

    with make_client(tmp_path, handler) as client:
        assert [len(p) for p in client.iter_member_pages()] == [2]
        with pytest.raises(ValueError):
            list(client.iter_member_pages(rows=1001))


def test_count_facet_sample_params(tmp_path: Path) -> None:
    seen: list[dict[str, list[str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        params = parse_qs(raw_query(request))
        seen.append(params)
        if "facet" in params:
            return envelope(
                {
                    "total-results": 3,
                    "items": [],
                    "facets": {"published": {"value-count": 2, "values": {"2024": 2, "2023": 1}}},
                }
            )
        if "sample" in params:
            return envelope({"items": [{"DOI": "10.1/x"}]})
        return envelope({"total-results": 42, "items": []})

    filters = {"member": 98, "has-orcid": True, "from-pub-date": "2024"}
    with make_client(tmp_path, handler) as client:
        assert client.count("/works", filters) == 42
        assert client.facet("/works", filters, "published") == {"2024": 2, "2023": 1}
        assert client.sample("/works", filters, n=100, select=["DOI", "author"]) == [
            {"DOI": "10.1/x"}
        ]
        with pytest.raises(ValueError):
            client.sample("/works", filters, n=200)
    count, facet, sample = seen
    assert count["filter"] == ["member:98,has-orcid:true,from-pub-date:2024"]
    assert count["rows"] == ["0"] and count["mailto"] == ["me@example.org"]
    assert facet["facet"] == ["published:*"] and facet["rows"] == ["0"]
    assert sample["sample"] == ["100"] and sample["select"] == ["DOI,author"]


def test_filter_param() -> None:
    assert filter_param({"a": 1, "b": False, "type": ["x", "y"]}) == "a:1,b:false,type:x,type:y"
    assert filter_param(None) == ""


def test_map_keeps_order_and_raises(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        n = int(request.url.path.rsplit("/", 1)[1])
        time.sleep(0.001 * (10 - n % 10))
        return envelope({"id": n})

    done: list[int] = []
    with make_client(tmp_path, handler) as client:
        out = client.map(
            lambda n: client.member(n)["id"], range(20), progress=lambda d, t: done.append(d)
        )
        assert out == list(range(20))
        assert done[-1] == 20
        with pytest.raises(ZeroDivisionError):
            client.map(lambda n: 1 / (n - 5), range(10))
        assert client.map(lambda n: n, []) == []


def test_full_urls_rejected(tmp_path: Path) -> None:
    with make_client(tmp_path, lambda r: envelope({})) as client, pytest.raises(ValueError):
        client.get("https://evil.example/works")


def test_json_message_returned(tmp_path: Path) -> None:
    body = {"status": "ok", "message-type": "member", "message": {"id": 1, "x": [1.5, None]}}

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps(body).encode())

    with make_client(tmp_path, handler) as client:
        assert client.member(1) == {"id": 1, "x": [1.5, None]}
