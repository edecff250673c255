"""Crossref member ``location`` free text → ISO 3166-1 alpha-3 country, and the GEM flag.

``location`` is one string such as ``"Leawood, KS, United States"``, ``"Seoul, Korea, Republic
of"``, ``"Makhachkala, Dagestan, Russia"`` or just ``"Japan"``. We try the trailing
comma-separated parts, longest suffix last (so ``"Korea, Republic of"`` matches), against an
index of pycountry names (name, official and common names, alpha-2/alpha-3 codes) plus a small
alias table, accent- and case-insensitively. A trailing US state code or name (``"Chicago, IL"``)
means the United States. Results are memoized: 33k members share a few thousand strings.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from pathlib import Path

import pycountry

GEM_CSV = Path(__file__).with_name("data") / "gem-countries.csv"

# Spellings seen in Crossref locations that pycountry does not know (normalised lower-case).
ALIASES: dict[str, str] = {
    "uk": "GBR",
    "u.k.": "GBR",
    "great britain": "GBR",
    "britain": "GBR",
    "england": "GBR",
    "scotland": "GBR",
    "wales": "GBR",
    "northern ireland": "GBR",
    "usa": "USA",
    "u.s.a.": "USA",
    "us": "USA",
    "u.s.": "USA",
    "united states of america": "USA",
    "america": "USA",
    "south korea": "KOR",
    "korea": "KOR",
    "korea, south": "KOR",
    "republic of korea": "KOR",
    "korea (south)": "KOR",
    "korea (republic of)": "KOR",
    "north korea": "PRK",
    "russia": "RUS",
    "turkey": "TUR",
    "turkiye": "TUR",
    "vietnam": "VNM",
    "iran": "IRN",
    "palestine": "PSE",
    "state of palestine": "PSE",
    "macedonia": "MKD",
    "republic of macedonia": "MKD",
    "the netherlands": "NLD",
    "holland": "NLD",
    "brasil": "BRA",
    "ivory coast": "CIV",
    "cote d'ivoire": "CIV",
    "cote divoire": "CIV",
    "czech republic": "CZE",
    "slovak republic": "SVK",
    "kosovo": "XKX",
    "hong kong sar": "HKG",
    "hong kong sar china": "HKG",
    "macau": "MAC",
    "macao sar": "MAC",
    "taiwan": "TWN",
    "taiwan roc": "TWN",
    "republic of china": "TWN",
    "peoples republic of china": "CHN",
    "pr china": "CHN",
    "p.r. china": "CHN",
    "mainland china": "CHN",
    "democratic republic of the congo": "COD",
    "dr congo": "COD",
    "drc": "COD",
    "congo, democratic republic": "COD",
    "congo, democratic republic of the": "COD",
    "republic of the congo": "COG",
    "congo-brazzaville": "COG",
    "swaziland": "SWZ",
    "burma": "MMR",
    "cape verde": "CPV",
    "east timor": "TLS",
    "the gambia": "GMB",
    "the bahamas": "BHS",
    "vatican": "VAT",
    "vatican city": "VAT",
    "micronesia": "FSM",
    "st. lucia": "LCA",
    "st lucia": "LCA",
    "st. kitts and nevis": "KNA",
    "st. vincent and the grenadines": "VCT",
    "uae": "ARE",
    "u.a.e.": "ARE",
    "syria": "SYR",
    "laos": "LAO",
    "moldova": "MDA",
    "bolivia": "BOL",
    "venezuela": "VEN",
    "tanzania": "TZA",
}

US_STATES: dict[str, str] = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "DC": "district of columbia",
    "FL": "florida", "GA": "georgia", "HI": "hawaii", "ID": "idaho", "IL": "illinois",
    "IN": "indiana", "IA": "iowa", "KS": "kansas", "KY": "kentucky", "LA": "louisiana",
    "ME": "maine", "MD": "maryland", "MA": "massachusetts", "MI": "michigan", "MN": "minnesota",
    "MS": "mississippi", "MO": "missouri", "MT": "montana", "NE": "nebraska", "NV": "nevada",
    "NH": "new hampshire", "NJ": "new jersey", "NM": "new mexico", "NY": "new york",
    "NC": "north carolina", "ND": "north dakota", "OH": "ohio", "OK": "oklahoma", "OR": "oregon",
    "PA": "pennsylvania", "RI": "rhode island", "SC": "south carolina", "SD": "south dakota",
    "TN": "tennessee", "TX": "texas", "UT": "utah", "VT": "vermont", "VA": "virginia",
    "WA": "washington", "WV": "west virginia", "WI": "wisconsin", "WY": "wyoming",
    "PR": "puerto rico",
}  # fmt: skip
# A state *name* counts only when it is not also a country (Georgia is a country).
_US_STATE_NAMES = frozenset(US_STATES.values()) - {"georgia", "puerto rico"}

_SPACE_RE = re.compile(r"\s+")
_DROP_RE = re.compile(r"[\d\u2019'`´]+")  # postcodes, apostrophes (Côte d’Ivoire)


def _norm(text: str) -> str:
    """Lower case, no accents, no digits/apostrophes, single spaces, no outer punctuation."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _DROP_RE.sub("", text.casefold())
    return _SPACE_RE.sub(" ", text).strip(' .;:-()[]"')


@functools.cache
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                index.setdefault(_norm(value), country.alpha_3)
        index.setdefault(country.alpha_3.lower(), country.alpha_3)
    for alias, iso3 in ALIASES.items():
        index[_norm(alias)] = iso3
    return index


@functools.cache
def _alpha2_index() -> dict[str, str]:
    return {c.alpha_2: c.alpha_3 for c in pycountry.countries}


@functools.cache
def country_name(iso3: str) -> str:
    """pycountry name of an alpha-3 code (``""`` when unknown)."""
    if not iso3:
        return ""
    country = pycountry.countries.get(alpha_3=iso3)
    if country is not None:
        return str(country.name)
    return {"XKX": "Kosovo"}.get(iso3, "")


def _match_part(part: str, *, has_city: bool) -> str:
    raw = part.strip()
    if not raw:
        return ""
    if has_city and raw.upper() in US_STATES and len(raw) == 2:
        return "USA"  # "Chicago, IL": a state code after a city wins over alpha-2 (IL = Israel)
    norm = _norm(raw)
    iso3 = _index().get(norm, "")
    if iso3:
        return iso3
    if norm in _US_STATE_NAMES and has_city:
        return "USA"
    if len(raw) == 2 and raw.isupper():
        return _alpha2_index().get(raw, "")
    return ""


@functools.lru_cache(maxsize=65_536)
def parse_country(location: str | None) -> tuple[str, str]:
    """``location`` → (ISO3, country name); ``("", "")`` when no country can be recognised."""
    if not location or not isinstance(location, str):
        return "", ""
    parts = [p for p in (s.strip() for s in location.split(",")) if p]
    if not parts:
        return "", ""
    # Trailing suffixes, shortest first: "Seoul, Korea, Republic of" → "Republic of" (no),
    # "Korea, Republic of" (yes). Then each part from the end (a postcode or region may trail).
    for k in range(1, len(parts) + 1):
        candidate = ", ".join(parts[-k:])
        iso3 = _match_part(candidate, has_city=len(parts) > k)
        if iso3:
            return iso3, country_name(iso3)
    for i in range(len(parts) - 2, -1, -1):
        iso3 = _match_part(parts[i], has_city=i > 0)
        if iso3:
            return iso3, country_name(iso3)
    return "", ""


@functools.cache
def gem_countries() -> frozenset[str]:
    """ISO3 codes of the Crossref GEM countries (cache/jobs/data/gem-countries.csv)."""
    with GEM_CSV.open(encoding="utf-8", newline="") as fh:
        return frozenset(
            row["iso3"].strip().upper() for row in csv.DictReader(fh) if row.get("iso3")
        )


def is_gem(iso3: str | None) -> bool:
    return bool(iso3) and str(iso3).upper() in gem_countries()
