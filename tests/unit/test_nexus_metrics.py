"""Research-nexus metrics (issue 10 §1): relations, updates and retractions, reference DOIs,
grant IDs, institution ROR IDs and ORCID iDs by role, on real records.

The expected values below were written out by reading the records in
``tests/fixtures/crossref/nexus/nexus-sample-works.anonymised.json`` (34 real works chosen for
``update-to``, ``updated-by``, ``institution``, ``relation`` and editors) and the reference lists
of the other fixtures, not by running the code under test. Then every real fixture work (and a
set of edge shapes built from real entries) is measured three ways that must agree work by work:
the registry predicate or share, the bulk SQL (both DuckDB readers), and the metric's ``/works``
filter with the mock's semantics, also over loopback through the drill-down's own requests.
"""

from __future__ import annotations

import copy
import functools
import json

import pytest

import metrics
from cache.jobs.bulk import evaluate_records
from cache.jobs.drilldown import sample_metrics, with_filter
from metrics import funding, relations, updates
from mock_crossref.query import record_matches
from tests import FIXTURES
from tests.unit.test_licence_orcid_agreement import REAL, _load
from tests.works_api import works_client

NEXUS = _load(FIXTURES / "crossref" / "nexus" / "nexus-sample-works.anonymised.json")
BY_DOI = {w["DOI"]: w for w in NEXUS}
NEW_FAMILIES = ("relations", "updates")
NEW_KEYS = [m.key for f in NEW_FAMILIES for m in metrics.by_family()[f]] + [
    "reference-dois",
    "reference-dois-publisher-asserted",
    "grant-ids",
    "ror-institution",
    "orcid-author",
    "orcid-editor",
    "orcid-chair",
    "orcid-translator",
]
ABBR = {
    "REL": "relations",
    "SUPP": "relation-supplement",
    "PRE": "relation-preprint",
    "REV": "relation-review",
    "UPD": "updates",
    "NOTE": "update-notices",
    "OA": "orcid-author",
    "OE": "orcid-editor",
    "GR": "grant-ids",
    "RORI": "ror-institution",
}

# DOI -> (presence codes, (reference DOIs, references), (publisher-asserted DOIs, DOIs)).
# Read from the records: e.g. APS physrevb.98.104436 (2022) is a correction notice whose
# `update-to` names the article itself, with no `source`; PLOS ppat.1006930 and pgen.1011490
# carry a `new_version` that names the work in both `updated-by` and `update-to`; pbio.0050002
# was corrected (`updated-by` correction, source publisher) and lists that as a `correction`
# relation; 10.59350 (Front Matter) has `is-version-of`. No editor carries an ORCID iD, no
# institution a ROR ID, no award a grant DOI, and no work is retracted.
EXPECTED: dict[str, tuple[str, tuple[int, int], tuple[int, int]]] = {
    "10.1103/physrevb.98.104436": ("NOTE", (25, 26), (24, 25)),
    "10.1371/journal.pone.0129989": ("NOTE", (0, 0), (0, 0)),
    "10.1371/annotation/a034fe32-c48c-4531-9e81-4947d5ac49d9": ("NOTE", (0, 0), (0, 0)),
    "10.1371/journal.pone.0204770": ("NOTE", (1, 1), (0, 1)),
    "10.1371/journal.ppat.1006930": ("REL REV UPD NOTE OA", (97, 112), (0, 97)),
    "10.1371/journal.pone.0203153": ("NOTE", (1, 1), (0, 1)),
    "10.1371/journal.pone.0162213": ("NOTE", (0, 0), (0, 0)),
    "10.1371/journal.pone.0253360": ("NOTE", (1, 1), (0, 1)),
    "10.1371/journal.pgen.1011490": ("REL PRE UPD NOTE OA", (47, 48), (0, 47)),
    "10.1371/journal.pbio.0050002": ("REL UPD", (1, 72), (0, 1)),
    "10.2172/1084355": ("", (0, 0), (0, 0)),
    "10.1002/essoar.10504562.1": ("REL PRE OA", (0, 0), (0, 0)),
    "10.32614/cran.package.rfishbase": ("OA", (1, 1), (0, 1)),
    "10.32614/cran.package.shinybody": ("OA", (0, 0), (0, 0)),
    "10.59350/895qm-mnq80": ("REL OA", (0, 0), (0, 0)),
    "10.2172/10115553": ("", (0, 0), (0, 0)),
    "10.1002/essoar.10508594.1": ("OA", (0, 0), (0, 0)),
    "10.59350/7mtwq-q3661": ("OA", (0, 0), (0, 0)),
    "10.1016/j.ymben.2020.09.002": ("REL PRE OA", (63, 70), (0, 63)),
    "10.1002/2050-7038.12799/v2/decision1": ("REL REV", (0, 0), (0, 0)),
    "10.1111/2041-210x.13440": ("REL REV OA", (19, 30), (18, 19)),
    "10.1002/2050-7038.13253/v2/decision1": ("REL REV", (0, 0), (0, 0)),
    "10.1002/ece3.2314": ("REL PRE", (34, 36), (34, 34)),
    "10.1111/ele.13828": ("REL REV OA", (53, 60), (53, 53)),
    "10.1002/essoar.10503377.3": ("REL PRE OA", (0, 0), (0, 0)),
    "10.1111/2041-210x.13501": ("REL REV OA", (26, 40), (26, 26)),
    "10.1155/2022/7236317": ("OA", (20, 20), (20, 20)),
    "10.1155/2022/7086747": ("OA", (20, 24), (19, 20)),
    "10.1371/journal.pone.0261708": ("OA", (30, 36), (0, 30)),
    "10.1155/2021/1761446": ("OA", (18, 26), (16, 18)),
    "10.1371/journal.pone.0251364": ("OA", (14, 47), (0, 14)),
    "10.1371/journal.pbio.0040156": ("", (41, 44), (0, 41)),
    "10.1155/2022/2578744": ("OA", (16, 21), (14, 16)),
    "10.1155/2021/5531736": ("OA", (66, 70), (64, 66)),
}


@functools.cache
def _nexus_frame():
    return evaluate_records(NEXUS)


def test_the_nexus_fixture_is_the_34_works():
    assert len(NEXUS) == 34 and set(BY_DOI) == set(EXPECTED)


@pytest.mark.parametrize("doi", sorted(EXPECTED))
def test_nexus_works_expected_values(doi: str) -> None:
    work = BY_DOI[doi]
    codes, ref_dois, publisher = EXPECTED[doi]
    want = {ABBR[c] for c in codes.split()}
    got = {k for k in ABBR.values() if metrics.get(k).predicate(work)}
    assert got == want
    assert metrics.get("reference-dois").share(work) == ref_dois
    assert metrics.get("reference-dois-publisher-asserted").share(work) == publisher
    assert metrics.get("retraction-publisher-asserted").share(work) == (0, 0)
    frame, i = _nexus_frame(), NEXUS.index(work)
    for key in ABBR.values():
        assert bool(frame.at[i, key]) is (key in want), (key, "SQL")
    assert (int(frame.at[i, "reference-dois:num"]), int(frame.at[i, "reference-dois:den"])) == (
        ref_dois
    )


def test_nexus_totals_and_relation_breakdown():
    tally = metrics.tally(NEXUS, NEW_KEYS)
    assert tally["relations"] == (13, 34)
    assert tally["relation-preprint"] == (5, 34)
    assert tally["relation-review"] == (6, 34)
    assert tally["updates"] == (3, 34)
    assert tally["update-notices"] == (9, 34)
    assert tally["reference-dois"] == (594, 786)
    assert tally["reference-dois-publisher-asserted"] == (288, 594)
    assert tally["retraction-publisher-asserted"] == (0, 0)  # no retracted work: N/A
    breakdown = relations.relation_type_counts(NEXUS)
    assert breakdown == {
        "has-review": 4,
        "is-review-of": 2,
        "has-preprint": 3,
        "is-preprint-of": 2,
        "is-version-of": 1,
        "correction": 1,
    }


def test_update_shapes_of_real_records():
    # PLOS pone.0033693 (2026): corrected by a publisher-registered notice; not itself a notice
    plos = _load(
        FIXTURES
        / "crossref"
        / "works"
        / "work-10.1371_journal.pone.0033693-updated-by-correction.2026-06.json"
    )[0]
    assert plos["updated-by"][0]["source"] == "publisher"
    assert updates.has_update(plos) and not updates.is_update_notice(plos)
    assert not updates.is_retracted(plos)
    # the 2022 APS notice has no `source`: read as the publisher's
    aps = BY_DOI["10.1103/physrevb.98.104436"]
    assert "source" not in aps["update-to"][0]
    assert updates.update_source(aps["update-to"][0]) == "publisher"


def _retracted(plos: dict, *entries: dict) -> dict:
    work = copy.deepcopy(plos)
    work["updated-by"] = [dict(plos["updated-by"][0], **e) for e in entries]
    return work


def _edge_works() -> list[dict]:
    """Real entries with the values a retraction, a grant link or an institution ROR takes."""
    plos = _load(
        FIXTURES
        / "crossref"
        / "works"
        / "work-10.1371_journal.pone.0033693-updated-by-correction.2026-06.json"
    )[0]
    rw = {"type": "retraction", "label": "Retraction", "source": "retraction-watch"}
    pub = {"type": "retraction", "label": "Retraction", "source": "publisher"}
    works = [
        _retracted(plos, rw | {"record-id": 48213}),  # known only from Retraction Watch
        _retracted(plos, pub),
        _retracted(plos, pub, rw | {"record-id": 1}),  # both: the publisher registered it
        _retracted(plos, {"type": "retraction", "source": None}),  # pre-2025: no source
        _retracted(plos, {"type": "Withdrawal", "source": " Publisher "}),
        _retracted(plos, {"type": "partial_retraction", "source": "publisher"}),
        _retracted(plos, {"type": "expression_of_concern", "source": "retraction-watch"}),
        {"updated-by": {"type": "retraction", "source": "retraction-watch"}},  # lone object
        {"updated-by": [], "update-to": [None]},
        {"updated-by": "x", "update-to": {}},
    ]
    esm = _load(
        FIXTURES
        / "crossref"
        / "works"
        / "work-10.1136_esmoopen-2020-000776-clinical-trial-numbers.2026-06.json"
    )[0]
    for award in (
        ["https://doi.org/10.35802/212220"],
        ["10.35802/212220 "],
        ["doi:10.13039/100000001"],
        "10.35802/212220",
        ["JP18lk0201037", "DE-SC0013599"],
        ["10.35802"],
        ["https://doi.org/10.35802/212 220"],
        ["١٠.35802/212220"],
    ):
        work = copy.deepcopy(esm)
        work["funder"][0]["award"] = award
        work["funder"][0]["award-info"] = [{"award-number": award}]
        works.append(work)
    work = copy.deepcopy(esm)
    work["funder"][0]["award-info"] = [{"award-number": ["A1"], "DOI": "10.35802/1"}]
    works.append(work)
    report = BY_DOI["10.2172/1084355"]
    ror = {"id": "https://ror.org/05h992307", "id-type": "ROR", "asserted-by": "publisher"}
    for ids in ([ror], [dict(ror, **{"id-type": "ISNI"})], ror, [dict(ror, id=" ")]):
        work = copy.deepcopy(report)
        work["institution"][0]["id"] = ids
        works.append(work)
    ppat = BY_DOI["10.1371/journal.ppat.1006930"]
    for relation in (
        {
            "is-supplemented-by": [
                {"id-type": "doi", "id": "10.5281/zenodo.1", "asserted-by": "subject"}
            ]
        },
        {"Has-Preprint ": [{"id-type": "doi", "id": "10.1101/1"}]},
        {"has-preprint": []},
        {"has-preprint": [{"id": ""}], "is-review-of": {"id": "10.1/x"}},
        {"": [{"id": "10.1/x"}]},
        [],
        {},
    ):
        work = copy.deepcopy(ppat)
        work["relation"] = relation
        works.append(work)
    editor = {"given": "A", "family": "B", "ORCID": "https://orcid.org/0000-0002-1825-0097"}
    for role in ("editor", "chair", "translator"):
        works.append({"author": [{"given": "C", "family": "D"}], role: [editor]})
    return works


EDGES = _edge_works()
WORKS = [w for _, w in REAL] + NEXUS + EDGES


def test_retraction_decisions():
    share = metrics.get("retraction-publisher-asserted").share
    assert [share(w) for w in EDGES[:10]] == [
        (0, 1),  # Retraction Watch only
        (1, 1),
        (1, 1),
        (1, 1),  # no source (pre-2025): the publisher's
        (1, 1),  # a withdrawal retracts; type and source are read case- and space-blind
        (0, 0),  # a partial retraction leaves the work standing
        (0, 0),
        (0, 1),  # a lone object reads as a one-element list
        (0, 0),
        (0, 0),
    ]
    assert [updates.has_update(w) for w in EDGES[7:10]] == [True, False, False]
    assert [updates.is_update_notice(w) for w in EDGES[7:10]] == [False, True, True]


def test_grant_and_institution_decisions():
    grant = [funding.has_grant_id(w) for w in EDGES[10:19]]
    assert grant == [True, True, True, True, False, False, False, False, True]
    ror = [metrics.get("ror-institution").predicate(w) for w in EDGES[19:23]]
    assert ror == [True, False, True, False]


@pytest.mark.parametrize("reader", ["from_json", "read_ndjson"])
def test_bulk_sql_equals_predicates_on_every_real_work_and_edge(reader: str) -> None:
    frame = evaluate_records(WORKS, reader=reader)
    assert len(frame) == len(WORKS)
    checked = dict.fromkeys(NEW_KEYS, 0)
    for key in NEW_KEYS:
        metric = metrics.get(key)
        for i, work in enumerate(WORKS):
            if metric.share is not None:
                want = tuple(metric.share(work))
                got = (int(frame.at[i, f"{key}:num"]), int(frame.at[i, f"{key}:den"]))
                checked[key] += want[0] > 0
            else:
                want, got = bool(metric.predicate(work)), bool(frame.at[i, key])
                checked[key] += want
            assert got == want, f"{key} on {json.dumps(work)[:300]}: SQL {got}, Python {want}"
    # every metric was true (or had a numerator) somewhere: no agreement is vacuous
    assert all(checked.values()), [k for k, n in checked.items() if not n]


FILTERED = [metrics.get(k) for k in NEW_KEYS if metrics.get(k).measurable_by_filter]


def test_the_filters_are_crossrefs():
    assert {m.key: m.gap_filter(True) for m in FILTERED} == {
        "relations": "has-relation:true",
        "relation-supplement": "relation.type:is-supplemented-by",
        "relation-preprint": "relation.type:has-preprint,relation.type:is-preprint-of",
        "relation-review": "relation.type:has-review,relation.type:is-review-of",
        "updates": "has-update:true",
        "update-notices": "is-update:true",
    }
    # only `relations` lists works without the element (a fix-it list); the rest count
    assert [m.key for m in FILTERED if m.gap_filter(False)] == ["relations"]
    sampled = {m.key for m in sample_metrics()}
    assert {k for k in NEW_KEYS if metrics.get(k).estimated_by_sample} <= sampled
    for key in NEW_KEYS:  # a sample-only metric says why no filter counts it
        metric = metrics.get(key)
        assert bool(metric.sample_only_reason) is metric.estimated_by_sample, key


@pytest.mark.parametrize("metric", FILTERED, ids=lambda m: m.key)
def test_filters_select_exactly_the_works_the_predicate_counts(metric) -> None:
    for work in WORKS:
        want = bool(metric.predicate(work))
        assert record_matches(work, metric.gap_filter(True)) is want, (metric.key, work.get("DOI"))
        negated = metric.gap_filter(False)
        if negated is not None:
            assert record_matches(work, negated) is not want


def test_drilldown_filter_counts_over_loopback_equal_predicates(tmp_path) -> None:
    with works_client(WORKS, tmp_path) as client:
        for metric in FILTERED:
            want = sum(bool(metric.predicate(w)) for w in WORKS)
            assert want > 0, metric.key
            assert client.count("/works", with_filter(metric)) == want, metric.key
        # a work with a preprint in both directions counts once in the one OR request
        both = client.count("/works", {"relation.type": "has-preprint"}) + client.count(
            "/works", {"relation.type": "is-preprint-of"}
        )
        assert both == client.count("/works", with_filter(metrics.get("relation-preprint")))


def test_registry_texts_for_the_ui():
    for key in NEW_KEYS:
        m = metrics.get(key)
        assert m.label and m.description and m.why, key
        assert m.improve_url.startswith("https://www.crossref.org/documentation/"), key
        assert m.default_weight == 0.0, key  # the composite score is unchanged
    assert metrics.get("retraction-publisher-asserted").kind == "depth"
    assert "not applicable" in metrics.get("retraction-publisher-asserted").description
