"""JSON work records of the mock population, in Crossref's ``/works`` item shape.

:func:`build_record` writes work *(b, i)* from its engine features (the metric-bearing parts:
references, abstracts, ORCIDs, affiliations, funders, licences, links, …, so the filter and
facet semantics hold by construction) and a per-work RNG for cosmetic detail (names, titles,
pages, dates within the day).
"""

from __future__ import annotations

import datetime as _dt
import random
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

from mock_crossref.population import AUTHOR_TYPES, FIELDS, PLACES, TYPES, C, mix64

if TYPE_CHECKING:
    from mock_crossref.engine import WorkEngine

#: Share of ROR-identified funders deposited with their name as well.
RORFUND_NAMED = 0.7
CT_REGISTRIES = ("10.18810/clinical-trials-gov", "10.18810/isrctn", "10.18810/euctr")
CC_URLS = (
    "https://creativecommons.org/licenses/by/4.0/",
    "http://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "https://creativecommons.org/licenses/by-sa/4.0/",
    "http://creativecommons.org/licenses/by-nc-sa/4.0",
    "https://creativecommons.org/publicdomain/zero/1.0/",
)
#: The AM licence of a green-OA work (a subscription VoR whose accepted manuscript becomes
#: CC BY-NC after an embargo), in the legal-code form some publishers deposit.
AM_GREEN_URL = "https://creativecommons.org/licenses/by-nc/4.0/legalcode"
#: Organisation authors, as Crossref shows an <organization> contributor: a bare `name`.
ORG_AUTHORS = (
    "The Editors",
    "Writing Committee for the Regional Cohort Study",
    "The Open Survey Consortium",
)

# --------------------------------------------------------------------------------------------
# Record builder (cosmetic detail from a per-work RNG; metric-bearing parts from features)
# --------------------------------------------------------------------------------------------

_GIVEN = (
    "Arin",
    "Belo",
    "Cira",
    "Dovan",
    "Elis",
    "Fenna",
    "Galo",
    "Hesna",
    "Iven",
    "Jora",
    "Kael",
    "Lumi",
    "Maro",
    "Nesa",
    "Olin",
    "Pira",
    "Quen",
    "Rilo",
    "Sena",
    "Tavi",
    "Ulla",
    "Varo",
    "Wenna",
    "Xeri",
    "Yano",
    "Zela",
    "Amani",
    "Bex",
    "Caro",
    "Dita",
)
_FAMILY = (
    "Ashcombe",
    "Brelwick",
    "Corvane",
    "Dunmere",
    "Elstrand",
    "Farrowby",
    "Glenhart",
    "Halvorsen-Ly",
    "Ingleby",
    "Jastrow",
    "Kettleby",
    "Lorimer",
    "Marchetti-Vo",
    "Nakaura",
    "Oyelaran",
    "Pradana",
    "Quillon",
    "Rasmuth",
    "Santoso-Ril",
    "Thornevik",
    "Utomo-Kay",
    "Varga-Lin",
    "Wirasena",
    "Xandrell",
    "Yildrin",
    "Zorvath",
    "Abernathy-Q",
    "Bergqvane",
    "Castellon-Ru",
    "Darmawen",
)
_TITLE_A = (
    "On the",
    "Towards a",
    "A study of",
    "Revisiting",
    "Notes on",
    "Evidence for",
    "Modelling",
    "Measuring",
    "An inventory of",
    "Rethinking",
)
_TITLE_B = (
    "seasonal",
    "latent",
    "recursive",
    "fragmentary",
    "luminous",
    "drifting",
    "collective",
    "hidden",
    "lateral",
    "nested",
)
_TITLE_C = (
    "patterns",
    "archives",
    "gradients",
    "networks",
    "harvests",
    "signals",
    "echoes",
    "lattices",
    "migrations",
    "ledgers",
)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _issn(rng: random.Random) -> str:
    digits = [rng.randrange(10) for _ in range(7)]
    digits[0] = 9  # 9xxx-xxxx: fictitious range
    s = sum(d * w for d, w in zip(digits, range(8, 1, -1), strict=True))
    c = (11 - s % 11) % 11
    cd = "X" if c == 10 else str(c)
    return f"{digits[0]}{digits[1]}{digits[2]}{digits[3]}-{digits[4]}{digits[5]}{digits[6]}{cd}"


def _orcid(rng: random.Random) -> str:
    base = "00000005" + "".join(str(rng.randrange(10)) for _ in range(7))
    total = 0
    for ch in base:
        total = (total + int(ch)) * 2
    r = (12 - total % 11) % 11
    check = "X" if r == 10 else str(r)
    s = base + check
    return f"{s[0:4]}-{s[4:8]}-{s[8:12]}-{s[12:16]}"


def _date_obj(d: _dt.date, parts: list[int], ts_ms: int | None = None) -> dict[str, Any]:
    if ts_ms is None:
        ts = int(_dt.datetime(d.year, d.month, d.day, tzinfo=_dt.UTC).timestamp() * 1000)
    else:
        ts = ts_ms
    dt = _dt.datetime.fromtimestamp(ts / 1000, tz=_dt.UTC)
    return {"date-parts": [parts], "date-time": dt.strftime("%Y-%m-%dT%H:%M:%SZ"), "timestamp": ts}


def build_record(
    eng: WorkEngine, b: int, i: int, f: dict[str, Any], score: float = 0.0
) -> dict[str, Any]:
    pop = eng.pop
    m = int(pop.b_member[b])
    t = TYPES[pop.b_type[b]]
    rng = random.Random(mix64(int(pop.b_key[b]) ^ (i * 0x9E3779B1)))
    year = int(f["year"])
    prec = int(pop.precision[m])
    doi = eng.doi(b, i, year)
    prefix = eng.block_prefix(b)
    publisher = pop.names[m]
    dom = eng.domain(m)
    # issued date from the index position within its year segment
    if year:
        s0, ns = int(pop.b_seg0[b]), int(pop.b_nseg[b])
        offs = pop.s_off[s0 : s0 + ns]
        sj = int(np.searchsorted(offs, i, side="right") - 1)
        n_y = int(pop.s_n[s0 + sj])
        jj = i - int(offs[sj])
        D = eng.days_in_year_scalar(year)
        doy = (jj * D) // n_y
        date = _dt.date(year, 1, 1) + _dt.timedelta(days=doy)
        parts = (
            [year, date.month, date.day]
            if prec == 0
            else ([year, date.month] if prec == 1 else [year])
        )
        eff = date if prec == 0 else (date.replace(day=1) if prec == 1 else _dt.date(year, 1, 1))
        issued = {"date-parts": [parts]}
    else:
        date = eff = _dt.date(2000 + rng.randrange(20), 1 + rng.randrange(12), 1)
        parts = []
        issued = {"date-parts": [[None]]}
    # Crossref's "created" is the first deposit: never before the member joined (≥ 2002)
    joined = _dt.date(max(2002, min(int(pop.start_year[m]), eng.Y - 1)), 1, 1) + _dt.timedelta(
        days=int(pop.ids[m]) % 300
    )
    created_d = min(max(eff, joined) + _dt.timedelta(days=rng.randrange(0, 20)), eng.as_of_date)
    created_ts = int(
        _dt.datetime(created_d.year, created_d.month, created_d.day, tzinfo=_dt.UTC).timestamp()
        * 1000
    ) + rng.randrange(86_400_000)
    indexed_ord = eng.indexed_ordinal(m)
    indexed_d = _dt.date.fromordinal(indexed_ord)
    indexed_ts = int(
        _dt.datetime(indexed_d.year, indexed_d.month, indexed_d.day, tzinfo=_dt.UTC).timestamp()
        * 1000
    ) + rng.randrange(86_400_000)
    deposited_ts = max(
        created_ts + rng.randrange(3_600_000), indexed_ts - rng.randrange(1, 400) * 86_400_000
    )
    deposited_ts = min(deposited_ts, indexed_ts)
    w: dict[str, Any] = {}
    w["indexed"] = _date_obj(
        indexed_d, [indexed_d.year, indexed_d.month, indexed_d.day], indexed_ts
    )
    w["indexed"]["version"] = "4.0.1"
    n_refs = 0
    if f["references"]:
        n_refs = rng.randint(3, 45)
    w["reference-count"] = n_refs
    w["publisher"] = publisher
    # licences: the REST API fills `start` from the publication date when none was deposited
    # and gives every licence its delay from publication; an undated work has no start
    if f["licenses"]:
        lic = []
        for ver in ("vor", "am", "tdm", "unspecified", "stm"):
            if not f.get(ver):
                continue
            delay = int(f["delay"])
            if ver in ("vor", "am", "unspecified") and f["cc"]:
                url = CC_URLS[int(f["cc_pick"])]
            elif ver == "am" and f["am_green"]:
                url, delay = AM_GREEN_URL, int(f["am_delay"])
            else:
                url = eng.publisher_licence_url(b, "stm-asf" if ver == "stm" else ver)
            entry: dict[str, Any] = {}
            if year:
                start_d = eff + _dt.timedelta(days=delay)
                entry["start"] = _date_obj(start_d, [start_d.year, start_d.month, start_d.day])
            else:
                delay = 0
            entry["content-version"] = "stm-asf" if ver == "stm" else ver
            entry["delay-in-days"] = delay
            entry["URL"] = url
            lic.append(entry)
        w["license"] = lic
    # funders
    if f["funders"]:
        funders: list[dict[str, Any]] = []
        award_done = False

        def award(entry: dict[str, Any]) -> None:
            nonlocal award_done
            if f["award-numbers"] and not award_done:
                nums = [
                    f"{rng.choice('ABCDEFGHKLMNPRSTX')}{rng.randrange(10, 99)}-"
                    f"{rng.randrange(100000, 999999)}"
                    for _ in range(rng.randint(1, 2))
                ]
                if f.get("grant_doi"):  # the funder's registered grant, linked by its DOI
                    nums = [f"https://doi.org/{GRANT_PREFIX}/{zlib.crc32(doi.encode()) % 10**6}"]
                entry["award"] = nums
                entry["award-info"] = [{"award-number": nums}]
                award_done = True
            else:
                entry["award"] = []

        for col, xcol in (("f1", "xref1"), ("f2", "xref2")):
            fi = int(f[col])
            if fi < 0:
                continue
            fu = pop.funders[fi]
            asserted = "crossref" if f[xcol] else "publisher"
            entry = {"DOI": fu.doi, "name": fu.name, "doi-asserted-by": asserted}
            award(entry)
            entry["id"] = [{"id": fu.doi, "id-type": "DOI", "asserted-by": asserted}]
            funders.append(entry)
        if f["rorfund"]:
            fu = eng.ror_funders[int(f["ror_pick"]) % len(eng.ror_funders)]
            # 70 % name the ROR-identified funder too; the rest deposit the ROR ID alone (a
            # keyed coin, so the funder-name facet counts exactly these names)
            named = eng.coin(b, "rorfund_named", np.array([i]))[0] < RORFUND_NAMED
            entry = {"name": fu.name} if named else {}
            award(entry)
            entry["id"] = [{"id": fu.ror, "id-type": "ROR", "asserted-by": "publisher"}]
            funders.append(entry)
        for nm in eng._name_only_entries(
            b, i, bool(f["funder-doi"]), bool(f["rorfund"]), bool(f["name_extra"])
        ):
            entry = {"name": nm}
            award(entry)
            funders.append(entry)
        for entry in funders:
            if entry.get("award") == []:
                del entry["award"]
        w["funder"] = funders
    domain = [dom] if f["update-policies"] or rng.random() < 0.5 else []
    w["content-domain"] = {
        "domain": domain,
        "crossmark-restriction": bool(f["update-policies"]) and rng.random() < 0.4,
    }
    if t in ("journal-article", "proceedings-article", "journal-issue"):
        w["short-container-title"] = [_journal(eng, m, rng, short=True)]
    if f["abstracts"]:
        w["abstract"] = _abstract(rng)
    w["DOI"] = doi
    w["type"] = t
    w["created"] = _date_obj(
        created_d, [created_d.year, created_d.month, created_d.day], created_ts
    )
    if t in ("journal-article", "proceedings-article", "book-chapter"):
        p0 = rng.randint(1, 400)
        w["page"] = f"{p0}-{p0 + rng.randint(3, 30)}"
    if f["update-policies"]:
        w["update-policy"] = f"https://doi.org/{prefix}/crossmark_policy"
    w["source"] = "Crossref"
    w["is-referenced-by-count"] = int(rng.expovariate(0.2)) if year else 0
    if t != "journal-issue":
        w["title"] = [_title(rng)]
    w["prefix"] = prefix
    if t in ("journal-article", "journal-issue"):
        w["volume"] = str(max(1, year - pop.start_year[m] + 1)) if year else "1"
    if t in AUTHOR_TYPES:
        w["author"] = _authors(eng, f, rng, year, m)
        # a few works also credit an organisation (no ORCID, no affiliation), as real ones do
        org = zlib.crc32(doi.encode())
        if org % 100 < 3 and len(w["author"]) < 8:
            w["author"].append(
                {
                    "name": ORG_AUTHORS[org // 100 % len(ORG_AUTHORS)],
                    "sequence": "additional",
                    "affiliation": [],
                }
            )
        if t in ("book", "book-chapter") and rng.random() < 0.3:
            w["editor"] = [
                {
                    "given": rng.choice(_GIVEN),
                    "family": rng.choice(_FAMILY),
                    "sequence": "first",
                    "affiliation": [],
                }
            ]
            # an editor's iD only on works that already have one (the `orcids` count holds);
            # never authenticated (the `has-authenticated-orcid` count holds)
            if f.get("editor_orcid") and f["orcids"]:
                ed = w["editor"][0]
                ed["ORCID"] = f"https://orcid.org/{_orcid(random.Random(zlib.crc32(doi.encode())))}"
                ed["authenticated-orcid"] = False
                ed["role"] = [{"role": "editor", "vocabulary": "crossref"}]
    w["member"] = str(int(pop.ids[m]))
    if year and prec == 0:
        w["published-online"] = {"date-parts": [parts]}
    if f["ctn"]:
        ctn = []
        for _ in range(rng.randint(1, 2)):
            reg = CT_REGISTRIES[rng.randrange(2)]
            num = (
                f"nct{rng.randrange(10**7, 10**8)}"
                if reg.endswith("gov")
                else f"isrctn{rng.randrange(10**7, 10**8)}"
            )
            ctn.append({"clinical-trial-number": num, "registry": reg})
        w["clinical-trial-number"] = ctn
    if t in ("journal-article", "proceedings-article", "book-chapter", "journal-issue"):
        w["container-title"] = [_journal(eng, m, rng)]
    w["language"] = "en"
    links = []
    if f["resource-links"]:
        if f["tm"]:
            links.append(
                {
                    "URL": f"https://{dom}/pdf/{doi.split('/', 1)[1]}",
                    "content-type": "application/pdf",
                    "content-version": "vor",
                    "intended-application": "text-mining",
                }
            )
            links.append(
                {
                    "URL": f"https://{dom}/xml/{doi.split('/', 1)[1]}",
                    "content-type": "application/xml",
                    "content-version": "vor",
                    "intended-application": "text-mining",
                }
            )
        else:
            links.append(
                {
                    "URL": f"https://{dom}/article/{doi.split('/', 1)[1]}",
                    "content-type": "unspecified",
                    "content-version": "vor",
                    "intended-application": "unspecified",
                }
            )
    if f["similarity-checking"]:
        links.append(
            {
                "URL": f"https://{dom}/view/{doi.split('/', 1)[1]}",
                "content-type": "unspecified",
                "content-version": "vor",
                "intended-application": "similarity-checking",
            }
        )
    if links:
        w["link"] = links
    w["deposited"] = _date_obj(date, [0], deposited_ts)
    dd = _dt.datetime.fromtimestamp(deposited_ts / 1000, tz=_dt.UTC)
    w["deposited"]["date-parts"] = [[dd.year, dd.month, dd.day]]
    w["score"] = score
    w["resource"] = {"primary": {"URL": f"https://{dom}/article/{doi.split('/', 1)[1]}"}}
    if f["descriptions"]:
        w["description"] = _description(rng, t)
    if t in ("book", "book-chapter"):
        w["publisher-location"] = PLACES[m % len(PLACES)]
        isbn = "979" + "".join(str(rng.randrange(10)) for _ in range(10))
        w["isbn-type"] = [{"type": "electronic", "value": isbn}]
        w["ISBN"] = [isbn]
    if t == "posted-content":
        w["posted"] = {"date-parts": [parts]} if year else {"date-parts": [[None]]}
        w["subtype"] = "preprint"
        w["group-title"] = pop.names[m]
    w["issued"] = issued
    w["references-count"] = n_refs
    if t in ("journal-article", "journal-issue") and year:
        w["journal-issue"] = {
            "issue": str(1 + (date.month - 1) // 3),
            "published-online": {"date-parts": [[year]]},
        }
        w["issue"] = w["journal-issue"]["issue"]
    w["URL"] = f"https://doi.org/{doi}"
    if n_refs:
        w["reference"] = _references(rng, doi, n_refs)
    if t in ("journal-article", "journal-issue"):
        issn = _journal_issn(eng, m, rng)
        w["ISSN"] = [issn]
        w["issn-type"] = [{"type": "electronic", "value": issn}]
    if year:
        w["published"] = {"date-parts": [parts]}
    if rng.random() < 0.1 and t in ("journal-article", "posted-content", "dataset"):
        w["relation"] = {}
    w.update(nexus_parts(eng, b, i, f, doi, eff if year else None))
    return w


GRANT_PREFIX = "10.35802"  # a funder's grant DOIs (Crossref's Grant Linking System)
_UPDATE_LABELS = {
    "correction": "Correction",
    "erratum": "Erratum",
    "new_version": "New version",
    "expression_of_concern": "Expression of concern",
    "retraction": "Retraction",
    "withdrawal": "Withdrawal",
}


def _update_entry(doi: str, kind: str, source: str, when: _dt.date, record_id: int | None):
    entry: dict[str, Any] = {
        "DOI": doi,
        "type": kind,
        "label": _UPDATE_LABELS[kind],
        "source": source,
        "updated": _date_obj(when, [when.year, when.month, when.day]),
    }
    if record_id is not None:
        entry["record-id"] = record_id
    return entry


def nexus_parts(
    eng: WorkEngine, b: int, i: int, f: dict[str, Any], doi: str, issued: _dt.date | None
) -> dict[str, Any]:
    """The research-nexus fields of work *(b, i)*, in the REST API's shapes, from its features:

    ``relation`` (``{type: [{"id-type", "id", "asserted-by"}]}``), ``updated-by`` (``{"DOI",
    "type", "label", "source", "updated", "record-id"?}``; a Retraction Watch entry has
    ``source: "retraction-watch"`` and a ``record-id``), ``update-to`` on update notices and
    ``institution`` (``{"name", "acronym"?, "place"?, "id"?: [{"id", "id-type": "ROR",
    "asserted-by"}]}``). Cosmetic detail comes from its own keyed RNG, so every other field of
    the record is unchanged.
    """
    pop = eng.pop
    t = TYPES[pop.b_type[b]]
    rng = random.Random(mix64(int(pop.b_key[b]) ^ (i * 0x85EBCA77) ^ 0x4E5855))
    out: dict[str, Any] = {}
    rel: dict[str, list[dict[str, str]]] = {}
    if f.get("rel_supp"):
        rel["is-supplemented-by"] = [
            {
                "id-type": "doi",
                "id": f"10.5281/zenodo.{rng.randrange(10**6, 10**7)}",
                "asserted-by": "subject",
            }
        ]
    if f.get("rel_preprint"):
        if t == "posted-content":
            rel["is-preprint-of"] = [
                {
                    "id-type": "doi",
                    "id": f"10.{rng.randrange(1000, 9999)}/j.{rng.randrange(10**6)}",
                    "asserted-by": "subject",
                }
            ]
        else:
            rel["has-preprint"] = [
                {
                    "id-type": "doi",
                    "id": f"10.31234/osf.io/{rng.randrange(36**5):x}",
                    "asserted-by": "object",
                }
            ]
    if f.get("rel_review"):
        rel["has-review"] = [
            {"id-type": "doi", "id": f"{doi}/v1/review{k + 1}", "asserted-by": "object"}
            for k in range(rng.randint(1, 3))
        ]
    if rel:
        out["relation"] = rel
    base = issued or _dt.date(2015, 1, 1)
    prefix = eng.block_prefix(b)
    if f.get("updated"):
        when = min(base + _dt.timedelta(days=rng.randrange(30, 900)), eng.as_of_date)
        notice = f"{prefix}/notice.{zlib.crc32(doi.encode()):08x}"
        entries = []
        if f.get("retracted"):
            kind = "retraction" if rng.random() < 0.9 else "withdrawal"
            rw_id = 10000 + zlib.crc32(doi.encode()) % 90000
            if f.get("rw_only"):  # no notice deposited: Retraction Watch names the work itself
                entries.append(_update_entry(doi, kind, "retraction-watch", when, rw_id))
            else:
                entries.append(_update_entry(notice, kind, "publisher", when, None))
                if rng.random() < 0.5:  # Retraction Watch records it too
                    entries.append(_update_entry(notice, kind, "retraction-watch", when, rw_id))
        else:
            kind = rng.choice(
                ("correction", "correction", "erratum", "new_version", "expression_of_concern")
            )
            entries.append(_update_entry(notice, kind, "publisher", when, None))
        out["updated-by"] = entries
    if f.get("notice") and int(pop.b_n[b]) > 1:
        target = eng.doi(b, i - 1 if i > 0 else i + 1, issued.year if issued else 0)
        when = base
        kind = rng.choice(("correction", "correction", "erratum", "retraction"))
        out["update-to"] = [_update_entry(target, kind, "publisher", when, None)]
    if f.get("inst"):
        inst: dict[str, Any] = {"name": f"{PLACES[rng.randrange(len(PLACES))]} Institute"}
        if rng.random() < 0.5:
            inst["place"] = [PLACES[rng.randrange(len(PLACES))]]
        if f.get("inst_ror"):
            inst["id"] = [
                {
                    "id": _inst_ror(mix64(zlib.crc32(inst["name"].encode()))),
                    "id-type": "ROR",
                    "asserted-by": "publisher",
                }
            ]
        out["institution"] = [inst]
    return out


def _journal(eng: WorkEngine, m: int, rng: random.Random, short: bool = False) -> str:
    k = rng.randrange(1 + (mix64(m) % 4))
    field_ = FIELDS[(mix64(m * 31 + k) >> 7) % len(FIELDS)]
    name = f"{PLACES[(m + k) % len(PLACES)]} Journal of {field_}"
    if short:
        return "".join(w[:4] + ". " for w in name.split() if w[0].isupper()).strip()
    return name


def _journal_issn(eng: WorkEngine, m: int, rng: random.Random) -> str:
    return _issn(random.Random(mix64(m * 7919)))


def _make_title(rng: random.Random) -> str:
    return (
        f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)} {rng.choice(_TITLE_C)} in "
        f"{rng.choice(FIELDS).lower()}"
    )


_POOL = 4096
_TITLES = [_make_title(random.Random(k)) for k in range(_POOL)]


def _title(rng: random.Random) -> str:
    return _TITLES[int(rng.random() * _POOL)]


def _make_ref(k: int) -> dict[str, Any]:
    rng = random.Random(100_000 + k)
    if rng.random() < 0.55:
        return {
            "doi-asserted-by": "crossref" if rng.random() < 0.5 else "publisher",
            "DOI": f"10.9{rng.randrange(10000, 99999)}/ref.{rng.randrange(10**6)}",
        }
    return {
        "unstructured": f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)[0]}. "
        f"{_make_title(rng)}. {rng.randrange(1950, 2026)}"
    }


_REFS = [_make_ref(k) for k in range(_POOL)]


def _abstract(rng: random.Random) -> str:
    body = " ".join(
        f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)} {rng.choice(_TITLE_C)}."
        for _ in range(rng.randint(2, 5))
    )
    style = rng.random()
    if style < 0.6:
        return f"<jats:p>{body}</jats:p>"
    if style < 0.9:
        return (
            f"<jats:title>Abstract</jats:title><jats:sec><jats:title>Background"
            f"</jats:title><jats:p>{body}</jats:p></jats:sec>"
        )
    return f"<p>{body}</p>"


def _description(rng: random.Random, t: str) -> str:
    return f"{t.replace('-', ' ').capitalize()}: {_title(rng)}."


def _references(rng: random.Random, doi: str, n: int) -> list[dict[str, Any]]:
    start = int(rng.random() * _POOL)
    return [{"key": f"{doi}_ref{j + 1}", **_REFS[(start + j * 7) % _POOL]} for j in range(n)]


def _authors(
    eng: WorkEngine, f: dict[str, Any], rng: random.Random, year: int, m: int
) -> list[dict[str, Any]]:
    n = min(8, max(1, int(rng.expovariate(1 / 3.0)) + 1))
    orcid_pos: set[int] = set()
    if f["orcids"]:
        share = float(eng.pop.coins[m, C["orcid_share"]])
        k = min(n, max(1, round(share * n + rng.random() - 0.5)))
        orcid_pos = set(rng.sample(range(n), k))
    auth_first = min(orcid_pos) if (f["auth"] and orcid_pos) else -1
    aff_pos: set[int] = set()
    if f["affiliations"]:
        aff_pos = {0} | {p for p in range(1, n) if rng.random() < 0.7}
    ror_pos: set[int] = set()
    if f["aff_ror"]:
        ror_pos = {min(aff_pos)} | {p for p in aff_pos if rng.random() < 0.5}
    id_only = rng.random() < float(eng.pop.coins[m, C["aff_id_only"]])
    http_orcid = year and year < eng.Y - 2 and rng.random() < 0.5
    out = []
    for p in range(n):
        a: dict[str, Any] = {}
        if p in orcid_pos:
            scheme = "http" if http_orcid else "https"
            a["ORCID"] = f"{scheme}://orcid.org/{_orcid(rng)}"
            a["authenticated-orcid"] = bool(p == auth_first or (f["auth"] and rng.random() < 0.5))
        a["given"] = _GIVEN[int(rng.random() * len(_GIVEN))]
        a["family"] = _FAMILY[int(rng.random() * len(_FAMILY))]
        a["sequence"] = "first" if p == 0 else "additional"
        affs = []
        if p in aff_pos:
            inst = f"{PLACES[rng.randrange(len(PLACES))]} University"
            if p in ror_pos:
                h = mix64(zlib.crc32(inst.encode()))
                ror = _inst_ror(h)
                aff: dict[str, Any] = {} if id_only else {"name": inst}
                aff["id"] = [{"id": ror, "id-type": "ROR", "asserted-by": "publisher"}]
                affs.append(aff)
            else:
                affs.append({"name": f"Department of {rng.choice(FIELDS)}, {inst}"})
        a["affiliation"] = affs
        a["role"] = [{"role": "author", "vocabulary": "crossref"}]
        out.append(a)
    return out


def _inst_ror(h: int) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    body = "0" + "".join(alphabet[(h >> (5 * j)) & 31] for j in range(6))
    num = 0
    for ch in body:
        num = num * 32 + alphabet.index(ch)
    return f"https://ror.org/{body}{98 - ((num * 100) % 97):02d}"
