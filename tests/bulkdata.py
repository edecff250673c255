"""Seeded generator of synthetic Crossref works files for the bulk-ingest tests and bench.

The records have the shape of real Crossref `/works` items and public-data-file lines
(see ../shared/reference/crossref-api.md §3): every field the registry scores, in all the
variants the contract (docs/architecture.md §4) distinguishes (blank strings, name-only and
ROR-only funders, id-only affiliations, DOI given as `DOI` or as `id[]`, http/https/www
Creative Commons URLs, `issued` of `[[null]]` or missing …), plus the bulk of a real record
(titles, dates, reference lists, abstracts) so that sizes and parse costs are realistic
(about 3 KB per line on average).

`write_jsonl_gz(path, n, seed)` writes the 2025+ format (one work per line);
`write_items_json_gz(path, works)` writes the older `{"items": [...]}` format.
Nothing here reads the code under test.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from pathlib import Path

TYPES = (
    ("journal-article", 70),
    ("book-chapter", 10),
    ("proceedings-article", 6),
    ("posted-content", 4),
    ("book", 3),
    ("dataset", 3),
    ("report", 2),
    ("component", 2),
)
KINDS = ("Press", "Publishing", "Society", "University")
WORDS = [
    "analysis",
    "of",
    "the",
    "effect",
    "model",
    "data",
    "study",
    "results",
    "method",
    "cell",
    "protein",
    "patients",
    "risk",
    "climate",
    "network",
    "learning",
    "system",
    "theory",
    "health",
    "water",
    "growth",
    "soil",
    "energy",
    "quantum",
    "social",
    "policy",
    "education",
    "market",
    "gene",
    "expression",
    "brain",
    "children",
    "ocean",
    "survey",
    "trial",
    "design",
]
CC_URLS = (
    "http://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by/4.0/",
    "https://www.creativecommons.org/licenses/by-nc/4.0/",
    "http://www.creativecommons.org/licenses/by-nc-nd/3.0/",
    "https://creativecommons.org/publicdomain/zero/1.0/",
)
NON_CC_URLS = (
    "https://www.elsevier.com/tdm/userlicense/1.0/",
    "http://www.springer.com/tdm",
    "http://onlinelibrary.wiley.com/termsAndConditions#vor",
    "https://academic.oup.com/journals/pages/open_access/funder_policies/chorus/standard_publication_model",
    "http://creativecommons.org.evil.example/licenses/by/4.0/",  # not on creativecommons.org
    "https://example.org/creativecommons.org/licenses/by/4.0/",  # host is not CC
)
BLANKS = ("", " ", "   ", "\n", "\t ")


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))


def _date_parts(year: int | None, rng: random.Random) -> dict:
    if year is None:
        return {"date-parts": [[None]]}
    parts = [year]
    if rng.random() < 0.8:
        parts.append(rng.randint(1, 12))
        if rng.random() < 0.8:
            parts.append(rng.randint(1, 28))
    return {"date-parts": [parts]}


def _stamp(year: int, rng: random.Random) -> dict:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    return {
        "date-parts": [[year, month, day]],
        "date-time": f"{year:04d}-{month:02d}-{day:02d}T10:00:00Z",
        "timestamp": 0,
    }


def _orcid(rng: random.Random) -> str:
    digits = "-".join(f"{rng.randint(0, 9999):04d}" for _ in range(4))
    return rng.choice(("https://orcid.org/", "http://orcid.org/")) + digits


def _ror(rng: random.Random) -> str:
    return "https://ror.org/0" + "".join(
        rng.choice("abcdefghjkmnpqrstvwxyz0123456789") for _ in range(8)
    )


def _affiliation(rng: random.Random) -> dict:
    r = rng.random()
    if r < 0.55:
        return {
            "name": "Department of "
            + _words(rng, 1, 3).title()
            + ", University of "
            + rng.choice(WORDS).title()
        }
    if r < 0.70:
        return {
            "name": "Institute of " + rng.choice(WORDS).title(),
            "id": [
                {
                    "id": _ror(rng),
                    "id-type": "ROR",
                    "asserted-by": rng.choice(("publisher", "crossref")),
                }
            ],
        }
    if r < 0.78:
        return {"id": [{"id": _ror(rng), "id-type": "ROR", "asserted-by": "publisher"}]}
    if r < 0.83:
        return {
            "id": [
                {
                    "id": "Q" + str(rng.randint(1, 10**6)),
                    "id-type": "wikidata",
                    "asserted-by": "publisher",
                }
            ]
        }
    if r < 0.93:
        return {"name": rng.choice(BLANKS)}
    return {"name": rng.choice(BLANKS), "place": ["Lisbon"], "id": []}


def _person(rng: random.Random, sequence: str, orcid_p: float, aff_p: float) -> dict:
    p: dict = {
        "given": rng.choice(WORDS).title(),
        "family": rng.choice(WORDS).title(),
        "sequence": sequence,
    }
    r = rng.random()
    if r < orcid_p:
        p["ORCID"] = _orcid(rng)
        p["authenticated-orcid"] = rng.random() < 0.5
    elif r < orcid_p + 0.02:
        p["ORCID"] = ""  # blank ORCID does not count
        p["authenticated-orcid"] = True
    p["affiliation"] = (
        [_affiliation(rng) for _ in range(rng.randint(1, 2))] if rng.random() < aff_p else []
    )
    if rng.random() < 0.5:
        p["role"] = [{"role": "author", "vocabulary": "crossref"}]
    return p


def _funder(rng: random.Random) -> dict:
    fdoi = f"10.13039/{rng.randint(100000000, 100020000)}"
    r = rng.random()
    f: dict = {"name": _words(rng, 2, 5).title()}
    asserted = rng.choice(("publisher", "publisher", "crossref"))
    if r < 0.35:  # classic: DOI + doi-asserted-by (+ id[] in newer records)
        f["DOI"] = fdoi
        f["doi-asserted-by"] = asserted
        if rng.random() < 0.5:
            f["id"] = [{"id": fdoi, "id-type": "DOI", "asserted-by": asserted}]
    elif r < 0.45:  # DOI only in id[]
        f["id"] = [{"id": fdoi, "id-type": "DOI", "asserted-by": asserted}]
    elif r < 0.52:  # ROR-identified funder, ROR alone
        f = {"id": [{"id": _ror(rng), "id-type": "ROR", "asserted-by": "publisher"}]}
    elif r < 0.56:  # blank DOI does not identify
        f["DOI"] = rng.choice(BLANKS)
    # else: name only
    ra = rng.random()
    if ra < 0.45:
        award = f"{rng.choice('ABCDEFGH')}{rng.randint(10000, 999999)}"
        f["award"] = [award]
        if rng.random() < 0.5:
            f["award-info"] = [{"award-number": [award]}]
    elif ra < 0.50:
        f["award"] = []
        f["award-info"] = [{"award-number": [f"G{rng.randint(1, 99999)}"]}]
    elif ra < 0.55:
        f["award"] = [rng.choice(BLANKS)]
    elif ra < 0.65:
        f["award"] = []
    return f


def _license(rng: random.Random, year: int | None) -> list[dict]:
    out = []
    versions = rng.choice(
        (
            ["vor"],
            ["vor"],
            ["tdm", "vor"],
            ["am"],
            ["tdm"],
            ["vor", "am"],
            ["unspecified"],
            ["stm-asf"],
        )
    )
    for version in versions:
        url = rng.choice(CC_URLS) if rng.random() < 0.4 else rng.choice(NON_CC_URLS)
        if rng.random() < 0.03:
            url = rng.choice(BLANKS)
        lic: dict = {"URL": url, "content-version": version}
        delay = 0 if rng.random() < 0.7 else rng.randint(1, 800)
        if version != "vor" and delay == 0 and "vor" in versions and rng.random() < 0.5:
            delay = 365
        lic["delay-in-days"] = delay
        if rng.random() < 0.9 and year is not None:
            lic["start"] = _stamp(year, rng)
        elif rng.random() < 0.5:
            lic["start"] = {"date-parts": [[None]]}
        out.append(lic)
    # the mock's invariant: a zero-delay licence that is not the vor one never sits next to a
    # non-zero vor
    vor_delays = {lic["delay-in-days"] for lic in out if lic["content-version"] == "vor"}
    if vor_delays and 0 not in vor_delays:
        for lic in out:
            if lic["content-version"] != "vor" and lic["delay-in-days"] == 0:
                lic["delay-in-days"] = 30
    return out


def _links(rng: random.Random, doi: str) -> list[dict]:
    apps = rng.sample(
        ("text-mining", "similarity-checking", "unspecified", "syndication"), rng.randint(1, 3)
    )
    return [
        {
            "URL": f"https://publisher.example/{doi}/{i}",
            "content-type": rng.choice(("application/pdf", "text/xml", "unspecified")),
            "content-version": "vor",
            "intended-application": app,
        }
        for i, app in enumerate(apps)
    ]


def _reference(rng: random.Random, i: int) -> dict:
    ref: dict = {"key": f"ref{i}"}
    if rng.random() < 0.6:
        ref["DOI"] = f"10.{rng.randint(1000, 9999)}/{rng.randint(10**5, 10**7)}"
        ref["doi-asserted-by"] = rng.choice(("publisher", "crossref"))
    ref["unstructured"] = (
        _words(rng, 6, 18).capitalize() + f". J. {rng.choice(WORDS).title()} {rng.randint(1, 99)}"
    )
    return ref


def make_members(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed * 7919 + 1)
    out = []
    for i in range(n):
        mid = 1 + i * 37 + rng.randint(0, 30)
        out.append(
            {
                "id": mid,
                "name": f"{rng.choice(WORDS).title()} {rng.choice(KINDS)} {mid}",
                "prefix": f"10.{10000 + mid}",
                "profile": rng.random(),
            }
        )
    return out


def make_work(rng: random.Random, member: dict, current_year: int, serial: int) -> dict:
    """One work of `member`; `member["profile"]` in 0..1 shifts how complete its metadata is."""
    q = 0.4 + 0.6 * member["profile"]
    wtype = rng.choices([t for t, _ in TYPES], [w for _, w in TYPES])[0]
    r = rng.random()
    year: int | None = None if r < 0.015 else max(1950, current_year - int(rng.expovariate(1 / 8)))
    if year is not None and rng.random() < 0.02:
        year = current_year + 1  # in press
    doi = f"{member['prefix']}/{wtype[:3]}.{serial}"
    w: dict = {
        "DOI": doi,
        "URL": f"https://doi.org/{doi}",
        "type": wtype,
        "member": str(member["id"]),
        "prefix": member["prefix"],
        "publisher": member["name"],
        "source": "Crossref",
        "title": [_words(rng, 4, 14).capitalize()],
        "container-title": [_words(rng, 2, 5).title()],
        "is-referenced-by-count": int(rng.expovariate(1 / 5)),
        "score": 0.0,
        "language": "en",
    }
    if r < 0.008:
        pass  # no issued at all
    else:
        w["issued"] = _date_parts(year, rng)
        if year is not None:
            w["published"] = w["issued"]
            w["published-online"] = _date_parts(year, rng)
    cyear = year or current_year
    w["created"] = _stamp(cyear, rng)
    w["deposited"] = _stamp(cyear, rng)
    w["indexed"] = {**_stamp(current_year, rng), "version": "3.50.1"}
    w["content-domain"] = {"crossmark-restriction": False, "domain": []}
    if wtype == "journal-article":
        w["ISSN"] = [f"{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"]
        w["volume"], w["issue"], w["page"] = (
            str(rng.randint(1, 80)),
            str(rng.randint(1, 12)),
            f"{rng.randint(1, 900)}-{rng.randint(901, 999)}",
        )

    n_auth = (
        0
        if wtype in ("component", "dataset") and rng.random() < 0.6
        else rng.choice((0, 1, 1, 2, 3, 3, 4, 5, 6, 8, 12))
    )
    orcid_p = 0.05 + 0.4 * q * rng.random()
    aff_p = 0.6 * q
    if n_auth:
        w["author"] = [
            _person(rng, "first" if i == 0 else "additional", orcid_p, aff_p) for i in range(n_auth)
        ]
    if wtype in ("book", "book-chapter", "proceedings-article") and rng.random() < 0.4:
        w["editor"] = [_person(rng, "first", orcid_p, aff_p) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.01:
        w["chair"] = [_person(rng, "first", 0.5, 0.5)]
    if rng.random() < 0.01:
        w["translator"] = [_person(rng, "first", 0.5, 0.5)]

    rr = rng.random()
    if rr < 0.55 * q + 0.1:
        refs = [_reference(rng, i) for i in range(rng.randint(1, 30))]
        w["reference"] = refs
        w["reference-count"] = w["references-count"] = len(refs)
    elif rr < 0.55 * q + 0.13:
        w["reference-count"] = w["references-count"] = rng.randint(1, 40)  # count but list withheld
    else:
        w["reference-count"] = w["references-count"] = 0
        if rng.random() < 0.05:
            w["reference"] = []

    ra = rng.random()
    if ra < 0.35 * q:
        w["abstract"] = "<jats:p>" + _words(rng, 40, 160).capitalize() + ".</jats:p>"
    elif ra < 0.35 * q + 0.02:
        w["abstract"] = rng.choice(BLANKS)
    rf = rng.random()
    if rf < 0.3 * q:
        w["funder"] = [_funder(rng) for _ in range(rng.randint(1, 3))]
    elif rf < 0.3 * q + 0.01:
        w["funder"] = []
    if rng.random() < 0.65 * q:
        w["license"] = _license(rng, year)
    if rng.random() < 0.7 * q:
        w["link"] = _links(rng, doi)
    ru = rng.random()
    if ru < 0.4 * q:
        w["update-policy"] = f"https://doi.org/{member['prefix']}/crossmark_policy"
    elif ru < 0.4 * q + 0.01:
        w["update-policy"] = rng.choice(BLANKS)
    rd = rng.random()
    if rd < 0.02:
        w["description"] = _words(rng, 5, 20)
    elif rd < 0.03:
        w["description"] = [rng.choice(BLANKS), _words(rng, 3, 6)]
    elif rd < 0.04:
        w["description"] = rng.choice((rng.choice(BLANKS), [rng.choice(BLANKS)], []))
    rc = rng.random()
    if rc < 0.01 * q:
        w["clinical-trial-number"] = [
            {
                "clinical-trial-number": f"nct0{rng.randint(1000000, 9999999)}",
                "registry": "10.18810/clinical-trials-gov",
            }
        ]
    elif rc < 0.01 * q + 0.003:
        w["clinical-trial-number"] = []
    if rng.random() < 0.03:
        w["update-to"] = [
            {
                "DOI": f"{member['prefix']}/x{serial}",
                "type": "correction",
                "label": "Correction",
                "source": "publisher",
                "updated": _stamp(cyear, rng),
            }
        ]
    return w


def iter_works(
    n: int, seed: int = 0, *, current_year: int = 2026, members: int = 200
) -> Iterator[dict]:
    """`n` works spread over `members` members with a skewed (Zipf-like) size distribution."""
    rng = random.Random(seed)
    pool = make_members(members, seed)
    weights = [1 / (i + 1) ** 0.9 for i in range(len(pool))]
    for serial in range(n):
        member = rng.choices(pool, weights)[0]
        yield make_work(rng, member, current_year, serial)


def write_jsonl_gz(
    path: Path | str,
    n: int,
    seed: int = 0,
    *,
    current_year: int = 2026,
    members: int = 200,
    compresslevel: int = 1,
) -> Path:
    """Write `n` works as JSON Lines (the 2025+ public-data format), gzip-compressed."""
    path = Path(path)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=compresslevel) as fh:
        for work in iter_works(n, seed, current_year=current_year, members=members):
            fh.write(json.dumps(work, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    return path


def write_items_json_gz(path: Path | str, works: list[dict], *, indent: int | None = 2) -> Path:
    """Write works in the pre-2025 public-data chunk format: gzip of `{"items": [...]}`."""
    path = Path(path)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump({"items": works}, fh, ensure_ascii=False, indent=indent)
    return path
