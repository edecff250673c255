"""Bulk ingest of works files (cache/jobs/bulk/): real samples, malformed input, SQL = predicates.

The expected counts for the public-data samples below were read off the records by hand (see
the comment above each table); they are not computed by the code under test.
"""

from __future__ import annotations

import bz2
import gzip
import json
import math
import random
from pathlib import Path

import pandas as pd
import pytest

import metrics
from cache.jobs import bulk
from cache.jobs.bulk import BulkIngestError, BulkIssue, evaluate_records, ingest
from cache.jobs.bulk import sql as bulk_sql
from cache.store.snapshots import COVERAGE_COLUMNS, MEMBER_COLUMNS, YEARS_COLUMNS, SnapshotStore
from tests import FIXTURES, bulkdata

PUBLIC = FIXTURES / "crossref" / "public-data"
JSONL_2025 = PUBLIC / "alexandria3k-crossref-2025.jsonl.gz"
ITEMS_FILES = [
    "alexandria3k-2item-references.json.gz",
    "alexandria3k-affiliations.json.gz",
    "alexandria3k-funded.json.gz",
    "alexandria3k-orcid-work.json.gz",
    "alexandria3k-same-author.json.gz",
    "alexandria3k-updated.json.gz",
    "crossref-lmdb-0.json.gz",
    "crossref-lmdb-1.json.gz",
]
YEAR = 2026  # current = issued 2024..2026, backfile = up to 2023
ALL_KEYS = list(bulk_sql.METRIC_SQL) + list(bulk_sql.SHARE_SQL)


def sample(name: str | Path) -> Path:
    path = PUBLIC / name
    return path


def covered(result: bulk.BulkResult, member: int, ctype: str, period: str) -> dict[str, tuple]:
    """metric -> (covered, total) for one coverage cell."""
    cov = result.coverage
    rows = cov[(cov.member_id == member) & (cov.content_type == ctype) & (cov.period == period)]
    return {r.metric: (int(r.covered), int(r.total)) for r in rows.itertuples()}


def expect(
    total: int,
    present: dict[str, int],
    share: tuple[int, int],
    depth: dict[str, tuple[int, int]] | None = None,
) -> dict[str, tuple]:
    """Every metric absent (0 of total) except those listed; the ORCID depth metric as
    (num, den); the other depth metrics (0, 0) unless given in ``depth``."""
    out = {k: (present.get(k, 0), total) for k in bulk_sql.METRIC_SQL}
    out.update(dict.fromkeys(bulk_sql.SHARE_SQL, (0, 0)) | (depth or {}))
    out["orcid-author-share"] = share
    return out


# --------------------------------------------------------------------------------------------
# The SQL table covers the registry
# --------------------------------------------------------------------------------------------
def test_every_registry_metric_measurable_on_works_has_sql() -> None:
    with_predicate = {k for k, m in metrics.REGISTRY.items() if m.share is None and m.predicate}
    with_share = {k for k, m in metrics.REGISTRY.items() if m.share is not None}
    assert set(bulk_sql.METRIC_SQL) == with_predicate
    assert set(bulk_sql.SHARE_SQL) == with_share
    # and that is every key of the contract table (docs/architecture.md §4 lists 27, plus the
    # 15 research-nexus metrics of issue 10)
    assert set(ALL_KEYS) == set(metrics.REGISTRY) and len(ALL_KEYS) == 42


# --------------------------------------------------------------------------------------------
# Real public-data samples, JSON Lines (2025+ format)
# --------------------------------------------------------------------------------------------
# alexandria3k-crossref-2025.jsonl.gz, read by hand (3 lines):
#  1. 10.1007/978-3-031-74535-5, member 297 "Springer Nature Switzerland", book, issued 2024:
#     2 editors without ORCID, no authors; licences tdm + vor (springernature.com, delay 0, start
#     2024-01-01); links text-mining + similarity-checking; no references (count 0), no abstract,
#     no funder, no update-policy.
#  2. 10.1007/978-3-031-74821-9_13, member 297, book-chapter, issued 2025: 1 author without
#     ORCID; licences tdm + vor (delay 0, start 2025-01-01); link similarity-checking only;
#     update-policy https://doi.org/10.1007/springer_crossmark_policy.
#  3. 10.1001/jama.2025.0548, member 10 "American Medical Association (AMA)", journal-article,
#     issued 2025-02-28: 1 author without ORCID; link similarity-checking only; nothing else.
LICENSED = {
    "licenses": 1,
    "license-vor": 1,
    "license-tdm": 1,
}
JSONL_EXPECTED = {
    (297, "book", "current"): expect(
        1, {**LICENSED, "similarity-checking": 1, "resource-links": 1}, (0, 0)
    ),
    (297, "book-chapter", "current"): expect(
        1, {**LICENSED, "similarity-checking": 1, "update-policies": 1}, (0, 1)
    ),
    (10, "journal-article", "current"): expect(1, {"similarity-checking": 1}, (0, 1)),
}


@pytest.fixture(scope="module")
def jsonl_result() -> bulk.BulkResult:
    return ingest([sample(JSONL_2025)], current_year=YEAR, publish=False)


def test_jsonl_sample_counts(jsonl_result: bulk.BulkResult) -> None:
    r = jsonl_result
    assert r.works == 3 and r.error_count == 0 and r.no_member == 0
    assert r.files[0].format == "jsonl" and r.files[0].path_taken == "fast"
    for (member, ctype, period), want in JSONL_EXPECTED.items():
        assert covered(r, member, ctype, period) == want, (member, ctype, period)
        # all three works are current, so `all` is the same and `backfile` is empty
        assert covered(r, member, ctype, "all") == want
        empty = covered(r, member, ctype, "backfile")
        assert set(empty) == set(ALL_KEYS)
        assert all(v == (0, 0) for v in empty.values())
    cov = r.coverage
    assert cov.loc[cov.total == 0, "coverage"].isna().all()
    assert len(cov) == 3 * 3 * len(ALL_KEYS)  # (member, type) cells x periods x metrics


def test_jsonl_sample_members_and_years(jsonl_result: bulk.BulkResult) -> None:
    m = jsonl_result.members.set_index("member_id")
    assert list(jsonl_result.members.columns) == list(MEMBER_COLUMNS)
    assert m.loc[297, "name"] == "Springer Nature Switzerland"
    assert m.loc[10, "name"] == "American Medical Association (AMA)"
    assert m.loc[297, "prefixes"] == "10.1007" and m.loc[10, "prefixes"] == "10.1001"
    assert (m.loc[297, ["total_dois", "current_dois", "backfile_dois"]].tolist()) == [2, 2, 0]
    assert json.loads(m.loc[297, "counts_type"]) == {
        "all": {"book": 1, "book-chapter": 1},
        "current": {"book": 1, "book-chapter": 1},
        "backfile": {},
    }
    assert json.loads(m.loc[297, "dois_by_year"]) == {"2024": 1, "2025": 1}
    assert json.loads(m.loc[10, "dois_by_year"]) == {"2025": 1}
    # indexed 2025-03-01T05:41:18Z (timestamp 1740807678836) is the newest record of member 10
    assert m.loc[10, "last_status_check"] == 1740807678836
    assert (m["location"] == "").all() and (m["country"] == "").all() and (~m["gem"]).all()
    years = jsonl_result.years
    assert list(years.columns) == list(YEARS_COLUMNS)
    sim = years[(years.metric == "similarity-checking")]
    assert sorted(
        zip(sim.member_id, sim.content_type, sim.year, sim.covered, sim.total, strict=True)
    ) == [
        (10, "journal-article", 2025, 1, 1),
        (297, "book", 2024, 1, 1),
        (297, "book-chapter", 2025, 1, 1),
    ]
    assert jsonl_result.meta["data_as_of"] == "2025-03-01T05:41:18.836000Z"


# --------------------------------------------------------------------------------------------
# Real public-data samples, {"items": [...]} (older format)
# --------------------------------------------------------------------------------------------
# Read by hand from the eight *.json.gz samples (current year 2026 -> all of them backfile):
#  member 297 journal-article (3 works):
#   - 2item-references #1 10.1007/s10270-017-0613-x (2017): 42 refs, update-policy, 1 author no
#     ORCID, funder with a name only, tdm licence (springer.com/tdm, delay 0, start), links
#     text-mining x2 + similarity-checking;
#   - funded 10.1007/s10914-022-09607-7 (2022): 72 refs, update-policy, 12 authors of whom 1
#     has an ORCID (not authenticated), 2 funders with DOI asserted by the publisher and awards,
#     licences tdm + vor (springer.com/tdm, delay 0, start), links text-mining x2 + similarity;
#   - updated 10.1007/s00417-022-05677-8 (2022): reference-count 0, update-policy, 4 authors, 1
#     ORCID (not authenticated), licences tdm + vor (delay 0, start), links tm x2 + similarity.
#  member 340 journal-article, 2item-references #2 10.1371/journal.pone.0182346 (2017): 29
#     refs, update-policy, 7 authors of whom 1 has an authenticated ORCID (+ 1 editor), funder
#     with DOI asserted by the publisher and an award, licence CC BY 4.0
#     (http://creativecommons.org/…) vor delay 0 with start, link similarity-checking only.
#  member 311 journal-article, affiliations 10.1002/mdc3.13466 (2022): no references, 23
#     authors, none with ORCID, 4 with affiliation names; licences vor (Wiley terms) + tdm,
#     delay 0, start; links text-mining + similarity-checking; no update-policy.
#  member 320 proceedings-article, orcid-work 10.1145/3196398.3196476 (2018): 12 refs, 1
#     author without ORCID but with an affiliation name, funder Horizon 2020 with DOI asserted
#     by the publisher and an award, vor licence (ACM, delay 0, start), link similarity only.
#  member 14947 journal-article, same-author (2 works, 2022): abstracts, update-policy, no refs,
#     2 and 3 authors all with (unauthenticated) ORCID and affiliation names; nothing else.
#  member 316 journal-article, lmdb-0 10.1021/jo020170p (2002): 14 refs, 4 authors with
#     affiliation names, no ORCID, link similarity-checking; no licence.
#  member 286 journal-article, lmdb-0 10.1093/biostatistics/1.2.203 (2000): no refs, 1 author,
#     link similarity-checking only.
#  member 140 journal-article, lmdb-1 (1995, 1996): refs (75, 13), abstracts, tdm licence
#     (emerald.com, delay 0, start), links text-mining x2 + similarity; 1 and 2 authors, no ORCID.
ITEMS_EXPECTED = {
    (297, "journal-article"): expect(
        3,
        {
            "references": 2,
            "orcids": 2,
            "funders": 2,
            "funder-doi": 1,
            "funder-identified": 1,
            "funder-publisher-asserted": 1,
            "award-numbers": 1,
            "update-policies": 3,
            "similarity-checking": 3,
            "resource-links": 3,
            "licenses": 3,
            "license-vor": 2,
            "license-tdm": 3,
            "orcid-author": 2,
            "update-notices": 1,
        },
        (2, 17),
        {"reference-dois": (87, 114), "reference-dois-publisher-asserted": (60, 87)},
    ),
    (340, "journal-article"): expect(
        1,
        {
            "references": 1,
            "orcids": 1,
            "orcid-authenticated": 1,
            "funders": 1,
            "funder-doi": 1,
            "funder-identified": 1,
            "funder-publisher-asserted": 1,
            "award-numbers": 1,
            "update-policies": 1,
            "similarity-checking": 1,
            "licenses": 1,
            "license-vor": 1,
            "license-cc": 1,
            "license-open-vor-immediate": 1,
            "orcid-author": 1,
        },
        (1, 7),
        {"reference-dois": (12, 29), "reference-dois-publisher-asserted": (0, 12)},
    ),
    (311, "journal-article"): expect(
        1,
        {
            "affiliations": 1,
            "similarity-checking": 1,
            "resource-links": 1,
            "licenses": 1,
            "license-vor": 1,
            "license-tdm": 1,
        },
        (0, 22),  # "the CNS physiotherapy study group" is no person
    ),
    (320, "proceedings-article"): expect(
        1,
        {
            "references": 1,
            "affiliations": 1,
            "funders": 1,
            "funder-doi": 1,
            "funder-identified": 1,
            "funder-publisher-asserted": 1,
            "award-numbers": 1,
            "similarity-checking": 1,
            "licenses": 1,
            "license-vor": 1,
        },
        (0, 1),
        {"reference-dois": (7, 12), "reference-dois-publisher-asserted": (7, 7)},
    ),
    (14947, "journal-article"): expect(
        2,
        {
            "abstracts": 2,
            "orcids": 2,
            "affiliations": 2,
            "update-policies": 2,
            "orcid-author": 2,
            # both list their reviews: relation {"has-review": [...]}
            "relations": 2,
            "relation-review": 2,
        },
        (5, 5),
    ),
    (316, "journal-article"): expect(
        1,
        {"references": 1, "affiliations": 1, "similarity-checking": 1},
        (0, 4),
        {"reference-dois": (6, 14), "reference-dois-publisher-asserted": (0, 6)},
    ),
    (286, "journal-article"): expect(1, {"similarity-checking": 1}, (0, 1)),
    (140, "journal-article"): expect(
        2,
        {
            "references": 2,
            "abstracts": 2,
            "similarity-checking": 2,
            "resource-links": 2,
            "licenses": 2,
            "license-tdm": 2,
        },
        (0, 3),
        {"reference-dois": (41, 88), "reference-dois-publisher-asserted": (0, 41)},
    ),
}


@pytest.fixture(scope="module")
def items_result() -> bulk.BulkResult:
    return ingest([sample(n) for n in ITEMS_FILES], current_year=YEAR, publish=False)


def test_items_samples_counts(items_result: bulk.BulkResult) -> None:
    r = items_result
    assert r.works == 12 and r.error_count == 0 and r.no_member == 0
    assert {f.format for f in r.files} == {"items"}
    assert {f.path_taken for f in r.files} == {"fast"}
    for (member, ctype), want in ITEMS_EXPECTED.items():
        assert covered(r, member, ctype, "backfile") == want, (member, ctype)
        assert covered(r, member, ctype, "all") == want, (member, ctype)
        assert all(v == (0, 0) for v in covered(r, member, ctype, "current").values())
    assert set(zip(r.coverage.member_id, r.coverage.content_type, strict=True)) == set(
        ITEMS_EXPECTED
    )


def test_items_sample_years(items_result: bulk.BulkResult) -> None:
    y = items_result.years
    refs = y[(y.member_id == 297) & (y.metric == "references")]
    # 2017: the 2item-references work (42 refs); 2022: funded (72 refs) and updated (none)
    assert sorted(zip(refs.year, refs.covered, refs.total, strict=True)) == [
        (2017, 1, 1),
        (2022, 1, 2),
    ]
    m = items_result.members.set_index("member_id")
    assert m.loc[297, "name"] == "Springer Science and Business Media LLC"
    assert json.loads(m.loc[140, "dois_by_year"]) == {"1995": 1, "1996": 1}


def test_both_formats_together_add_up(jsonl_result, items_result) -> None:
    both = ingest(
        [sample(JSONL_2025), *[sample(n) for n in ITEMS_FILES]], current_year=YEAR, publish=False
    )
    assert both.works == 15
    m = both.members.set_index("member_id")
    assert m.loc[297, "total_dois"] == 5  # 2 from the JSONL file, 3 from the items files
    # two publisher names for member 297: the one with more works wins
    assert m.loc[297, "name"] == "Springer Science and Business Media LLC"


# --------------------------------------------------------------------------------------------
# SQL == registry predicates, work by work
# --------------------------------------------------------------------------------------------
EDGE_CASES: list[dict] = [
    {},
    {"reference-count": "3"},
    {"reference-count": " 3 "},
    {"reference-count": 0.5},
    {"reference-count": True},
    {"reference-count": -1},
    {"reference-count": "0"},
    {"reference": [None]},
    {"reference": []},
    {"reference": "x"},
    {"abstract": 5},
    {"abstract": " \u00a0\u2003\n"},
    {"abstract": "\u200b"},
    {"abstract": ["x"]},
    {"abstract": "\n\t x"},
    {"abstract": ""},
    {"author": [{"ORCID": 5}]},
    {"author": [{"ORCID": " "}]},
    {"author": [{"ORCID": "x", "authenticated-orcid": "true"}]},
    {"author": [{"ORCID": "x", "authenticated-orcid": 1}]},
    {"author": [{"ORCID": "x", "authenticated-orcid": True}]},
    {"author": [{"ORCID": "", "authenticated-orcid": True}]},
    {"editor": [{"ORCID": "x"}]},
    {"chair": [{"ORCID": "x", "authenticated-orcid": True}]},
    {"translator": [{"affiliation": [{"name": "a"}]}]},
    {"author": [None, {"ORCID": "x"}, {"given": "y"}]},
    {"author": "x"},
    {"author": [{"affiliation": [{"name": " "}]}]},
    {"author": [{"affiliation": [{"id": "https://ror.org/x"}]}]},
    {"author": [{"affiliation": [{"id": " "}]}]},
    {"author": [{"affiliation": [{"id": [{"id": "https://ror.org/1", "id-type": " ROR "}]}]}]},
    {"author": [{"affiliation": [{"id": [{"id": "", "id-type": "ROR"}]}]}]},
    {"author": [{"affiliation": [{"id": {"id": "r", "id-type": "ror"}}]}]},
    {"author": [{"affiliation": [{"id": [{"id": "q", "id-type": "wikidata"}]}]}]},
    {"author": [{"affiliation": [{"id": [5, None]}]}]},
    {"author": [{"affiliation": "x"}]},
    {"funder": [{}]},
    {"funder": [None]},
    {"funder": [{"DOI": " "}]},
    {"funder": [{"DOI": "10.13039/1"}]},
    {"funder": [{"id": [{"id": "10.13039/1", "id-type": "DOI", "asserted-by": "Crossref"}]}]},
    {"funder": [{"doi-asserted-by": "publisher"}]},
    {"funder": [{"doi-asserted-by": " Publisher "}]},
    {"funder": [{"id": [{"id": "", "id-type": "DOI", "asserted-by": "publisher"}]}]},
    {"funder": [{"id": [{"id": "r", "id-type": "ROR", "asserted-by": "publisher"}]}]},
    {"funder": [{"award": "A1"}]},
    {"funder": [{"award": [" ", 5]}]},
    {"funder": [{"award": [" ", "x"]}]},
    {"funder": [{"award-info": [{"award-number": "G1"}]}]},
    {"funder": [{"award-info": [{"award-number": [" "]}]}]},
    {"funder": [{"award": {"x": 1}}]},
    {"update-policy": ""},
    {"update-policy": "x"},
    {"update-policy": 1},
    {"link": [{"intended-application": " Text-Mining "}]},
    {"link": [{"intended-application": "similarity-checking"}]},
    {"link": [{"intended-application": "syndication"}]},
    {"link": [{"intended-application": "UNSPECIFIED"}]},
    {"license": [{"URL": " "}]},
    {"license": [{"URL": "x", "content-version": "VOR", "delay-in-days": "0"}]},
    {"license": [{"content-version": "vor", "delay-in-days": 0.0}]},
    {"license": [{"content-version": "vor", "delay-in-days": 0.5}]},
    {"license": [{"content-version": "vor", "delay-in-days": False}]},
    {"license": [{"content-version": "vor", "delay-in-days": " -0 "}]},
    {
        "license": [
            {"content-version": "am", "delay-in-days": 0},
            {"content-version": "vor", "delay-in-days": 9},
        ]
    },
    {"license": [{"URL": "HTTPS://WWW.CreativeCommons.org/licenses/by/4.0"}]},
    {"license": [{"URL": " http://creativecommons.org"}]},
    {"license": [{"URL": "ftp://creativecommons.org/x"}]},
    {"license": [{"URL": "https://creativecommons.org.evil/x"}]},
    {"license": [{"URL": "https://user@creativecommons.org:8080/x"}]},
    {"license": [{"URL": "https://creativecommons.org@evil.org/x"}]},
    {"license": [{"URL": "https://evil.org/?u=https://creativecommons.org/"}]},
    {"license": [{"URL": "https://creative\tcommons.org/"}]},
    {"license": [{"URL": "https://[creativecommons.org/"}]},
    {"license": [{"URL": "//creativecommons.org/x"}]},
    {"license": [{"URL": "https://creativecommons.org#x"}]},
    {"license": [{"URL": "https://creativecommons.org./x"}]},
    {"license": [{"start": {"date-parts": [[2020]]}}]},
    {"license": [{"start": {"date-parts": [[None]]}}]},
    {"license": [{"start": {"date-parts": [["2020"]]}}]},
    {"license": [{"start": {"date-parts": [[2020.5]]}}]},
    {"license": [{"start": {"date-parts": [2020]}}]},
    {"license": [{"start": {"date-parts": []}}]},
    {"license": [{"start": "2020"}]},
    {"description": ""},
    {"description": "d"},
    {"description": [" ", "d"]},
    {"description": [" "]},
    {"description": [5]},
    {"description": {"x": "y"}},
    {"clinical-trial-number": []},
    {"clinical-trial-number": [{}]},
    {"clinical-trial-number": "x"},
    {"issued": {"date-parts": [[None]]}, "published": {"date-parts": [[2019]]}},
    {"issued": {"date-parts": [["2018", 2]]}},
    {"issued": {"date-parts": [[2017.0]]}},
    {"issued": "2016"},
    {"published": {"date-parts": [[2015, 1, 1]]}},
]
# Shape drift the SQL reads differently, by design (see cache/jobs/bulk/sql.py): a lone object where
# Crossref sends a list counts as a one-element list for the registry, as absent for DuckDB.
KNOWN_DIFFERENT: list[tuple[dict, str]] = [
    ({"funder": {}}, "funders"),
    ({"funder": [{"award-info": {"award-number": ["x"]}}]}, "award-numbers"),
    ({"clinical-trial-number": {"a": 1}}, "clinical-trial-numbers"),
]


def assert_sql_equals_python(works: list[dict], reader: str = "from_json") -> None:
    frame = evaluate_records(works, reader=reader)
    assert len(frame) == len(works)
    for key, metric in metrics.REGISTRY.items():
        for i, work in enumerate(works):
            if metric.share is not None:
                want = tuple(metric.share(work))
                got = (int(frame.at[i, f"{key}:num"]), int(frame.at[i, f"{key}:den"]))
            else:
                want = bool(metric.predicate(work))
                got = bool(frame.at[i, key])
            assert got == want, f"{key} on {json.dumps(work)[:300]}: SQL {got}, Python {want}"
    years = [metrics.issued_year(w) for w in works]
    got_years = [None if pd.isna(y) else int(y) for y in frame["year"]]
    assert got_years == years


@pytest.mark.parametrize("reader", ["from_json", "read_ndjson"])
def test_sql_equals_predicates_on_edge_cases(reader: str) -> None:
    """Both parses (streaming path: from_json; fast path: read_ndjson) give the same answers."""
    assert_sql_equals_python(EDGE_CASES, reader)


@pytest.mark.parametrize("reader", ["from_json", "read_ndjson"])
def test_sql_known_differences_stay_known(reader: str) -> None:
    frame = evaluate_records([w for w, _ in KNOWN_DIFFERENT], reader=reader)
    for i, (work, key) in enumerate(KNOWN_DIFFERENT):
        assert metrics.REGISTRY[key].predicate(work) is True
        assert not frame.at[i, key]


def test_sql_equals_predicates_on_generated_works() -> None:
    works = list(bulkdata.iter_works(4000, seed=11, current_year=YEAR, members=40))
    assert_sql_equals_python(works)


@pytest.mark.parametrize("reader", ["from_json", "read_ndjson"])
def test_sql_equals_predicates_on_real_records(reader: str) -> None:
    with gzip.open(sample(JSONL_2025), "rt") as fh:
        works = [json.loads(line) for line in fh if line.strip()]
    for name in ITEMS_FILES:
        with gzip.open(sample(name), "rt") as fh:
            works += json.load(fh)["items"]
    fixtures = PUBLIC.parent / "works"
    for path in sorted(fixtures.glob("*.json")):
        message = json.loads(path.read_text(encoding="utf-8")).get("message", {})
        works += message.get("items", []) if "items" in message else [message]
    assert len(works) > 100
    assert_sql_equals_python(works, reader)


# --------------------------------------------------------------------------------------------
# Generated files: totals agree with the registry in Python, periods, undated works
# --------------------------------------------------------------------------------------------
def python_tally(works: list[dict], year: int) -> dict[tuple, dict[str, list[int]]]:
    """(member, type, period) -> metric -> [covered, total], straight from the registry."""
    return {
        cell: {k: list(v) for k, v in values.items()}
        for cell, values in metrics.tally_by_slice(works, year, ALL_KEYS).items()
    }


def test_generated_file_matches_python_tally(tmp_path: Path) -> None:
    works = list(bulkdata.iter_works(3000, seed=5, current_year=YEAR, members=25))
    path = tmp_path / "works.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for w in works:
            fh.write(json.dumps(w) + "\n")
    r = ingest([path], current_year=YEAR, publish=False)
    assert r.works == 3000 and r.error_count == 0
    want = python_tally(works, YEAR)
    got: dict[tuple, dict[str, list[int]]] = {}
    for row in r.coverage.itertuples():
        cell = got.setdefault((row.member_id, row.content_type, row.period), {})
        cell[row.metric] = [row.covered, row.total]
    for cell, values in got.items():
        assert values == want.get(cell, {k: [0, 0] for k in ALL_KEYS}), cell
    assert set(want) <= set(got)
    # undated works (issued [[null]] and no `published`, or no issued at all) are only in `all`
    undated = sum(1 for w in works if metrics.issued_year(w) is None)
    assert undated > 0
    totals = r.coverage[r.coverage.metric == "references"].groupby("period")["total"].sum()
    assert totals["all"] == 3000
    assert totals["current"] + totals["backfile"] == 3000 - undated
    assert r.years["total"][r.years.metric == "references"].sum() == 3000 - undated


def test_period_rows_exist_for_empty_periods(tmp_path: Path) -> None:
    works = [
        {"member": "7", "type": "journal-article", "issued": {"date-parts": [[2024, 5]]}},
        {"member": "7", "type": "dataset", "issued": {"date-parts": [[2001]]}},
        {"member": "7", "type": "dataset", "issued": {"date-parts": [[None]]}},
        {"member": 7, "type": "dataset"},  # member as a number; no date at all
    ]
    path = tmp_path / "w.jsonl"
    path.write_text("\n".join(json.dumps(w) for w in works) + "\n", encoding="utf-8")
    r = ingest([path], current_year=YEAR, publish=False)
    assert r.works == 4
    cells = r.coverage[r.coverage.metric == "references"].set_index(["content_type", "period"])
    assert cells["total"].to_dict() == {
        ("dataset", "current"): 0,
        ("dataset", "backfile"): 1,
        ("dataset", "all"): 3,
        ("journal-article", "current"): 1,
        ("journal-article", "backfile"): 0,
        ("journal-article", "all"): 1,
    }
    assert math.isnan(cells.loc[("dataset", "current"), "coverage"])
    m = r.members.iloc[0]
    assert (m.total_dois, m.current_dois, m.backfile_dois) == (4, 1, 1)
    assert json.loads(m.counts_type) == {
        "all": {"dataset": 3, "journal-article": 1},
        "current": {"journal-article": 1},
        "backfile": {"dataset": 1},
    }
    assert m["name"] == "" and m.prefixes == ""


# --------------------------------------------------------------------------------------------
# Malformed input
# --------------------------------------------------------------------------------------------
def good(i: int, member: int = 5) -> str:
    return json.dumps(
        {
            "DOI": f"10.5555/{i}",
            "member": str(member),
            "type": "journal-article",
            "issued": {"date-parts": [[2020]]},
            "abstract": "<p>x</p>",
        }
    )


MIXED_LINES = [
    good(1),  # 1
    "",  # 2 blank: not a record, not an error
    good(2),  # 3 (made invalid UTF-8 below)
    '{"member": bad',  # 4 invalid JSON
    "[1,2]",  # 5 not an object
    "   ",  # 6 blank
    '"str"',  # 7 not an object
    good(3),  # 8
    "null",  # 9 not an object
    good(4) + " trailing",  # 10 invalid JSON (extra data)
    '{"a":1}{"b":2}',  # 11 invalid JSON (two objects)
    "\t",  # 12 blank
    good(5),  # 13
    '{"type": "book"}',  # 14 an object without a member: not scored, counted apart
    good(6),  # 15
]


def write_mixed(path: Path) -> Path:
    data = ("\n".join(MIXED_LINES) + "\n").encode()
    data = data.replace(b'"10.5555/2"', b'"10.5555/\xff"')
    path.write_bytes(gzip.compress(data))
    return path


def test_malformed_lines_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write_mixed(tmp_path / "mixed.jsonl.gz")
    r = ingest([path], current_year=YEAR, publish=False)
    assert r.works == 4 and r.no_member == 1  # lines 1, 8, 13, 15
    assert r.error_count == 7 and r.files[0].errors == 7
    assert [(Path(e.file).name, e.line) for e in r.errors] == [
        ("mixed.jsonl.gz", n) for n in (3, 4, 5, 7, 9, 10, 11)
    ]
    by_line = {e.line: e.message for e in r.errors}
    assert by_line[3] == "invalid UTF-8"
    assert by_line[4].startswith("invalid JSON")
    assert by_line[5] == "not a JSON object (a JSON array)"
    assert by_line[7] == "not a JSON object (a JSON string)"
    assert by_line[9] == "not a JSON object (a JSON null)"
    assert isinstance(r.errors[0], BulkIssue) and isinstance(r.errors[0], tuple)
    assert str(r.errors[0]) == f"{path}:3: invalid UTF-8"
    summary = r.summary(max_errors=2)
    assert "7 malformed line(s)" in summary and f"{path}:3: invalid UTF-8" in summary
    assert "and 5 more" in summary and "1 record(s) without a member id" in summary
    cell = covered(r, 5, "journal-article", "backfile")
    assert cell["abstracts"] == (4, 4)


def truncated_file(tmp_path: Path, n: int = 30_000) -> tuple[Path, int]:
    """A gzip file cut at 60 %, and the number of complete lines before the cut (read with
    Python's gzip module, independently of the code under test)."""
    body = "".join(good(i, member=100 + i % 3) + "\n" for i in range(n)).encode()
    blob = gzip.compress(body)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) * 6 // 10])
    complete = 0
    with gzip.open(path, "rb") as fh:
        try:
            for line in fh:
                complete += line.endswith(b"\n")
        except EOFError:
            pass
    assert 0 < complete < n
    return path, complete


def test_truncated_gzip_tail_is_reported_not_fatal(tmp_path: Path) -> None:
    path, complete = truncated_file(tmp_path)
    ok = tmp_path / "ok.jsonl.gz"
    ok.write_bytes(gzip.compress((good(10**6, member=200) + "\n").encode()))  # another DOI
    r = ingest([path, ok], current_year=YEAR, publish=False)
    assert r.works == complete + 1
    assert r.error_count == 1
    (issue,) = r.errors
    assert issue.file == str(path) and issue.line == complete + 1
    assert "truncated gzip" in issue.message
    assert r.files[0].path_taken == "stream" and r.files[1].path_taken == "fast"
    assert r.members.set_index("member_id").loc[100:102, "total_dois"].sum() == complete


def test_strict_raises_naming_file_and_line(tmp_path: Path) -> None:
    mixed = write_mixed(tmp_path / "mixed.jsonl.gz")
    with pytest.raises(BulkIngestError) as err:
        ingest([mixed], current_year=YEAR, publish=False, strict=True)
    assert err.value.file == str(mixed) and err.value.line == 3
    assert f"{mixed}:3" in str(err.value)
    cut, complete = truncated_file(tmp_path)
    with pytest.raises(BulkIngestError, match="truncated gzip") as err:
        ingest([cut], current_year=YEAR, publish=False, strict=True)
    assert (err.value.file, err.value.line) == (str(cut), complete + 1)
    # a clean file passes in strict mode too
    r = ingest([sample(JSONL_2025)], current_year=YEAR, publish=False, strict=True)
    assert r.works == 3


def test_items_document_with_junk_and_truncation(tmp_path: Path) -> None:
    works = list(bulkdata.iter_works(6, seed=2, current_year=YEAR, members=2))
    doc = {"items": [works[0], 5, works[1], None, works[2], "x", works[3], {"type": "book"}]}
    junk = tmp_path / "junk.json.gz"
    junk.write_bytes(gzip.compress(json.dumps(doc, indent=2).encode()))
    r = ingest([junk], current_year=YEAR, publish=False)
    assert r.works == 4 and r.error_count == 3 and r.no_member == 1
    assert r.files[0].path_taken == "fast"
    text = json.dumps(doc, indent=2).splitlines()
    lines = [i + 1 for i, t in enumerate(text) if t in ("    5,", "    null,", '    "x",')]
    assert [e.line for e in r.errors] == lines
    assert r.errors[0].message == "item is not a JSON object (a JSON number)"

    full = json.dumps({"items": works}, indent=2).encode()
    blob = gzip.compress(full)
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(blob[: len(blob) * 7 // 10])
    r = ingest([cut], current_year=YEAR, publish=False)
    assert r.error_count == 1 and "truncated gzip" in r.errors[0].message
    assert 0 < r.works < 6 and r.files[0].path_taken == "stream"
    with pytest.raises(BulkIngestError):
        ingest([cut], current_year=YEAR, publish=False, strict=True)


def test_overlong_line_is_scored_not_dropped(tmp_path: Path, monkeypatch) -> None:
    """A line longer than DuckDB's reader buffer is not an error: the file is re-read."""
    monkeypatch.setattr(bulk.fast, "MAX_OBJECT_BYTES", 2048)
    big = {
        "member": "9",
        "type": "journal-article",
        "issued": {"date-parts": [[2025]]},
        "abstract": "y" * 5000,
    }
    path = tmp_path / "long.jsonl"
    path.write_text(good(1, 9) + "\n" + json.dumps(big) + "\n" + "{oops\n", encoding="utf-8")
    r = ingest([path], current_year=YEAR, publish=False)
    assert r.works == 2 and r.error_count == 1 and r.errors[0].line == 3
    assert covered(r, 9, "journal-article", "all")["abstracts"] == (2, 2)


# --------------------------------------------------------------------------------------------
# Files, compression, directories, compaction
# --------------------------------------------------------------------------------------------
def test_compressions_plain_and_directories(tmp_path: Path) -> None:
    lines = "".join(good(i, member=300) + "\n" for i in range(10)).encode()
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.jsonl").write_bytes(lines)
    (tmp_path / "d" / "b.jsonl.bz2").write_bytes(bz2.compress(lines))
    (tmp_path / "d" / "c.json.gz").write_bytes(gzip.compress(lines + lines))  # JSONL named .json
    two = gzip.compress(lines) + gzip.compress(lines)  # concatenated gzip members
    (tmp_path / "d" / "sub").mkdir()
    (tmp_path / "d" / "sub" / "e.jsonl.gz").write_bytes(two)
    (tmp_path / "d" / "notes.txt").write_text("not a works file")
    r = ingest([tmp_path / "d"], current_year=YEAR, publish=False)
    assert [Path(f.path).name for f in r.files] == [
        "a.jsonl",
        "b.jsonl.bz2",
        "c.json.gz",
        "e.jsonl.gz",
    ]
    assert [f.compression for f in r.files] == ["none", "bz2", "gzip", "gzip"]
    # every file holds the same 10 DOIs: each is scored, and counted once
    assert [f.works for f in r.files] == [10, 10, 20, 20]
    assert r.works == 10 and r.duplicates == 50 and r.error_count == 0
    with pytest.raises(BulkIngestError, match="no such file"):
        ingest([tmp_path / "missing.jsonl.gz"], publish=False)


def test_batches_attribute_errors_to_the_right_file(tmp_path: Path, monkeypatch) -> None:
    """Several files go through one DuckDB query; every count and error stays with its file."""
    monkeypatch.chdir(tmp_path)
    names = ["one.jsonl.gz", "two three.jsonl.gz", "it's.jsonl.gz", "g[1].jsonl.gz"]
    for k, name in enumerate(names):
        lines = [good(100 * k + i, member=400 + k) for i in range(5 + k)]
        if k == 1:
            lines[2] = '{"broken": '
        Path(name).write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    items = tmp_path / "items.json.gz"
    works = list(bulkdata.iter_works(3, seed=4, current_year=YEAR, members=1))
    items.write_bytes(gzip.compress(json.dumps({"items": [works[0], 7, works[1]]}).encode()))
    r = ingest([*names, "one.jsonl.gz", str(items)], current_year=YEAR, publish=False)
    by_name = {Path(f.path).name: f for f in r.files}
    assert [Path(f.path).name for f in r.files] == [*names, "items.json.gz"]  # read once
    assert [by_name[n].works for n in names] == [5, 5, 7, 8]
    # one DuckDB query for the three plain names; "g[1]" would be a glob pattern: streamed
    assert [f.path_taken for f in r.files] == ["fast", "fast", "fast", "stream", "fast"]
    assert by_name["two three.jsonl.gz"].errors == 1 and by_name["one.jsonl.gz"].errors == 0
    assert by_name["items.json.gz"].works == 2 and by_name["items.json.gz"].errors == 1
    assert [(e.file, e.line) for e in r.errors] == [("two three.jsonl.gz", 3), (str(items), 1)]
    totals = r.members.set_index("member_id")["total_dois"]
    assert [totals[400 + k] for k in range(4)] == [5, 5, 7, 8]


# --------------------------------------------------------------------------------------------
# Publishing
# --------------------------------------------------------------------------------------------
def test_published_snapshot_loads_with_source_bulk(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "data")
    progress: list[tuple[int, int]] = []
    r = ingest(
        [sample(JSONL_2025), sample(ITEMS_FILES[0])],
        current_year=YEAR,
        store=store,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert r.snapshot_id and r.snapshot_id.endswith("-bulk")
    snap = store.load()
    assert snap.id == r.snapshot_id
    assert snap.meta["source"] == "bulk" and snap.meta["current_year"] == YEAR
    assert snap.meta["works"] == 5 and snap.meta["members"] == 3
    assert snap.meta["malformed_lines"] == 0
    assert list(snap.coverage.columns) == list(COVERAGE_COLUMNS)
    assert set(snap.coverage["source"]) == {"bulk"}
    assert snap.coverage["ci_low"].isna().all()
    assert snap.years is not None and set(snap.years["source"]) == {"bulk"}
    assert set(snap.coverage["metric"]) == set(ALL_KEYS)
    assert set(snap.coverage["period"]) == {"current", "backfile", "all"}
    assert progress and progress[-1][0] == progress[-1][1] > 0


def test_default_store_is_the_settings_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DASHBOARD_DATA_DIR", str(tmp_path / "dd"))
    r = ingest([sample(JSONL_2025)], current_year=YEAR)
    assert (tmp_path / "dd" / "snapshots" / r.snapshot_id / "coverage.parquet").exists()


def test_bulk_command_prints_summary_and_errors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cache.jobs.cli import app

    mixed = write_mixed(tmp_path / "mixed.jsonl.gz")
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    res = runner.invoke(app, ["bulk", str(mixed), "--current-year", "2026", *data])
    assert res.exit_code == 0, res.output
    assert "4 works of 1 members" in res.output and f"{mixed}:3: invalid UTF-8" in res.output
    assert "published snapshot" in res.output
    res = runner.invoke(app, ["bulk", str(mixed), "--strict", *data])
    assert res.exit_code == 1 and f"{mixed}:3" in res.output


def test_random_garbage_never_crashes(tmp_path: Path) -> None:
    rng = random.Random(3)
    lines = []
    for i in range(300):
        r = rng.random()
        if r < 0.6:
            lines.append(good(i).encode())
        elif r < 0.8:
            raw = good(i).encode()
            lines.append(raw[: rng.randrange(len(raw))])
        else:
            lines.append(
                bytes(rng.randrange(1, 256) for _ in range(rng.randrange(40))).replace(b"\n", b"")
            )
    path = tmp_path / "garbage.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines)))
    r = ingest([path], current_year=YEAR, publish=False)
    parsed = 0
    for raw in lines:
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        parsed += isinstance(obj, dict) and "member" in obj
    assert r.works == parsed
    assert r.works + r.error_count + r.no_member == sum(1 for x in lines if x.strip(b" \t\r"))


# --------------------------------------------------------------------------------------------
# The files Crossref ships: tar archives, Plus snapshots, saved API responses (issue 9 §2)
# --------------------------------------------------------------------------------------------
CASES = FIXTURES / "cases"
WORKS_DIR = FIXTURES / "crossref" / "works"


def _load(path: Path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        if path.name.endswith(".jsonl.gz"):
            return [json.loads(line) for line in fh if line.strip()]
        return json.load(fh)


def real_works() -> list[dict]:
    """Every distinct real record in the fixtures (read with plain json, not the code under
    test): saved /works pages and single works, public-data chunks, and the cases."""
    out: list[dict] = []
    for path in sorted(WORKS_DIR.glob("*.json")):
        body = _load(path)
        msg = body["message"]
        out += msg["items"] if body["message-type"] == "work-list" else [msg]
    for path in sorted(PUBLIC.glob("*.gz")):
        doc = _load(path)
        out += doc if isinstance(doc, list) else doc["items"]
    for name in ("07-works-without-member.json", "15-component-and-dataset-types.json"):
        out += _load(CASES / name)
    out += _load(CASES / "14-huge-record-5000-authors.jsonl.gz")
    seen: set[str] = set()
    unique = []
    for w in out:
        key = str(w.get("DOI", "")).lower()
        if key not in seen:
            seen.add(key)
            unique.append(w)
    return unique


def _gz_json(obj, indent: int | None = None) -> bytes:
    return gzip.compress(json.dumps(obj, indent=indent).encode())


def _tar(path: Path, members: dict[str, bytes], mode: str = "w") -> Path:
    import io
    import tarfile

    with tarfile.open(path, mode) as tar:
        folder = tarfile.TarInfo("April-2023-public-data-file-from-crossref")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, data in members.items():
            info = tarfile.TarInfo(f"April-2023-public-data-file-from-crossref/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _chunks(works: list[dict], n: int) -> list[list[dict]]:
    return [works[i : i + n] for i in range(0, len(works), n)]


def test_archives_and_saved_pages_score_like_json_lines(tmp_path: Path) -> None:
    """The same real works as JSON Lines, in a .tar of {"items"} .json.gz chunks, a .tar of
    JSON Lines files, a Plus-style .tar.gz of JSON files, saved API responses and a JSON
    array: identical tables."""
    works = real_works()
    assert len(works) > 120 and sum("member" not in w or w["member"] is None for w in works) > 2
    ref_path = tmp_path / "works.jsonl.gz"
    ref_path.write_bytes(gzip.compress("".join(json.dumps(w) + "\n" for w in works).encode()))
    ref = ingest([ref_path], current_year=YEAR, publish=False)

    chunks = _chunks(works, 40)
    readme = {"README.txt": b"Crossref public data file. See https://www.crossref.org/\n"}
    variants: dict[str, list[Path]] = {
        "tar of json.gz chunks": [
            _tar(
                tmp_path / "public-data.tar",
                {
                    **readme,
                    **{f"{i}.json.gz": _gz_json({"items": c}, 2) for i, c in enumerate(chunks)},
                },
            )
        ],
        "tar of json lines": [
            _tar(
                tmp_path / "public-data-2025.tar",
                {
                    f"part-{i}.jsonl": "".join(json.dumps(w) + "\n" for w in c).encode()
                    for i, c in enumerate(chunks)
                },
            )
        ],
        "plus tar.gz of json": [
            _tar(
                tmp_path / "all.json.tar.gz",
                {f"{i}.json": json.dumps({"items": c}).encode() for i, c in enumerate(chunks)},
                mode="w:gz",
            )
        ],
        "json array": [tmp_path / "works-array.json"],
    }
    (tmp_path / "works-array.json").write_text(json.dumps(works, indent=1), encoding="utf-8")
    pages = tmp_path / "pages"
    pages.mkdir()
    for i, c in enumerate(_chunks(works[:-5], 20)):
        body = {"status": "ok", "message-type": "work-list", "message-version": "1.0.0"}
        body["message"] = {"facets": {}, "total-results": len(works), "items": c, "query": {}}
        raw = json.dumps(body).encode()
        if i % 2:
            (pages / f"page-{i}.json.gz").write_bytes(gzip.compress(raw))
        else:
            (pages / f"page-{i}.json").write_bytes(raw)
    for i, w in enumerate(works[-5:]):
        body = {"status": "ok", "message-type": "work", "message-version": "1.0.0", "message": w}
        (pages / f"work-{i}.json").write_text(json.dumps(body, indent=2), encoding="utf-8")
    variants["saved api responses"] = [pages]

    for label, paths in variants.items():
        got = ingest(paths, current_year=YEAR, publish=False)
        assert (got.works, got.no_member, got.duplicates) == (ref.works, ref.no_member, 0), label
        assert got.error_count == 0, label
        for frame in ("coverage", "years", "members"):
            pd.testing.assert_frame_equal(
                getattr(got, frame), getattr(ref, frame), check_categorical=False, obj=label
            )
    tarred = ingest(variants["tar of json.gz chunks"], current_year=YEAR, publish=False)
    assert [i.kind for i in tarred.inputs] == ["tar"]
    assert tarred.inputs[0].skipped == [
        "April-2023-public-data-file-from-crossref/README.txt "
        "(text that is not JSON, starting 'Crossref public data file. See https://w')"
    ]
    assert tarred.files[0].name.endswith(
        "public-data.tar:April-2023-public-data-file-from-crossref/0.json.gz"
    )


def test_case_12a_public_data_tar() -> None:
    r = ingest([CASES / "12a-public-data-file-layout.tar"], current_year=YEAR, publish=False)
    assert r.works == 3 and r.error_count == 0 and r.no_member == 0
    assert [f.format for f in r.files] == ["items", "items"]
    members = r.members
    counts = {
        m: json.loads(c)["all"] for m, c in zip(members.member_id, members.counts_type, strict=True)
    }
    assert counts == {
        311: {"journal-article": 1},
        320: {"proceedings-article": 1},
        4443: {"journal-article": 1},
    }


def test_case_13_saved_api_page() -> None:
    r = ingest([CASES / "13-raw-api-works-page.json.gz"], current_year=YEAR, publish=False)
    assert r.files[0].format == "api-list"
    assert r.works == 20 and len(r.members) == 7 and r.no_member == 0


def test_case_14_huge_record(tmp_path: Path) -> None:
    path = CASES / "14-huge-record-5000-authors.jsonl.gz"
    r = ingest([path], current_year=YEAR, publish=False)
    assert r.works == 1 and r.error_count == 0 and list(r.members.member_id) == [4443]
    ctype = r.members.counts_type.map(json.loads)[0]["all"]
    (cell,) = [covered(r, 4443, t, "all") for t in ctype]
    assert cell["orcids"] == (1, 1) and cell["affiliations"] == (1, 1)
    assert cell["orcid-author-share"] == (500, 5000)
    # the same record with 20x the authors (48 MB) is too long for DuckDB's reader: it is
    # scored on the streaming path and the summary names file and line
    (work,) = _load(path)
    work["author"] = work["author"] * 20
    big = tmp_path / "huge.jsonl.gz"
    small = json.dumps({**work, "author": work["author"][:3], "DOI": "10.7717/other"})
    big.write_bytes(gzip.compress((small + "\n" + json.dumps(work) + "\n").encode(), 1))
    r = ingest([big], current_year=YEAR, publish=False)
    assert r.works == 2 and r.error_count == 0 and r.files[0].path_taken == "stream"
    mb = f"{len(json.dumps(work).encode()) / 1e6:,.1f} MB"
    assert r.files[0].notes == [
        f"line 2 is {mb}, longer than DuckDB's reader takes (16.8 MB): the file was read on "
        "the streaming path"
    ]
    assert f"note: {big}: line 2 is {mb}" in r.summary()
    cell = covered(r, 4443, next(iter(ctype)), "all")
    first3 = sum(bool(a.get("ORCID")) for a in work["author"][:3])
    assert cell["orcid-author-share"] == (500 * 20 + first3, 5000 * 20 + 3)


def test_case_07_works_without_member_and_15_types() -> None:
    r = ingest([CASES / "07-works-without-member.json"], current_year=YEAR, publish=False)
    assert r.files[0].format == "array"
    assert r.works == 1 and r.no_member == 2 and list(r.members.member_id) == [4443]
    r = ingest([CASES / "15-component-and-dataset-types.json"], current_year=YEAR, publish=False)
    assert r.works == 2
    comp = {p: covered(r, 340, "component", p) for p in ("all", "current", "backfile")}
    assert comp["all"]["references"][1] == 1
    assert comp["current"]["references"][1] == 0 and comp["backfile"]["references"][1] == 0
    dataset = covered(r, 17266, "dataset", "all")
    assert dataset["descriptions"] == (1, 1)


def test_nothing_to_score_publishes_nothing_and_exits_non_zero(tmp_path: Path) -> None:
    import subprocess
    import sys

    data = tmp_path / "data"
    first = ingest([sample(JSONL_2025)], current_year=YEAR, store=SnapshotStore(data))
    member = next((FIXTURES / "crossref" / "members").glob("member-*.json"))
    empty_tar = _tar(tmp_path / "empty.tar", {"README.txt": b"nothing here\n", "x.csv": b"a,b\n"})
    orphans = tmp_path / "orphans.json"  # the two real records of case 07 without a member
    orphans.write_text(
        json.dumps(
            [w for w in _load(CASES / "07-works-without-member.json") if not w.get("member")]
        ),
        encoding="utf-8",
    )
    cli = [sys.executable, "-m", "cache"]
    root = Path(__file__).resolve().parents[2]
    for path, found in (
        (member, "an API response envelope of message-type member"),
        (empty_tar, "a tar archive with 0 works file(s) of 2 member(s)"),
        (orphans, "a JSON array, 0 work(s) scored, 2 record(s) without a member"),
    ):
        with pytest.raises(bulk.NothingScored, match="nothing published") as err:
            ingest([path], current_year=YEAR, store=SnapshotStore(data))
        assert f"{path}: {found}" in str(err.value)
        run = subprocess.run(
            [*cli, "bulk", str(path), "--data-dir", str(data)],
            capture_output=True,
            text=True,
            cwd=root,
        )
        assert run.returncode != 0
        assert str(path) in run.stderr and found in run.stderr
        assert f"latest snapshot: {first.snapshot_id}" in run.stderr
    listing = subprocess.run(
        [*cli, "snapshots", "--data-dir", str(data)], capture_output=True, text=True, cwd=root
    )
    assert listing.returncode == 0 and first.snapshot_id in listing.stdout
    assert len(SnapshotStore(data).list()) == 1
    assert SnapshotStore(data).latest_id() == first.snapshot_id


def test_strict_fails_on_anything_not_scored(tmp_path: Path) -> None:
    member = next((FIXTURES / "crossref" / "members").glob("member-*.json"))
    with_readme = _tar(
        tmp_path / "a.tar",
        {"0.json.gz": (CASES / "13-raw-api-works-page.json.gz").read_bytes(), "README": b"hi\n"},
    )
    for path, match in (
        (CASES / "07-works-without-member.json", "2 record.s. without a member"),
        (member, "message-type member"),
        (with_readme, "member .*README .text that is not JSON"),
    ):
        with pytest.raises(BulkIngestError, match=match):
            ingest([sample(JSONL_2025), path], current_year=YEAR, publish=False, strict=True)
        r = ingest([sample(JSONL_2025), path], current_year=YEAR, publish=False)
        assert r.works >= 3  # without --strict the rest is scored


# --------------------------------------------------------------------------------------------
# The same DOI twice counts once: the latest copy wins
# --------------------------------------------------------------------------------------------
def _stamp(iso: str) -> dict:
    import datetime as dt

    t = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return {
        "date-parts": [[t.year, t.month, t.day]],
        "date-time": iso,
        "timestamp": int(t.timestamp() * 1000),
    }


def test_duplicates_keep_the_latest_copy(tmp_path: Path) -> None:
    """A data-file chunk plus a later update file (the way Crossref recommends keeping a copy
    current): each DOI counts once, the copy indexed last wins, DOIs compared without case."""
    page = _load(CASES / "13-raw-api-works-page.json.gz")["message"]["items"]
    licensed = [w for w in page if w.get("license")]  # (licensed, in fact)
    assert len(licensed) >= 2
    old = [dict(w) for w in page]  # the data file: the real records
    new = []  # the update file: two records re-indexed later, one lost its abstract
    for w in licensed[:2]:
        w2 = dict(w, DOI=w["DOI"].upper(), indexed=_stamp("2030-01-01T00:00:00Z"))
        new.append(w2)
    new[0].pop("license")
    data_file = tmp_path / "data.json.gz"
    data_file.write_bytes(_gz_json({"items": old}))
    update = tmp_path / "update.jsonl"
    update.write_text("".join(json.dumps(w) + "\n" for w in new), encoding="utf-8")

    def abstracts(r: bulk.BulkResult) -> int:  # works with a licence
        cov = r.coverage
        return int(cov[(cov.period == "all") & (cov.metric == "licenses")].covered.sum())

    alone = ingest([data_file], current_year=YEAR, publish=False)
    for order in ([data_file, update], [update, data_file]):  # order does not matter
        r = ingest(order, current_year=YEAR, publish=False)
        assert r.works == alone.works == 20 and r.duplicates == 2
        assert abstracts(r) == abstracts(alone) - 1
        assert r.summary().splitlines()[0].endswith(", 2 duplicate(s) dropped")
        assert r.meta["duplicates_dropped"] == 2
    # the same chunk given twice (another name) counts once
    copy = tmp_path / "copy-of-data.json.gz"
    copy.write_bytes(data_file.read_bytes())
    r = ingest([data_file, copy], current_year=YEAR, publish=False)
    assert r.works == 20 and r.duplicates == 20
    pd.testing.assert_frame_equal(r.coverage, alone.coverage)
    # the same `indexed`: the later `deposited` wins
    first = dict(licensed[0])
    a = dict(
        first, indexed=_stamp("2030-01-01T00:00:00Z"), deposited=_stamp("2029-01-01T00:00:00Z")
    )
    b = dict(a, deposited=_stamp("2028-01-01T00:00:00Z"))
    b.pop("license")
    tie = tmp_path / "tie.jsonl"
    tie.write_text(json.dumps(a) + "\n" + json.dumps(b) + "\n", encoding="utf-8")
    r = ingest([tie], current_year=YEAR, publish=False)
    assert r.works == 1 and r.duplicates == 1 and abstracts(r) == 1
    # `indexed` given only as date-time (no timestamp) is read too
    c = dict(b, indexed={"date-time": "2031-06-01T00:00:00Z"})
    tie.write_text(json.dumps(a) + "\n" + json.dumps(c) + "\n", encoding="utf-8")
    r = ingest([tie], current_year=YEAR, publish=False)
    assert r.works == 1 and abstracts(r) == 0


# --------------------------------------------------------------------------------------------
# Damaged data is reported first: file, byte offset, line reached (issue 13 §7)
# --------------------------------------------------------------------------------------------
def _first_failure(blob: bytes) -> tuple[int, int]:
    """Where Python's zlib, fed one byte at a time, rejects ``blob``: (byte offset, complete
    lines decompressed before it). Independent of the code under test."""
    import zlib

    dec = zlib.decompressobj(wbits=31)
    newlines = 0
    for i in range(len(blob)):
        try:
            newlines += dec.decompress(blob[i : i + 1]).count(b"\n")
        except zlib.error:
            return i, newlines
    raise AssertionError("no failure")


def _invalid_block(blob: bytes, at: int) -> bool:
    import zlib

    bad = blob[:at] + b"\xff" * 8 + blob[at + 8 :]
    try:
        zlib.decompress(bad, wbits=31)
    except zlib.error as exc:
        return "data check" not in str(exc)
    return False


def test_corrupt_gzip_is_reported_first_with_offset_and_line(tmp_path: Path) -> None:
    lines = [json.dumps(w) for w in bulkdata.iter_works(3000, seed=9, current_year=YEAR)]
    for k in (5, 50, 500):  # malformed lines before the damage
        lines[k] = '{"member": broken'
    clean = gzip.compress(("\n".join(lines) + "\n").encode(), 6)
    rng = random.Random(3)
    mid = len(clean) // 3
    # 200 random bytes: zlib decodes the garbage for a while (here: up to the CRC check at the
    # end), so many malformed lines come before the damage is detected; 8 x 0xff at `early`
    # (the first place from `mid` on where they make an invalid deflate block): detected
    # within a few bytes. Either way the damage comes first.
    early = next(at for at in range(mid, len(clean), 4999) if _invalid_block(clean, at))
    for at, garbage in (
        (mid, bytes(rng.randrange(256) for _ in range(200))),
        (early, b"\xff" * 8),
    ):
        blob = bytearray(clean)
        blob[at : at + len(garbage)] = garbage
        path = tmp_path / f"damaged-{at}.jsonl.gz"
        path.write_bytes(bytes(blob))
        offset, complete = _first_failure(bytes(blob))
        assert offset >= at

        r = ingest([path], current_year=YEAR, publish=False)
        first = r.errors[0]
        assert first.file == str(path) and first.line == complete + 1
        assert f"at byte {offset:,} of {len(blob):,}, after line {complete:,}" in first.message
        assert first.message.startswith("corrupt gzip data")
        assert r.files[0].damage == first.message
        summary = r.summary().splitlines()
        assert summary[1] == f"DAMAGED {path}: {first.message}"
        assert [e.line for e in r.errors[1:4]] == [6, 51, 501]
        assert r.works <= complete - 3
    assert offset < early + 1024  # the second one: found where it is

    # a plainly truncated file: the offset is the end of the data
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(clean[:mid])
    r = ingest([cut], current_year=YEAR, publish=False)
    assert f"truncated gzip stream at byte {mid:,} of {mid:,}" in r.errors[0].message
    assert r.summary().splitlines()[1].startswith(f"DAMAGED {cut}: truncated gzip stream")


def test_truncated_tar_scores_the_members_before_the_cut(tmp_path: Path) -> None:
    works = list(bulkdata.iter_works(90, seed=5, current_year=YEAR, members=3))
    chunks = {f"{i}.json.gz": _gz_json({"items": c}) for i, c in enumerate(_chunks(works, 30))}
    whole = _tar(tmp_path / "whole.tar", chunks)
    data = whole.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(data[: len(data) - 2048 - len(chunks["2.json.gz"]) // 2])
    r = ingest([cut], current_year=YEAR, publish=False)
    assert r.works == 60 and len(r.files) == 2
    (inp,) = r.inputs
    assert inp.damage.startswith("archive breaks off at byte")
    assert "in member April-2023-public-data-file-from-crossref/2.json.gz" in inp.damage
    assert r.summary().splitlines()[1].startswith(f"DAMAGED {cut}: archive breaks off")
    with pytest.raises(BulkIngestError, match="archive breaks off"):
        ingest([cut], current_year=YEAR, publish=False, strict=True)
