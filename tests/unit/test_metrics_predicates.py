"""Work-level predicates against real Crossref records, with answers written out by hand.

Every expected set below was filled in by reading the record (its `reference-count`/`reference`,
`abstract`, contributors' `ORCID`/`authenticated-orcid`/`affiliation`, `funder` entries,
`update-policy`, `link[].intended-application`, `license[]` URL/version/delay/start, `description`
and `clinical-trial-number`), not by running the code under test. Cross-checks: the per-file
field counts in tests/fixtures/crossref/SOURCES.md agree with these sets.
"""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import pytest

import metrics
from metrics.base import issued_year, period_of
from tests import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(FIXTURES / "crossref")

# Short names used in the expectation table.
ABBR = {
    "REF": "references",
    "ABS": "abstracts",
    "ORC": "orcids",
    "AUTH": "orcid-authenticated",
    "AFF": "affiliations",
    "ROR": "ror-ids",
    "RORA": "ror-affiliation",
    "RORF": "ror-funder",
    "FUN": "funders",
    "FDOI": "funder-doi",
    "FID": "funder-identified",
    "FPUB": "funder-publisher-asserted",
    "FCR": "funder-crossref-asserted",
    "AWD": "award-numbers",
    "UPD": "update-policies",
    "SIM": "similarity-checking",
    "TDM": "resource-links",
    "LIC": "licenses",
    "VOR": "license-vor",
    "AM": "license-am",
    "LTDM": "license-tdm",
    "CC": "license-cc",
    "OVI": "license-open-vor-immediate",
    "OAM": "license-open-am",
    "DESC": "descriptions",
    "CTN": "clinical-trial-numbers",
}

# every PeerJ item below except peerj.1246 has these: one CC BY (or CC0) licence deposited
# without a version ("unspecified"), delay 0, so it applies to the VoR, the AM and TDM
PEERJ = "REF ABS SIM TDM LIC VOR AM LTDM CC OVI OAM"

# DOI -> (presence metrics that are true, (authors with ORCID, authors))
EXPECTED: dict[str, tuple[str, tuple[int, int]]] = {
    # works/work-*.json (single records)
    "10.1016/j.neurobiolaging.2010.03.024": (
        "REF FUN FDOI FID FCR AWD UPD TDM LIC LTDM",
        (0, 11),
    ),  # 2nd funder: name + award only
    "10.1136/esmoopen-2020-000776": (
        "REF ORC FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM CC CTN",
        (2, 13),
    ),  # vor CC BY-NC licence has delay 309: not open from publication
    "10.1136/jclinpath-2020-206745": (
        "REF ABS ORC AFF FUN FDOI FID FCR AWD UPD SIM LIC CC VOR AM LTDM OVI OAM",
        (1, 15),
    ),  # CC licence is 'unspecified', not vor
    "10.1364/oe.572415": (
        "REF ABS ORC AUTH AFF ROR RORA FUN FDOI FID FPUB AWD UPD SIM LIC VOR LTDM CC OVI",
        (5, 6),
    ),  # affiliations with ROR ids and no name; two name-only funders with awards
    "10.1371/journal.pone.0033693": (
        "REF UPD SIM LIC CC VOR AM LTDM OVI OAM",
        (0, 6),
    ),  # editor present
    # works/works-sample10
    "10.1016/0160-4120(81)90073-8": ("REF TDM LIC LTDM", (0, 3)),
    "10.2139/ssrn.5250900": ("REF", (0, 3)),
    "10.1007/978-3-031-33148-0_45": ("REF UPD SIM LIC VOR LTDM", (0, 3)),
    "10.1136/bmj.298.6673.604-c": ("SIM TDM LIC LTDM", (0, 1)),  # reference-count 0
    "10.21831/imaji.v4i1.6702": ("ABS SIM TDM", (0, 1)),
    "10.1007/978-3-531-91346-9_6": ("REF SIM", (0, 1)),  # issued [[null]]
    "10.1016/s1532-0464(03)00128-x": ("TDM LIC VOR LTDM", (0, 0)),  # vor delay 3638
    "10.1246/bcsj.36.278": ("REF ABS AFF SIM LIC VOR", (0, 3)),  # 'syndication' link
    "10.4028/p-x86r37": ("REF ABS AFF SIM LIC VOR LTDM", (0, 1)),
    "10.1579/0044-7447-38.4.186": ("", (0, 5)),
    # works/works-rows2-polite
    "10.1007/978-3-658-17671-6_18-1": ("REF UPD SIM LIC LTDM", (0, 2)),
    "10.1007/978-3-031-23161-2_300726": ("UPD SIM LIC LTDM VOR", (0, 0)),
    # works/works-from-index-date pages 1 and 2
    "10.55016/ojs/cdm.v19i3.72392": ("ABS SIM TDM LIC CC VOR AM LTDM OVI OAM", (0, 7)),
    "10.4028/www.scientific.net/kem.417-418.189": (
        "REF ABS AFF SIM LIC VOR LTDM",
        (0, 5),
    ),
    "10.4028/www.scientific.net/amm.5-6.493": ("REF ABS AFF SIM LIC VOR LTDM", (0, 3)),
    "10.14746/biorc.2022.68.3": (
        "REF ABS ORC SIM TDM LIC CC VOR AM LTDM OVI OAM",
        (4, 4),
    ),  # http:// ORCIDs
    # works/member-98-works cursor pages 1 and 2
    "10.4061/2010/505436": ("REF ABS AFF SIM TDM LIC CC VOR AM LTDM OVI OAM", (0, 6)),
    "10.1155/2016/1353212": (
        "REF ABS AFF FUN SIM TDM LIC CC VOR AM LTDM OVI OAM",
        (0, 1),
    ),  # name-only funder
    "10.1111/j.1600-0404.1997.tb00218.x": ("REF SIM TDM LIC LTDM", (0, 0)),
    "10.1111/j.1755-0238.1997.tb00123.x": ("REF SIM TDM LIC LTDM", (0, 5)),
    "10.1002/humu.2018.39.issue-6": ("SIM", (0, 0)),
    "10.1111/dth.13147": ("REF AFF UPD SIM TDM LIC VOR LTDM", (0, 4)),
    "10.1111/j.1439-0469.1978.tb00684.x": ("REF SIM TDM LIC LTDM", (0, 2)),
    "10.1111/jfpp.12874": ("REF AFF FUN SIM TDM LIC VOR LTDM", (0, 4)),
    "10.1046/j.1365-2710.2002.00408.x": ("REF SIM TDM LIC LTDM", (0, 1)),
    "10.1046/j.1399543x.2000.010407.x": ("REF SIM TDM LIC VOR LTDM", (0, 1)),  # delay 2869
    # works/funder-100000001-works-has-assertion (NSF)
    "10.1112/jlms.12634": (
        "REF AFF FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR AM LTDM CC OVI OAM",
        (0, 1),
    ),
    "10.1111/sapm.12373": (
        "REF ABS AFF FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR AM",
        (0, 4),
    ),
    "10.1155/s0161171203107107": (
        "ABS FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR CC OVI",
        (0, 3),
    ),
    "10.1080/24694452.2020.1856640": ("REF ORC AFF FUN FDOI FID FCR AWD UPD SIM", (2, 2)),
    "10.1007/s41109-024-00626-2": (
        "REF ABS FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM CC OVI",
        (0, 3),
    ),
    "10.1107/s2059798318011506": (
        "REF ABS ORC AUTH FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM CC",
        (1, 12),
    ),  # CC vor licence starts a day after publication: not immediate
    "10.1007/s40883-018-0085-8": (
        "REF FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM",
        (0, 7),
    ),
    "10.1107/s2059798321003740": (
        "REF ABS ORC AUTH FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM CC OVI",
        (2, 2),
    ),
    "10.1080/24725579.2017.1418766": ("REF AFF FUN FDOI FID FPUB AWD UPD SIM", (0, 5)),
    "10.1007/s40574-016-0055-3": (
        "REF FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM",
        (0, 1),
    ),
    "10.1080/1046560x.2022.2136052": ("REF ORC AFF FUN FDOI FID FPUB UPD SIM", (1, 6)),
    "10.1039/d0ce00680g": ("REF ABS ORC AFF FUN FDOI FID FCR AWD UPD SIM LIC AM", (3, 5)),
    "10.1080/09500340.2020.1775321": ("REF AFF FUN FDOI FID FPUB FCR AWD UPD SIM", (0, 1)),
    "10.1016/j.jspi.2014.08.002": ("REF FUN FDOI FID FPUB AWD UPD TDM LIC LTDM", (0, 2)),
    "10.1016/j.smhl.2024.100463": (
        "REF ORC FUN FDOI FID FPUB AWD UPD TDM LIC LTDM",
        (1, 5),
    ),  # 'stm-asf' licences are none of vor/am/tdm
    "10.1107/s2414314617004448": (
        "REF ABS FUN FDOI FID FPUB FCR AWD UPD SIM TDM LIC VOR LTDM CC OVI",
        (0, 4),
    ),
    "10.1007/s40879-019-00322-x": (
        "REF FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM",
        (0, 2),
    ),
    "10.1007/s40879-021-00464-x": (
        "REF FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM",
        (0, 4),
    ),
    "10.1007/s40993-021-00251-3": (
        "REF ORC FUN FDOI FID FPUB AWD UPD SIM TDM LIC VOR LTDM",
        (1, 2),
    ),
    "10.1039/c9mh01115c": ("REF ABS ORC AFF FUN FDOI FID FCR AWD UPD SIM LIC AM", (1, 3)),
    # works/journal-2167-8359-peerj-works (all licences 'unspecified')
    "10.7717/peerj.17172": (f"{PEERJ} AFF FUN AWD", (0, 3)),
    "10.7717/peerj.6747": (f"{PEERJ} AFF", (0, 2)),
    "10.7717/peerj.13522": (f"{PEERJ} AFF FUN AWD", (0, 12)),
    "10.7717/peerj.15835": (f"{PEERJ} AFF ORC AUTH FUN FDOI FID FCR AWD", (2, 2)),
    "10.7717/peerj.15754": (f"{PEERJ} AFF ORC AUTH FUN AWD", (1, 3)),  # CC0 licence
    "10.7717/peerj.13492": (f"{PEERJ} AFF FUN FDOI FID FCR AWD", (0, 6)),
    "10.7717/peerj.1246": ("REF AFF SIM", (0, 3)),
    "10.7717/peerj.7847": (f"{PEERJ} AFF FUN FDOI FID FCR AWD", (0, 9)),
    "10.7717/peerj.15241": (f"{PEERJ} AFF FUN AWD", (0, 5)),
    "10.7717/peerj.14837": (f"{PEERJ} AFF FUN FDOI FID FCR AWD", (0, 10)),
    "10.7717/peerj.1260": (f"{PEERJ} AFF", (0, 6)),
    "10.7717/peerj.2113": (f"{PEERJ} AFF FUN FDOI FID FCR AWD", (0, 4)),
    "10.7717/peerj.19686": (f"{PEERJ} AFF FUN AWD", (0, 4)),
    "10.7717/peerj.17296": (f"{PEERJ} AFF FUN FDOI FID FCR AWD", (0, 8)),
    "10.7717/peerj.19731": (f"{PEERJ} FUN FDOI FID FCR AWD", (0, 5)),
    "10.7717/peerj.11816": (f"{PEERJ} AFF FUN FDOI FID FCR AWD", (0, 7)),
    "10.7717/peerj.7347": (f"{PEERJ} AFF", (0, 5)),
    "10.7717/peerj.10734": (f"{PEERJ} AFF ORC AUTH", (5, 6)),
    "10.7717/peerj.17762": (f"{PEERJ} ORC AUTH", (1, 3)),
    "10.7717/peerj.16864": (f"{PEERJ} AFF ORC AUTH", (3, 9)),
    # works/journal-1932-6203-plosone (2022: funders have DOI + doi-asserted-by, no id[], and
    # `award` without `award-info`; every item has an editor without ORCID)
    "10.1371/journal.pone.0094317": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 6)),
    "10.1371/journal.pone.0144415": ("REF UPD SIM LIC CC VOR OVI", (0, 6)),
    "10.1371/journal.pone.0211070": (
        "REF ORC AUTH FUN FDOI FID FPUB AWD UPD SIM LIC CC VOR OVI",
        (1, 8),
    ),
    "10.1371/journal.pone.0150105": ("REF UPD SIM LIC CC VOR OVI", (0, 10)),
    "10.1371/journal.pone.0171550": ("REF FUN AWD UPD SIM LIC CC VOR OVI", (0, 8)),
    "10.1371/journal.pone.0117626": ("REF UPD SIM LIC CC VOR OVI", (0, 8)),
    "10.1371/journal.pone.0168934": ("REF UPD SIM LIC CC VOR OVI", (0, 3)),
    "10.1371/journal.pone.0100209": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 6)),
    "10.1371/journal.pone.0068365": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 5)),
    "10.1371/journal.pone.0145569": ("UPD", (0, 7)),
    "10.1371/journal.pone.0124730": ("UPD LIC CC VOR AM LTDM OVI OAM", (0, 0)),  # PLOS ONE Staff
    "10.1371/journal.pone.0196188": (
        "REF ORC AUTH FUN FDOI FID FCR AWD UPD SIM LIC CC VOR OVI",
        (1, 11),
    ),
    "10.1371/journal.pone.0043006": ("UPD LIC CC VOR AM LTDM OVI OAM", (0, 3)),
    "10.1371/journal.pone.0259629": (
        "REF ABS ORC AUTH FUN FDOI FID FPUB AWD UPD SIM LIC CC VOR OVI",
        (1, 5),
    ),
    "10.1371/journal.pone.0078005": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 5)),
    "10.1371/journal.pone.0155859": (
        "REF FUN FDOI FID FPUB AWD UPD SIM LIC CC VOR OVI",
        (0, 3),
    ),
    "10.1371/journal.pone.0071649": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 7)),
    "10.1371/journal.pone.0219112": (
        "REF ORC AUTH FUN FDOI FID FPUB AWD UPD SIM LIC CC VOR OVI",
        (1, 6),
    ),
    "10.1371/journal.pone.0000542": (
        "REF UPD SIM LIC CC CTN VOR AM LTDM OVI OAM",
        (0, 12),
    ),  # ISRCTN
    "10.1371/journal.pone.0022990": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 4)),
    "10.1371/journal.pone.0013729": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 9)),  # https CC0
    "10.1371/journal.pone.0115930": ("UPD LIC CC VOR AM LTDM OVI OAM", (0, 0)),  # PLOS ONE Staff
    "10.1371/journal.pone.0031050": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 11)),
    "10.1371/journal.pone.0071862": ("REF UPD SIM LIC CC VOR OVI", (0, 6)),
    "10.1371/journal.pone.0173707": (
        "REF FUN FDOI FID FPUB AWD UPD SIM LIC CC VOR OVI",
        (0, 6),
    ),
    "10.1371/journal.pone.0011958": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 3)),
    "10.1371/journal.pone.0242876": (
        "REF ABS ORC AUTH FUN FDOI FID FPUB AWD UPD SIM LIC CC VOR OVI",
        (1, 7),
    ),
    "10.1371/journal.pone.0029285": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 2)),
    "10.1371/journal.pone.0057906": ("REF UPD SIM LIC CC VOR AM LTDM OVI OAM", (0, 3)),
    "10.1371/journal.pone.0249535": (
        "REF ABS ORC AUTH UPD SIM LIC CC VOR OVI",
        (2, 3),
    ),
    # public-data/ (public data file format; 2022-era records use http:// ORCIDs)
    "10.1007/s10270-017-0613-x": ("REF FUN UPD SIM TDM LIC LTDM", (0, 1)),
    "10.1371/journal.pone.0182346": (
        "REF ORC AUTH FUN FDOI FID FPUB AWD UPD SIM LIC VOR CC OVI",
        (1, 7),
    ),
    "10.1002/mdc3.13466": ("AFF SIM TDM LIC VOR LTDM", (0, 22)),  # + a study group (no person)
    "10.1007/978-3-031-74535-5": ("SIM TDM LIC LTDM VOR", (0, 0)),  # editors only
    "10.1007/978-3-031-74821-9_13": ("UPD SIM LIC LTDM VOR", (0, 1)),
    "10.1001/jama.2025.0548": ("SIM", (0, 1)),
    "10.1007/s10914-022-09607-7": (
        "REF ORC FUN FDOI FID FPUB AWD UPD SIM TDM LIC LTDM VOR",
        (1, 12),
    ),
    "10.1145/3196398.3196476": ("REF AFF FUN FDOI FID FPUB AWD SIM LIC VOR", (0, 1)),
    "10.35609/gcbssproceeding.2022.1(2)": ("ABS ORC AFF UPD", (2, 2)),
    "10.35609/gcbssproceeding.2022.1(9)": ("ABS ORC AFF UPD", (3, 3)),
    "10.1007/s00417-022-05677-8": ("ORC UPD SIM TDM LIC LTDM VOR", (1, 4)),
    "10.1021/jo020170p": ("REF AFF SIM", (0, 4)),
    "10.1093/biostatistics/1.2.203": ("SIM", (0, 1)),
    "10.1108/01443589510076070": ("REF ABS SIM TDM LIC LTDM", (0, 1)),
    "10.1108/02689239610117807": ("REF ABS SIM TDM LIC LTDM", (0, 2)),
}

# works/works-select-doi-title: 20 items carrying only DOI and title: every predicate is false.
SELECT_ONLY_FILE = "works-select-doi-title.2026-06.json"


def _load(path: Path) -> list[dict]:
    if path.name.endswith(".jsonl.gz"):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            data = json.load(fh)
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
    message = data.get("message", data)
    if "items" in message:
        return list(message["items"])
    return [message] if "DOI" in message else []


def _all_records() -> dict[str, list[tuple[str, dict]]]:
    files = sorted((FIXTURES / "works").glob("*.json")) + sorted(
        (FIXTURES / "public-data").glob("*.gz")
    )
    return {f.name: [(w.get("DOI", ""), w) for w in _load(f)] for f in files}


RECORDS = _all_records()
WORKS = {
    doi: work for name, items in RECORDS.items() if name != SELECT_ONLY_FILE for doi, work in items
}


def _expected_set(code: str) -> set[str]:
    return {ABBR[token] for token in code.split()}


# the metrics this table covers (the research-nexus metrics of issue 10 have their own table
# in tests/unit/test_nexus_metrics.py, over the same records)
PRESENCE = [
    m for m in metrics.REGISTRY.values() if m.predicate is not None and m.key in ABBR.values()
]


def test_every_fixture_record_has_a_written_expectation():
    dois = [doi for name, items in RECORDS.items() if name != SELECT_ONLY_FILE for doi, _ in items]
    assert len(dois) == len(set(dois)), "a DOI appears in two fixture files"
    assert set(dois) == set(EXPECTED)
    assert len(EXPECTED) == 116  # 5 + 10 + 2 + 4 + 10 + 20 + 20 + 30 + 15
    assert len(RECORDS[SELECT_ONLY_FILE]) == 20


@pytest.mark.parametrize("doi", sorted(EXPECTED))
def test_predicates_on_real_records(doi):
    work = WORKS[doi]
    code, share = EXPECTED[doi]
    got = {m.key for m in PRESENCE if m.predicate(work)}
    assert got == _expected_set(code)
    assert metrics.get("orcid-author-share").share(work) == share


def test_select_doi_title_items_have_nothing():
    for _doi, work in RECORDS[SELECT_ONLY_FILE]:
        assert set(work) == {"DOI", "title"}
        assert not any(m.predicate(work) for m in PRESENCE)
        assert metrics.get("orcid-author-share").share(work) == (0, 0)
        assert issued_year(work) is None


def test_evaluate_and_tally_match_the_table():
    work = WORKS["10.1364/oe.572415"]
    result = metrics.evaluate(work)
    assert set(result) == set(metrics.PRESENCE_KEYS)
    got = {k for k, v in result.items() if v and k in ABBR.values()}
    assert got == _expected_set(EXPECTED["10.1364/oe.572415"][0])
    # PeerJ page (SOURCES.md: n=20 lic=19 orcid=5 auth-orcid=5 aff=18 funder=13 funder-id=8
    # abstract=19 refs=20 tdm-link=19)
    peerj = [w for _, w in RECORDS["journal-2167-8359-peerj-works.2026-06.json"]]
    counts = metrics.tally(peerj)
    assert counts["licenses"] == (19, 20)
    assert counts["orcids"] == (5, 20)
    assert counts["orcid-authenticated"] == (5, 20)
    assert counts["affiliations"] == (18, 20)
    assert counts["funders"] == (13, 20)
    assert counts["funder-doi"] == (8, 20)
    assert counts["abstracts"] == (19, 20)
    assert counts["references"] == (20, 20)
    assert counts["resource-links"] == (19, 20)
    # authors: 3+2+12+2+3+6+3+9+5+10+6+4+4+8+5+7+5+6+3+9 = 112, with ORCID 2+1+5+1+3 = 12
    assert counts["orcid-author-share"] == (12, 112)


# --- issued year and periods -------------------------------------------------------------------

ISSUED = {
    "10.1007/978-3-531-91346-9_6": None,  # issued [[null]] and no `published`
    "10.1364/oe.572415": 2025,
    "10.1016/j.neurobiolaging.2010.03.024": 2012,
    "10.1246/bcsj.36.278": 1963,
    "10.1111/j.1439-0469.1978.tb00684.x": 2009,  # the DOI says 1978; issued says 2009
    "10.14746/biorc.2022.68.3": 2023,  # the DOI says 2022; issued says 2023
    "10.7717/peerj.19731": 2025,
    "10.1007/978-3-031-74535-5": 2024,  # 2025 public data file (JSON Lines)
}


@pytest.mark.parametrize(("doi", "year"), sorted(ISSUED.items()))
def test_issued_year_on_real_records(doi, year):
    assert issued_year(WORKS[doi]) == year


def test_issued_year_fallbacks_and_drift():
    assert (
        issued_year({"issued": {"date-parts": [[None]]}, "published": {"date-parts": [[2019]]}})
        == 2019
    )
    assert issued_year({"published": {"date-parts": [[2001, 5]]}}) == 2001
    assert issued_year({"issued": {"date-parts": [["2018", "3"]]}}) == 2018
    assert issued_year({"issued": {"date-parts": []}}) is None
    assert issued_year({"issued": None, "published": None}) is None
    assert issued_year({"issued": {"date-parts": [[]]}}) is None
    # only issued, then published: created/published-print are not used
    assert issued_year({"created": {"date-parts": [[2020, 1, 1]]}}) is None
    assert issued_year({"published-print": {"date-parts": [[2020]]}}) is None
    assert issued_year(None) is None


def test_period_of():
    assert period_of(2026, 2026) == "current"
    assert period_of(2024, 2026) == "current"
    assert period_of(2023, 2026) == "backfile"
    assert period_of(1963, 2026) == "backfile"
    assert period_of(2027, 2026) == "current"  # future-dated works count as current
    assert period_of(None, 2026) is None
    assert period_of(2023, 2025) == "current"


# --- shape drift ---------------------------------------------------------------------------------


def _true(work: dict) -> set[str]:
    return {m.key for m in PRESENCE if m.predicate(work)}


def test_missing_keys_none_values_and_blank_strings():
    assert _true({}) == set()
    fields = [
        "reference-count",
        "reference",
        "abstract",
        "author",
        "editor",
        "chair",
        "translator",
        "funder",
        "update-policy",
        "link",
        "license",
        "description",
        "clinical-trial-number",
    ]
    nones = dict.fromkeys(fields)
    assert _true(nones) == set()
    blanks = {
        "reference-count": 0,
        "reference": [],
        "abstract": "  \n ",
        "author": [{"ORCID": "", "authenticated-orcid": True, "affiliation": [{"name": " "}]}],
        "funder": [],
        "update-policy": "",
        "link": [{"URL": "https://x.org", "intended-application": "syndication"}],
        "license": [{"URL": "", "content-version": "", "delay-in-days": None, "start": {}}],
        "description": ["", "  "],
        "clinical-trial-number": [],
    }
    assert _true(blanks) == set()
    assert metrics.get("orcid-author-share").share(blanks) == (0, 1)
    # junk entries inside lists are skipped, not fatal
    junk = {"author": [None, "x", 3], "funder": "NSF", "license": [None], "link": "x"}
    assert _true(junk) == set()
    assert metrics.get("orcid-author-share").share(junk) == (0, 0)
    # a non-dict work never raises through Metric.evaluate / tally
    assert metrics.get("abstracts").evaluate(None) is False
    assert metrics.tally([None], ["abstracts"]) == {"abstracts": (0, 1)}


def test_orcid_forms_and_roles():
    http = {"author": [{"ORCID": "http://orcid.org/0000-0002-2521-9602"}]}
    https = {"author": [{"ORCID": "https://orcid.org/0000-0002-2521-9602"}]}
    assert _true(http) == _true(https) == {"orcids"}
    # chairs and translators are contributors; only authors count for the depth share
    chair = {
        "chair": [{"ORCID": "https://orcid.org/0000-0001-0000-0001", "authenticated-orcid": True}]
    }
    assert _true(chair) == {"orcids", "orcid-authenticated"}
    assert metrics.get("orcid-author-share").share(chair) == (0, 0)
    translator = {"author": [{"family": "A"}], "translator": [{"ORCID": "https://orcid.org/x"}]}
    assert _true(translator) == {"orcids"}
    assert metrics.get("orcid-author-share").share(translator) == (0, 1)
    # authenticated flag without an iD does not count; a truthy string is not `true`
    assert _true({"author": [{"authenticated-orcid": True}]}) == set()
    assert _true({"author": [{"ORCID": "https://orcid.org/x", "authenticated-orcid": "true"}]}) == {
        "orcids"
    }


def test_affiliation_shapes():
    optica = WORKS["10.1364/oe.572415"]
    id_only = copy.deepcopy(optica)
    # keep only the affiliations that have ROR ids and no name
    for person in id_only["author"]:
        person["affiliation"] = [a for a in person["affiliation"] if "name" not in a]
    id_only.pop("funder")
    assert {"affiliations", "ror-ids", "ror-affiliation"} <= _true(id_only)
    assert "ror-funder" not in _true(id_only)
    # an identifier of another kind (ISNI, Wikidata) is still an affiliation but not a ROR
    isni = {"author": [{"affiliation": [{"id": [{"id": "0000000121885934", "id-type": "ISNI"}]}]}]}
    assert _true(isni) == {"affiliations"}
    lower_type = {
        "editor": [{"affiliation": [{"id": [{"id": "https://ror.org/0", "id-type": "ror"}]}]}]
    }
    assert _true(lower_type) == {"affiliations", "ror-ids", "ror-affiliation"}
    assert _true({"author": [{"affiliation": [{"id": [{"id": "", "id-type": "ROR"}]}]}]}) == set()
    assert _true({"author": [{"affiliation": [{"place": ["Oxford"]}]}]}) == set()


def test_funder_shapes():
    ror_only = {
        "funder": [
            {
                "id": [
                    {
                        "id": "https://ror.org/021nxhr62",
                        "id-type": "ROR",
                        "asserted-by": "publisher",
                    }
                ]
            }
        ]
    }
    assert _true(ror_only) == {"funders", "funder-identified", "ror-ids", "ror-funder"}
    name_only = {"funder": [{"name": "Stem Cell Research Center"}]}
    assert _true(name_only) == {"funders"}
    id_doi_only = {  # 2025+ form: DOI only inside id[], asserted by Crossref
        "funder": [
            {"name": "X", "id": [{"id": "10.13039/1", "id-type": "DOI", "asserted-by": "crossref"}]}
        ]
    }
    assert _true(id_doi_only) == {
        "funders",
        "funder-doi",
        "funder-identified",
        "funder-crossref-asserted",
    }
    award_info_only = {"funder": [{"name": "X", "award-info": [{"award-number": ["G-1"]}]}]}
    assert _true(award_info_only) == {"funders", "award-numbers"}
    blank_awards = {"funder": [{"name": "X", "award": [""], "award-info": [{"award-number": []}]}]}
    assert _true(blank_awards) == {"funders"}
    # a ROR id asserted by the publisher is not a publisher-asserted funder *DOI*
    assert "funder-publisher-asserted" not in _true(ror_only)
    # an empty funder object still makes the list non-empty (contract: non-empty list)
    assert _true({"funder": [{}]}) == {"funders"}


def test_licence_shapes():
    def lic(**entry):
        return {"license": [entry]}

    cc_variants = [
        "https://creativecommons.org/licenses/by/4.0/",
        "http://creativecommons.org/licenses/by-nc/4.0/",
        "https://www.creativecommons.org/licenses/by/4.0",
        "HTTPS://CreativeCommons.org/publicdomain/zero/1.0/",
        "http://creativecommons.org/licenses/by/2.0/uk/legalcode",
        "https://creativecommons.org/licenses/by/4.0/legalcode",
        "https://creativecommons.org/licenses/by-sa/3.0/deed.en_US",
        "https://creativecommons.org/publicdomain/mark/1.0/",
        " https://creativecommons.org/licenses/by/4.0/\n",
    ]
    for url in cc_variants:
        assert "license-cc" in _true(lic(URL=url)), url
    for url in (
        "https://creativecommons.org.evil.example/licenses/by/4.0/",
        "https://example.org/creativecommons.org/by",
        "creativecommons.org/licenses/by/4.0/",
        "ftp://creativecommons.org/licenses/by/4.0/",
        "https://creativecommons.org/",  # the host is not a licence
        "https://creativecommons.org/about/",
    ):
        assert "license-cc" not in _true(lic(URL=url)), url
    # a version of its own, or unspecified (applies to every version)
    assert _true(lic(URL="https://x.org/l", **{"content-version": "VOR", "delay-in-days": 0})) == {
        "licenses",
        "license-vor",
    }
    assert _true(lic(URL="https://x.org/l", **{"content-version": "unspecified"})) == {
        "licenses",
        "license-vor",
        "license-am",
        "license-tdm",
    }
    # versions are counted even without a URL; the licence itself needs a URL
    assert _true(lic(**{"content-version": "am"})) == {"license-am"}
    assert _true(lic(**{"content-version": "stm-asf"})) == set()


def test_open_licence_rules():
    start = {"date-parts": [[2020, 1, 1]]}

    def keys(**entry):
        return {k for k in _true({"license": [entry]}) if k.startswith("license-open")}

    cc = "https://creativecommons.org/licenses/by/4.0/"
    vor0 = {"content-version": "vor", "delay-in-days": 0, "start": start}
    # an open licence on the VoR from publication; a terms page with delay 0 is not open
    assert keys(URL=cc, **vor0) == {"license-open-vor-immediate"}
    assert keys(URL="http://onlinelibrary.wiley.com/termsAndConditions#vor", **vor0) == set()
    assert keys(URL="http://rightsstatements.org/vocab/InC/1.0/", **vor0) == set()
    # a CC licence after an embargo is open, but not immediately
    assert keys(URL=cc, **{**vor0, "delay-in-days": 365}) == set()
    # unspecified: every version, so both; an AM licence needs its start date
    both = {"content-version": "unspecified", "delay-in-days": 0, "start": start}
    assert keys(URL=cc, **both) == {"license-open-vor-immediate", "license-open-am"}
    am = {"content-version": "am", "delay-in-days": 365, "start": start}
    assert keys(URL=cc, **am) == {"license-open-am"}
    assert keys(URL=cc, **{**am, "start": {"date-parts": [[None]]}}) == set()
    # recognised open licences other than CC count as open, not as CC
    for url in (
        "http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
        "https://open.canada.ca/en/open-government-licence-canada",
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
        "https://opendatacommons.org/licenses/odbl/1-0/",
        "https://www.govdata.de/dl-de/by-2-0",
    ):
        got = _true({"license": [{"URL": url, **both}]})
        assert {"license-open-vor-immediate", "license-open-am"} <= got, url
        assert "license-cc" not in got, url
    assert keys(URL="https://opendatacommons.org/licenses/bylaws/", **both) == set()
    # "open" is about one licence: an open TDM licence and a closed VoR licence are not
    split = {
        "license": [
            {"URL": cc, "content-version": "tdm", "delay-in-days": 0, "start": start},
            {"URL": "https://x.org/terms", **vor0},
        ]
    }
    assert not ({"license-open-vor-immediate", "license-open-am"} & _true(split))


def test_open_at_publication_is_about_one_open_vor_licence():
    """esmoopen: a CC BY-NC vor licence with delay 309, and Elsevier TDM licences with delay 0.

    No single licence is open, applies to the VoR and starts at publication, so the VoR is not
    open from publication (Crossref's work-level ``license.delay:0`` would match the TDM ones).
    """
    work = WORKS["10.1136/esmoopen-2020-000776"]
    versions = {(lic["content-version"], lic["delay-in-days"]) for lic in work["license"]}
    assert versions == {("tdm", 0), ("vor", 309)}
    assert metrics.get("license-open-vor-immediate").predicate(work) is False
    assert metrics.get("license-cc").predicate(work) is True


def test_start_is_filled_from_the_publication_date_on_real_records():
    """Why there is no "licence has a start date" metric: the REST API fills ``start``.

    On every fixture licence with ``delay-in-days`` 0 the start is the first publication date
    (``published-online``/``published-print``/``issued``, at its precision: ``[[2024]]`` gives
    2024-01-01), or earlier; an undated work's licence has no start at all (case 04).
    """
    same, earlier = 0, []
    for work in WORKS.values():
        for lic in work.get("license") or []:
            if lic.get("delay-in-days") != 0:
                continue
            dates = []
            for key in ("issued", "published-online", "published-print", "published"):
                parts = ((work.get(key) or {}).get("date-parts") or [[None]])[0]
                if parts and parts[0] is not None:
                    dates.append(tuple([*parts, 1, 1][:3]))
            start = tuple(lic["start"]["date-parts"][0])
            assert start <= min(dates), (work["DOI"], start, dates)
            if start == min(dates):
                same += 1
            else:
                earlier.append(work["DOI"])
    # 123 of 124 starts are exactly the publication date; one deposited start is earlier
    assert same == 123 and earlier == ["10.1155/s0161171203107107"]


def test_descriptions_and_trials():
    assert _true({"description": "A dataset of things"}) == {"descriptions"}
    assert _true({"description": ["", "Supplementary table"]}) == {"descriptions"}
    assert _true({"description": "   "}) == set()
    ctn = WORKS["10.1136/esmoopen-2020-000776"]["clinical-trial-number"]
    assert len(ctn) == 2 and all("type" not in c for c in ctn)
    assert _true(
        {"clinical-trial-number": [{"clinical-trial-number": "nct1", "registry": "r"}]}
    ) == {"clinical-trial-numbers"}


def test_links_and_references_shapes():
    assert _true({"link": [{"intended-application": "unspecified"}]}) == {"resource-links"}
    assert _true({"link": [{"intended-application": "Text-Mining"}]}) == {"resource-links"}
    assert _true({"link": [{"intended-application": "similarity-checking"}]}) == {
        "similarity-checking"
    }
    assert _true({"reference-count": 3}) == {"references"}
    assert _true({"reference-count": "3"}) == {"references"}
    assert _true({"reference-count": 0, "reference": [{"key": "r1"}]}) == {"references"}
    assert _true({"references-count": 5}) == set()  # the contract names reference-count
