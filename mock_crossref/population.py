"""The deterministic demo population behind the mock Crossref API.

Nothing here stores a work. For every member the build draws, vectorised with numpy:

* *segments*: (member, type, issued year, number of works); an undated segment (year 0) holds
  works with ``issued: {"date-parts": [[null]]}``, counted in ``counts-type.all`` only;
* *blocks*: (member, type, period) with period backfile / current / undated, the union of that
  member's segments of one type and period, in year order; work *i* of a block is its *i*-th
  work in publication-date order;
* per block and per *counted element* the number of works that have it. A work has a root element
  iff ``perm(i) < count`` (a keyed bijection of ``[0, n)``); a child element (ROR ⊆ affiliation,
  award ⊆ funder, funder-DOI ⊆ funder) is decided by a second bijection of the parent's rank, so
  every count holds exactly and the subset relations hold by construction;
* per member the rates of everything that is not in the member summary (authenticated ORCID,
  licence versions, clinical trials, …), used as per-work coins by :mod:`mock.engine`.

Member summaries (``/members`` items) are computed from the block counts, so they equal the
``/works`` filter counts of the generated works by construction. The calibration targets and how
the build is tuned to them are in :mod:`mock.calibration` and docs/mock.md.
"""

from __future__ import annotations

import datetime as _dt
import json
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

# --------------------------------------------------------------------------------------------
# Keyed hashing and bijections (shared with mock.engine)
# --------------------------------------------------------------------------------------------

M64 = (1 << 64) - 1
_GOLD = 0x9E3779B97F4A7C15


def mix64(x: int) -> int:
    """splitmix64 finaliser on a Python int (scalar twin of :func:`mix64_np`)."""
    x = (x + _GOLD) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def hkey_np(*parts) -> np.ndarray:
    """Vectorised :func:`hkey` (each part an int or an int array; broadcast)."""
    arrs = np.broadcast_arrays(*[np.atleast_1d(np.asarray(p)) for p in parts])
    h = np.full(arrs[0].shape, 0x243F6A8885A308D3, dtype=np.uint64)
    for a in arrs:
        h = mix64_np(h ^ a.astype(np.uint64))
    return h


def hkey(*parts: int) -> int:
    """Hash a tuple of non-negative ints to one 64-bit key."""
    h = 0x243F6A8885A308D3
    for p in parts:
        h = mix64(h ^ (int(p) & M64))
    return h


_U30 = np.uint64(30)
_U27 = np.uint64(27)
_U31 = np.uint64(31)
_U11 = np.uint64(11)
_C1 = np.uint64(0xBF58476D1CE4E5B9)
_C2 = np.uint64(0x94D049BB133111EB)
_G = np.uint64(_GOLD)


def mix64_np(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, vectorised over a uint64 array (wrapping arithmetic)."""
    x = x + _G
    x = (x ^ (x >> _U30)) * _C1
    x = (x ^ (x >> _U27)) * _C2
    return x ^ (x >> _U31)


def uniform_np(key: int, idx: np.ndarray) -> np.ndarray:
    """Deterministic uniforms in [0, 1) for indices ``idx`` under ``key``."""
    x = mix64_np(idx.astype(np.uint64) ^ np.uint64(key))
    return (x >> _U11).astype(np.float64) * (1.0 / 9007199254740992.0)


def _inv_odd(a: int, bits: int) -> int:
    inv = a
    for _ in range(7):
        inv = (inv * (2 - a * inv)) & M64
    return inv & ((1 << bits) - 1)


class Perm:
    """A keyed bijection of ``[0, m)`` (hash permutation of 2^k plus cycle walking)."""

    __slots__ = ("a1", "a1i", "a2", "a2i", "c", "k", "m", "mask", "s")

    def __init__(self, m: int, key: int):
        self.m = int(m)
        k = max(1, (self.m - 1).bit_length())
        self.k = k
        self.mask = (1 << k) - 1
        self.s = max(1, (k + 1) // 2)
        h1, h2, h3 = mix64(key ^ 0x51), mix64(key ^ 0xA3), mix64(key ^ 0x7F)
        self.a1 = (h1 | 1) & self.mask
        self.a2 = (h2 | 1) & self.mask
        self.c = h3 & self.mask
        self.a1i = _inv_odd(self.a1 | 1, k) if k < 64 else 1
        self.a2i = _inv_odd(self.a2 | 1, k) if k < 64 else 1

    def _f(self, x: np.ndarray) -> np.ndarray:
        mask, s = np.uint64(self.mask), np.uint64(self.s)
        x = (x * np.uint64(self.a1)) & mask
        x = x ^ (x >> s)
        x = (x + np.uint64(self.c)) & mask
        x = (x * np.uint64(self.a2)) & mask
        return x ^ (x >> s)

    def _finv(self, x: np.ndarray) -> np.ndarray:
        mask, s = np.uint64(self.mask), np.uint64(self.s)
        x = x ^ (x >> s)
        x = (x * np.uint64(self.a2i)) & mask
        x = (x - np.uint64(self.c)) & mask
        x = x ^ (x >> s)
        return (x * np.uint64(self.a1i)) & mask

    def _walk(self, x: np.ndarray, f) -> np.ndarray:
        m = np.uint64(self.m)
        y = f(x)
        bad = np.flatnonzero(y >= m)
        while bad.size:
            z = f(y[bad])
            y[bad] = z
            bad = bad[z >= m]
        return y

    def __call__(self, idx: np.ndarray) -> np.ndarray:
        if self.m <= 1:
            return np.zeros(len(idx), dtype=np.int64)
        return self._walk(np.asarray(idx, dtype=np.uint64), self._f).astype(np.int64)

    def inverse(self, vals: np.ndarray) -> np.ndarray:
        if self.m <= 1:
            return np.zeros(len(vals), dtype=np.int64)
        return self._walk(np.asarray(vals, dtype=np.uint64), self._finv).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

#: Content types, in the order works are listed within a member. "journal" is undated only.
TYPES: tuple[str, ...] = (
    "journal-article",
    "book-chapter",
    "proceedings-article",
    "dataset",
    "posted-content",
    "book",
    "report",
    "component",
    "journal-issue",
    "journal",
)
TYPE_INDEX = {t: i for i, t in enumerate(TYPES)}
N_DATED_TYPES = 9
TYPE_LABELS = {
    "journal-article": "Journal Article",
    "book-chapter": "Book Chapter",
    "proceedings-article": "Proceedings Article",
    "dataset": "Dataset",
    "posted-content": "Posted Content",
    "book": "Book",
    "report": "Report",
    "component": "Component",
    "journal-issue": "Journal Issue",
    "journal": "Journal",
}
#: Types whose works carry authors (contributors).
AUTHOR_TYPES = frozenset(TYPES[:7])

BACKFILE, CURRENT, UNDATED = 0, 1, 2

#: The 12 coverage keys in the order Crossref sends them in ``coverage-type``. Deliberately not
#: imported from ``metrics``: the mock stands for Crossref, and tests compare our registry with it.
COVERAGE_KEYS: tuple[str, ...] = (
    "affiliations",
    "abstracts",
    "orcids",
    "licenses",
    "references",
    "funders",
    "similarity-checking",
    "award-numbers",
    "ror-ids",
    "update-policies",
    "resource-links",
    "descriptions",
)
#: Elements with an exact count per block. The first 10 are roots, the last 3 children.
COUNTED: tuple[str, ...] = (
    "references",
    "abstracts",
    "orcids",
    "affiliations",
    "funders",
    "update-policies",
    "similarity-checking",
    "resource-links",
    "licenses",
    "descriptions",
    "ror-ids",
    "award-numbers",
    "funder-doi",
)
E = {name: i for i, name in enumerate(COUNTED)}
N_ROOTS = 10
PARENT = {
    E["ror-ids"]: E["affiliations"],
    E["award-numbers"]: E["funders"],
    E["funder-doi"]: E["funders"],
}
COVERAGE_COLS = np.array([E[k] for k in COVERAGE_KEYS])

#: Flat ``coverage`` key order as in the fixtures.
FLAT_COVERAGE_ORDER: tuple[str, ...] = (
    "affiliations-current",
    "similarity-checking-current",
    "descriptions-current",
    "ror-ids-current",
    "funders-backfile",
    "licenses-backfile",
    "funders-current",
    "affiliations-backfile",
    "resource-links-backfile",
    "orcids-backfile",
    "update-policies-current",
    "ror-ids-backfile",
    "orcids-current",
    "similarity-checking-backfile",
    "references-backfile",
    "descriptions-backfile",
    "award-numbers-backfile",
    "update-policies-backfile",
    "licenses-current",
    "award-numbers-current",
    "abstracts-backfile",
    "resource-links-current",
    "abstracts-current",
    "references-current",
)
FLAG_ORDER: tuple[str, ...] = (
    "deposits-abstracts-current",
    "deposits-orcids-current",
    "deposits",
    "deposits-affiliations-backfile",
    "deposits-update-policies-backfile",
    "deposits-similarity-checking-backfile",
    "deposits-award-numbers-current",
    "deposits-resource-links-current",
    "deposits-ror-ids-current",
    "deposits-articles",
    "deposits-affiliations-current",
    "deposits-funders-current",
    "deposits-references-backfile",
    "deposits-ror-ids-backfile",
    "deposits-abstracts-backfile",
    "deposits-licenses-backfile",
    "deposits-award-numbers-backfile",
    "deposits-descriptions-current",
    "deposits-references-current",
    "deposits-resource-links-backfile",
    "deposits-descriptions-backfile",
    "deposits-orcids-backfile",
    "deposits-funders-backfile",
    "deposits-update-policies-current",
    "deposits-similarity-checking-current",
    "deposits-licenses-current",
)

# Type factors: element rate of a type relative to the member's journal-article rate.
_TF_ROWS = {
    #                     ref  abs  orc  aff  fun  upd  sim  res  lic  des
    "journal-article": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0),
    "book-chapter": (0.8, 0.6, 0.5, 0.6, 0.5, 0.9, 0.9, 0.9, 0.9, 0.0),
    "proceedings-article": (0.9, 0.9, 0.7, 0.9, 0.6, 0.7, 0.9, 0.8, 0.8, 0.0),
    "dataset": (0.0, 0.3, 0.4, 0.4, 0.3, 0.0, 0.0, 0.5, 0.9, 1.0),
    "posted-content": (0.6, 0.9, 0.7, 0.5, 0.3, 0.2, 0.0, 0.6, 0.9, 0.0),
    "book": (0.4, 0.5, 0.3, 0.4, 0.3, 0.8, 0.8, 0.8, 0.8, 0.0),
    "report": (0.3, 0.7, 0.3, 0.5, 0.5, 0.0, 0.0, 0.6, 0.6, 0.2),
    "component": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.3, 1.0),
    "journal-issue": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5, 0.3, 0.5, 0.0),
    "journal": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.05, 0.0, 0.0, 0.0),
}
TYPE_FACTORS = np.ones((len(TYPES), len(COUNTED)))
for _t, _row in _TF_ROWS.items():
    TYPE_FACTORS[TYPE_INDEX[_t], :N_ROOTS] = _row
#: Backfile rate relative to the current rate (older works carry newer elements less often).
#: Set so that Crossref-wide current journal-article coverage (landscape.md §5) and all-years
#: coverage per country (Crossref's country statistics, 2026-04-30: references 52.8 %, abstracts
#: 30.1 %, licences 56.7 %, ORCID 14.4 %, funding 11.4 %, funder IDs 9.4 %, ROR 0.2 %) both hold.
BACKFILE_FACTOR = np.array([0.8, 0.45, 0.15, 0.6, 0.28, 0.7, 0.8, 0.9, 0.7, 1.0, 0.005, 0.9, 0.95])
#: Archetypes whose platforms always deposited some elements (OJS: abstracts, licences, links).
ARCH_BACKFILE = {
    "ojs": {"abstracts": 1.0, "licenses": 0.95, "resource-links": 1.0},
    "preprint": {"abstracts": 1.0},
}

# Archetypes: what kind of member. (p_zero, mean) per counted element for current JA.
ARCHETYPES = (
    "ojs",
    "jstage",
    "society",
    "commercial",
    "university-press",
    "repository",
    "conference",
    "preprint",
)
A = {a: i for i, a in enumerate(ARCHETYPES)}
_ARCH_RATES = {
    # element order = COUNTED
    "ojs": [
        (0.80, 0.7),
        (0.05, 0.92),
        (0.55, 0.45),
        (0.30, 0.7),
        (0.97, 0.3),
        (0.90, 0.8),
        (0.55, 0.7),
        (0.08, 0.93),
        (0.30, 0.85),
        (1, 0),
        (0.97, 0.2),
        (0.5, 0.5),
        (0.4, 0.6),
    ],
    "jstage": [
        (0.45, 0.75),
        (0.97, 0.3),
        (0.95, 0.3),
        (0.40, 0.6),
        (0.97, 0.3),
        (0.95, 0.5),
        (0.6, 0.6),
        (0.97, 0.5),
        (0.97, 0.5),
        (1, 0),
        (0.99, 0.1),
        (0.5, 0.5),
        (0.5, 0.6),
    ],
    "society": [
        (0.40, 0.85),
        (0.35, 0.75),
        (0.45, 0.5),
        (0.35, 0.6),
        (0.84, 0.3),
        (0.70, 0.8),
        (0.35, 0.8),
        (0.45, 0.8),
        (0.45, 0.8),
        (0.9, 0.5),
        (0.92, 0.2),
        (0.4, 0.6),
        (0.2, 0.8),
    ],
    "commercial": [
        (0.08, 0.80),
        (0.08, 0.75),
        (0.04, 0.68),
        (0.05, 0.45),
        (0.10, 0.42),
        (0.10, 0.95),
        (0.05, 0.95),
        (0.05, 0.93),
        (0.03, 0.95),
        (0.8, 0.6),
        (0.45, 0.12),
        (0.15, 0.8),
        (0.05, 0.9),
    ],
    "university-press": [
        (0.30, 0.7),
        (0.40, 0.5),
        (0.60, 0.3),
        (0.50, 0.4),
        (0.85, 0.2),
        (0.60, 0.8),
        (0.40, 0.8),
        (0.40, 0.8),
        (0.40, 0.7),
        (0.9, 0.5),
        (0.92, 0.1),
        (0.4, 0.5),
        (0.3, 0.7),
    ],
    "repository": [
        (0.80, 0.4),
        (0.30, 0.7),
        (0.40, 0.5),
        (0.40, 0.5),
        (0.75, 0.3),
        (0.95, 0.5),
        (0.95, 0.5),
        (0.50, 0.6),
        (0.20, 0.9),
        (0.1, 0.85),
        (0.75, 0.3),
        (0.4, 0.6),
        (0.3, 0.7),
    ],
    "conference": [
        (0.30, 0.85),
        (0.20, 0.8),
        (0.50, 0.4),
        (0.20, 0.8),
        (0.85, 0.3),
        (0.70, 0.8),
        (0.30, 0.8),
        (0.40, 0.8),
        (0.50, 0.8),
        (1, 0),
        (0.92, 0.2),
        (0.4, 0.6),
        (0.3, 0.8),
    ],
    "preprint": [
        (0.20, 0.7),
        (0.02, 0.98),
        (0.20, 0.5),
        (0.30, 0.6),
        (0.65, 0.3),
        (0.90, 0.5),
        (0.90, 0.5),
        (0.10, 0.9),
        (0.05, 0.95),
        (1, 0),
        (0.85, 0.2),
        (0.4, 0.5),
        (0.3, 0.7),
    ],
}
ARCH_P0 = np.array([[p for p, _ in _ARCH_RATES[a]] for a in ARCHETYPES])
ARCH_MEAN = np.array([[m for _, m in _ARCH_RATES[a]] for a in ARCHETYPES])
# Size: log-normal (median works, sigma); start-year range; yearly growth.
ARCH_SIZE = {
    "ojs": (160, 1.1),
    "jstage": (700, 1.0),
    "society": (700, 1.5),
    "commercial": (30000, 1.7),
    "university-press": (2500, 1.3),
    "repository": (1500, 2.0),
    "conference": (1200, 1.4),
    "preprint": (4000, 1.6),
}
ARCH_START = {
    "ojs": (2010, 2024),
    "jstage": (1950, 2006),
    "society": (1965, 2018),
    "commercial": (1900, 1995),
    "university-press": (1960, 2012),
    "repository": (2004, 2021),
    "conference": (1990, 2019),
    "preprint": (2012, 2022),
}
ARCH_GROWTH = {
    "ojs": 0.22,
    "jstage": 0.03,
    "society": 0.07,
    "commercial": 0.07,
    "university-press": 0.06,
    "repository": 0.15,
    "conference": 0.08,
    "preprint": 0.2,
}
#: Type mix per archetype (dated types, in TYPES order).
ARCH_TYPES = {
    "ojs": (0.93, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02),
    "jstage": (0.97, 0.0, 0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02),
    "society": (0.84, 0.04, 0.05, 0.0, 0.0, 0.01, 0.0, 0.02, 0.04),
    "commercial": (0.74, 0.17, 0.04, 0.005, 0.005, 0.015, 0.0, 0.01, 0.015),
    "university-press": (0.12, 0.66, 0.0, 0.0, 0.0, 0.22, 0.0, 0.0, 0.0),
    "repository": (0.0, 0.0, 0.0, 0.5, 0.1, 0.0, 0.2, 0.2, 0.0),
    "conference": (0.08, 0.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.02),
    "preprint": (0.0, 0.0, 0.0, 0.0, 0.95, 0.0, 0.05, 0.0, 0.0),
}

# Countries: (name in location, iso3, weight, group, regions). Weights = members with a DOI per
# country on 2026-04-30 (Crossref's member_participation_stats_by_country.csv).
_US_STATES = (
    "KS",
    "OK",
    "NY",
    "CA",
    "MA",
    "TX",
    "IL",
    "PA",
    "OH",
    "MI",
    "WA",
    "DC",
    "MD",
    "NC",
    "GA",
    "MN",
    "CO",
    "VA",
)
COUNTRIES: tuple[tuple[str, str, float, str, tuple[str, ...]], ...] = (
    (
        "Indonesia",
        "IDN",
        4517,
        "id",
        (
            "West Java",
            "Central Java",
            "East Java",
            "North Sumatra",
            "South Sulawesi",
            "Bali",
            "Aceh",
            "Yogyakarta",
            "Riau",
        ),
    ),
    ("United States", "USA", 2419, "west", _US_STATES),
    ("Brazil", "BRA", 1871, "ojs", ("SP", "RJ", "MG", "RS", "PR", "BA")),
    ("Turkey", "TUR", 1847, "ojs", ()),
    (
        "India",
        "IND",
        1568,
        "emerging",
        ("Maharashtra", "Karnataka", "Tamil Nadu", "Delhi", "Kerala", "Gujarat"),
    ),
    (
        "Russia",
        "RUS",
        1564,
        "emerging",
        ("Moscow Oblast", "Tatarstan", "Dagestan", "Novosibirsk Oblast"),
    ),
    ("United Kingdom", "GBR", 732, "west", ("England", "Scotland", "Wales")),
    ("Japan", "JPN", 684, "jp", ()),
    ("Ukraine", "UKR", 616, "emerging", ("Kyiv Oblast", "Lviv Oblast", "Kharkiv Oblast")),
    ("South Korea", "KOR", 2618, "kr", ("Gyeonggi-do", "Chungcheongnam-do", "Gangwon-do")),
    ("Spain", "ESP", 565, "ojs", ("Madrid", "Catalonia", "Andalusia", "Valencia")),
    ("Germany", "DEU", 289, "west", ("Bavaria", "Hesse", "Berlin", "Saxony")),
    ("China", "CHN", 185, "cn", ("Beijing", "Shanghai", "Guangdong", "Hubei")),
    ("Colombia", "COL", 271, "ojs", ("Antioquia", "Cundinamarca", "Valle del Cauca")),
    ("Mexico", "MEX", 319, "ojs", ("Jalisco", "Nuevo León", "Puebla")),
    ("Hungary", "HUN", 332, "emerging", ("Budapest", "Pest")),
    ("Poland", "POL", 378, "emerging", ("Masovian Voivodeship", "Lesser Poland Voivodeship")),
    ("Italy", "ITA", 162, "west", ("Lombardy", "Lazio", "Tuscany")),
    ("Iran", "IRN", 450, "emerging", ("Tehran Province", "Isfahan Province")),
    ("Pakistan", "PAK", 491, "emerging", ("Punjab", "Sindh")),
    ("Peru", "PER", 235, "ojs", ("Lima",)),
    ("Argentina", "ARG", 133, "ojs", ("Buenos Aires", "Córdoba")),
    ("Canada", "CAN", 309, "west", ("ON", "QC", "BC", "AB")),
    ("Nigeria", "NGA", 190, "emerging", ("Lagos State", "Oyo State")),
    ("Philippines", "PHL", 176, "emerging", ("Metro Manila", "Cebu")),
    ("Malaysia", "MYS", 191, "emerging", ("Selangor", "Penang")),
    ("France", "FRA", 161, "west", ("Île-de-France", "Occitanie")),
    ("Australia", "AUS", 251, "west", ("NSW", "VIC", "QLD")),
    ("Kazakhstan", "KAZ", 170, "emerging", ()),
    ("Romania", "ROU", 268, "emerging", ()),
    ("Iraq", "IRQ", 265, "emerging", ()),
    ("Netherlands", "NLD", 153, "west", ()),
    ("Ecuador", "ECU", 225, "ojs", ()),
    ("Chile", "CHL", 102, "ojs", ()),
    ("Serbia", "SRB", 108, "emerging", ()),
    ("Egypt", "EGY", 52, "emerging", ()),
    ("Thailand", "THA", 105, "emerging", ()),
    ("Vietnam", "VNM", 171, "emerging", ()),
    ("Switzerland", "CHE", 161, "west", ()),
    ("Portugal", "PRT", 162, "ojs", ()),
    ("Greece", "GRC", 46, "emerging", ()),
    ("South Africa", "ZAF", 87, "emerging", ()),
    ("Uzbekistan", "UZB", 87, "emerging", ()),
    ("Czech Republic", "CZE", 131, "emerging", ()),
    ("Azerbaijan", "AZE", 66, "emerging", ()),
    ("Saudi Arabia", "SAU", 65, "emerging", ()),
    ("Kenya", "KEN", 79, "emerging", ()),
    # GEM countries (shared/reference/gem-countries.csv; end-2025 member counts where known)
    ("Bangladesh", "BGD", 168, "gem", ("Dhaka Division",)),
    ("Nepal", "NPL", 50, "gem", ("Bagmati Province",)),
    ("Ghana", "GHA", 38, "gem", ("Greater Accra",)),
    ("Sri Lanka", "LKA", 32, "gem", ("Western Province",)),
    ("Afghanistan", "AFG", 28, "gem", ()),
    ("Democratic Republic of the Congo", "COD", 23, "gem", ()),
    ("Ethiopia", "ETH", 16, "gem", ()),
    ("Tanzania", "TZA", 30, "gem", ()),
    ("Uganda", "UGA", 22, "gem", ()),
    ("Cambodia", "KHM", 14, "gem", ()),
    ("Sudan", "SDN", 13, "gem", ()),
    ("Somalia", "SOM", 9, "gem", ()),
    ("Yemen", "YEM", 37, "gem", ()),
    ("Kyrgyzstan", "KGZ", 34, "gem", ()),
    ("Rwanda", "RWA", 9, "gem", ()),
    ("Tajikistan", "TJK", 9, "gem", ()),
    ("Burkina Faso", "BFA", 7, "gem", ()),
    ("Senegal", "SEN", 7, "gem", ()),
    ("Benin", "BEN", 6, "gem", ()),
    ("Bhutan", "BTN", 6, "gem", ()),
    ("Zambia", "ZMB", 6, "gem", ()),
    ("Kosovo", "XKX", 8, "gem", ()),
    ("Maldives", "MDV", 3, "gem", ()),
    ("Mali", "MLI", 5, "gem", ()),
    ("Burundi", "BDI", 2, "gem", ()),
    ("Côte d'Ivoire", "CIV", 2, "gem", ()),
    ("Guyana", "GUY", 3, "gem", ()),
    ("Honduras", "HND", 2, "gem", ()),
    ("Myanmar", "MMR", 3, "gem", ()),
    ("Madagascar", "MDG", 4, "gem", ()),
    ("Togo", "TGO", 1, "gem", ()),
    ("Haiti", "HTI", 1, "gem", ()),
    ("Malawi", "MWI", 2, "gem", ()),
    ("Mozambique", "MOZ", 2, "gem", ()),
    ("Nicaragua", "NIC", 2, "gem", ()),
    ("Sierra Leone", "SLE", 1, "gem", ()),
    ("Laos", "LAO", 5, "gem", ()),
    ("Liberia", "LBR", 1, "gem", ()),
    ("Central African Republic", "CAF", 1, "gem", ()),
    ("Comoros", "COM", 1, "gem", ()),
    ("Mauritania", "MRT", 1, "gem", ()),
    ("Lesotho", "LSO", 1, "gem", ()),
)
COUNTRY_INDEX = {c[0]: i for i, c in enumerate(COUNTRIES)}
_GROUP_MIX = {  # archetype probabilities per country group, ARCHETYPES order
    "id": (0.93, 0.0, 0.04, 0.0, 0.0, 0.01, 0.02, 0.0),
    "jp": (0.02, 0.80, 0.12, 0.0, 0.02, 0.02, 0.02, 0.0),
    "kr": (0.05, 0.0, 0.82, 0.03, 0.02, 0.03, 0.05, 0.0),
    "cn": (0.05, 0.0, 0.80, 0.05, 0.03, 0.03, 0.04, 0.0),
    "west": (0.10, 0.0, 0.50, 0.06, 0.12, 0.10, 0.07, 0.05),
    "ojs": (0.65, 0.0, 0.25, 0.005, 0.03, 0.03, 0.035, 0.0),
    "emerging": (0.40, 0.0, 0.45, 0.01, 0.04, 0.04, 0.06, 0.0),
    "gem": (0.55, 0.0, 0.35, 0.0, 0.03, 0.03, 0.04, 0.0),
}
# Country effects: element -> (keep multiplier on P(member deposits it), mean multiplier).
_COUNTRY_EFFECTS = {
    "id": {
        "references": (0.2, 0.5),
        "funders": (0.05, 1),
        "orcids": (0.35, 0.5),
        "ror-ids": (0.3, 1),
        "affiliations": (0.7, 1),
        "abstracts": (3.0, 1.07),
        "licenses": (1.3, 1.0),
        "resource-links": (1.5, 1.0),
    },
    "jp": {
        "abstracts": (0.1, 0.2),
        "licenses": (0.1, 0.3),
        "resource-links": (0.1, 0.3),
        "funders": (0.2, 1),
        "orcids": (0.2, 0.5),
        "references": (1, 0.6),
    },
    "kr": {
        "abstracts": (0.2, 0.6),
        "licenses": (0.5, 0.8),
        "resource-links": (0.5, 0.8),
        "funders": (0.5, 1),
        "orcids": (0.4, 0.6),
        "references": (1.1, 0.9),
    },
    "cn": {
        "references": (0.7, 0.7),
        "abstracts": (0.3, 0.8),
        "licenses": (0.25, 0.8),
        "funders": (0.1, 1),
        "orcids": (0.1, 1),
        "resource-links": (0.5, 1),
    },
}
#: Per-country calibration to Crossref's "State of Crossref metadata by member country" figures
#: of 2026-04-30 (tests/fixtures/crossref-country-stats): iso3 -> element -> (keep multiplier on
#: P(member deposits it), mean multiplier), applied after the group effects above. Fitted by
#: ``mock_crossref.calibration.fit_countries`` to each country's share of members depositing the
#: element and its DOI-weighted coverage of journal articles (all years); checked by
#: tests/unit/test_country_calibration.py.
COUNTRY_CALIBRATION: dict[str, dict[str, tuple[float, float]]] = {
    "BRA": {
        "references": (0.847, 0.54),
        "abstracts": (0.991, 50.0),
        "licenses": (0.837, 0.703),
        "orcids": (1.581, 50.0),
        "funders": (2.452, 0.041),
        "funder-doi": (10.765, 0.998),
        "ror-ids": (2.003, 0.7),
    },
    "CAN": {
        "references": (0.591, 0.506),
        "abstracts": (1.113, 1.225),
        "licenses": (0.585, 0.46),
        "orcids": (2.22, 0.424),
        "funders": (1.098, 0.02),
        "funder-doi": (42.016, 0.373),
        "ror-ids": (50.0, 0.041),
    },
    "CHE": {
        "references": (0.475, 47.189),
        "abstracts": (1.194, 50.0),
        "licenses": (0.599, 50.0),
        "orcids": (1.137, 50.0),
        "funders": (0.544, 50.0),
        "funder-doi": (1.008, 1.08),
        "ror-ids": (0.95, 0.757),
    },
    "COL": {
        "references": (3.059, 0.558),
        "abstracts": (1.432, 50.0),
        "licenses": (1.264, 1.198),
        "orcids": (1.939, 50.0),
        "funders": (50.0, 0.035),
        "funder-doi": (3.081, 3.704),
        "ror-ids": (24.688, 0.468),
    },
    "DEU": {
        "references": (0.604, 0.477),
        "abstracts": (1.127, 0.761),
        "licenses": (0.645, 0.357),
        "orcids": (1.128, 0.325),
        "funders": (0.831, 0.115),
        "funder-doi": (2.642, 0.622),
        "ror-ids": (2.571, 0.235),
    },
    "ESP": {
        "references": (1.105, 0.417),
        "abstracts": (1.007, 50.0),
        "licenses": (0.817, 1.401),
        "orcids": (1.561, 1.614),
        "funders": (2.164, 0.3),
        "funder-doi": (1.221, 42.397),
        "ror-ids": (5.188, 0.755),
    },
    "FRA": {
        "references": (0.512, 0.616),
        "abstracts": (1.097, 1.049),
        "licenses": (0.489, 0.44),
        "orcids": (1.144, 0.432),
        "funders": (0.738, 0.138),
        "funder-doi": (50.0, 1.499),
        "ror-ids": (2.569, 0.143),
    },
    "GBR": {
        "references": (0.541, 0.931),
        "abstracts": (1.035, 0.661),
        "licenses": (0.539, 0.649),
        "orcids": (0.979, 0.719),
        "funders": (0.439, 0.713),
        "funder-doi": (2.371, 0.923),
        "ror-ids": (1.99, 0.219),
    },
    "HUN": {
        "references": (0.548, 43.985),
        "abstracts": (1.225, 13.005),
        "licenses": (0.45, 1.089),
        "orcids": (1.051, 2.069),
        "funders": (0.108, 18.839),
        "funder-doi": (2.245, 0.664),
        "ror-ids": (0.584, 49.324),
    },
    "IDN": {
        "references": (3.242, 0.669),
        "abstracts": (0.981, 50.0),
        "licenses": (0.906, 0.945),
        "orcids": (4.181, 0.843),
        "funders": (12.01, 0.445),
        "funder-doi": (1.347, 0.826),
        "ror-ids": (11.51, 0.534),
    },
    "IND": {
        "references": (0.527, 0.499),
        "abstracts": (0.89, 8.708),
        "licenses": (0.422, 0.425),
        "orcids": (0.733, 0.261),
        "funders": (1.813, 0.02),
        "funder-doi": (50.0, 0.297),
        "ror-ids": (7.387, 0.074),
    },
    "IRQ": {
        "references": (0.611, 0.301),
        "abstracts": (1.059, 50.0),
        "licenses": (0.9, 0.965),
        "orcids": (1.206, 0.484),
        "funders": (0.476, 0.043),
        "funder-doi": (50.0, 0.171),
        "ror-ids": (3.41, 0.206),
    },
    "JPN": {
        "references": (1.686, 0.779),
        "abstracts": (2.4, 0.767),
        "licenses": (2.613, 0.204),
        "orcids": (8.13, 0.252),
        "funders": (23.618, 0.059),
        "funder-doi": (50.0, 0.921),
        "ror-ids": (50.0, 0.095),
    },
    "KOR": {
        "references": (0.753, 1.015),
        "abstracts": (1.989, 0.971),
        "licenses": (0.609, 2.051),
        "orcids": (0.701, 50.0),
        "funders": (3.236, 0.7),
        "funder-doi": (1.859, 0.962),
        "ror-ids": (0.083, 0.094),
    },
    "MEX": {
        "references": (1.346, 0.5),
        "abstracts": (1.218, 50.0),
        "licenses": (0.9, 2.537),
        "orcids": (1.641, 11.457),
        "funders": (22.288, 0.025),
        "funder-doi": (50.0, 0.74),
        "ror-ids": (5.371, 2.197),
    },
    "NLD": {
        "references": (0.658, 4.905),
        "abstracts": (1.448, 0.103),
        "licenses": (0.834, 50.0),
        "orcids": (1.139, 0.839),
        "funders": (0.952, 1.38),
        "funder-doi": (2.377, 1.039),
        "ror-ids": (10.838, 0.05),
    },
    "PAK": {
        "references": (0.852, 0.223),
        "abstracts": (1.336, 50.0),
        "licenses": (0.957, 0.638),
        "orcids": (1.266, 0.36),
        "funders": (3.054, 0.024),
        "funder-doi": (50.0, 0.376),
        "ror-ids": (3.151, 1.009),
    },
    "POL": {
        "references": (1.222, 0.466),
        "abstracts": (1.154, 1.56),
        "licenses": (0.937, 0.86),
        "orcids": (1.727, 50.0),
        "funders": (2.897, 0.02),
        "funder-doi": (0.926, 0.808),
        "ror-ids": (3.609, 1.127),
    },
    "ROU": {
        "references": (1.234, 0.291),
        "abstracts": (1.136, 50.0),
        "licenses": (0.421, 1.563),
        "orcids": (1.241, 0.799),
        "funders": (3.888, 0.02),
        "funder-doi": (50.0, 0.362),
        "ror-ids": (2.823, 0.71),
    },
    "RUS": {
        "references": (1.198, 0.518),
        "abstracts": (0.978, 50.0),
        "licenses": (0.446, 0.503),
        "orcids": (1.478, 1.165),
        "funders": (3.256, 0.07),
        "funder-doi": (1.396, 2.789),
        "ror-ids": (5.853, 0.736),
    },
    "TUR": {
        "references": (3.588, 0.746),
        "abstracts": (1.019, 1.337),
        "licenses": (0.136, 1.114),
        "orcids": (1.772, 50.0),
        "funders": (33.556, 0.351),
        "funder-doi": (50.0, 0.172),
        "ror-ids": (1.933, 0.659),
    },
    "UKR": {
        "references": (1.235, 0.542),
        "abstracts": (1.199, 50.0),
        "licenses": (0.783, 0.638),
        "orcids": (1.683, 50.0),
        "funders": (2.514, 0.022),
        "funder-doi": (50.0, 0.298),
        "ror-ids": (6.698, 0.878),
    },
    "USA": {
        "references": (0.673, 0.854),
        "abstracts": (0.93, 0.985),
        "licenses": (0.452, 1.771),
        "orcids": (0.855, 0.745),
        "funders": (0.377, 0.86),
        "funder-doi": (4.475, 1.043),
        "ror-ids": (2.718, 0.362),
    },
}
#: Per-country size multiplier (iso3 -> factor on the members' drawn size), fitted by the same
#: tool to each country's share of Crossref's journal articles (``n_dois``) on 2026-04-30.
COUNTRY_SIZE: dict[str, float] = {
    "BRA": 0.438,
    "CAN": 0.085,
    "CHE": 5.831,
    "COL": 0.736,
    "DEU": 0.976,
    "ESP": 1.744,
    "FRA": 2.834,
    "GBR": 3.982,
    "HUN": 0.289,
    "IDN": 1.002,
    "IND": 0.425,
    "IRQ": 0.357,
    "JPN": 5.471,
    "KOR": 0.071,
    "MEX": 0.427,
    "NLD": 500.0,
    "PAK": 0.107,
    "POL": 0.756,
    "ROU": 0.238,
    "RUS": 0.289,
    "TUR": 0.25,
    "UKR": 0.411,
    "USA": 2.451,
}

# Per-member coin rates (elements outside the member summary), mean per archetype.
COINS = (
    "auth",
    "orcid_share",
    "ror_funder",
    "aff_id_only",
    "xref",
    "second_funder",
    "name_extra",
    "vor",
    "am",
    "tdm",
    "cc",
    # unused since licences always carry the start the REST API fills from the publication
    # date; still drawn, so every other coin (and the demo population) stays the same
    "start",
    "zero_delay",
    "ctn",
    "stm",
)
C = {c: i for i, c in enumerate(COINS)}
_COIN_MEANS = {
    #            auth osh  rorf aidon xref sec  nmx  vor  am   tdm  cc   start zero ctn stm
    "ojs": (0.15, 0.5, 0.3, 0.2, 0.10, 0.2, 0.2, 0.65, 0.05, 0.10, 0.85, 0.97, 0.85, 0, 0),
    "jstage": (0.10, 0.4, 0.2, 0.2, 0.10, 0.2, 0.2, 0.60, 0.05, 0.10, 0.30, 0.97, 0.80, 0, 0),
    "society": (
        0.25,
        0.45,
        0.3,
        0.3,
        0.10,
        0.25,
        0.2,
        0.70,
        0.08,
        0.20,
        0.50,
        0.97,
        0.70,
        0.03,
        0.02,
    ),
    "commercial": (
        0.35,
        0.5,
        0.35,
        0.3,
        0.10,
        0.3,
        0.2,
        0.80,
        0.10,
        0.80,
        0.35,
        0.99,
        0.75,
        0.03,
        0.10,
    ),
    "university-press": (
        0.2,
        0.4,
        0.3,
        0.3,
        0.1,
        0.2,
        0.2,
        0.7,
        0.05,
        0.3,
        0.4,
        0.97,
        0.7,
        0,
        0.02,
    ),
    "repository": (0.3, 0.5, 0.3, 0.3, 0.1, 0.2, 0.2, 0.6, 0.05, 0.1, 0.75, 0.97, 0.9, 0, 0),
    "conference": (0.2, 0.45, 0.3, 0.3, 0.1, 0.2, 0.2, 0.7, 0.05, 0.2, 0.5, 0.97, 0.7, 0, 0),
    "preprint": (0.4, 0.5, 0.3, 0.3, 0.1, 0.2, 0.2, 0.6, 0.2, 0.1, 0.9, 0.97, 0.95, 0, 0),
}

# Fictitious words (names are generated; none is a real publisher or funder)
_SYL_A = (
    "Quor",
    "Vel",
    "Zan",
    "Ostr",
    "Brel",
    "Cyv",
    "Drum",
    "Elv",
    "Fyr",
    "Gorv",
    "Hesk",
    "Ilv",
    "Jask",
    "Kyr",
    "Lunn",
    "Myrr",
    "Nesk",
    "Orv",
    "Pryn",
    "Qual",
    "Rusk",
    "Syl",
    "Thov",
    "Ulv",
    "Vask",
    "Wyrd",
    "Xan",
    "Yev",
    "Zorr",
    "Aml",
    "Brisk",
    "Caln",
)
_SYL_B = (
    "ahold",
    "emere",
    "inholm",
    "obrook",
    "avale",
    "eford",
    "istead",
    "ohaven",
    "acrest",
    "emoor",
    "iwick",
    "ogate",
    "efield",
    "ashaw",
    "odale",
    "ethorpe",
    "aridge",
    "imore",
    "obury",
    "ecombe",
    "ington",
    "alund",
)
PLACES = tuple(a + b for a in _SYL_A for b in _SYL_B)
FIELD_ADJ = (
    "Imaginary",
    "Speculative",
    "Nocturnal",
    "Whimsical",
    "Clockwork",
    "Lantern",
    "Mirror",
    "Borealis",
    "Fictional",
    "Dreamlike",
    "Tidal",
    "Gossamer",
    "Umbral",
    "Prismatic",
    "Verdant",
    "Hollow",
)
FIELD_NOUN = (
    "Botany",
    "Geology",
    "Agronomy",
    "Cloudlore",
    "Gastronomy",
    "Dreamwork",
    "Horticulture",
    "Linguistics",
    "Economics",
    "Pedagogy",
    "Cartography",
    "Folklore",
    "Zoology",
    "Hydrology",
    "Engineering",
    "Medicine",
    "Optics",
    "Archaeology",
    "Acoustics",
    "Mycology",
    "Metallurgy",
    "Navigation",
    "Nursing",
    "Law",
)
FIELDS = tuple(f"{a} {n}" for a in FIELD_ADJ for n in FIELD_NOUN)
_ID_WORDS = (
    "Cendekia",
    "Harapan",
    "Nusantara",
    "Bhakti",
    "Mandiri",
    "Lestari",
    "Gemilang",
    "Widya",
    "Sakti",
    "Pustaka",
    "Insani",
    "Mulia",
)

_ARCH_TEMPLATES = {
    "ojs": (
        "{P} Journal Press",
        "{P} Institute of {F}",
        "{P} Open Journals",
        "Lembaga {P} {W}",
        "Universitas {P} {W}",
    ),
    "jstage": ("{P} Society of {F}", "Society for {F}", "{P} Association for {F}"),
    "society": (
        "Society for {F}",
        "{P} Society of {F}",
        "{P} Association of {F}",
        "{P} Academy of {F}",
        "Institute of {F}, {P}",
    ),
    "commercial": (
        "{P} {Q} Publishing",
        "{P} Scientific Publishers",
        "{P} & {Q} Press",
        "{P} Academic Media",
    ),
    "university-press": ("{P} University Press", "{P} College Editions"),
    "repository": ("{P} Data Archive", "{P} Research Repository", "{P} Open Data Collective"),
    "conference": ("{P} Conference Series on {F}", "International Symposium on {F}, {P}"),
    "preprint": ("{P}Rxiv Preprints", "{P} Open Preprints"),
}

_TOKEN_STRIP = str.maketrans(dict.fromkeys(",.;:()[]&\"'", " "))


def tokens_of(text: str) -> list[str]:
    """Crossref-like name tokens: lower-case words, punctuation dropped."""
    return [t for t in text.lower().translate(_TOKEN_STRIP).split() if t]


# --------------------------------------------------------------------------------------------
# Funders (a fictitious Funder Registry)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Funder:
    idx: int
    id: str  # registry id, e.g. "500000042"; "" for a ROR-only funder
    name: str
    alt_names: tuple[str, ...]
    location: str
    ror: str  # "https://ror.org/…" or ""

    @property
    def doi(self) -> str:
        return f"10.13039/{self.id}" if self.id else ""


_FUNDER_KINDS = (
    "National Council for {F}",
    "{P} Foundation for {F}",
    "{P} Research Trust",
    "{P} Fund for {F}",
    "Agency for {F} Research",
    "{P} Science Endowment",
    "Ministry of {F} of {C}",
    "{P} Institute of {F} Grants",
)


def _ror_id(rng: np.random.Generator) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    body = "0" + "".join(alphabet[i] for i in rng.integers(0, 32, 6))
    num = 0
    for ch in body:
        num = num * 32 + alphabet.index(ch)
    check = 98 - ((num * 100) % 97)
    return f"https://ror.org/{body}{check:02d}"


def _build_funders(rng: np.random.Generator, n: int = 320) -> list[Funder]:
    out: list[Funder] = []
    names: set[str] = set()
    countries = [c for c in COUNTRIES if c[2] >= 150]
    i = 0
    while len(out) < n:
        tmpl = _FUNDER_KINDS[int(rng.integers(len(_FUNDER_KINDS)))]
        country = countries[int(rng.integers(len(countries)))][0]
        name = tmpl.format(
            P=PLACES[int(rng.integers(len(PLACES)))],
            F=FIELDS[int(rng.integers(len(FIELDS)))],
            C=country,
        )
        i += 1
        if name in names:
            continue
        names.add(name)
        acronym = "".join(w[0] for w in name.split() if w[0].isupper())
        fid = f"5{(i * 7919 + 1000) % 100000000:08d}"
        idx = len(out)
        ror = _ror_id(rng) if idx % 40 == 3 else ""  # a few registry funders also have a ROR id
        out.append(Funder(idx, fid, name, (acronym, f"The {name}"), country, ror))
    # ROR-only funders (not in the Funder Registry), identified by ROR in works.
    for k in range(4):
        name = f"{PLACES[(k * 37 + 11) % len(PLACES)]} Philanthropic Collaborative"
        out.append(Funder(len(out), "", name, (), "United States", _ror_id(rng)))
    return out


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------

_TYPE_Q = [f'"{t}"' for t in TYPES]
_COV_TMPL = '{"last-status-check-time":%s,' + ",".join(f'"{k}":%r' for k in COVERAGE_KEYS) + "}"
_FLAT_KEYS_CUR_BACK = [f"{k}-current" for k in COVERAGE_KEYS] + [
    f"{k}-backfile" for k in COVERAGE_KEYS
]
_FLAT_PICK = np.array([_FLAT_KEYS_CUR_BACK.index(k) for k in FLAT_COVERAGE_ORDER])
_FLAT_TMPL = "{" + ",".join(f'"{k}":%r' for k in FLAT_COVERAGE_ORDER) + "}"
_FLAG_PICK = np.array(
    [_FLAT_KEYS_CUR_BACK.index(f[9:]) if f.count("-") >= 2 else 0 for f in FLAG_ORDER]
)
_FLAG_DEPOSITS = FLAG_ORDER.index("deposits")
_FLAG_ARTICLES = FLAG_ORDER.index("deposits-articles")
_FLAGS_TMPL = "{" + ",".join(f'"{f}":%s' for f in FLAG_ORDER) + "}"
_TF = {True: "true", False: "false"}


def m_id(pop: Population, m: int) -> int:
    return int(pop.ids[m])


_PLAIN = frozenset('"\\')


def _q(value: Any) -> str:
    """JSON text of a str or list of str (fast path for plain strings)."""
    if isinstance(value, str):
        if value.isprintable() and not (_PLAIN & set(value)):
            return f'"{value}"'
        return json.dumps(value, ensure_ascii=False)
    return "[" + ",".join([_q(v) for v in value]) + "]"


def _stochastic_round(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.floor(x + rng.random(x.shape)).astype(np.int64)


class Population:
    """~33,000 fictitious Crossref members with counts only (see module docstring).

    Arrays (one row per member, sorted by member id): ``ids``, ``country``, ``archetype``,
    ``start_year``, ``end_year``, ``precision`` (0 full dates, 1 year-month, 2 year),
    ``rates`` (member × counted element, current journal articles), ``coins`` (member × COINS).
    Blocks: ``b_member``, ``b_type``, ``b_period``, ``b_n``, ``b_counts`` (block × COUNTED),
    ``b_seg0``/``b_nseg`` into segments ``s_year``, ``s_n``, ``s_off`` (offset in the block).
    """

    def __init__(
        self,
        n_members: int = 33000,
        seed: int = 20260616,
        current_year: int = 2026,
        *,
        as_of: _dt.datetime | None = None,
        member_cache_size: int | None = None,
    ):
        self.n_members = int(n_members)
        self.seed = int(seed)
        self.current_year = int(current_year)
        if as_of is None:
            as_of = _dt.datetime(self.current_year, 11, 20, 6, 0, tzinfo=_dt.UTC)
        self.as_of = as_of
        self.as_of_ms = int(as_of.timestamp() * 1000)
        self._lock = threading.Lock()
        self._member_cache: OrderedDict[int, bytes] = OrderedDict()  # zlib text
        self._member_cache_size = member_cache_size if member_cache_size is not None else n_members
        rng = np.random.default_rng(self.seed)
        self._build_members(rng)
        self._build_segments(rng)
        self._build_counts(rng)
        self._build_text(np.random.default_rng(self.seed + 1))
        self.funders = _build_funders(np.random.default_rng(self.seed + 2))
        self.registry_funders = [f for f in self.funders if f.id]
        self.funder_by_id = {f.id: f for f in self.registry_funders}
        self._build_portfolios(np.random.default_rng(self.seed + 3))

    # ---------------------------------------------------------------- build steps
    def _build_members(self, rng: np.random.Generator) -> None:
        M, Y = self.n_members, self.current_year
        pool = np.arange(1, int(M * 1.5) + 50)
        self.ids = np.sort(rng.choice(pool, M, replace=False)).astype(np.int64)
        self.index_of = {int(m): i for i, m in enumerate(self.ids)}
        w = np.array([c[2] for c in COUNTRIES], dtype=float)
        self.country = rng.choice(len(COUNTRIES), M, p=w / w.sum()).astype(np.int16)
        groups = [c[3] for c in COUNTRIES]
        mix = np.array([_GROUP_MIX[g] for g in groups])
        cum = np.cumsum(mix / mix.sum(1, keepdims=True), 1)[self.country]
        self.archetype = np.minimum((rng.random(M)[:, None] > cum).sum(1), len(ARCHETYPES) - 1)
        self.archetype = self.archetype.astype(np.int8)
        arch_names = [ARCHETYPES[a] for a in range(len(ARCHETYPES))]
        med = np.array([ARCH_SIZE[a][0] for a in arch_names])[self.archetype]
        sig = np.array([ARCH_SIZE[a][1] for a in arch_names])[self.archetype]
        size = np.exp(np.log(med) + sig * rng.standard_normal(M))
        # per-country volume (COUNTRY_SIZE): Crossref's journal articles sit mostly with a few
        # countries' large publishers (USA, Netherlands, UK, Switzerland)
        iso3 = np.array([c[1] for c in COUNTRIES])[self.country]
        for code, mult in COUNTRY_SIZE.items():
            sel = iso3 == code
            if mult > 1 and sel.any():  # growth goes to its largest 3 %
                sel &= size >= np.quantile(size[sel], 0.97)
            size[sel] *= mult
        size = np.clip(np.round(size), 1, 5_000_000).astype(np.int64)
        zero = rng.random(M) < 0.035
        size[zero] = 0
        self.size_target = size
        lo = np.array([ARCH_START[a][0] for a in arch_names])[self.archetype]
        hi = np.array([ARCH_START[a][1] for a in arch_names])[self.archetype]
        start = (lo + rng.random(M) * (hi - lo + 1)).astype(np.int64)
        start = np.minimum(start, Y)
        active = rng.random(M) < 0.74
        end = np.full(M, Y, dtype=np.int64)
        inactive = ~active
        # inactive members stopped depositing before the current window
        start[inactive] = np.minimum(start[inactive], Y - 4 - rng.integers(0, 6, inactive.sum()))
        end[inactive] = start[inactive] + (
            rng.random(inactive.sum()) * (Y - 3 - start[inactive] + 1)
        ).astype(np.int64)
        end = np.minimum(end, Y)
        self.start_year, self.end_year = start, end
        g = np.array([ARCH_GROWTH[a] for a in arch_names])[self.archetype]
        self.growth = g + 0.05 * rng.standard_normal(M)
        self.precision = rng.choice(3, M, p=(0.8, 0.12, 0.08)).astype(np.int8)
        # element rates (current journal articles)
        p0 = ARCH_P0[self.archetype].copy()
        mean = ARCH_MEAN[self.archetype].copy()
        for ci, c in enumerate(COUNTRIES):
            eff = _COUNTRY_EFFECTS.get(c[3])
            if not eff:
                continue
            sel = self.country == ci
            for ename, (keep, mm) in eff.items():
                e = E[ename]
                p0[sel, e] = 1 - np.clip((1 - p0[sel, e]) * keep, 0, 1)
                mean[sel, e] = np.clip(mean[sel, e] * mm, 0.001, 0.999)
        # per-country calibration to Crossref's own figures (COUNTRY_CALIBRATION), on top
        for ci, c in enumerate(COUNTRIES):
            cal = COUNTRY_CALIBRATION.get(c[1])
            if not cal:
                continue
            sel = self.country == ci
            for ename, (keep, mm) in cal.items():
                e = E[ename]
                p0[sel, e] = 1 - np.clip((1 - p0[sel, e]) * keep, 0, 1)
                mean[sel, e] = np.clip(mean[sel, e] * mm, 0.001, 0.999)
        mean = np.clip(mean, 0.001, 0.999)
        # bigger members sit closer to their archetype's mean (and dominate DOI-weighted means)
        kappa = (5.0 + 25.0 * np.clip(np.log10(np.maximum(size, 1)) - 3.0, 0, 2) / 2)[:, None]
        rates = rng.beta(mean * kappa, (1 - mean) * kappa)
        full = (rng.random(rates.shape) < 0.3) & (mean > 0.75)
        rates[full] = 1.0
        rates[rng.random(rates.shape) < p0] = 0.0
        # bigger members deposit more elements (zero less often), as in landscape.md §5.2
        big = size > 20000
        redo = big[:, None] & (rates == 0) & (rng.random(rates.shape) < 0.35) & (mean > 0.1)
        rates[redo] = np.clip(mean[redo] * 0.8, 0, 1)
        # the giants (≥ 200,000 works: the Elseviers and Springers) deposit every element they
        # have a rate for; their rates then set their countries' DOI-weighted coverage
        giant = (size >= 200_000)[:, None] & (rates == 0) & (mean > 0.02)
        rates[giant] = np.clip(mean[giant], 0, 1)
        self.rates = rates.astype(np.float32)
        cm = np.array([_COIN_MEANS[a] for a in arch_names])[self.archetype]
        cmc = np.clip(cm, 0.001, 0.999)
        coins = rng.beta(cmc * 6, (1 - cmc) * 6)
        coins[cm == 0] = 0.0
        coins[:, C["start"]] = (rng.random(M) < cm[:, C["start"]]).astype(float)
        ctn_member = rng.random(M) < 0.35  # medical-ish members among those with a trial rate
        coins[:, C["ctn"]] *= ctn_member
        self.coins = coins.astype(np.float32)

    def _build_segments(self, rng: np.random.Generator) -> None:
        M, Y = self.n_members, self.current_year
        size = self.size_target
        has = size > 0
        years = np.where(has, self.end_year - self.start_year + 1, 0)
        rep = np.repeat(np.arange(M), years)
        first = np.repeat(np.cumsum(years) - years, years)
        yr = self.start_year[rep] + (np.arange(len(rep)) - first)
        w = np.exp(self.growth[rep] * (yr - self.start_year[rep]))
        w *= np.exp(0.3 * rng.standard_normal(len(rep)))
        w[yr == Y] *= 0.85
        wsum = np.bincount(rep, weights=w, minlength=M)
        exp_my = size[rep] * w / wsum[rep]
        del first, w, wsum
        rep = rep.astype(np.int32)
        yr = yr.astype(np.int16)
        base = np.array([ARCH_TYPES[ARCHETYPES[a]] for a in range(len(ARCHETYPES))])
        tm = base[self.archetype] * rng.gamma(0.9, 1.0, (M, N_DATED_TYPES))
        main = base[self.archetype].argmax(1)
        tm = tm / np.maximum(tm.sum(1, keepdims=True), 1e-12)
        tm[tm < 0.02] = 0.0
        tm[np.arange(M), main] = np.maximum(tm[np.arange(M), main], 0.05)
        tm = tm / tm.sum(1, keepdims=True)
        # one type at a time keeps the temporaries at member-years × 1
        seg_member_l, seg_type_l, seg_year_l, seg_n_l = [], [], [], []
        tot = np.zeros(M, dtype=np.int64)
        for t in range(N_DATED_TYPES):
            rows = np.flatnonzero(tm[rep, t] > 0)
            if not rows.size:
                continue
            nt = _stochastic_round(exp_my[rows] * tm[rep[rows], t], rng)
            keep = nt > 0
            rows, nt = rows[keep], nt[keep]
            seg_member_l.append(rep[rows])
            seg_type_l.append(np.full(len(rows), t, dtype=np.int8))
            seg_year_l.append(yr[rows])
            seg_n_l.append(nt.astype(np.int32))
            tot += np.bincount(rep[rows], weights=nt, minlength=M).astype(np.int64)
        # every member with a target size has at least one work
        fix = np.flatnonzero(has & (tot == 0))
        seg_member_l.append(fix.astype(np.int32))
        seg_type_l.append(main[fix].astype(np.int8))
        seg_year_l.append(self.end_year[fix].astype(np.int16))
        seg_n_l.append(np.ones(len(fix), dtype=np.int32))
        del rep, yr, exp_my
        seg_member = np.concatenate(seg_member_l)
        del seg_member_l
        seg_type = np.concatenate(seg_type_l)
        del seg_type_l
        seg_year = np.concatenate(seg_year_l)
        del seg_year_l
        seg_n = np.concatenate(seg_n_l)
        del seg_n_l
        # undated works: journal title records and a few components
        u_j = np.flatnonzero(has & (tm[:, 0] > 0) & (rng.random(M) < 0.12))
        u_c = np.flatnonzero(has & (tm[:, 7] > 0) & (rng.random(M) < 0.3))
        seg_member = np.concatenate([seg_member, u_j.astype(np.int32), u_c.astype(np.int32)])
        seg_type = np.concatenate(
            [
                seg_type,
                np.full(len(u_j), TYPE_INDEX["journal"], np.int8),
                np.full(len(u_c), TYPE_INDEX["component"], np.int8),
            ]
        )
        seg_year = np.concatenate([seg_year, np.zeros(len(u_j) + len(u_c), dtype=np.int16)])
        seg_n = np.concatenate(
            [
                seg_n,
                rng.integers(1, 6, len(u_j)).astype(np.int32),
                rng.integers(1, 40, len(u_c)).astype(np.int32),
            ]
        )
        period = np.where(
            seg_year == 0, UNDATED, np.where(seg_year >= Y - 2, CURRENT, BACKFILE)
        ).astype(np.int8)
        order = np.lexsort((seg_year, period, seg_type, seg_member))
        seg_member = seg_member[order]
        seg_type = seg_type[order]
        seg_year = seg_year[order]
        seg_n = seg_n[order]
        period = period[order]
        del order
        bkey = seg_member.astype(np.int64) * 64 + seg_type.astype(np.int64) * 4 + period
        starts = np.flatnonzero(np.r_[True, bkey[1:] != bkey[:-1]])
        self.b_member = seg_member[starts].astype(np.int32)
        self.b_type = seg_type[starts].astype(np.int8)
        self.b_period = period[starts].astype(np.int8)
        self.b_seg0 = starts.astype(np.int64)
        self.b_nseg = np.diff(np.r_[starts, len(seg_n)]).astype(np.int32)
        self.b_n = np.add.reduceat(seg_n.astype(np.int64), starts)
        del bkey
        cs = np.cumsum(seg_n, dtype=np.int64) - seg_n
        self.s_off = (cs - np.repeat(cs[starts], self.b_nseg)).astype(np.int32)
        self.s_year = seg_year.astype(np.int16)
        self.s_n = seg_n.astype(np.int32)
        B = len(starts)
        self.n_blocks = B
        bm = np.searchsorted(self.b_member, np.arange(M + 1))
        self.m_block0 = bm.astype(np.int64)  # member m's blocks: m_block0[m]:m_block0[m+1]
        self.b_key = hkey_np(
            self.seed,
            self.ids[self.b_member],
            self.b_type.astype(np.int64),
            self.b_period.astype(np.int64),
        )
        self.total_works = int(self.b_n.sum())

    def _build_counts(self, rng: np.random.Generator) -> None:
        B = self.n_blocks
        r = self.rates[self.b_member].astype(np.float64) * TYPE_FACTORS[self.b_type]
        back = self.b_period != CURRENT
        bf = np.tile(BACKFILE_FACTOR, (len(ARCHETYPES), 1))
        for a, over in ARCH_BACKFILE.items():
            for ename, v in over.items():
                bf[A[a], E[ename]] = v
        r[back] *= bf[self.archetype[self.b_member[back]]]
        noise = np.exp(0.12 * rng.standard_normal(r.shape))
        r = np.clip(r * noise, 0.0, 1.0)
        counts = np.zeros((B, len(COUNTED)), dtype=np.int64)
        n = self.b_n.astype(np.float64)
        counts[:, :N_ROOTS] = np.minimum(
            _stochastic_round(r[:, :N_ROOTS] * n[:, None], rng), self.b_n[:, None]
        )
        for child, parent in PARENT.items():
            cp = counts[:, parent]
            counts[:, child] = np.minimum(_stochastic_round(r[:, child] * cp, rng), cp)
        self.b_counts = counts

    def _build_text(self, rng: np.random.Generator) -> None:
        M = self.n_members
        names: list[str] = []
        seen: set[str] = set()
        aliases: list[list[str]] = []
        locations: list[str] = []
        prefixes: list[list[str]] = []
        prefix_pool = rng.permutation(90000)[: int(M * 1.3) + 10] + 10000
        pi = 0
        arch = self.archetype.tolist()
        ctry = self.country.tolist()
        r = rng.random((M, 8))
        ri = rng.integers(0, 1 << 30, (M, 6))
        for m in range(M):
            a = ARCHETYPES[arch[m]]
            tmpls = _ARCH_TEMPLATES[a]
            cname, _iso, _w, group, regions = COUNTRIES[ctry[m]]
            if a == "ojs" and group != "id":
                tmpls = tmpls[:3]
            for attempt in range(20):
                t = tmpls[(ri[m, 0] + attempt) % len(tmpls)]
                name = t.format(
                    P=PLACES[(ri[m, 1] + attempt * 7) % len(PLACES)],
                    Q=PLACES[(ri[m, 2] + attempt * 3) % len(PLACES)],
                    F=FIELDS[(ri[m, 3] + attempt * 5) % len(FIELDS)],
                    W=_ID_WORDS[(ri[m, 4] + attempt) % len(_ID_WORDS)],
                )
                if name not in seen:
                    break
            else:
                name = f"{name} {m}"
            seen.add(name)
            names.append(name)
            al = [name]
            if r[m, 0] < 0.08:
                al.append(f"{name.split()[0]} Editions ({name})")
            aliases.append(al)
            city = PLACES[(ri[m, 5]) % len(PLACES)]
            if r[m, 1] < 0.015:
                loc = city  # no country at all (real: "Chisinau")
            elif r[m, 1] < 0.08 or (group == "jp" and r[m, 1] < 0.5):
                loc = cname
            elif regions and r[m, 2] < 0.8:
                loc = f"{city}, {regions[int(r[m, 3] * len(regions))]}, {cname}"
            else:
                loc = f"{city}, {cname}"
            locations.append(loc)
            k = 1 if r[m, 4] < 0.88 else (2 if r[m, 4] < 0.97 else 3)
            prefixes.append([f"10.9{int(p):05d}" for p in prefix_pool[pi : pi + k]])
            pi += k
        self.names = names
        self.aliases = aliases
        self.locations = locations
        self.prefixes = prefixes
        self.lsct = (self.as_of_ms - rng.integers(0, 20 * 3600 * 1000, M)).astype(np.int64)
        self.token_sets = None  # built lazily for /members?query=
        self.prefix_owner = {p: m for m, ps in enumerate(prefixes) for p in ps}

    def _build_portfolios(self, rng: np.random.Generator) -> None:
        """Up to 4 registry funders per member with weights (who their DOI funders are)."""
        M = self.n_members
        F = len(self.registry_funders)
        zipf = 1.0 / np.arange(1, F + 1) ** 1.05
        zipf /= zipf.sum()
        K = 4
        picks = rng.choice(F, (M, K), p=zipf)
        for j in range(1, K):  # drop repeats, then move the survivors to the front
            dup = (picks[:, j : j + 1] == picks[:, :j]).any(1)
            picks[dup, j] = -1
        order = np.argsort(picks < 0, axis=1, kind="stable")
        picks = np.take_along_axis(picks, order, 1)
        k_used = np.minimum(rng.integers(1, K + 1, M), (picks >= 0).sum(1))
        w = rng.gamma(1.0, 1.0, (M, K)) * (np.arange(K)[None, :] < k_used[:, None])
        w[:, 0] += 0.5
        w /= w.sum(1, keepdims=True)
        picks[np.arange(K)[None, :] >= k_used[:, None]] = -1
        self.pf_funder = picks.astype(np.int32)
        self.pf_k = k_used.astype(np.int8)
        self.pf_cumw = np.cumsum(w, 1)

    # ---------------------------------------------------------------- lookups
    def member_index(self, member_id: int) -> int | None:
        return self.index_of.get(int(member_id))

    def blocks_of(self, m: int) -> range:
        return range(int(self.m_block0[m]), int(self.m_block0[m + 1]))

    def member_tokens(self, m: int) -> list[str]:
        return tokens_of(self.names[m])

    def search_members(self, query: str) -> np.ndarray:
        """Member indices whose name tokens contain every query token (in id order)."""
        q = tokens_of(query)
        if not q:
            return np.arange(self.n_members)
        if self.token_sets is None:
            with self._lock:
                if self.token_sets is None:
                    self.token_sets = [
                        frozenset(t for a in al for t in tokens_of(a)) for al in self.aliases
                    ]
        qs = set(q)
        return np.array([m for m, ts in enumerate(self.token_sets) if qs <= ts], dtype=np.int64)

    # ---------------------------------------------------------------- member summaries
    def member_totals(self) -> dict[str, np.ndarray]:
        """Vectorised per-member totals (dated DOIs by period), used by calibration and filters."""
        M = self.n_members
        cur = np.bincount(self.b_member, weights=self.b_n * (self.b_period == CURRENT), minlength=M)
        back = np.bincount(
            self.b_member, weights=self.b_n * (self.b_period == BACKFILE), minlength=M
        )
        return {"current": cur.astype(np.int64), "backfile": back.astype(np.int64)}

    def member_item(self, m: int) -> dict[str, Any]:
        """The ``/members`` item of member index ``m`` (Crossref's exact key set)."""
        return json.loads(self.member_json(m))

    def member_json(self, m: int) -> bytes:
        """Serialised ``/members`` item of member index ``m`` (cached)."""
        return self.members_json([m])[0]

    def members_json(self, ms) -> list[bytes]:
        """Serialised items of member indices ``ms``; misses are built in bulk and cached.

        The cache keeps zlib-compressed text (≈1.2 KB a member, ≈40 MB for 33k members), so
        the second full pass over ``/members`` only decompresses.
        """
        ms = [int(m) for m in ms]
        out: list[bytes | None] = [None] * len(ms)
        miss: list[int] = []
        with self._lock:
            for j, m in enumerate(ms):
                z = self._member_cache.get(m)
                if z is not None:
                    out[j] = z
                else:
                    miss.append(j)
        res = [zlib.decompress(z) if z is not None else b"" for z in out]
        if miss:
            texts = self.member_texts([ms[j] for j in miss])
            comp = []
            for j, txt in zip(miss, texts, strict=True):
                data = txt.encode()
                res[j] = data
                comp.append((ms[j], zlib.compress(data, 1)))
            with self._lock:
                for m, z in comp:
                    self._member_cache[m] = z
                while len(self._member_cache) > self._member_cache_size:
                    self._member_cache.popitem(last=False)
        return res

    def member_texts(self, ms) -> list[str]:
        """``/members`` items (JSON text) of member indices ``ms``, computed in bulk.

        Everything numeric is done with a handful of numpy calls over all blocks of the batch;
        the Python loop only assembles strings (about 40 µs a member).
        """
        ms = np.asarray(ms, dtype=np.int64)
        K = len(ms)
        if K == 0:
            return []
        b0 = self.m_block0[ms]
        nb = self.m_block0[ms + 1] - b0
        tot_b = int(nb.sum())
        owner = np.repeat(np.arange(K), nb)
        first = np.repeat(np.cumsum(nb) - nb, nb)
        bidx = np.repeat(b0, nb) + (np.arange(tot_b) - first)
        covs = self.b_counts[bidx][:, COVERAGE_COLS].astype(np.float64)
        ns = self.b_n[bidx]
        types = self.b_type[bidx].astype(np.int64)
        periods = self.b_period[bidx]
        with np.errstate(invalid="ignore", divide="ignore"):
            block_ratio = (covs / ns[:, None]).tolist()
        # "all": runs of (member, type)
        key = owner * 16 + types
        st = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if tot_b else np.zeros(0, int)
        if tot_b:
            all_sum = np.add.reduceat(covs, st, axis=0)
            all_n = np.add.reduceat(ns, st)
            all_ratio = (all_sum / all_n[:, None]).tolist()
        else:
            all_n, all_ratio = np.zeros(0, np.int64), []
        all_owner_start = (
            np.searchsorted(owner[st], np.arange(K + 1)) if tot_b else np.zeros(K + 1, int)
        )
        flat = np.zeros((K, 24))
        per_n = {}
        for per, off in ((CURRENT, 0), (BACKFILE, 12)):
            sel = periods == per
            o = owner[sel]
            sums = np.zeros((K, 12))
            np.add.at(sums, o, covs[sel])
            nper = np.bincount(o, weights=ns[sel], minlength=K)
            per_n[per] = nper.astype(np.int64).tolist()
            with np.errstate(invalid="ignore", divide="ignore"):
                flat[:, off : off + 12] = np.where(nper[:, None] > 0, sums / nper[:, None], 0.0)
        flat_list = flat[:, _FLAT_PICK].tolist()
        flags = flat[:, _FLAG_PICK] > 0
        flags[:, _FLAG_DEPOSITS] = nb > 0
        flags[:, _FLAG_ARTICLES] = np.bincount(owner[types == 0], minlength=K) > 0
        flag_list = flags.tolist()
        # dois-by-issued-year: segments of these blocks
        if tot_b:
            seg0 = self.b_seg0[bidx]
            nseg = self.b_nseg[bidx].astype(np.int64)
            sfirst = np.repeat(np.cumsum(nseg) - nseg, nseg)
            sidx = np.repeat(seg0, nseg) + (np.arange(int(nseg.sum())) - sfirst)
            sown = np.repeat(owner, nseg)
            syear = self.s_year[sidx].astype(np.int64)
            dated = syear > 0
            ykey = sown[dated] * 1024 + (syear[dated] - 1100)
            ukey, inv = np.unique(ykey, return_inverse=True)
            ycnt = np.bincount(inv, weights=self.s_n[sidx][dated]).astype(np.int64)
            yown = ukey // 1024
            yyear = ukey % 1024 + 1100
            order = np.lexsort((-yyear, -ycnt, yown))
            yown, yyear, ycnt = yown[order], yyear[order], ycnt[order]
            ystart = np.searchsorted(yown, np.arange(K + 1)).tolist()
            yyear_l, ycnt_l = yyear.tolist(), ycnt.tolist()
        else:
            ystart = [0] * (K + 1)
            yyear_l = ycnt_l = []
        types_l = types.tolist()
        periods_l = periods.tolist()
        ns_l = ns.tolist()
        all_n_l = all_n.tolist()
        all_type_l = types[st].tolist() if tot_b else []
        bstart = (np.cumsum(nb) - nb).tolist()
        nb_l = nb.tolist()
        aos = all_owner_start.tolist()
        out: list[str] = []
        for j in range(K):
            m = int(ms[j])
            lsct = str(int(self.lsct[m]))
            ct_parts, cov_parts = [], []
            a0, a1 = aos[j], aos[j + 1]
            r0 = bstart[j]
            r1 = r0 + nb_l[j]
            per_rows: dict[int, list[int]] = {BACKFILE: [], CURRENT: [], UNDATED: []}
            for i in range(r0, r1):
                per_rows[periods_l[i]].append(i)
            block_txt = {i: _COV_TMPL % (lsct, *block_ratio[i]) for i in range(r0, r1)}
            single = {}  # type -> its only block: the "all" entry has the same numbers
            for i in range(r0, r1):
                t = types_l[i]
                single[t] = None if t in single else i
            ct_parts.append(
                '"all":{'
                + ",".join([f"{_TYPE_Q[all_type_l[i]]}:{all_n_l[i]}" for i in range(a0, a1)])
                + "}"
            )
            all_txt = []
            for i in range(a0, a1):
                t = all_type_l[i]
                only = single.get(t)
                txt = block_txt[only] if only is not None else _COV_TMPL % (lsct, *all_ratio[i])
                all_txt.append(_TYPE_Q[t] + ":" + txt)
            cov_parts.append('"all":{' + ",".join(all_txt) + "}")
            for per, label in ((BACKFILE, "backfile"), (CURRENT, "current")):
                rows = per_rows[per]
                ct_parts.append(
                    f'"{label}":{{'
                    + ",".join([f"{_TYPE_Q[types_l[i]]}:{ns_l[i]}" for i in rows])
                    + "}"
                )
                cov_parts.append(
                    f'"{label}":{{'
                    + ",".join([_TYPE_Q[types_l[i]] + ":" + block_txt[i] for i in rows])
                    + "}"
                )
            cur_n = per_n[CURRENT][j]
            back_n = per_n[BACKFILE][j]
            name_q = _q(self.names[m])
            prefixes = self.prefixes[m]
            y0, y1 = ystart[j], ystart[j + 1]
            out.append(
                "".join(
                    [
                        f'{{"last-status-check-time":{lsct},"primary-name":{name_q},',
                        f'"counts":{{"current-dois":{cur_n},"backfile-dois":{back_n},',
                        f'"total-dois":{cur_n + back_n}}},',
                        '"breakdowns":{"dois-by-issued-year":[',
                        ",".join([f"[{yyear_l[i]},{ycnt_l[i]}]" for i in range(y0, y1)]),
                        ']},"prefixes":[',
                        ",".join([f'"{p}"' for p in prefixes]),
                        "],",
                        '"coverage":',
                        _FLAT_TMPL % tuple(flat_list[j]),
                        ",",
                        '"prefix":[',
                        ",".join([f'{{"name":{name_q},"value":"{p}"}}' for p in prefixes]),
                        f'],"id":{m_id(self, m)},"tokens":{_q(self.member_tokens(m))},',
                        '"counts-type":{',
                        ",".join(ct_parts),
                        "},",
                        '"coverage-type":{',
                        ",".join(cov_parts),
                        "},",
                        '"flags":',
                        _FLAGS_TMPL % tuple([_TF[v] for v in flag_list[j]]),
                        ",",
                        f'"location":{_q(self.locations[m])},"names":{_q(self.aliases[m])}}}',
                    ]
                )
            )
        return out

    # ---------------------------------------------------------------- funders
    def funder_bounds(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per block: rank bounds of the portfolio chunks of its DOI-funder works.

        Returns (bounds [B, K+1], k [B], second [B, K]): DOI-funder works of rank
        ``bounds[j] <= r < bounds[j+1]`` have primary funder ``pf_funder[member, j]``; the first
        ``second[j]`` of them also list ``pf_funder[member, (j+1) % k]`` (when k >= 2).
        """
        blocks = np.asarray(blocks, dtype=np.int64)
        mem = self.b_member[blocks]
        cumw = self.pf_cumw[mem]
        k = self.pf_k[mem].astype(np.int64)
        cd = self.b_counts[blocks, E["funder-doi"]]
        bounds = np.concatenate(
            [np.zeros((len(blocks), 1)), np.floor(cd[:, None] * cumw)], 1
        ).astype(np.int64)
        K = cumw.shape[1]
        bounds[:, 1:] = np.where(
            np.arange(1, K + 1)[None, :] >= k[:, None], cd[:, None], bounds[:, 1:]
        )
        sizes = np.diff(bounds, axis=1)
        sec = self.coins[mem, C["second_funder"]].astype(np.float64)
        second = np.floor(sec[:, None] * sizes).astype(np.int64)
        second[k < 2] = 0
        return bounds, k, second

    def funder_block_counts(self, funder_idx: int) -> np.ndarray:
        """Per block: works whose funder list holds registry funder ``funder_idx`` (by DOI)."""
        blocks = np.arange(self.n_blocks)
        bounds, k, second = self.funder_bounds(blocks)
        pf = self.pf_funder[self.b_member]
        sizes = np.diff(bounds, axis=1)
        out = np.zeros(self.n_blocks, dtype=np.int64)
        rows = np.arange(self.n_blocks)
        for j in range(pf.shape[1]):
            hit = pf[:, j] == funder_idx
            out += np.where(hit, sizes[:, j], 0)
            prev = (j - 1) % np.maximum(k, 1)
            out += np.where(hit & (k >= 2), second[rows, prev], 0)
        return out
