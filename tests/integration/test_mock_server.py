"""The mock Crossref API over loopback HTTP: summaries equal work-level counts, filters,
facets, sample, select, cursors, offsets, rate limiting and faults."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections import Counter
from urllib.parse import quote

import httpx
import numpy as np
import pytest

from mock_crossref import FaultConfig, MockCrossref, Population
from mock_crossref.population import COVERAGE_KEYS, TYPE_INDEX
from mock_crossref.server import FAULT_KINDS

# --------------------------------------------------------------------------------------------
# Contract predicates (docs/architecture.md §4), written here independently of metrics/
# --------------------------------------------------------------------------------------------
CONTRIB = ("author", "editor", "chair", "translator")
CC = re.compile(r"^https?://(www\.)?creativecommons\.org/(licenses|publicdomain)/", re.I)
UNSPEC = "unspecified"  # a licence without a version applies to every version


def _contrib(w):
    for role in CONTRIB:
        for c in w.get(role) or []:
            if isinstance(c, dict):
                yield c


def _affs(w):
    for c in _contrib(w):
        yield from (a for a in c.get("affiliation") or [] if isinstance(a, dict))


def _ids(obj, kind):
    return [i for i in obj.get("id") or [] if i.get("id-type") == kind and i.get("id")]


def _nb(s):
    return isinstance(s, str) and s.strip() != ""


def _funders(w):
    return [f for f in w.get("funder") or [] if isinstance(f, dict)]


def _asserted(f):
    out = set()
    if f.get("DOI") and f.get("doi-asserted-by"):
        out.add(f["doi-asserted-by"])
    out |= {i.get("asserted-by") for i in _ids(f, "DOI")}
    return out


def _lic(w):
    return [x for x in w.get("license") or [] if isinstance(x, dict)]


def _links(w):
    return [x for x in w.get("link") or [] if isinstance(x, dict)]


def _rel_types(w):
    rel = w.get("relation") or {}
    return {t for t, items in rel.items() if any(_nb(i.get("id")) for i in items or [])}


P = {
    "references": lambda w: (w.get("reference-count") or 0) > 0 or bool(w.get("reference")),
    "abstracts": lambda w: _nb(w.get("abstract")),
    "orcids": lambda w: any(_nb(c.get("ORCID")) for c in _contrib(w)),
    "orcid-authenticated": lambda w: any(
        _nb(c.get("ORCID")) and c.get("authenticated-orcid") is True for c in _contrib(w)
    ),
    "affiliations": lambda w: any(_nb(a.get("name")) or bool(a.get("id")) for a in _affs(w)),
    "ror-ids": lambda w: (
        any(_ids(a, "ROR") for a in _affs(w)) or any(_ids(f, "ROR") for f in _funders(w))
    ),
    "ror-affiliation": lambda w: any(_ids(a, "ROR") for a in _affs(w)),
    "ror-funder": lambda w: any(_ids(f, "ROR") for f in _funders(w)),
    "funders": lambda w: bool(_funders(w)),
    "funder-doi": lambda w: any(f.get("DOI") or _ids(f, "DOI") for f in _funders(w)),
    "funder-identified": lambda w: any(
        f.get("DOI") or _ids(f, "DOI") or _ids(f, "ROR") for f in _funders(w)
    ),
    "funder-publisher-asserted": lambda w: any("publisher" in _asserted(f) for f in _funders(w)),
    "funder-crossref-asserted": lambda w: any("crossref" in _asserted(f) for f in _funders(w)),
    "award-numbers": lambda w: any(
        f.get("award") or any(a.get("award-number") for a in f.get("award-info") or [])
        for f in _funders(w)
    ),
    "update-policies": lambda w: _nb(w.get("update-policy")),
    "similarity-checking": lambda w: any(
        x.get("intended-application") == "similarity-checking" for x in _links(w)
    ),
    "resource-links": lambda w: any(
        x.get("intended-application") in ("text-mining", "unspecified") for x in _links(w)
    ),
    "licenses": lambda w: any(_nb(x.get("URL")) for x in _lic(w)),
    "license-vor": lambda w: any(x.get("content-version") in ("vor", UNSPEC) for x in _lic(w)),
    "license-am": lambda w: any(x.get("content-version") in ("am", UNSPEC) for x in _lic(w)),
    "license-tdm": lambda w: any(x.get("content-version") in ("tdm", UNSPEC) for x in _lic(w)),
    "license-cc": lambda w: any(CC.match(x.get("URL") or "") for x in _lic(w)),
    # the mock's open licences are all Creative Commons
    "license-open-vor-immediate": lambda w: any(
        x.get("content-version") in ("vor", UNSPEC)
        and x.get("delay-in-days") == 0
        and CC.match(x.get("URL") or "")
        for x in _lic(w)
    ),
    "license-open-am": lambda w: any(
        x.get("content-version") in ("am", UNSPEC)
        and ((x.get("start") or {}).get("date-parts") or [[None]])[0][0]
        and CC.match(x.get("URL") or "")
        for x in _lic(w)
    ),
    "descriptions": lambda w: _nb(w.get("description")),
    "clinical-trial-numbers": lambda w: bool(w.get("clinical-trial-number")),
    # the research nexus (issue 10): typed relations, updates received, update notices
    "relations": lambda w: bool(_rel_types(w)),
    "relation-supplement": lambda w: "is-supplemented-by" in _rel_types(w),
    "relation-preprint": lambda w: bool(_rel_types(w) & {"has-preprint", "is-preprint-of"}),
    "relation-review": lambda w: bool(_rel_types(w) & {"has-review", "is-review-of"}),
    "updates": lambda w: bool(w.get("updated-by")),
    "update-notices": lambda w: bool(w.get("update-to")),
}
#: metric → (filter for true, filter for false or None)
FILTERS = {
    "references": "has-references",
    "abstracts": "has-abstract",
    "orcids": "has-orcid",
    "orcid-authenticated": "has-authenticated-orcid",
    "affiliations": "has-affiliation",
    "ror-ids": "has-ror-id",
    "funders": "has-funder",
    "funder-doi": "has-funder-doi",
    "award-numbers": "has-award",
    "update-policies": "has-update-policy",
    "resource-links": "has-full-text",
    "licenses": "has-license",
    "descriptions": "has-description",
    "clinical-trial-numbers": "has-clinical-trial-number",
    "relations": "has-relation",
    "updates": "has-update",
    "update-notices": "is-update",
}
COUNT_FILTERS = {
    "similarity-checking": "full-text.application:similarity-checking",
    "funder-publisher-asserted": "funder-doi-asserted-by:publisher",
    "funder-crossref-asserted": "funder-doi-asserted-by:crossref",
    # a repeated filter name is ORed: one request
    "license-vor": "license.version:vor,license.version:unspecified",
    "license-am": "license.version:am,license.version:unspecified",
    "license-tdm": "license.version:tdm,license.version:unspecified",
    "relation-supplement": "relation.type:is-supplemented-by",
    "relation-preprint": "relation.type:has-preprint,relation.type:is-preprint-of",
    "relation-review": "relation.type:has-review,relation.type:is-review-of",
}


def period_of(w, year_now):
    y = w["issued"]["date-parts"][0][0]
    if y is None:
        return None
    return "current" if y >= year_now - 2 else "backfile"


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pop() -> Population:
    return Population(2000, seed=7)


@pytest.fixture(scope="module")
def mock(pop):
    with MockCrossref(pop) as m:
        yield m


@pytest.fixture(scope="module")
def client(mock):
    with httpx.Client(base_url=mock.url, timeout=30) as c:
        yield c


def _ok(client, path, **params):
    r = client.get(path, params=params)
    assert r.status_code == 200, (path, params, r.text[:300])
    return r.json()["message"]


def _members_by_size(pop, lo, hi):
    tot = np.bincount(pop.b_member, weights=pop.b_n, minlength=pop.n_members)
    return [int(pop.ids[m]) for m in np.flatnonzero((tot >= lo) & (tot <= hi))]


def _iter_works(client, path, rows=1000, **params):
    cursor, pages = "*", []
    seen_cursors = set()
    while True:
        msg = _ok(client, path, rows=rows, cursor=cursor, **params)
        pages.append(len(msg["items"]))
        seen_cursors.add(msg["next-cursor"])
        yield from msg["items"]
        if len(msg["items"]) < rows:
            break
        cursor = msg["next-cursor"]
    assert len(seen_cursors) == 1  # byte-identical next-cursor, as real Crossref often does


@pytest.fixture(scope="module")
def sample_members(pop):
    """A multi-type member with undated works, one with funders and ROR, a few others."""
    picks = []
    for mid in _members_by_size(pop, 150, 2500):
        m = pop.member_index(mid)
        blocks = pop.blocks_of(m)
        types = {int(pop.b_type[b]) for b in blocks}
        undated = any(pop.b_period[b] == 2 for b in blocks)
        if len(types) >= 3 and undated and not any(p[1] == "multi" for p in picks):
            picks.append((mid, "multi"))
        c = pop.b_counts[blocks.start : blocks.stop]
        if c[:, 10].sum() > 5 and c[:, 11].sum() > 5 and not any(p[1] == "funded" for p in picks):
            picks.append((mid, "funded"))
    # a member with open and closed licences of every version (the licence invariants)
    from mock_crossref.population import C, E

    for mid in _members_by_size(pop, 150, 2500):
        m = pop.member_index(mid)
        blocks = pop.blocks_of(m)
        licensed = pop.b_counts[blocks.start : blocks.stop, E["licenses"]].sum()
        coins = pop.coins[m]
        if (
            licensed > 100
            and coins[C["cc"]] > 0.3
            and coins[C["am"]] > 0.2
            and coins[C["tdm"]] > 0.2
        ):
            picks.append((mid, "licensed"))
            break
    others = _members_by_size(pop, 20, 400)
    picks += [(mid, "plain") for mid in others[:3]]
    assert {p[1] for p in picks} >= {"multi", "funded", "licensed"}
    return picks


@pytest.fixture(scope="module")
def harvested(client, sample_members):
    return {mid: list(_iter_works(client, f"/members/{mid}/works")) for mid, _ in sample_members}


# --------------------------------------------------------------------------------------------
# Summaries agree with works
# --------------------------------------------------------------------------------------------


def test_summaries_equal_work_level_counts(client, pop, harvested):
    for mid, works in harvested.items():
        item = _ok(client, f"/members/{mid}")
        acc: dict[tuple[str, str], Counter] = {}
        for w in works:
            per = period_of(w, pop.current_year)
            for p in ("all", per) if per else ("all",):
                c = acc.setdefault((p, w["type"]), Counter())
                c["n"] += 1
                for key in COVERAGE_KEYS:
                    c[key] += bool(P[key](w))
        assert sum(item["counts-type"]["all"].values()) == len(works)
        for period in ("all", "current", "backfile"):
            got_types = {t for (p, t) in acc if p == period}
            assert set(item["counts-type"][period]) == got_types
            for t, n in item["counts-type"][period].items():
                assert acc[(period, t)]["n"] == n
                for key in COVERAGE_KEYS:
                    assert item["coverage-type"][period][t][key] == pytest.approx(
                        acc[(period, t)][key] / n, abs=1e-12
                    ), (mid, period, t, key)


def test_filter_counts_equal_predicates(client, harvested):
    for mid, works in harvested.items():
        total = len(works)
        for key, filt in FILTERS.items():
            exp = sum(bool(P[key](w)) for w in works)
            yes = _ok(client, f"/members/{mid}/works", rows=0, filter=f"{filt}:true")
            no = _ok(client, f"/members/{mid}/works", rows=0, filter=f"{filt}:f")
            assert yes["total-results"] == exp, (mid, filt)
            assert yes["total-results"] + no["total-results"] == total
        for key, filt in COUNT_FILTERS.items():
            exp = sum(bool(P[key](w)) for w in works)
            got = _ok(client, f"/members/{mid}/works", rows=0, filter=filt)["total-results"]
            assert got == exp, (mid, filt)


LICENCE_QUALIFIERS = (
    "license-vor",
    "license-am",
    "license-tdm",
    "license-cc",
    "license-open-vor-immediate",
    "license-open-am",
)


def test_invariants_hold_on_every_work(harvested):
    # how many works each invariant's premise held on: an invariant never put to the test
    # (premise false on every work) would pass vacuously
    keys = ("award-numbers", "ror-ids", "orcid-authenticated", *LICENCE_QUALIFIERS)
    premises = Counter(dict.fromkeys((*keys, "green AM licence", "authored type"), 0))
    for works in harvested.values():
        for w in works:
            for key in keys:
                premises[key] += bool(P[key](w))
            assert not P["award-numbers"](w) or P["funders"](w)
            assert not P["ror-ids"](w) or P["affiliations"](w) or P["funders"](w)
            assert not P["orcid-authenticated"](w) or P["orcids"](w)
            for q in LICENCE_QUALIFIERS:
                assert not P[q](w) or P["licenses"](w)
            for f in _funders(w):  # exercised in test_crossref_asserted_funders_are_named
                if "crossref" in _asserted(f):
                    assert _nb(f.get("name"))
            undated = w["issued"]["date-parts"][0][0] is None
            for x in _lic(w):  # every licence has a delay, and a start unless undated
                assert x["content-version"] in ("vor", "am", "tdm", UNSPEC, "stm-asf")
                assert isinstance(x["delay-in-days"], int) and x["delay-in-days"] >= 0
                assert ("start" in x) is not undated
                assert x["delay-in-days"] == 0 or not undated
                if x["content-version"] == "am" and x["delay-in-days"] > 0 and CC.match(x["URL"]):
                    premises["green AM licence"] += 1  # open after an embargo
            if w["type"] in ("journal-article", "book-chapter", "proceedings-article"):
                premises["authored type"] += 1
                assert 1 <= len(w["author"]) <= 8
    vacuous = sorted(k for k, n in premises.items() if n == 0)
    assert not vacuous, f"invariants never exercised by the sample: {vacuous}"


def test_crossref_asserted_funders_are_named(client):
    """A funder whose DOI Crossref asserted (matched by name) always carries that name."""
    items = _ok(client, "/works", rows=1000, filter="has-funder:true")["items"]
    asserted = [f for w in items for f in _funders(w) if "crossref" in _asserted(f)]
    assert asserted, "no Crossref-asserted funder in 1000 funded works: the check is vacuous"
    assert all(_nb(f.get("name")) for f in asserted)


def test_registry_predicates_agree(harvested):
    import metrics

    shared = {k: m.predicate for k, m in metrics.REGISTRY.items() if k in P and m.predicate}
    # every contract predicate here has its registry twin (a renamed or dropped key fails)
    assert set(shared) == set(P), sorted(set(P) - set(shared))
    n_works = 0
    for works in harvested.values():
        for w in works[:400]:
            n_works += 1
            for key, predicate in shared.items():
                assert bool(predicate(w)) == bool(P[key](w)), (key, w["DOI"])
    assert n_works >= 1000


def test_depth_metric_orcid_author_share(harvested):
    """The registry's depth metric sums to Σ authors with an iD / Σ authors, work by work."""
    import metrics

    share = metrics.REGISTRY["orcid-author-share"].share
    num = den = 0
    for works in harvested.values():
        for w in works:
            authors = [a for a in w.get("author") or [] if isinstance(a, dict)]
            # an organisation author (a bare name) holds no iD and is not counted
            authors = [a for a in authors if "given" in a or "family" in a or a.get("ORCID")]
            expected = (sum(1 for a in authors if _nb(a.get("ORCID"))), len(authors))
            assert tuple(share(w)) == expected, w["DOI"]
            num, den = num + expected[0], den + expected[1]
    # the sample has authors with and without iDs, so the share is neither 0 nor 1
    assert 0 < num < den


def test_date_filters_are_exact(client, harvested, pop):
    def eff(w):
        parts = w["issued"]["date-parts"][0]
        if parts[0] is None:
            return None
        y, m, d = ([*parts, 1, 1])[:3]
        return dt.date(y, m, d)

    for mid, works in harvested.items():
        dates = [eff(w) for w in works]
        years = sorted({d.year for d in dates if d})
        if not years:
            continue
        y = years[len(years) // 2]
        for frm, until in (
            (f"{y}", None),
            (f"{y}-06-15", f"{y + 1}-02"),
            (None, f"{y}-03"),
            (f"{pop.current_year - 2}", None),
            (None, f"{pop.current_year - 3}"),
        ):
            filt, lo, hi = [], dt.date.min, dt.date.max
            if frm:
                filt.append(f"from-pub-date:{frm}")
                parts = [int(x) for x in frm.split("-")] + [1, 1]
                lo = dt.date(*parts[:3])
            if until:
                filt.append(f"until-pub-date:{until}")
                parts = [int(x) for x in until.split("-")]
                if len(parts) == 1:
                    hi = dt.date(parts[0], 12, 31)
                else:
                    nxt = dt.date(parts[0] + (parts[1] == 12), parts[1] % 12 + 1, 1)
                    hi = nxt - dt.timedelta(days=1)
            exp = sum(1 for d in dates if d and lo <= d <= hi)
            got = _ok(client, f"/members/{mid}/works", rows=0, filter=",".join(filt))
            assert got["total-results"] == exp, (mid, filt)
        item = _ok(client, f"/members/{mid}")
        cur = _ok(
            client, f"/members/{mid}/works", rows=0, filter=f"from-pub-date:{pop.current_year - 2}"
        )["total-results"]
        back = _ok(
            client, f"/members/{mid}/works", rows=0, filter=f"until-pub-date:{pop.current_year - 3}"
        )["total-results"]
        assert (cur, back) == (item["counts"]["current-dois"], item["counts"]["backfile-dois"])


# --------------------------------------------------------------------------------------------
# Listing, facets, sample, select, cursor, offsets
# --------------------------------------------------------------------------------------------


def test_cursor_pages_through_all_works_exactly_once(client, harvested, sample_members):
    mid = sample_members[0][0]
    works = harvested[mid]
    dois = [w["DOI"] for w in works]
    assert len(set(dois)) == len(dois)
    total = _ok(client, f"/members/{mid}/works", rows=0)["total-results"]
    assert len(dois) == total
    # small pages: same order, same set, short last page, identical cursor
    msg = _ok(client, f"/members/{mid}/works", rows=7, cursor="*")
    token = msg["next-cursor"]
    assert {"+", "/", "="} <= set(token)
    got = [w["DOI"] for w in msg["items"]]
    sizes = [len(msg["items"])]
    while sizes[-1] == 7:
        r = client.get(f"/members/{mid}/works?rows=7&cursor={quote(token, safe='')}")
        m = r.json()["message"]
        assert m["next-cursor"] == token
        got += [w["DOI"] for w in m["items"]]
        sizes.append(len(m["items"]))
    assert got == dois
    assert sizes[-1] < 7


def test_invalid_cursor_is_resource_failure(client):
    r = client.get("/works", params={"query": "widget", "cursor": "thing"})
    assert r.status_code == 404
    assert r.json() == {
        "status": "failed",
        "message-type": "resource-failure",
        "message": [
            {
                "type": "cursor-invalid",
                "value": "thing",
                "message": "Cursor specified but it is invalid",
            }
        ],
    }


def test_cursor_expires(pop):
    with MockCrossref(pop, cursor_ttl_s=0.2) as m, httpx.Client(base_url=m.url) as c:
        tok = c.get("/works", params={"rows": 2, "cursor": "*"}).json()["message"]["next-cursor"]
        assert c.get("/works", params={"rows": 2, "cursor": tok}).status_code == 200
        time.sleep(0.35)
        assert c.get("/works", params={"rows": 2, "cursor": tok}).status_code == 404


def test_facets_sum_to_total(client, sample_members):
    for mid, _ in sample_members:
        msg = _ok(
            client,
            f"/members/{mid}/works",
            rows=0,
            facet="published:*,type-name:*,publisher-name:*",
        )
        total = msg["total-results"]
        assert msg["items"] == [] and msg["items-per-page"] == 0
        f = msg["facets"]
        undated = sum(1 for _ in range(0))
        assert sum(f["type-name"]["values"].values()) == total
        assert sum(f["publisher-name"]["values"].values()) == total
        pub = sum(f["published"]["values"].values())
        dated = _ok(client, f"/members/{mid}/works", rows=0, filter="from-pub-date:1000")[
            "total-results"
        ]
        assert pub == dated + undated
        assert f["published"]["value-count"] == len(f["published"]["values"])
        vals = list(f["published"]["values"].values())
        assert vals == sorted(vals, reverse=True)


def test_funder_facets_match_works(client, harvested, sample_members):
    mid = next(m for m, kind in sample_members if kind == "funded")
    works = harvested[mid]
    exp_doi, exp_name = Counter(), Counter()
    for w in works:
        for f in _funders(w):
            if f.get("DOI"):
                exp_doi[f"http://dx.doi.org/{f['DOI']}"] += 1
            if f.get("name"):
                exp_name[f["name"]] += 1
    msg = _ok(client, f"/members/{mid}/works", rows=0, facet="funder-doi:*,funder-name:*")
    assert msg["facets"]["funder-doi"]["values"] == dict(exp_doi)
    assert msg["facets"]["funder-name"]["values"] == dict(exp_name)
    lim = _ok(client, f"/members/{mid}/works", rows=0, facet="funder-name:2")
    assert len(lim["facets"]["funder-name"]["values"]) <= 2
    assert lim["facets"]["funder-name"]["value-count"] == len(exp_name)


def test_funder_routes(client, pop, harvested, sample_members):
    mid = next(m for m, kind in sample_members if kind == "funded")
    counts = Counter(f["DOI"] for w in harvested[mid] for f in _funders(w) if f.get("DOI"))
    doi, n = counts.most_common(1)[0]
    fid = doi.split("/", 1)[1]
    for route in (f"/funders/{doi}", f"/funders/{fid}"):
        item = _ok(client, route)
        assert item["id"] == fid and item["uri"] == f"https://doi.org/{doi}"
    work_count = _ok(client, f"/funders/{fid}")["work-count"]
    msg = _ok(client, f"/funders/{doi}/works", rows=5)
    assert msg["total-results"] == work_count >= n
    assert all(any(f.get("DOI") == doi for f in _funders(w)) for w in msg["items"])
    both = _ok(client, "/works", rows=0, filter=f"member:{mid},funder:{doi}")
    assert both["total-results"] == n
    mine = [w for w in harvested[mid] if any(f.get("DOI") == doi for f in _funders(w))]
    listed = list(_iter_works(client, "/works", rows=50, filter=f"member:{mid},funder:{doi}"))
    assert [w["DOI"] for w in listed] == [w["DOI"] for w in mine]
    for extra, pred in (
        ("has-award:true", P["award-numbers"]),
        ("funder-doi-asserted-by:crossref", P["funder-crossref-asserted"]),
        ("has-ror-id:false", lambda w: not P["ror-ids"](w)),
    ):
        got = _ok(client, "/works", rows=0, filter=f"member:{mid},funder:{doi},{extra}")
        assert got["total-results"] == sum(1 for w in mine if pred(w)), extra
    years = sorted({w["issued"]["date-parts"][0][0] for w in mine})
    y = years[len(years) // 2]
    got = _ok(client, f"/funders/{doi}/works", rows=0, filter=f"member:{mid},from-pub-date:{y}")
    assert got["total-results"] == sum(1 for w in mine if w["issued"]["date-parts"][0][0] >= y)
    smp = _ok(client, f"/funders/{doi}/works", sample=10, filter=f"member:{mid}")
    assert {w["DOI"] for w in smp["items"]} <= {w["DOI"] for w in mine}
    lst = _ok(client, "/funders", rows=3, offset=2)
    assert len(lst["items"]) == 3 and lst["total-results"] == len(pop.registry_funders)
    name_word = lst["items"][0]["name"].split()[0]
    q = _ok(client, "/funders", query=name_word, rows=100)
    assert any(i["id"] == lst["items"][0]["id"] for i in q["items"])
    assert client.get("/funders/10.13039/999999999").status_code == 404


def test_sample_select_offset(client, sample_members):
    mid = sample_members[0][0]
    a = _ok(client, f"/members/{mid}/works", sample=25)
    b = _ok(client, f"/members/{mid}/works", sample=25)
    assert len(a["items"]) == 25 == a["total-results"]
    assert [w["DOI"] for w in a["items"]] == [w["DOI"] for w in b["items"]]
    assert len({w["DOI"] for w in a["items"]}) == 25
    s = _ok(client, "/works", sample=100, filter="has-abstract:true")
    assert len(s["items"]) == 100 and all(P["abstracts"](w) for w in s["items"])
    r = client.get("/works", params={"sample": 101})
    assert r.status_code == 400
    sel = _ok(client, f"/members/{mid}/works", rows=5, select="DOI,title,funder")
    assert all(set(w) <= {"DOI", "title", "funder"} and "DOI" in w for w in sel["items"])
    full = _ok(client, f"/members/{mid}/works", rows=30)
    off = _ok(client, f"/members/{mid}/works", rows=10, offset=20)
    assert [w["DOI"] for w in off["items"]] == [w["DOI"] for w in full["items"][20:30]]
    assert off["query"]["start-index"] == 20
    assert client.get("/works", params={"offset": 10001}).status_code == 400
    assert client.get("/works", params={"rows": 1001}).status_code == 400


def test_single_work_and_prefix_routes(client, harvested, sample_members):
    w = harvested[sample_members[0][0]][3]
    got = _ok(client, f"/works/{w['DOI']}")
    assert got == w
    assert client.get("/works/10.9999/nope.2020.a1").status_code == 404
    pre = _ok(client, f"/prefixes/{w['prefix']}")
    assert pre["member"] == f"https://id.crossref.org/member/{w['member']}"


def test_members_list_paging_and_query(client, pop):
    seen = []
    for offset in range(0, pop.n_members, 1000):
        msg = _ok(client, "/members", rows=1000, offset=offset)
        assert msg["total-results"] == pop.n_members
        seen += [i["id"] for i in msg["items"]]
    assert seen == sorted(seen) and len(set(seen)) == pop.n_members
    zero = _ok(client, "/members", rows=0)
    assert zero["items"] == [] and zero["items-per-page"] == 0
    name = pop.names[5]
    word = name.split()[0]
    q = _ok(client, "/members", query=word, rows=1000)
    assert q["query"]["search-terms"] == word
    assert int(pop.ids[5]) in [i["id"] for i in q["items"]]
    assert all(word.lower() in i["tokens"] for i in q["items"])
    # cursor on /members too
    msg = _ok(client, "/members", rows=600, cursor="*")
    ids = [i["id"] for i in msg["items"]]
    while len(msg["items"]) == 600:
        msg = _ok(client, "/members", rows=600, cursor=msg["next-cursor"])
        ids += [i["id"] for i in msg["items"]]
    assert ids == seen
    pre = pop.prefixes[9][0]
    f = _ok(client, "/members", filter=f"prefix:{pre}")
    assert [i["id"] for i in f["items"]] == [int(pop.ids[9])]
    assert client.get("/members", params={"rows": 1000, "offset": 79500}).status_code == 400


def test_unknown_member_and_route_404_text(client):
    for path in ("/members/99999999", "/members/abc", "/members/99999999/works", "/nothing"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text == "Resource not found."
        assert r.headers["x-rate-limit-limit"] == "10"


def test_unknown_filter_is_validation_failure(client):
    r = client.get("/works", params={"filter": "has-nonsense:true"})
    body = r.json()
    assert r.status_code == 400 and body["message-type"] == "validation-failure"
    assert body["message"][0]["type"] == "filter-not-available"
    assert "Valid filters for this route are: " in body["message"][0]["message"]
    assert client.get("/works", params={"filter": "has-orcid:maybe"}).status_code == 400
    assert client.get("/works", params={"filter": "from-pub-date:20x4"}).status_code == 400
    assert client.get("/works", params={"facet": "nonsense:*"}).status_code == 400


def test_headers_by_pool(pop):
    with MockCrossref(pop, pool="public") as m:
        r = httpx.get(m.url + "/members?rows=0")
        assert (
            r.headers["x-api-pool"],
            r.headers["x-rate-limit-limit"],
            r.headers["x-concurrency-limit"],
            r.headers["x-rate-limit-interval"],
        ) == ("public", "5", "1", "1s")
    with MockCrossref(pop, pool="auto") as m:
        assert httpx.get(m.url + "/members?rows=0").headers["x-api-pool"] == "public"
        r = httpx.get(m.url + "/members?rows=0&mailto=a@example.org")
        assert (r.headers["x-api-pool"], r.headers["x-concurrency-limit"]) == ("polite", "3")


# --------------------------------------------------------------------------------------------
# Rate limiting, concurrency, latency, faults
# --------------------------------------------------------------------------------------------


def test_rate_limit_answers_429(pop):
    with MockCrossref(pop, rate_limit=4) as m, httpx.Client(base_url=m.url) as c:
        codes = [c.get("/members", params={"rows": 0}).status_code for _ in range(12)]
        assert codes[:4] == [200] * 4 and 429 in codes
        r = next(r for r in [c.get("/members?rows=0") for _ in range(3)] if r.status_code == 429)
        assert r.json()["message-type"] == "too-many-requests"
        assert r.headers["x-rate-limit-limit"] == "10"
        assert m.max_rate(1.0, statuses=(200,)) <= 4
    with MockCrossref(pop, rate_limit=4) as m, httpx.Client(base_url=m.url) as c:
        for _ in range(5):  # paced below the limit: never 429
            assert c.get("/members", params={"rows": 0}).status_code == 200
            time.sleep(0.26)
        assert m.max_rate(1.0) <= 4
        assert all(rec.status == 200 for rec in m.log)


def test_concurrency_limit_and_max_in_flight(pop):
    with MockCrossref(pop, concurrency=2, latency_s=0.3) as m:
        codes = []

        def hit():
            codes.append(httpx.get(m.url + "/members?rows=0", timeout=10).status_code)

        threads = [threading.Thread(target=hit) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(codes).count(200) == 2 and codes.count(429) == 2
        assert m.max_in_flight == 4
        ok = [r for r in m.log if r.status == 200]
        assert all(r.end - r.start >= 0.29 for r in ok)  # latency added


def test_html_429_when_fault_says_so(pop):
    faults = FaultConfig(error_rate=0.0, kinds=("html429",))
    with MockCrossref(pop, rate_limit=1, faults=faults) as m, httpx.Client(base_url=m.url) as c:
        c.get("/members?rows=0")
        r = c.get("/members?rows=0")
        assert r.status_code == 429 and r.headers["content-type"].startswith("text/html")
        assert b"<h1>429 Too Many Requests</h1>" in r.content


def test_each_fault_kind_has_its_shape(pop):
    with MockCrossref(pop) as m, httpx.Client(base_url=m.url, timeout=10) as c:
        for kind in FAULT_KINDS:
            m.faults = FaultConfig(error_rate=1.0, kinds=(kind,), retry_after=2, timeout_s=0.2)
            r = c.get("/members", params={"rows": 2})
            if kind == "500":
                assert r.status_code == 500
                body = r.json()
                assert body["status"] == "error" and body["message-type"] == "exception"
                assert set(body["message"]) == {"name", "description", "message", "stack", "cause"}
            elif kind in ("502", "503", "504"):
                assert r.status_code == int(kind) and r.headers["content-type"].startswith(
                    "text/html"
                )
                if kind == "503":
                    assert r.headers["retry-after"] == "2"
            elif kind == "timeout":
                assert r.status_code == 504
                assert m.log[-1].end - m.log[-1].start >= 0.2
            elif kind == "malformed":
                assert r.status_code == 200
                with pytest.raises(json.JSONDecodeError):
                    json.loads(r.content)
            elif kind == "truncated":
                assert r.status_code == 200 and r.content.startswith(b'{"status":"ok"')
                with pytest.raises(json.JSONDecodeError):
                    json.loads(r.content)
            elif kind == "html429":
                assert r.status_code == 429 and b"<h1>429 Too Many Requests</h1>" in r.content
                assert r.headers["retry-after"] == "2"
            elif kind == "429":
                assert r.status_code == 429 and r.headers["retry-after"] == "2"
                assert not r.headers["content-type"].startswith("application/json")
            elif kind == "404text":
                assert r.status_code == 404 and r.text == "Resource not found."
            assert m.log[-1].fault == kind
        m.faults = None
        assert c.get("/members", params={"rows": 2}).status_code == 200


def test_error_rate_and_faults_do_not_advance_cursors(pop):
    faults = FaultConfig(error_rate=0.5, kinds=("500", "502"), seed=3)
    with MockCrossref(pop, faults=faults) as m, httpx.Client(base_url=m.url) as c:
        statuses = [c.get("/members?rows=0").status_code for _ in range(40)]
        assert 8 < statuses.count(200) < 32
        m.faults = FaultConfig()
        first = c.get("/works?rows=3&cursor=*").json()["message"]
        tok = first["next-cursor"]
        m.faults = FaultConfig(error_rate=1.0, kinds=("503",))
        assert c.get("/works", params={"rows": 3, "cursor": tok}).status_code == 503
        m.faults = FaultConfig()
        second = c.get("/works", params={"rows": 3, "cursor": tok}).json()["message"]
        assert second["items"][0]["DOI"] != first["items"][-1]["DOI"]
        whole = c.get("/works", params={"rows": 6}).json()["message"]["items"]
        assert [w["DOI"] for w in first["items"] + second["items"]] == [w["DOI"] for w in whole]


def test_log_records_requests(mock, client):
    mock.clear_log()
    client.get("/members", params={"rows": 1, "offset": 3})
    rec = mock.log[-1]
    assert rec.path == "/members" and rec.params == {"rows": "1", "offset": "3"}
    assert rec.status == 200 and rec.end >= rec.start and rec.in_flight >= 1


def test_index_date_and_type_filters(client, pop, sample_members):
    mid = next(m for m, kind in sample_members if kind == "multi")
    item = _ok(client, f"/members/{mid}")
    for t, n in item["counts-type"]["all"].items():
        got = _ok(client, f"/members/{mid}/works", rows=0, filter=f"type:{t}")
        assert got["total-results"] == n
    two = list(item["counts-type"]["all"])[:2]
    got = _ok(client, f"/members/{mid}/works", rows=0, filter=",".join(f"type:{t}" for t in two))
    assert got["total-results"] == sum(item["counts-type"]["all"][t] for t in two)
    allw = _ok(client, f"/members/{mid}/works", rows=0)["total-results"]
    since = _ok(client, f"/members/{mid}/works", rows=0, filter="from-index-date:2000-01-01")
    assert since["total-results"] == allw
    assert TYPE_INDEX["journal-article"] == 0


def test_nexus_elements_have_real_shapes_and_match_filters(client, pop):
    """Relations, updates, retractions, grant DOIs, institutions: the shapes of the real
    records (tests/fixtures/crossref/nexus), and the filters count exactly the works that
    carry them, in the whole population (not only the sampled members)."""
    import metrics

    checks = {
        "has-relation:true": "relations",
        "relation.type:is-supplemented-by": "relation-supplement",
        "relation.type:has-preprint,relation.type:is-preprint-of": "relation-preprint",
        "relation.type:has-review": "relation-review",
        "has-update:true": "updates",
        "is-update:true": "update-notices",
    }
    seen: Counter = Counter()
    for filt, key in checks.items():
        msg = _ok(client, "/works", rows=200, filter=f"{filt},type:journal-article")
        assert msg["total-results"] > 0, filt
        for w in msg["items"]:
            assert P[key](w) and metrics.get(key).predicate(w), (filt, w["DOI"])
            for rel in (w.get("relation") or {}).values():
                for item in rel:
                    assert set(item) == {"id-type", "id", "asserted-by"}
                    assert item["asserted-by"] in ("subject", "object")
            for upd in (w.get("updated-by") or []) + (w.get("update-to") or []):
                assert {"DOI", "type", "label", "source", "updated"} <= set(upd)
                assert upd["source"] in ("publisher", "retraction-watch")
                assert ("record-id" in upd) is (upd["source"] == "retraction-watch")
                seen[(upd["type"], upd["source"])] += 1
    # retractions from both sources: the publisher-asserted share is neither 0 nor 1
    retracted = _ok(client, "/works", rows=1000, filter="has-update:true")["items"]
    share = metrics.get("retraction-publisher-asserted").share
    num = sum(share(w)[0] for w in retracted)
    den = sum(share(w)[1] for w in retracted)
    assert 0 < num < den, (num, den)
    assert seen[("retraction", "retraction-watch")] > 0
    # grant DOIs in awards, institutions with ROR on reports and datasets
    funded = _ok(client, "/works", rows=1000, filter="has-award:true")["items"]
    assert any(metrics.get("grant-ids").predicate(w) for w in funded)
    reports = _ok(client, "/works", rows=1000, filter="type:report")["items"]
    insts = [i for w in reports for i in w.get("institution") or []]
    assert insts and all(_nb(i["name"]) for i in insts)
    assert any(_ids(i, "ROR") for i in insts)
