"""The mock's JSON shapes, key by key, against the real Crossref responses in
../shared/fixtures/crossref (members, works, funders, errors)."""

from __future__ import annotations

import json

import httpx
import pytest

from mock_crossref import FaultConfig, MockCrossref, Population
from tests import FIXTURES

FIX = FIXTURES / "crossref"


ENVELOPE = {"status", "message-type", "message-version", "message"}


def load(rel: str) -> dict:
    return json.loads((FIX / rel).read_text(encoding="utf-8"))


def fixture_members() -> list[dict]:
    out = []
    for p in sorted((FIX / "members").glob("*.json")):
        msg = json.loads(p.read_text(encoding="utf-8"))["message"]
        out += msg.get("items", [msg])
    return out


def fixture_works() -> list[dict]:
    out = []
    for p in sorted((FIX / "works").glob("*.json")):
        if "select" in p.name:
            continue
        msg = json.loads(p.read_text(encoding="utf-8"))["message"]
        out += msg.get("items", [msg])
    return out


@pytest.fixture(scope="module")
def mock():
    with MockCrossref(Population(1500, seed=21)) as m:
        yield m


@pytest.fixture(scope="module")
def client(mock):
    with httpx.Client(base_url=mock.url, timeout=30) as c:
        yield c


@pytest.fixture(scope="module")
def members(client) -> list[dict]:
    body = client.get("/members", params={"rows": 1000}).json()
    assert set(body) == ENVELOPE and body["message-type"] == "member-list"
    return body["message"]["items"]


@pytest.fixture(scope="module")
def works(client) -> list[dict]:
    items = []
    for t in (
        "journal-article",
        "book-chapter",
        "proceedings-article",
        "posted-content",
        "journal-issue",
        "dataset",
        "component",
        "book",
        "report",
    ):
        msg = client.get("/works", params={"rows": 200, "filter": f"type:{t}"}).json()["message"]
        items += msg["items"]
    sample = client.get("/works", params={"sample": 100}).json()["message"]["items"]
    return items + sample


# -------------------------------------------------------------------------------- members


def test_member_item_keys_match_fixtures(members):
    real = fixture_members()
    real_keys = {frozenset(m) for m in real}
    assert len(real_keys) == 1
    (keys,) = real_keys
    for m in members:
        assert set(m) == keys


def test_member_nested_keys_match_fixtures(members, client):
    real = fixture_members()
    r = real[0]
    cov_keys = set(r["coverage"])
    assert len(cov_keys) == 24
    flag_keys = set(r["flags"])
    per_type_keys = {
        k for m in real for p in m["coverage-type"].values() for t in p.values() for k in t
    }
    for m in members:
        assert set(m["counts"]) == set(r["counts"])
        assert set(m["coverage"]) == cov_keys
        assert all(isinstance(v, float) for v in m["coverage"].values())
        assert set(m["flags"]) == flag_keys and all(
            isinstance(v, bool) for v in m["flags"].values()
        )
        assert set(m["breakdowns"]) == set(r["breakdowns"])
        assert set(m["counts-type"]) == set(r["counts-type"]) == set(m["coverage-type"])
        for period in m["coverage-type"].values():
            for per in period.values():
                assert set(per) == per_type_keys
        assert all(set(p) == {"name", "value"} for p in m["prefix"])
        assert isinstance(m["id"], int) and m["last-status-check-time"] > 10**12
        assert isinstance(m["location"], str) and isinstance(m["names"], list)
        assert m["tokens"] and all(t == t.lower() for t in m["tokens"])
        for y, n in m["breakdowns"]["dois-by-issued-year"]:
            assert isinstance(y, int) and isinstance(n, int)
    # one single-member request has the singleton envelope
    body = client.get(f"/members/{members[0]['id']}").json()
    assert set(body) == ENVELOPE and body["message-type"] == "member"
    assert body["message"] == members[0]


def test_member_with_nothing_current_looks_like_hindawi(members):
    hindawi = load("members/member-98-hindawi.2026-06.json")["message"]
    empty_cur = [
        m for m in members if m["counts"]["current-dois"] == 0 and m["counts"]["backfile-dois"] > 0
    ]
    assert empty_cur
    m = empty_cur[0]
    assert m["coverage-type"]["current"] == hindawi["coverage-type"]["current"] == {}
    assert m["counts-type"]["current"] == hindawi["counts-type"]["current"] == {}
    assert all(v == 0.0 for k, v in m["coverage"].items() if k.endswith("-current"))


def test_member_with_no_works_looks_like_allen_press(members):
    allen = load("members/member-9-allen-press-zero-dois.2022-11.json")["message"]
    zero = [m for m in members if not m["counts-type"]["all"]]
    assert zero
    z = zero[0]
    for key in ("counts", "counts-type", "coverage-type", "breakdowns", "coverage", "flags"):
        assert z[key] == allen[key], key


def test_member_list_message_keys(client):
    for rel, params in (
        ("members/members-list-rows2.2026-06.json", {"rows": 2}),
        ("members/members-list-rows0.2026-06.json", {"rows": 0}),
        ("members/members-list-query-ecology-rows2.2026-06.json", {"rows": 2, "query": "society"}),
    ):
        real = load(rel)
        got = client.get("/members", params=params).json()
        assert set(got) == set(real)
        assert set(got["message"]) == set(real["message"])
        assert set(got["message"]["query"]) == set(real["message"]["query"])
        assert got["message"]["items-per-page"] == params["rows"]
    got = client.get("/members", params={"rows": 0}).json()["message"]
    assert got["items"] == [] and got["query"] == {"start-index": 0, "search-terms": None}


# -------------------------------------------------------------------------------- works

# Keys that depend on a feature the work may or may not have; everything else that every real
# work of a type carries must be on every mock work of that type.
FEATURE_KEYS = {
    "link",
    "license",
    "funder",
    "author",
    "abstract",
    "reference",
    "update-policy",
    "clinical-trial-number",
    "published-print",
    "published-online",
    "page",
    "volume",
    "issue",
    "journal-issue",
    "article-number",
    "language",
    "subject",
    "short-container-title",
    "alternative-id",
    "archive",
    "editor",
    "assertion",
    "relation",
    "short-title",
    "original-title",
    "subtitle",
}


def test_work_keys_cover_real_core_keys(works):
    real = fixture_works()
    by_type: dict[str, list[set]] = {}
    for w in real:
        by_type.setdefault(w.get("type"), []).append(set(w))
    mock_types = {w["type"] for w in works}
    checked = 0
    for t, key_sets in by_type.items():
        if t not in mock_types:
            continue
        core = set.intersection(*key_sets) - FEATURE_KEYS
        for w in works:
            if w["type"] == t:
                assert core <= set(w), (t, core - set(w))
                checked += 1
    assert checked > 300
    all_real = set().union(*[set(w) for w in real]) | {"description", "institution"}
    for w in works:
        assert set(w) <= all_real, set(w) - all_real


def test_work_nested_shapes(works):
    real = fixture_works()

    def keysets(get):
        return {frozenset(x) for w in real for x in get(w)}

    lic_real = keysets(lambda w: w.get("license", []))
    fund_real = keysets(lambda w: w.get("funder", []))
    link_real = keysets(lambda w: w.get("link", []))
    ctn_real = keysets(lambda w: w.get("clinical-trial-number", []))
    author_union = {k for w in real for a in w.get("author", []) for k in a}
    aff_union = {"name", "id", "place", "department", "acronym"}
    ref_union = {k for w in real for r in w.get("reference", []) for k in r}
    seen = set()
    for w in works:
        assert isinstance(w["member"], str) and w["member"].isdigit()
        assert w["URL"] == f"https://doi.org/{w['DOI']}"
        assert "title" not in w or isinstance(w["title"], list)
        for d in ("created", "deposited", "indexed"):
            assert {"date-parts", "date-time", "timestamp"} <= set(w[d])
            assert w[d]["timestamp"] > 10**12  # milliseconds, after 2001
        assert set(w["issued"]) == {"date-parts"}
        assert w["reference-count"] == w["references-count"]
        for lic in w.get("license", []):
            if "start" in lic:
                assert frozenset(lic) in lic_real
                assert set(lic["start"]) == {"date-parts", "date-time", "timestamp"}
                seen.add("license")
            else:  # an undated work: no start, delay 0 (as in cases/04-dissertation-…)
                assert set(lic) == {"URL", "content-version", "delay-in-days"}
                assert lic["delay-in-days"] == 0
        for f in w.get("funder", []):
            if "DOI" in f:
                assert frozenset(f) in fund_real, f
                seen.add("funder-doi")
            elif "id" in f:  # ROR-identified funder (not in the fixtures): name optional
                assert set(f) <= {"name", "award", "award-info", "id"}
                assert f["id"][0]["id-type"] == "ROR" and f["id"][0]["id"].startswith(
                    "https://ror.org/0"
                )
                seen.add("funder-ror")
            else:
                assert frozenset(f) in fund_real, f
                seen.add("funder-name-only")
            for i in f.get("id", []):
                assert set(i) == {"id", "id-type", "asserted-by"}
        for x in w.get("link", []):
            assert frozenset(x) in link_real
        for x in w.get("clinical-trial-number", []):
            assert frozenset(x) in ctn_real
            seen.add("ctn")
        for a in w.get("author", []):
            assert set(a) <= author_union
            assert a["sequence"] in ("first", "additional")
            if "ORCID" in a:
                assert a["ORCID"].startswith(("https://orcid.org/", "http://orcid.org/"))
                assert isinstance(a["authenticated-orcid"], bool)
                seen.add("orcid")
            for aff in a["affiliation"]:
                assert set(aff) <= aff_union and aff
                for i in aff.get("id", []):
                    assert set(i) == {"id", "id-type", "asserted-by"}
                    seen.add("aff-ror")
        for r in w.get("reference", []):
            assert set(r) <= ref_union and "key" in r
        if "abstract" in w:
            assert w["abstract"].startswith(("<jats:", "<p>"))
        assert set(w["content-domain"]) == {"domain", "crossmark-restriction"}
    assert {"license", "funder-doi", "funder-name-only", "orcid"} <= seen


def test_work_list_message_keys(client, mock):
    real = load("works/journal-2167-8359-peerj-works.2026-06.json")
    got = client.get("/works", params={"rows": 3}).json()
    assert set(got) == set(real) == ENVELOPE and got["message-type"] == "work-list"
    assert set(got["message"]) == set(real["message"])
    real_cur = load("works/member-98-works-rows5-cursor-page1.2026-06.json")["message"]
    got_cur = client.get("/works", params={"rows": 3, "cursor": "*"}).json()["message"]
    assert set(got_cur) == set(real_cur)
    real_f = load("works/works-query-lagotto-rows0-many-facets.2022-11.json")["message"]
    got_f = client.get(
        "/works",
        params={
            "rows": 0,
            "facet": "published:*,type-name:*,publisher-name:*,funder-doi:*,funder-name:*",
        },
    ).json()["message"]
    assert set(got_f) == set(real_f)
    for name in ("published", "type-name", "publisher-name", "funder-doi", "funder-name"):
        assert (
            set(got_f["facets"][name]) == set(real_f["facets"][name]) == {"value-count", "values"}
        )
    assert all(
        k.startswith("http://dx.doi.org/10.13039/") for k in got_f["facets"]["funder-doi"]["values"]
    )
    assert set(got_f["facets"]["type-name"]["values"]) <= {
        "Journal Article",
        "Book Chapter",
        "Proceedings Article",
        "Dataset",
        "Posted Content",
        "Book",
        "Report",
        "Component",
        "Journal Issue",
        "Journal",
    }
    assert all(k.isdigit() for k in got_f["facets"]["published"]["values"])
    real_sel = load("works/works-select-doi-title.2026-06.json")["message"]["items"]
    got_sel = client.get("/works", params={"rows": 5, "select": "DOI,title"}).json()
    assert all(set(w) == set(real_sel[0]) for w in got_sel["message"]["items"])
    real_one = load("works/work-10.1136_jclinpath-2020-206745-abstract-orcid-funder.2026-06.json")
    doi = got["message"]["items"][0]["DOI"]
    one = client.get(f"/works/{doi}").json()
    assert set(one) == set(real_one) and one["message-type"] == real_one["message-type"]


# -------------------------------------------------------------------------------- funders


def test_funder_shapes(client):
    real_list = load("funders/funders-list-rows2.2026-06.json")
    got = client.get("/funders", params={"rows": 2}).json()
    assert set(got) == set(real_list)
    assert got["message-type"] == real_list["message-type"]
    assert set(got["message"]) == set(real_list["message"])
    real_item = real_list["message"]["items"][0]
    for item in got["message"]["items"]:
        assert set(item) == set(real_item)
        assert item["uri"] == f"https://doi.org/10.13039/{item['id']}"
    real_one = load("funders/funder-100000001-nsf.2026-06.json")
    one = client.get(f"/funders/{got['message']['items'][0]['id']}").json()
    assert set(one) == set(real_one) and one["message-type"] == "funder"
    assert set(one["message"]) == set(real_one["message"])
    assert isinstance(one["message"]["work-count"], int)
    q = load("funders/funders-list-query-nsf-rows2.2026-06.json")["message"]
    word = got["message"]["items"][0]["name"].split()[0]
    gq = client.get("/funders", params={"rows": 2, "query": word}).json()["message"]
    assert set(gq) == set(q) and gq["query"]["search-terms"] == word


# -------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("rel", "path", "params", "status"),
    [
        ("errors/rows-not-integer.2026-06.json", "/funders", {"rows": "things"}, 400),
        ("errors/members-sample-not-allowed.2026-06.json", "/members", {"sample": "2"}, 400),
        (
            "errors/members-filter-not-available.2026-06.json",
            "/members",
            {"filter": "has-full-text:true"},
            400,
        ),
        (
            "errors/funders-filter-not-available.2026-06.json",
            "/funders",
            {"filter": "has-assertion:true"},
            400,
        ),
        (
            "errors/cursor-invalid.2026-06.json",
            "/works",
            {"query": "widget", "cursor": "thing"},
            404,
        ),
        ("errors/works-sample-200-too-large.2022-11.json", "/works", {"sample": "200"}, 400),
    ],
)
def test_error_bodies_match_fixtures(client, rel, path, params, status):
    r = client.get(path, params=params)
    assert r.status_code == status
    assert r.json() == load(rel)


def test_exception_body_matches_fixture(client, mock):
    real = load("errors/members-cursor-exception-500.2022-11.json")
    mock.faults = FaultConfig(error_rate=1.0, kinds=("500",))
    try:
        r = client.get("/members", params={"rows": 1})
    finally:
        mock.faults = None
    assert r.status_code == 500
    body = r.json()
    assert set(body) == set(real)
    assert set(body["message"]) == set(real["message"])
    assert body["status"] == "error" and body["message-type"] == "exception"
    assert all(isinstance(s, str) for s in body["message"]["stack"])


def test_unknown_member_404_text(client):
    r = client.get("/members/987654321")
    assert (r.status_code, r.text) == (404, "Resource not found.")
    assert r.headers["content-type"].startswith("text/plain")
