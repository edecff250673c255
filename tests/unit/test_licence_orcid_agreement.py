"""Licence and ORCID metrics (issue 9 §1 and §4): the three ways of measuring agree on real works.

Every real work in tests/fixtures (REST API responses, public-data samples and the cases) is
measured three ways, which must give the same answer work by work:

* the registry predicate (``metrics``), used on samples, harvested pages and bulk files;
* the bulk SQL (``cache.jobs.bulk.sql``, evaluated by DuckDB through ``evaluate_records``);
* the metric's ``/works`` filter with the mock's semantics (``mock_crossref.query``), and the
  drill-down's own filter requests answered over loopback by a server holding those works.

The values the cases' ``NN-name.expected.txt`` state (decided from Crossref's documentation,
not from this code) are read from those files and asserted as well.
"""

from __future__ import annotations

import gzip
import json
import re
import tarfile
from pathlib import Path

import pytest

import metrics
from cache.jobs.bulk import evaluate_records
from cache.jobs.drilldown import with_filter
from metrics.base import FAMILIES
from mock_crossref.query import QueryError, record_matches
from tests import FIXTURES
from tests.works_api import works_client

CASES = FIXTURES / "cases"
FAMILY_KEYS = [m.key for f in ("licences", "orcid") for m in metrics.by_family()[f]]


def _items(data: object) -> list[dict]:
    """Works in a saved API response, an ``{"items": …}`` chunk, a list or a single work."""
    if isinstance(data, list):
        return [w for w in data if isinstance(w, dict)]
    if not isinstance(data, dict):
        return []
    message = data.get("message", data)
    if isinstance(message, dict) and isinstance(message.get("items"), list):
        return [w for w in message["items"] if isinstance(w, dict)]
    return [message] if isinstance(message, dict) and "DOI" in message else []


def _parse(raw: bytes) -> list[dict]:
    text = raw.decode("utf-8")
    try:
        return _items(json.loads(text))
    except json.JSONDecodeError:  # JSON Lines
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _load(path: Path) -> list[dict]:
    if path.suffix == ".tar":
        works = []
        with tarfile.open(path) as tar:
            for member in tar:
                if member.isfile():
                    raw = tar.extractfile(member).read()
                    works += _parse(gzip.decompress(raw) if member.name.endswith(".gz") else raw)
        return works
    raw = path.read_bytes()
    return _parse(gzip.decompress(raw) if path.suffix == ".gz" else raw)


def _real_works() -> list[tuple[str, dict]]:
    root = FIXTURES / "crossref"
    paths = sorted((root / "works").glob("*.json")) + sorted((root / "public-data").glob("*.gz"))
    paths += sorted(p for p in CASES.iterdir() if p.suffix in (".json", ".gz", ".tar"))
    out = []
    for path in paths:
        for work in _load(path):
            if "DOI" in work and ("member" in work or "license" in work or "author" in work):
                out.append((f"{path.name}:{work['DOI']}", work))
    return out


REAL = _real_works()
WORKS = [w for _, w in REAL]
#: the cases' works by file stem (01-aps-…) → the work
CASE_WORKS = {name.split(":", 1)[0].split(".", 1)[0]: w for name, w in REAL if name[:2].isdigit()}


def test_the_real_works_cover_the_licence_and_orcid_shapes():
    assert len(WORKS) >= 150
    versions = {lic.get("content-version") for w in WORKS for lic in w.get("license") or []}
    assert {"vor", "am", "tdm", "unspecified", "stm-asf"} <= versions
    assert any(m.predicate(w) for w in WORKS for m in [metrics.get("license-open-am")])
    orgs = [a for w in WORKS for a in w.get("author") or [] if "name" in a and "given" not in a]
    assert {a["name"] for a in orgs} >= {"The PLOS ONE Staff"}
    assert any(str(a.get("ORCID", "")).startswith("http://") for w in WORKS for a in w["author"])


# --------------------------------------------------------------------------------------------
# predicate == bulk SQL
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reader", ["from_json", "read_ndjson"])
def test_bulk_sql_equals_predicates_on_every_real_work(reader: str) -> None:
    frame = evaluate_records(WORKS, reader=reader)
    assert len(frame) == len(WORKS)
    for key in FAMILY_KEYS:
        metric = metrics.get(key)
        for i, (name, work) in enumerate(REAL):
            if metric.share is not None:
                want = tuple(metric.share(work))
                got = (int(frame.at[i, f"{key}:num"]), int(frame.at[i, f"{key}:den"]))
            else:
                want, got = bool(metric.predicate(work)), bool(frame.at[i, key])
            assert got == want, f"{key} on {name}: SQL {got}, predicate {want}"


LICENCE_EDGES = [
    " https://creativecommons.org/licenses/by/4.0/ ",
    "https://creative\tcommons.org/licenses/by/4.0/",
    "HTTP://WWW.CREATIVECOMMONS.ORG/PUBLICDOMAIN/ZERO/1.0",
    "https://creativecommons.org/",
    "https://creativecommons.org/licenses",
    "https://creativecommons.org.evil.example/licenses/by/4.0/",
    "https://evil.example/?u=https://creativecommons.org/licenses/by/4.0/",
    "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "https://open.canada.ca/fr/licence-du-gouvernement-ouvert-canada",
    "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
    "https://opendatacommons.org/licenses/pddl/",
    "https://opendatacommons.org/licenses/bylaws",
    "http://www.govdata.de/dl-de/zero-2-0",
    "http://onlinelibrary.wiley.com/termsAndConditions#vor",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "https://creativecommons.org/licenses/by/4.0/\u00e9",
    5,
    None,
]


def _edge_works() -> list[dict]:
    start = {"date-parts": [[2021, 3, 1]]}
    works = []
    for url in LICENCE_EDGES:
        for version in ("vor", " VOR ", "am", "tdm", "unspecified", "stm-asf", None, 3):
            for delay, st in (
                (0, start),
                (365, start),
                ("0", None),
                (None, {"date-parts": [[None]]}),
            ):
                works.append(
                    {
                        "license": [
                            {"URL": url, "content-version": version, "delay-in-days": delay}
                            | ({"start": st} if st is not None else {})
                        ]
                    }
                )
    works += [
        {"author": [{"name": "The PLOS ONE Staff"}, {"given": "A", "family": "B"}]},
        {"author": [{"name": "Group", "ORCID": "https://orcid.org/0000-0002-1825-0097"}]},
        {"author": [{"name": "Group", "given": " "}, {"name": " ", "family": "F"}]},
        {"author": [{"name": 5}, {"family": "F", "ORCID": "http://orcid.org/x"}, {}]},
    ]
    return works


@pytest.mark.parametrize("reader", ["from_json", "read_ndjson"])
def test_bulk_sql_equals_predicates_on_licence_and_author_shapes(reader: str) -> None:
    works = _edge_works()
    frame = evaluate_records(works, reader=reader)
    for key in FAMILY_KEYS:
        metric = metrics.get(key)
        for i, work in enumerate(works):
            if metric.share is not None:
                want = tuple(metric.share(work))
                got = (int(frame.at[i, f"{key}:num"]), int(frame.at[i, f"{key}:den"]))
            else:
                want, got = bool(metric.predicate(work)), bool(frame.at[i, key])
            assert got == want, f"{key} on {json.dumps(work)}: SQL {got}, predicate {want}"


# --------------------------------------------------------------------------------------------
# predicate == /works filter (the mock's semantics, on each record)
# --------------------------------------------------------------------------------------------
FILTERED = [metrics.get(k) for k in FAMILY_KEYS if metrics.get(k).measurable_by_filter]


def test_the_filterable_metrics_are_the_expected_ones():
    assert [m.key for m in FILTERED] == [
        "licenses",
        "license-vor",
        "license-am",
        "license-tdm",
        "orcids",
        "orcid-authenticated",
    ]
    sampled = [k for k in FAMILY_KEYS if metrics.get(k).estimated_by_sample]
    assert sampled == [
        "license-cc",
        "license-open-vor-immediate",
        "license-open-am",
        "orcid-author-share",
        # ORCID iDs by contributor role (issue 10): `has-orcid` covers every role at once
        "orcid-author",
        "orcid-editor",
        "orcid-chair",
        "orcid-translator",
    ]


@pytest.mark.parametrize("metric", FILTERED, ids=lambda m: m.key)
def test_filters_select_exactly_the_works_the_predicate_counts(metric) -> None:
    for name, work in REAL:
        want = bool(metric.predicate(work))
        assert record_matches(work, metric.gap_filter(True)) is want, (metric.key, name)
        negated = metric.gap_filter(False)
        if negated is not None:
            assert record_matches(work, negated) is not want, (metric.key, name)


def test_repeated_filter_names_or_and_different_names_and():
    both = {"license": [{"content-version": "vor"}, {"content-version": "unspecified"}]}
    tdm = {"license": [{"content-version": "tdm", "delay-in-days": 0}]}
    assert record_matches(both, "license.version:vor,license.version:unspecified")
    assert record_matches(tdm, "license.version:tdm,license.version:unspecified")
    assert not record_matches(tdm, "license.version:vor,license.version:unspecified")
    assert not record_matches(tdm, "license.version:tdm,license.delay:-1")
    assert record_matches(tdm, "license.version:tdm,license.delay:0")
    with pytest.raises(QueryError):
        record_matches(tdm, "license.delay:soon")
    with pytest.raises(QueryError):
        record_matches(tdm, "has-abstract:true")  # not a record filter


# --------------------------------------------------------------------------------------------
# the drill-down's filter requests, over loopback, against a server holding the real works
# --------------------------------------------------------------------------------------------
# plus one work with both a vor and an unspecified licence: two separate version counts would
# count it twice, the one OR request once
LOOPBACK_WORKS = [
    *WORKS,
    {"license": [{"content-version": "vor"}, {"content-version": "unspecified"}]},
]


def test_drilldown_filter_counts_over_loopback_equal_predicates(tmp_path) -> None:
    with works_client(LOOPBACK_WORKS, tmp_path) as client:
        for metric in FILTERED:
            want = sum(bool(metric.predicate(w)) for w in LOOPBACK_WORKS)
            assert client.count("/works", with_filter(metric)) == want, metric.key
        vor = metrics.get("license-vor")
        separate = sum(
            client.count("/works", {"license.version": v}) for v in ("vor", "unspecified")
        )
        exact = client.count("/works", with_filter(vor))
        assert separate == exact + 1  # the work with both licences


# --------------------------------------------------------------------------------------------
# the cases' expected values, read from their .expected.txt
# --------------------------------------------------------------------------------------------
_STATED = re.compile(r"\b([a-z]+(?:-[a-z]+)*)(?: \([^)]*\))?:? (True|False)\b")
_SHARE = re.compile(r"orcid-author-share = \((\d+), (\d+)\)")


def _stated(stem: str) -> dict[str, bool]:
    text = (CASES / f"{stem}.expected.txt").read_text(encoding="utf-8")
    return {k: v == "True" for k, v in _STATED.findall(text) if k in FAMILY_KEYS}


CASE_STEMS = [
    "01-aps-syndication-similarity-links-only",
    "02-peerj-unspecified-cc-licence",
    "04-dissertation-licence-without-start-undated",
    "10-orcid-http-form",
    "14-huge-record-5000-authors",
]


@pytest.mark.parametrize("stem", CASE_STEMS)
def test_case_expected_values(stem: str) -> None:
    stated = _stated(stem)
    assert stated, f"no licence/ORCID value read from {stem}.expected.txt"
    work = CASE_WORKS[stem]
    frame = evaluate_records([work])
    for key, value in stated.items():
        assert metrics.get(key).predicate(work) is value, (stem, key)
        assert bool(frame.at[0, key]) is value, (stem, key, "SQL")
        metric = metrics.get(key)
        if metric.measurable_by_filter:
            assert record_matches(work, metric.gap_filter(True)) is value, (stem, key, "filter")


def test_case_values_in_full():
    """What each case's expected.txt says, written out (and what the parser must have read)."""
    assert _stated("02-peerj-unspecified-cc-licence") == dict.fromkeys(
        [
            "licenses",
            "license-cc",
            "license-vor",
            "license-open-vor-immediate",
            "license-am",
            "license-tdm",
            "license-open-am",
        ],
        True,
    )
    assert _stated("01-aps-syndication-similarity-links-only") == {
        "licenses": True,
        "license-vor": True,
        "license-cc": False,
        "license-open-vor-immediate": False,
    }
    assert _stated("04-dissertation-licence-without-start-undated") == {
        "licenses": True,
        "license-vor": True,
        "license-open-vor-immediate": False,
        "license-cc": False,
    }
    assert _stated("10-orcid-http-form") == {"orcids": True, "orcid-authenticated": False}
    share = metrics.get("orcid-author-share").share
    # 10: both authors carry an http:// iD; 14: 500 of 5000 authors (expected.txt)
    assert share(CASE_WORKS["10-orcid-http-form"]) == (2, 2)
    text = (CASES / "14-huge-record-5000-authors.expected.txt").read_text(encoding="utf-8")
    want = tuple(int(x) for x in _SHARE.search(text).groups())
    assert share(CASE_WORKS["14-huge-record-5000-authors"]) == want == (500, 5000)
    # 04 has no start: not "openly licensed AM" even if it were open; and not open anyway
    assert (
        metrics.get("license-open-am").predicate(
            CASE_WORKS["04-dissertation-licence-without-start-undated"]
        )
        is False
    )


def test_organisation_authors_are_not_in_the_orcid_denominator():
    plos = next(w for w in WORKS if w["DOI"] == "10.1371/journal.pone.0124730")
    assert plos["author"] == [
        {"name": "The PLOS ONE Staff", "sequence": "first", "affiliation": []}
    ]
    share = metrics.get("orcid-author-share").share
    assert share(plos) == (0, 0)
    group = next(w for w in WORKS if w["DOI"] == "10.1002/mdc3.13466")
    assert len(group["author"]) == 23 and share(group) == (0, 22)
    assert "organisation" in metrics.get("orcid-author-share").description.lower()


def test_families_exist():
    assert {"licences", "orcid"} <= set(FAMILIES)
