"""Crossref member ``location`` free text → ISO 3166-1 alpha-3 country, and the GEM flag.

``location`` (``/members`` → ``message.items[].location``) is free text in many forms:
``"Leawood, KS, United States"``, ``"Seoul, Korea, Republic of"``, ``"Japan"``, native names
(``"München, Deutschland"``), abbreviations (``"Oxford, UK"``) and, for older members, whole
postal addresses with no comma before the country (``"… Jakarta 10430 Indonesia"``,
``"… Bethesda MD 20814 United States"``).

How a country is found (first hit wins; comma-separated parts are read from the end):

1. the last two, three … parts joined (``"Korea, Republic of"``, ``"Hong Kong SAR, China"``),
   then for each part from the last one: the part alone, then its last words (longest first, up
   to six words, postcodes and other digit-bearing tokens skipped), matched exactly (case-,
   accent- and punctuation-insensitively, ``the`` ignored) against the name index;
2. a US state code or name directly followed by a ZIP code at the end of a part (``"MD 20814"``,
   ``"Georgia 30303"``) means the United States, and wins over the country Georgia there;
3. a whole part that is a US state code or name after a city (``"Chicago, IL"``, ``"Austin,
   Texas"``) means the United States; a Canadian or Australian province code means that country
   when it is not also a country code; any other whole part that is an ISO alpha-2 code means
   that country; a code that is both (``"SK"``: Saskatchewan or Slovakia) is ambiguous → nothing.

The name index comes from libraries, not hand lists: pycountry (ISO 3166-1 names, official and
common names, alpha-3 codes) and Babel's CLDR data (each country's name in English, in its own
official languages — ``Deutschland``, ``España``, ``Brasil``, ``Türkiye``, ``Nederland`` — and in
a few widely used languages: ``Estados Unidos``, ``Allemagne``). A name that two countries share
is dropped. A short alias table adds only the abbreviations and historic names that neither
library carries (``UK``, ``USA``, ``PR China``, ``Holland`` …). US states, Canadian provinces and
Australian states come from pycountry's ISO 3166-2 subdivisions. Results are memoized: 33k
members share a few thousand strings.
"""

from __future__ import annotations

import csv
import functools
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import pycountry

GEM_CSV = Path(__file__).with_name("data") / "gem-countries.csv"

#: Widely used languages whose country names are also recognised (besides English and each
#: country's own official languages).
EXTRA_LANGUAGES: tuple[str, ...] = ("es", "fr", "de", "pt", "it")

# Abbreviations and historic / informal names that neither ISO 3166 (pycountry) nor CLDR (Babel)
# carries, as seen in Crossref locations. Keys are matched after normalisation (_norm).
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
    "u.s.": "USA",
    "united states of america": "USA",
    "korea": "KOR",
    "korea south": "KOR",
    "republic of korea": "KOR",
    "korea republic": "KOR",
    "korea rep": "KOR",
    "rep of korea": "KOR",
    "north korea": "PRK",
    "holland": "NLD",
    "turkey": "TUR",
    "palestine": "PSE",
    "state of palestine": "PSE",
    "ivory coast": "CIV",
    "macedonia": "MKD",
    "republic of macedonia": "MKD",
    "czech republic": "CZE",
    "ceska republika": "CZE",
    "slovak republic": "SVK",
    "kosovo": "XKX",
    "hong kong sar": "HKG",
    "macau": "MAC",
    "macao sar": "MAC",
    "taiwan roc": "TWN",
    "republic of china": "TWN",
    "peoples republic of china": "CHN",
    "pr china": "CHN",
    "p.r. china": "CHN",
    "p r china": "CHN",
    "prc": "CHN",
    "mainland china": "CHN",
    "dr congo": "COD",
    "drc": "COD",
    "congo democratic republic": "COD",
    "democratic republic of congo": "COD",
    "republic of the congo": "COG",
    "congo brazzaville": "COG",
    "swaziland": "SWZ",
    "burma": "MMR",
    "east timor": "TLS",
    "vatican": "VAT",
    "uae": "ARE",
    "u.a.e.": "ARE",
    "ksa": "SAU",
}

_DROP_RE = re.compile(r"[\u2019'`´]+")  # apostrophes: Côte d’Ivoire → cote divoire
_SEP_RE = re.compile(r"[-\u2010-\u2015_/()\[\]{}\"“”„«»,]+")  # hyphens, slashes, brackets → space
_PART_RE = re.compile(r"[,;\n\r|]+")
# A US ZIP (or ZIP+4) ends the part; a Brazilian CEP (01310-100) is not one.
_ZIP_TAIL_RE = re.compile(r"(?:^|[\s,.])([A-Za-z][A-Za-z .]*?)\.?,?\s+\d{5}(?:-\d{4})?\s*$")
MAX_WORDS = 6


def _norm(text: str) -> str:
    """The matching key: lower case, no accents, apostrophes or dots (``U.S.A.`` → ``usa``),
    commas, hyphens, slashes and brackets → spaces, '&' → 'and', a leading 'the' dropped."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _DROP_RE.sub("", text.casefold()).replace(".", "")
    text = _SEP_RE.sub(" ", text).replace("&", " and ")
    return " ".join(w for w in text.strip(" ;:").split() if w != "the")


def _country_alpha3() -> dict[str, str]:
    return {c.alpha_2: c.alpha_3 for c in pycountry.countries} | {"XK": "XKX"}


def _babel_names() -> Iterable[tuple[str, str]]:
    """(name, alpha-3) from CLDR: English, each country's official languages, EXTRA_LANGUAGES."""
    from babel import Locale, UnknownLocaleError
    from babel.languages import get_official_languages

    alpha3 = _country_alpha3()

    def names(lang: str) -> dict[str, str]:
        try:
            return dict(Locale.parse(lang).territories)
        except (UnknownLocaleError, ValueError):
            return {}

    for lang in ("en", *EXTRA_LANGUAGES):
        for a2, name in names(lang).items():
            if a2 in alpha3:
                yield name, alpha3[a2]
    for a2, a3 in alpha3.items():
        for lang in get_official_languages(a2, de_facto=True):
            name = names(lang).get(a2) or names(lang.split("_")[0]).get(a2)
            if name:
                yield name, a3


@functools.cache
def _index() -> dict[str, str]:
    """Normalised country name / alias / alpha-3 code → alpha-3 (unambiguous names only)."""
    primary: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                primary.setdefault(_norm(value), country.alpha_3)
        primary.setdefault(country.alpha_3.lower(), country.alpha_3)
    others: dict[str, set[str]] = {}
    for name, iso3 in _babel_names():
        others.setdefault(_norm(name), set()).add(iso3)
    index = {k: next(iter(v)) for k, v in others.items() if len(v) == 1 and k}
    index.update(primary)  # ISO names win over a translation that happens to collide
    for alias, iso3 in ALIASES.items():
        index[_norm(alias)] = iso3
    index.pop("", None)
    return index


@functools.cache
def _subdivisions(country: str, types: frozenset[str]) -> tuple[dict[str, str], frozenset[str]]:
    """(code → normalised name, normalised names) of a country's ISO 3166-2 subdivisions."""
    codes: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country) or []:
        if sub.type in types:
            codes[sub.code.split("-", 1)[1]] = _norm(sub.name)
    return codes, frozenset(codes.values())


def _us_states() -> tuple[dict[str, str], frozenset[str]]:
    return _subdivisions("US", frozenset({"State", "District"}))


def _region_codes() -> dict[str, str]:
    """Canadian province and Australian state codes → alpha-3 (``ON`` → CAN, ``NSW`` → AUS)."""
    out: dict[str, str] = {}
    for a2, a3 in (("CA", "CAN"), ("AU", "AUS")):
        for code in _subdivisions(a2, frozenset({"Province", "Territory", "State"}))[0]:
            out[code] = a3
    return out


@functools.cache
def country_name(iso3: str) -> str:
    """pycountry name of an ISO 3166-1 alpha-3 code (``"Kosovo"`` for XKX; ``""`` if unknown)."""
    if not iso3:
        return ""
    country = pycountry.countries.get(alpha_3=iso3)
    if country is not None:
        return str(country.name)
    return {"XKX": "Kosovo"}.get(iso3, "")


def _is_us_state(norm: str) -> bool:
    """A US state name that is not also a country's name (Georgia is a country)."""
    return norm in _us_states()[1] and norm not in _index()


def _trailing_words(part: str) -> str:
    """Exact match of the part's last words (longest first), digit-bearing tokens skipped."""
    words = [w for w in part.split() if not any(ch.isdigit() for ch in w)]
    index = _index()
    for k in range(min(MAX_WORDS, len(words)), 0, -1):
        key = _norm(" ".join(words[-k:]))
        if key in index:
            return index[key]
        if k > 1 and _is_us_state(key):
            return "USA"
        if k == 1 and _is_us_state(key) and len(words) > 1:
            return "USA"
    if words:
        last = words[-1].strip(".,;:()")
        if len(last) == 3 and last.isupper() and pycountry.countries.get(alpha_3=last):
            return last
    return ""


def _zip_tail(part: str) -> bool:
    """The part ends in '<US state code or name> <ZIP>' (``Bethesda MD 20814``)."""
    m = _ZIP_TAIL_RE.search(part)
    if not m:
        return False
    words = m.group(1).split()
    codes, names = _us_states()
    if words and words[-1].strip(".").upper() in codes and words[-1].strip(".").isupper():
        return True
    norm_words = _norm(" ".join(words)).split()
    return any(" ".join(norm_words[-k:]) in names for k in (1, 2, 3))


def _code_part(raw: str, *, has_city: bool) -> str:
    """A whole part that is a code: US state (after a city), CA/AU region, ISO alpha-2/3."""
    token = raw.strip(" .")
    if not token.isalpha() or not token.isupper() or len(token) not in (2, 3):
        return ""
    alpha3 = _country_alpha3()
    if has_city and token in _us_states()[0]:
        return "USA"  # "Chicago, IL": Illinois, not Israel (US members dominate Crossref)
    region = _region_codes().get(token) if has_city else None
    country = alpha3.get(token) if len(token) == 2 else None
    if region and country:
        return ""  # "Saskatoon, SK" or "Bratislava, SK": ambiguous
    if region:
        return region
    if country:
        return country
    if len(token) == 3 and pycountry.countries.get(alpha_3=token):
        return token
    return ""


@functools.lru_cache(maxsize=65_536)
def parse_country(location: str | None) -> tuple[str, str]:
    """The country of a Crossref member ``location`` string.

    Returns ``(ISO 3166-1 alpha-3, pycountry name)``, e.g. ``("IDN", "Indonesia")`` for
    ``"… Jakarta 10430 Indonesia"``, or ``("", "")`` when no country can be recognised (empty or
    non-string input, a city alone, an ambiguous code). Never raises. See the module docstring
    for the rules; memoized per string.
    """
    if not location or not isinstance(location, str):
        return "", ""
    parts = [p for p in (s.strip() for s in _PART_RE.split(location)) if p and _norm(p)]
    index = _index()
    for i in range(len(parts) - 2, -1, -1):  # "Korea, Republic of", "Hong Kong SAR, China"
        joined = index.get(_norm(", ".join(parts[i:])))
        if joined:
            return joined, country_name(joined)
    for i in range(len(parts) - 1, -1, -1):
        part = parts[i]
        if _zip_tail(part):
            return "USA", country_name("USA")
        iso3 = _code_part(part, has_city=i > 0)
        if not iso3:
            norm = _norm(part)
            iso3 = index.get(norm, "")
            if not iso3 and i > 0 and norm in _us_states()[1] and norm not in index:
                iso3 = "USA"  # "Austin, Texas"
        iso3 = iso3 or _trailing_words(part)
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
    """True when ``iso3`` (alpha-3, any case) is a Crossref GEM country; False for ``""``/None."""
    return bool(iso3) and str(iso3).upper() in gem_countries()
