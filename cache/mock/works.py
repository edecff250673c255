"""Works of the demo population, derived on demand (nothing is stored).

Work *i* of block *b* (a member's works of one type and period, in publication-date order) is a
pure function of ``(b, i)``:

* its issued date from the block's year segments (dates rise with *i*, so a date filter is an
  index range);
* each *counted* element (references, abstracts, …, ROR ⊆ affiliation, award ⊆ funder,
  funder-DOI ⊆ funder) is present iff a keyed bijection of its index (or of its parent's rank)
  is below the block's count, so the member summary counts hold exactly;
* everything else (authenticated ORCID, licence versions and delays, clinical trials, which
  funder, …) from keyed per-work coins against per-member rates.

:class:`WorkEngine` evaluates those features with numpy over index arrays, so filter counts,
facets, samples and pages are exact and fast; it builds full JSON records only for the works a
response returns. The predicates of docs/architecture.md §4 hold on the records by construction,
and the filters here implement exactly those semantics.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import random
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cache.mock.population import (
    AUTHOR_TYPES,
    BACKFILE,
    COINS,
    COUNTED,
    CURRENT,
    FIELDS,
    PARENT,
    PLACES,
    TYPE_INDEX,
    TYPE_LABELS,
    TYPES,
    UNDATED,
    C,
    E,
    Perm,
    Population,
    hkey,
    mix64,
    mix64_np,
    uniform_np,
)

# --------------------------------------------------------------------------------------------
# Filters: names, parsing
# --------------------------------------------------------------------------------------------

BOOL_FILTERS: dict[str, str] = {
    "has-references": "references",
    "has-abstract": "abstracts",
    "has-orcid": "orcids",
    "has-authenticated-orcid": "auth",
    "has-affiliation": "affiliations",
    "has-ror-id": "ror-ids",
    "has-funder": "funders",
    "has-funder-doi": "funder-doi",
    "has-award": "award-numbers",
    "has-update-policy": "update-policies",
    "has-full-text": "resource-links",
    "has-license": "licenses",
    "has-description": "descriptions",
    "has-clinical-trial-number": "ctn",
}
VALUE_FILTERS = ("full-text.application", "license.version", "license.delay", "license.url",
                 "funder-doi-asserted-by", "funder")
SCOPE_FILTERS = ("member", "prefix", "type", "type-name")
DATE_FILTERS = ("from-pub-date", "until-pub-date", "from-issued-date", "until-issued-date",
                "from-index-date", "until-index-date")
WORKS_FILTERS: tuple[str, ...] = SCOPE_FILTERS + DATE_FILTERS + tuple(BOOL_FILTERS) + VALUE_FILTERS
FACETS = ("published", "type-name", "publisher-name", "funder-doi", "funder-name",
          "link-application", "license")
SELECTABLE = (
    "DOI", "ISBN", "ISSN", "URL", "abstract", "accepted", "alternative-id", "archive", "author",
    "clinical-trial-number", "container-title", "content-domain", "created", "deposited",
    "description", "editor", "funder", "group-title", "indexed", "is-referenced-by-count",
    "issn-type", "issue", "issued", "journal-issue", "language", "license", "link", "member",
    "original-title", "page", "posted", "prefix", "published", "published-online",
    "published-print", "publisher", "publisher-location", "reference", "reference-count",
    "references-count", "relation", "resource", "score", "short-container-title",
    "short-title", "source", "subject", "subtitle", "subtype", "title", "type",
    "update-policy", "update-to", "updated-by", "volume", "article-number", "assertion",
    "isbn-type", "institution",
)
TRUE = {"t", "true", "1"}
FALSE = {"f", "false", "0"}
TYPE_CODE = {"journal-article": "a", "book-chapter": "c", "proceedings-article": "p",
             "dataset": "d", "posted-content": "x", "book": "b", "report": "r",
             "component": "s", "journal-issue": "i", "journal": "j"}
CODE_TYPE = {v: k for k, v in TYPE_CODE.items()}
LABEL_TYPE = {v.lower(): k for k, v in TYPE_LABELS.items()}
CT_REGISTRIES = ("10.18810/clinical-trials-gov", "10.18810/isrctn", "10.18810/euctr")
CC_URLS = ("https://creativecommons.org/licenses/by/4.0/",
           "http://creativecommons.org/licenses/by/4.0/",
           "https://creativecommons.org/licenses/by-nc/4.0/",
           "https://creativecommons.org/licenses/by-sa/4.0/",
           "http://creativecommons.org/licenses/by-nc-sa/4.0",
           "https://creativecommons.org/publicdomain/zero/1.0/")


class QueryError(ValueError):
    """A request Crossref would reject (validation-failure); carries the message item."""

    def __init__(self, kind: str, value: str, message: str, status: int = 400):
        super().__init__(message)
        self.item = {"type": kind, "value": value, "message": message}
        self.status = status


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise QueryError("boolean-not-valid", value,
                     f"Boolean specified as {value} but must be one of: t, true, 1, f, false, 0")


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_date(value: str, until: bool) -> _dt.date:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; an until-date is the last day of that span."""
    m = _DATE_RE.match(value.strip())
    if not m:
        raise QueryError("date-not-valid", value,
                         f"Date specified as {value} but must be of the form YYYY, YYYY-MM "
                         "or YYYY-MM-DD")
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if mo is None:
            return _dt.date(y, 12, 31) if until else _dt.date(y, 1, 1)
        mo_i = int(mo)
        if d is None:
            if until:
                nxt = _dt.date(y + (mo_i == 12), mo_i % 12 + 1, 1)
                return nxt - _dt.timedelta(days=1)
            return _dt.date(y, mo_i, 1)
        return _dt.date(y, mo_i, int(d))
    except ValueError as exc:
        raise QueryError("date-not-valid", value, f"Date specified as {value} is not a valid "
                         "date") from exc


@dataclass
class WorkQuery:
    """Parsed ``/works`` filters: scope (which blocks / index ranges) and work predicates."""

    members: list[int] | None = None  # member indices (None = all)
    types: set[int] | None = None
    prefixes: set[str] | None = None
    from_date: _dt.date | None = None
    until_date: _dt.date | None = None
    index_from: _dt.date | None = None
    index_until: _dt.date | None = None
    bools: list[tuple[str, bool]] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    funders: list[int] | None = None  # funder:{id} (registry idx), OR-ed
    empty: bool = False  # a filter that matches nothing (unknown member, …)

    @property
    def has_predicates(self) -> bool:
        return bool(self.bools or self.values or self.funders is not None)


def parse_filters(pop: Population, filt: str | None, *, member: int | None = None,
                  funder: int | None = None) -> WorkQuery:
    """Parse Crossref's ``filter=a:x,b:y`` (same name repeated = OR, different names = AND)."""
    q = WorkQuery()
    by_name: dict[str, list[str]] = {}
    if filt:
        for part in filt.split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition(":")
            name = name.strip()
            if name not in WORKS_FILTERS:
                raise QueryError(
                    "filter-not-available", name,
                    f"Filter '{name}' specified but there is no such filter for this route. "
                    f"Valid filters for this route are: {', '.join(WORKS_FILTERS)}")
            if not sep:
                raise QueryError("filter-not-valid", part,
                                 f"Filter '{name}' specified without a value")
            by_name.setdefault(name, []).append(value.strip())
    mids: list[int] | None = None
    if member is not None:
        mids = [member]
    if "member" in by_name:
        wanted = []
        for v in by_name["member"]:
            idx = pop.member_index(int(v)) if v.isdigit() else None
            if idx is not None:
                wanted.append(idx)
        mids = [m for m in wanted if mids is None or m in mids]
        if not mids:
            q.empty = True
    q.members = sorted(set(mids)) if mids is not None else None
    tset: set[int] | None = None
    for key in ("type", "type-name"):
        if key in by_name:
            s = set()
            for v in by_name[key]:
                t = v if key == "type" else LABEL_TYPE.get(v.lower(), "")
                if t in TYPE_INDEX:
                    s.add(TYPE_INDEX[t])
            tset = s if tset is None else tset & s
    if tset is not None:
        q.types = tset
        if not tset:
            q.empty = True
    if "prefix" in by_name:
        q.prefixes = {v.removeprefix("https://id.crossref.org/prefix/") for v in by_name["prefix"]}
    for name, attr, until in (("from-pub-date", "from_date", False),
                              ("from-issued-date", "from_date", False),
                              ("until-pub-date", "until_date", True),
                              ("until-issued-date", "until_date", True),
                              ("from-index-date", "index_from", False),
                              ("until-index-date", "index_until", True)):
        for v in by_name.get(name, []):
            d = parse_date(v, until)
            cur = getattr(q, attr)
            if cur is None:
                setattr(q, attr, d)
            else:  # repeated date filters: OR of half-lines = the widest
                setattr(q, attr, max(cur, d) if until else min(cur, d))
    for name, feat in BOOL_FILTERS.items():
        for v in by_name.get(name, [])[:1]:
            q.bools.append((feat, parse_bool(name, v)))
        vals = {parse_bool(name, v) for v in by_name.get(name, [])}
        if len(vals) > 1:  # true OR false
            q.bools = [b for b in q.bools if b[0] != feat]
    for name in ("full-text.application", "license.version", "license.delay", "license.url",
                 "funder-doi-asserted-by"):
        if name in by_name:
            if name == "license.delay":
                for v in by_name[name]:
                    if not v.lstrip("-").isdigit():
                        raise QueryError("integer-not-valid", v,
                                         f"Integer specified as {v} but must be an integer")
            q.values[name] = by_name[name]
    fids: list[int] = []
    if funder is not None:
        fids.append(funder)
    if "funder" in by_name:
        for v in by_name["funder"]:
            f = pop.funder_by_id.get(funder_id_of(v))
            fids.append(f.idx if f else -1)
        if funder is not None:  # route funder AND filter funder
            fids = [funder] if funder in fids[1:] else [-1]
    if fids:
        q.funders = fids
    return q


def funder_id_of(value: str) -> str:
    """``10.13039/500000042``, ``https://doi.org/10.13039/…`` or the bare number → number."""
    v = value.strip()
    for pre in ("https://doi.org/", "http://dx.doi.org/", "http://doi.org/", "doi.org/"):
        v = v.removeprefix(pre)
    return v.removeprefix("10.13039/")


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_CUM = {leap: np.array([0, 31, 59 + leap, 90 + leap, 120 + leap, 151 + leap, 181 + leap,
                        212 + leap, 243 + leap, 273 + leap, 304 + leap, 334 + leap, 365 + leap])
        for leap in (0, 1)}


def _leap(y: np.ndarray) -> np.ndarray:
    return ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)


# --------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------

_SALT = {name: mix64(0xC0FFEE + i) for i, name in enumerate(
    list(COUNTED) + list(COINS) + ["tm", "delay", "ror_pick", "cc_pick", "xref2", "nm",
                                   "nm_count", "rorfund_both"])}


@dataclass
class Scope:
    """Blocks of a query with the index range ``[lo, hi)`` that passes the date filters."""

    blocks: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def total(self) -> int:
        return int((self.hi - self.lo).sum())


class WorkEngine:
    """Features, filters, facets, samples and records of the population's works."""

    CHUNK = 1 << 18

    def __init__(self, pop: Population):
        self.pop = pop
        self.Y = pop.current_year
        self._perms: OrderedDict[tuple[int, int, int], Perm] = OrderedDict()
        self._lock = threading.Lock()
        self.as_of_date = pop.as_of.date()
        self.current_days = self.as_of_date.timetuple().tm_yday  # days of the current year
        self.ror_funders = [f for f in pop.funders if f.ror]
        self._slug = {}

    # ---------------------------------------------------------------- keyed helpers
    def perm(self, b: int, e: int, m: int) -> Perm:
        key = (b, e, m)
        with self._lock:
            p = self._perms.get(key)
            if p is not None:
                self._perms.move_to_end(key)
                return p
        p = Perm(m, int(self.pop.b_key[b]) ^ _SALT[COUNTED[e]])
        with self._lock:
            self._perms[key] = p
            if len(self._perms) > 20000:
                self._perms.popitem(last=False)
        return p

    def coin(self, b: int, name: str, idx: np.ndarray) -> np.ndarray:
        return uniform_np(int(self.pop.b_key[b]) ^ _SALT[name], idx)

    def days_in_year_scalar(self, year: int) -> int:
        if year == self.Y:
            return self.current_days
        return 366 if calendar.isleap(year) else 365

    def indexed_ordinal(self, m: int) -> int:
        return self.as_of_date.toordinal() - (int(self.pop.ids[m]) * 2654435761 % (1 << 64)) % 40

    def days_in_year(self, years: np.ndarray) -> np.ndarray:
        d = 365 + _leap(years).astype(np.int64)
        return np.where(years == self.Y, self.current_days, d)

    # ---------------------------------------------------------------- features
    def features(self, b: int, idx: np.ndarray, need: Iterable[str]) -> dict[str, np.ndarray]:
        """Vectorised features of works ``idx`` of block ``b`` (bool/int arrays)."""
        pop = self.pop
        need = set(need)
        out: dict[str, np.ndarray] = {}
        n = int(pop.b_n[b])
        counts = pop.b_counts[b]
        m = int(pop.b_member[b])
        coins = pop.coins[m]
        t = TYPES[pop.b_type[b]]
        idx = np.asarray(idx, dtype=np.int64)

        # expand dependencies
        deps = {
            "auth": {"orcids"}, "ror-ids": {"affiliations"}, "award-numbers": {"funders"},
            "funder-doi": {"funders"}, "rorfund": {"ror-ids", "funders"},
            "aff_ror": {"ror-ids", "rorfund"}, "funder-identified": {"funder-doi", "rorfund"},
            "f1": {"funder-doi"}, "f2": {"f1"}, "xref1": {"funder-doi"}, "xref2": {"f2"},
            "lic_versions": {"licenses"}, "delay": {"licenses"}, "tm": {"resource-links"},
            "cc": {"lic_versions"}, "name_extra": {"funders"}, "ror_pick": set(),
        }
        stack = list(need)
        while stack:
            x = stack.pop()
            for d in deps.get(x, ()):
                if d not in need:
                    need.add(d)
                    stack.append(d)
        ranks: dict[int, np.ndarray] = {}
        present: dict[int, np.ndarray] = {}

        def elem(e: int) -> np.ndarray:
            if e in present:
                return present[e]
            c = int(counts[e])
            if e in PARENT:
                pe = PARENT[e]
                pp = elem(pe)
                r = np.full(len(idx), -1, dtype=np.int64)
                cp = int(counts[pe])
                if c > 0 and pp.any():
                    sel = np.flatnonzero(pp)
                    r[sel] = self.perm(b, e, cp)(ranks[pe][sel])
                pres = (r >= 0) & (r < c)
            else:
                if c == 0:
                    r = np.full(len(idx), -1, dtype=np.int64)
                    pres = np.zeros(len(idx), dtype=bool)
                elif c == n:
                    r = self.perm(b, e, n)(idx)
                    pres = np.ones(len(idx), dtype=bool)
                else:
                    r = self.perm(b, e, n)(idx)
                    pres = r < c
            ranks[e], present[e] = r, pres
            return pres

        for name in need:
            if name in E:
                out[name] = elem(E[name])
        if "auth" in need:
            out["auth"] = out["orcids"] & (self.coin(b, "auth", idx) < coins[C["auth"]])
        if "rorfund" in need:
            out["rorfund"] = out["ror-ids"] & out["funders"] & (
                self.coin(b, "ror_funder", idx) < coins[C["ror_funder"]])
        if "aff_ror" in need:
            both = self.coin(b, "rorfund_both", idx) < 0.35
            out["aff_ror"] = out["ror-ids"] & (~out["rorfund"] | both)
        if "funder-identified" in need:
            out["funder-identified"] = out["funder-doi"] | out["rorfund"]
        if "f1" in need or "f2" in need or "xref1" in need:
            fd = out["funder-doi"]
            rd = ranks[E["funder-doi"]]
            f1 = np.full(len(idx), -1, dtype=np.int64)
            f2 = np.full(len(idx), -1, dtype=np.int64)
            if fd.any():
                bounds, kk, second = pop.funder_bounds(np.array([b]))
                bounds, k, second = bounds[0], int(kk[0]), second[0]
                pf = pop.pf_funder[m]
                sel = np.flatnonzero(fd)
                r = rd[sel]
                j = np.searchsorted(bounds[1:k + 1], r, side="right")
                j = np.minimum(j, k - 1)
                f1[sel] = pf[j]
                if k >= 2:
                    has2 = (r - bounds[j]) < second[j]
                    f2[sel[has2]] = pf[(j[has2] + 1) % k]
            out["f1"], out["f2"] = f1, f2
            xr = coins[C["xref"]]
            out["xref1"] = fd & (self.coin(b, "xref", idx) < xr)
            out["xref2"] = (f2 >= 0) & (self.coin(b, "xref2", idx) < xr)
        if "name_extra" in need:
            out["name_extra"] = out["funders"] & (
                self.coin(b, "name_extra", idx) < coins[C["name_extra"]])
        if "ror_pick" in need:
            out["ror_pick"] = (self.coin(b, "ror_pick", idx) * len(self.ror_funders)).astype(
                np.int64)
        if "lic_versions" in need or "cc" in need:
            lic = out["licenses"]
            vor = lic & (self.coin(b, "vor", idx) < coins[C["vor"]])
            am = lic & (self.coin(b, "am", idx) < coins[C["am"]])
            tdm = lic & (self.coin(b, "tdm", idx) < coins[C["tdm"]])
            unspec = lic & ~(vor | am | tdm)
            stm = lic & (self.coin(b, "stm", idx) < coins[C["stm"]])
            out.update({"vor": vor, "am": am, "tdm": tdm, "unspecified": unspec, "stm": stm})
            out["lic_versions"] = lic
            cc = lic & (self.coin(b, "cc", idx) < coins[C["cc"]])
            # a CC URL sits on every non-TDM licence; a TDM-only work has none
            out["cc"] = cc & (vor | am | unspec)
            out["cc_pick"] = (self.coin(b, "cc_pick", idx) * len(CC_URLS)).astype(np.int64)
        if "delay" in need:
            lic = out["licenses"]
            start = lic & (coins[C["start"]] > 0.5)
            zero = self.coin(b, "zero_delay", idx) < coins[C["zero_delay"]]
            d = 1 + (self.coin(b, "delay", idx) * 730).astype(np.int64)
            out["has_start"] = start
            out["delay"] = np.where(start, np.where(zero, 0, d), -1)
        if "tm" in need:
            out["tm"] = out["resource-links"] & (self.coin(b, "tm", idx) < 0.8)
        if "ctn" in need:
            rate = coins[C["ctn"]] if t == "journal-article" else 0.0
            out["ctn"] = self.coin(b, "ctn", idx) < rate
        if "year" in need:
            out["year"] = self.years(b, idx)
        return out

    def years(self, b: int, idx: np.ndarray) -> np.ndarray:
        pop = self.pop
        s0, ns = int(pop.b_seg0[b]), int(pop.b_nseg[b])
        offs = pop.s_off[s0:s0 + ns]
        j = np.searchsorted(offs, idx, side="right") - 1
        return pop.s_year[s0:s0 + ns].astype(np.int64)[j]

    # ---------------------------------------------------------------- predicates
    def _need(self, q: WorkQuery) -> set[str]:
        need: set[str] = set()
        for feat, _ in q.bools:
            need.add(feat)
        for name in q.values:
            if name == "full-text.application":
                need |= {"tm", "similarity-checking"}
            elif name in ("license.version", "license.url"):
                need |= {"lic_versions", "cc"}
            elif name == "license.delay":
                need |= {"delay", "lic_versions"}
            elif name == "funder-doi-asserted-by":
                need |= {"xref1", "xref2", "f2"}
        if q.funders is not None:
            need |= {"f1", "f2"}
        return need

    def mask(self, b: int, idx: np.ndarray, q: WorkQuery,
             feats: dict[str, np.ndarray] | None = None) -> np.ndarray:
        if feats is None:
            feats = self.features(b, idx, self._need(q))
        ok = np.ones(len(idx), dtype=bool)
        for feat, val in q.bools:
            ok &= feats[feat] if val else ~feats[feat]
        for name, vals in q.values.items():
            any_ = np.zeros(len(idx), dtype=bool)
            for v in vals:
                any_ |= self._value_mask(b, name, v, feats, len(idx))
            ok &= any_
        if q.funders is not None:
            any_ = np.zeros(len(idx), dtype=bool)
            for f in q.funders:
                if f >= 0:
                    any_ |= (feats["f1"] == f) | (feats["f2"] == f)
            ok &= any_
        return ok

    def _value_mask(self, b: int, name: str, v: str, feats: dict, n: int) -> np.ndarray:
        none = np.zeros(n, dtype=bool)
        v = v.strip()
        if name == "full-text.application":
            if v == "similarity-checking":
                return feats["similarity-checking"]
            if v == "text-mining":
                return feats["tm"]
            if v == "unspecified":
                return feats["resource-links"] & ~feats["tm"]
            return none
        if name == "license.version":
            return feats.get(v, none) if v in ("vor", "am", "tdm", "unspecified") else (
                feats["stm"] if v == "stm-asf" else none)
        if name == "license.delay":
            d = int(v)
            return feats["licenses"] & (feats["delay"] >= 0) & (feats["delay"] <= d)
        if name == "license.url":
            if v in CC_URLS:
                return feats["cc"] & (feats["cc_pick"] == CC_URLS.index(v))
            out = none.copy()
            for ver in ("vor", "am", "unspecified"):
                if v == self.publisher_licence_url(b, ver):
                    out |= feats[ver] & ~feats["cc"]
            if v == self.publisher_licence_url(b, "tdm"):
                out |= feats["tdm"]
            if v == self.publisher_licence_url(b, "stm-asf"):
                out |= feats["stm"]
            return out
        if name == "funder-doi-asserted-by":
            if v == "crossref":
                return feats["xref1"] | feats["xref2"]
            if v == "publisher":
                return (feats["funder-doi"] & ~feats["xref1"]) | ((feats["f2"] >= 0)
                                                                  & ~feats["xref2"])
            return none
        return none

    # ---------------------------------------------------------------- scope
    def scope(self, q: WorkQuery) -> Scope:
        pop = self.pop
        if q.empty:
            z = np.zeros(0, dtype=np.int64)
            return Scope(z, z, z)
        if q.members is not None:
            blocks = np.concatenate([np.arange(pop.m_block0[m], pop.m_block0[m + 1])
                                     for m in q.members]).astype(np.int64) \
                if q.members else np.zeros(0, dtype=np.int64)
        else:
            blocks = np.arange(pop.n_blocks, dtype=np.int64)
        if q.types is not None:
            blocks = blocks[np.isin(pop.b_type[blocks], list(q.types))]
        if q.prefixes is not None:
            keep = [b for b in blocks.tolist() if self.block_prefix(b) in q.prefixes]
            blocks = np.array(keep, dtype=np.int64)
        if q.funders is not None:
            fc = np.zeros(len(blocks), dtype=np.int64)
            for f in q.funders:
                if f >= 0:
                    fc += self.funder_counts(f)[blocks]
            blocks = blocks[fc > 0]
        if q.index_from is not None or q.index_until is not None:
            idx_dates = self.indexed_dates(pop.b_member[blocks])
            ok = np.ones(len(blocks), dtype=bool)
            if q.index_from is not None:
                ok &= idx_dates >= q.index_from.toordinal()
            if q.index_until is not None:
                ok &= idx_dates <= q.index_until.toordinal()
            blocks = blocks[ok]
        lo = np.zeros(len(blocks), dtype=np.int64)
        hi = pop.b_n[blocks].astype(np.int64)
        if q.from_date is not None or q.until_date is not None:
            lo, hi = self._date_ranges(blocks, q.from_date, q.until_date)
        keep = hi > lo
        return Scope(blocks[keep], lo[keep], hi[keep])

    _funder_cache: dict[int, np.ndarray]

    def funder_counts(self, f: int) -> np.ndarray:
        cache = self.__dict__.setdefault("_funder_cache", {})
        got = cache.get(f)
        if got is None:
            got = self.pop.funder_block_counts(f)
            with self._lock:
                if len(cache) > 64:
                    cache.clear()
                cache[f] = got
        return got

    def indexed_dates(self, members: np.ndarray) -> np.ndarray:
        """Ordinal of each member's ``indexed`` date (one reindex sweep per member)."""
        base = self.as_of_date.toordinal()
        ids = self.pop.ids[members].astype(np.uint64)
        return base - (ids * np.uint64(2654435761) % np.uint64(40)).astype(np.int64)

    def _date_ranges(self, blocks: np.ndarray, dfrom: _dt.date | None,
                     duntil: _dt.date | None) -> tuple[np.ndarray, np.ndarray]:
        pop = self.pop
        nb = pop.b_nseg[blocks].astype(np.int64)
        first = np.repeat(np.cumsum(nb) - nb, nb)
        sidx = np.repeat(pop.b_seg0[blocks], nb) + (np.arange(int(nb.sum())) - first)
        sblk = np.repeat(np.arange(len(blocks)), nb)
        y = pop.s_year[sidx].astype(np.int64)
        n = pop.s_n[sidx].astype(np.int64)
        off = pop.s_off[sidx].astype(np.int64)
        prec = pop.precision[pop.b_member[blocks]][sblk].astype(np.int64)
        D = self.days_in_year(y)
        leap = _leap(y).astype(np.int64)
        lo = np.zeros(len(y), dtype=np.int64)
        hi = n.copy()
        undated = y == 0
        cum = np.where(leap[:, None] == 1, _CUM[1][None, :], _CUM[0][None, :])
        if dfrom is not None:
            fy, fd = dfrom.year, dfrom.timetuple().tm_yday - 1
            k = np.argmax(cum >= fd, axis=1)  # first month start on or after fd
            ms_ge = np.where((cum >= fd).any(1), cum[np.arange(len(y)), k], D)
            thr = np.where(prec == 0, fd, np.where(prec == 1, ms_ge, np.where(fd == 0, 0, D)))
            lo_same = np.minimum(-((-thr * n) // D), n)
            lo = np.where(y < fy, n, np.where(y == fy, lo_same, 0))
            lo = np.where(undated, n, lo)
        if duntil is not None:
            uy, ud = duntil.year, duntil.timetuple().tm_yday - 1
            k = np.argmax(cum > ud, axis=1)  # first month start after ud
            nxt = np.where((cum > ud).any(1), cum[np.arange(len(y)), k], D)
            lim = np.where(prec == 0, ud + 1, np.where(prec == 1, nxt, D))
            hi_same = np.minimum(-((-lim * n) // D), n)
            hi = np.where(y > uy, 0, np.where(y == uy, hi_same, n))
            hi = np.where(undated, 0, hi)
        hi = np.maximum(hi, lo)
        glo = off + lo
        ghi = off + hi
        has = hi > lo
        B = len(blocks)
        blo = np.full(B, np.iinfo(np.int64).max, dtype=np.int64)
        bhi = np.zeros(B, dtype=np.int64)
        np.minimum.at(blo, sblk[has], glo[has])
        np.maximum.at(bhi, sblk[has], ghi[has])
        blo = np.where(bhi > 0, blo, 0)
        return blo, bhi

    def block_prefix(self, b: int) -> str:
        m = int(self.pop.b_member[b])
        ps = self.pop.prefixes[m]
        return ps[int(self.pop.b_type[b]) % len(ps)]

    # ---------------------------------------------------------------- counting
    def count(self, q: WorkQuery, scope: Scope | None = None) -> int:
        sc = scope if scope is not None else self.scope(q)
        if not q.has_predicates:
            return sc.total
        only_funder = q.funders is not None and not q.values and not q.bools
        if q.funders is None and not q.values and len(q.bools) == 1 and q.bools[0][0] in E:
            feat, val = q.bools[0]
            full = (sc.lo == 0) & (sc.hi == self.pop.b_n[sc.blocks])
            c = self.pop.b_counts[sc.blocks[full], E[feat]]
            n_full = self.pop.b_n[sc.blocks[full]]
            total = int(c.sum()) if val else int((n_full - c).sum())
            rest = np.flatnonzero(~full)
        elif only_funder and len({f for f in q.funders if f >= 0}) == 1:
            f = next(f for f in q.funders if f >= 0)
            full = (sc.lo == 0) & (sc.hi == self.pop.b_n[sc.blocks])
            total = int(self.funder_counts(f)[sc.blocks[full]].sum())
            rest = np.flatnonzero(~full)
        else:
            total, rest = 0, np.arange(len(sc.blocks))
        if len(rest):
            sub = Scope(sc.blocks[rest], sc.lo[rest], sc.hi[rest])
            for _k, b, idx in self._iter_idx(q, sub):
                total += int(self.mask(b, idx, q).sum())
        return total

    def _chunks(self, lo: int, hi: int, size: int | None = None) -> Iterator[np.ndarray]:
        size = size or self.CHUNK
        for s in range(lo, hi, size):
            yield np.arange(s, min(hi, s + size), dtype=np.int64)

    def funder_indices(self, b: int, f: int) -> np.ndarray:
        """Sorted indices of the works of block ``b`` whose funder list holds funder ``f``.

        Inverts the bijections: DOI-funder rank → funder rank → index, so the cost is the
        funder's works in the block, not the block's size.
        """
        pop = self.pop
        m = int(pop.b_member[b])
        bounds, kk, second = pop.funder_bounds(np.array([b]))
        bounds, k, second = bounds[0], int(kk[0]), second[0]
        pf = pop.pf_funder[m]
        parts = []
        for j in range(k):
            if pf[j] != f:
                continue
            parts.append(np.arange(bounds[j], bounds[j + 1], dtype=np.int64))
            if k >= 2:
                jp = (j - 1) % k
                parts.append(np.arange(bounds[jp], bounds[jp] + second[jp], dtype=np.int64))
        if not parts:
            return np.zeros(0, dtype=np.int64)
        r_doi = np.concatenate(parts)
        if not r_doi.size:
            return r_doi
        c_fun = int(pop.b_counts[b, E["funders"]])
        r_fun = self.perm(b, E["funder-doi"], c_fun).inverse(r_doi)
        idx = self.perm(b, E["funders"], int(pop.b_n[b])).inverse(r_fun)
        return np.unique(idx)

    def _iter_idx(self, q: WorkQuery, sc: Scope, start: tuple[int, int] = (0, 0),
                  size: int | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
        """(scope row, block, candidate indices) in natural order from ``start``.

        Candidates are index ranges, or, with a ``funder`` filter, just that funder's works.
        """
        k0, j0 = start
        fids = [f for f in (q.funders or []) if f >= 0]
        for k in range(k0, len(sc.blocks)):
            b = int(sc.blocks[k])
            lo = max(int(sc.lo[k]), j0 if k == k0 else 0)
            hi = int(sc.hi[k])
            if lo >= hi:
                continue
            if q.funders is not None:
                cand = np.unique(np.concatenate(
                    [self.funder_indices(b, f) for f in fids] or [np.zeros(0, np.int64)]))
                cand = cand[(cand >= lo) & (cand < hi)]
                step = size or self.CHUNK
                for s in range(0, len(cand), step):
                    yield k, b, cand[s:s + step]
            else:
                for idx in self._chunks(lo, hi, size):
                    yield k, b, idx

    # ---------------------------------------------------------------- paging
    def page(self, q: WorkQuery, pos: tuple[int, int], rows: int,
             scope: Scope | None = None) -> tuple[list[tuple[int, int]], tuple[int, int]]:
        """Up to ``rows`` matching (block, index) from position (scope row, index)."""
        sc = scope if scope is not None else self.scope(q)
        out: list[tuple[int, int]] = []
        if rows <= 0:
            return out, pos
        size = max(4 * rows, 1024) if q.has_predicates else rows
        for k, b, idx in self._iter_idx(q, sc, pos, size):
            hit = idx[self.mask(b, idx, q)] if q.has_predicates else idx
            take = hit[: rows - len(out)]
            out.extend((b, int(i)) for i in take.tolist())
            if len(out) >= rows:
                return out, (k, int(take[-1]) + 1)
        return out, (len(sc.blocks), 0)

    def sample(self, q: WorkQuery, n: int, seed: int) -> list[tuple[int, int]]:
        """``n`` distinct random matching works, deterministic for a seed."""
        sc = self.scope(q)
        if not len(sc.blocks) or n <= 0:
            return []
        rng = np.random.default_rng(seed)
        if q.funders is not None:
            return self._sample_funder(q, sc, n, rng)
        sizes = (sc.hi - sc.lo).astype(np.float64)
        total = int(sizes.sum())
        if not q.has_predicates and total <= n:
            items, _ = self.page(q, (0, 0), n, sc)
            return items
        cum = np.cumsum(sizes)
        got: dict[tuple[int, int], None] = {}
        for _ in range(60):
            draw = rng.random(max(4 * n, 256)) * total
            k = np.minimum(np.searchsorted(cum, draw, side="right"), len(cum) - 1)
            off = (draw - (cum[k] - sizes[k])).astype(np.int64)
            idx = sc.lo[k] + np.minimum(off, (sc.hi[k] - sc.lo[k]) - 1)
            order = np.argsort(k, kind="stable")
            for kk in np.unique(k[order]).tolist():
                sel = idx[k == kk]
                b = int(sc.blocks[kk])
                if q.has_predicates:
                    sel = sel[self.mask(b, sel, q)]
                for i in sel.tolist():
                    got.setdefault((b, i), None)
            if len(got) >= n:
                break
        items = list(got)
        if len(items) < n and total <= 2_000_000:  # rare matches: enumerate them all
            allm, _ = self.page(q, (0, 0), 2_000_000, sc)
            if len(allm) <= n:
                return allm
            pick = rng.choice(len(allm), n, replace=False)
            return [allm[i] for i in sorted(pick.tolist())]
        perm = rng.permutation(len(items))[:n]
        return [items[i] for i in perm.tolist()]

    def _sample_funder(self, q: WorkQuery, sc: Scope, n: int,
                       rng: np.random.Generator) -> list[tuple[int, int]]:
        weights = np.zeros(len(sc.blocks))
        for f in q.funders or []:
            if f >= 0:
                weights += self.funder_counts(f)[sc.blocks]
        if not weights.sum():
            return []
        got: dict[tuple[int, int], None] = {}
        p = weights / weights.sum()
        for _ in range(40):
            for k in np.unique(rng.choice(len(sc.blocks), 8, p=p)).tolist():
                one = Scope(sc.blocks[k:k + 1], sc.lo[k:k + 1], sc.hi[k:k + 1])
                for _k, b, idx in self._iter_idx(q, one):
                    hit = idx[self.mask(b, idx, q)]
                    if hit.size:
                        pick = rng.choice(hit, min(len(hit), max(1, n // 4)), replace=False)
                        for i in pick.tolist():
                            got.setdefault((b, int(i)), None)
            if len(got) >= n:
                break
        items = list(got)
        return [items[i] for i in rng.permutation(len(items))[:n].tolist()]

    # ---------------------------------------------------------------- facets
    def facets(self, q: WorkQuery, specs: dict[str, int]) -> dict[str, dict[str, Any]]:
        sc = self.scope(q)
        counters: dict[str, dict[str, int]] = {name: {} for name in specs}
        need = self._need(q)
        if "published" in specs:
            need.add("year")
        if "funder-doi" in specs or "funder-name" in specs:
            need |= {"f1", "f2", "rorfund", "ror_pick", "name_extra", "funders", "funder-doi"}
        if "link-application" in specs:
            need |= {"tm", "similarity-checking", "resource-links"}
        if "license" in specs:
            need |= {"lic_versions", "cc"}
        pop = self.pop
        plain = not q.has_predicates
        if plain:
            # scope arithmetic: no work needs evaluating for these three
            sizes = sc.hi - sc.lo
            if "type-name" in specs:
                tc = np.bincount(pop.b_type[sc.blocks], weights=sizes, minlength=len(TYPES))
                for t, c in enumerate(tc.astype(np.int64).tolist()):
                    _add(counters["type-name"], TYPE_LABELS[TYPES[t]], c)
            if "publisher-name" in specs:
                mc = np.bincount(pop.b_member[sc.blocks], weights=sizes,
                                 minlength=pop.n_members).astype(np.int64)
                for m in np.flatnonzero(mc).tolist():
                    _add(counters["publisher-name"], pop.names[m], int(mc[m]))
            if "published" in specs:
                for y, c in self._year_counts(sc).items():
                    _add(counters["published"], str(y), c)
            rest = set(specs) - {"type-name", "publisher-name", "published"}
            if not rest:
                return self._facet_out(specs, counters)
            # only blocks with funders matter for funder facets
            if rest <= {"funder-doi", "funder-name"}:
                keep = pop.b_counts[sc.blocks, E["funders"]] > 0
                sc = Scope(sc.blocks[keep], sc.lo[keep], sc.hi[keep])
            need.discard("year")
            specs_eval = rest
        else:
            specs_eval = set(specs)
        for _k, b, idx in self._iter_idx(q, sc):
            t = TYPES[pop.b_type[b]]
            m = int(pop.b_member[b])
            f = self.features(b, idx, need)
            ok = self.mask(b, idx, q, f)
            cnt = int(ok.sum())
            if not cnt:
                continue
            if "type-name" in specs_eval:
                _add(counters["type-name"], TYPE_LABELS[t], cnt)
            if "publisher-name" in specs_eval:
                _add(counters["publisher-name"], pop.names[m], cnt)
            if "published" in specs_eval:
                ys, cs = np.unique(f["year"][ok], return_counts=True)
                for y, c in zip(ys.tolist(), cs.tolist(), strict=True):
                    if y:
                        _add(counters["published"], str(y), c)
            if "funder-doi" in specs_eval or "funder-name" in specs_eval:
                for col in ("f1", "f2"):
                    v = f[col][ok]
                    v = v[v >= 0]
                    if v.size:
                        us, cs = np.unique(v, return_counts=True)
                        for fi, c in zip(us.tolist(), cs.tolist(), strict=True):
                            fu = pop.funders[fi]
                            if "funder-doi" in specs_eval:
                                _add(counters["funder-doi"],
                                     f"http://dx.doi.org/{fu.doi}", c)
                            if "funder-name" in specs_eval:
                                _add(counters["funder-name"], fu.name, c)
                if "funder-name" in specs_eval:
                    rf = f["rorfund"][ok]
                    if rf.any():
                        us, cs = np.unique(f["ror_pick"][ok][rf], return_counts=True)
                        for ri, c in zip(us.tolist(), cs.tolist(), strict=True):
                            _add(counters["funder-name"], self.ror_funders[ri].name, c)
                    names = self._name_only_counts(b, idx[ok], {k2: v[ok] for k2, v in
                                                                 f.items()})
                    for nm, c in names.items():
                        _add(counters["funder-name"], nm, c)
            if "link-application" in specs_eval:
                _add(counters["link-application"], "text-mining", int(f["tm"][ok].sum()))
                _add(counters["link-application"], "unspecified",
                     int((f["resource-links"] & ~f["tm"])[ok].sum()))
                _add(counters["link-application"], "similarity-checking",
                     int(f["similarity-checking"][ok].sum()))
            if "license" in specs_eval:
                for ver in ("vor", "am", "tdm", "unspecified", "stm"):
                    sel = f[ver] & ok
                    if ver != "tdm" and ver != "stm":
                        ccsel = sel & f["cc"]
                        if ccsel.any():
                            us, cs = np.unique(f["cc_pick"][ccsel], return_counts=True)
                            for u_, c in zip(us.tolist(), cs.tolist(), strict=True):
                                _add(counters["license"], CC_URLS[u_], c)
                        sel = sel & ~f["cc"]
                    c = int(sel.sum())
                    if c:
                        _add(counters["license"], self.publisher_licence_url(
                            b, "stm-asf" if ver == "stm" else ver), c)
        return self._facet_out(specs, counters)

    @staticmethod
    def _facet_out(specs: dict[str, int], counters: dict[str, dict[str, int]]) -> dict:
        out: dict[str, dict[str, Any]] = {}
        for name, limit in specs.items():
            vals = {k2: v for k2, v in counters[name].items() if v > 0}
            ordered = sorted(vals.items(), key=lambda kv: (-kv[1], kv[0]))
            out[name] = {"value-count": len(ordered), "values": dict(ordered[:limit])}
        return out

    def _year_counts(self, sc: Scope) -> dict[int, int]:
        """Works per issued year in a scope (index ranges), from the segments."""
        pop = self.pop
        if not len(sc.blocks):
            return {}
        nb = pop.b_nseg[sc.blocks].astype(np.int64)
        first = np.repeat(np.cumsum(nb) - nb, nb)
        sidx = np.repeat(pop.b_seg0[sc.blocks], nb) + (np.arange(int(nb.sum())) - first)
        off = pop.s_off[sidx].astype(np.int64)
        end = off + pop.s_n[sidx]
        lo = np.repeat(sc.lo, nb)
        hi = np.repeat(sc.hi, nb)
        ov = np.maximum(0, np.minimum(hi, end) - np.maximum(lo, off))
        yrs = pop.s_year[sidx].astype(np.int64)
        sel = (ov > 0) & (yrs > 0)
        if not sel.any():
            return {}
        y0 = int(yrs[sel].min())
        cnt = np.bincount(yrs[sel] - y0, weights=ov[sel])
        return {y0 + i: int(c) for i, c in enumerate(cnt.tolist()) if c}

    def _name_only_counts(self, b: int, idx: np.ndarray, f: dict[str, np.ndarray]) -> dict:
        """Name-only funder entries per name, exactly as :meth:`record` writes them."""
        key = int(self.pop.b_key[b])
        ident = f["funder-doi"] | f["rorfund"]
        n_entries = np.where(ident, f["name_extra"].astype(np.int64), 0)
        plain = f["funders"] & ~ident
        if plain.any():
            h2 = mix64_np(idx.astype(np.uint64) ^ np.uint64(key ^ _SALT["nm_count"]))
            two = (h2 % np.uint64(4)) == np.uint64(0)
            n_entries = np.where(plain, 1 + two.astype(np.int64), n_entries)
        n_entries = np.where(f["funders"], n_entries, 0)
        if not n_entries.any():
            return {}
        h = mix64_np(idx.astype(np.uint64) ^ np.uint64(key ^ _SALT["nm"]))
        L = np.uint64(len(NAME_ONLY_FUNDERS))
        tot = np.zeros(len(NAME_ONLY_FUNDERS), dtype=np.int64)
        for j in range(2):
            sel = n_entries > j
            if sel.any():
                pick = ((h[sel] >> np.uint64(8 * j)) % L).astype(np.int64)
                tot += np.bincount(pick, minlength=len(NAME_ONLY_FUNDERS))
        return {NAME_ONLY_FUNDERS[k]: int(c) for k, c in enumerate(tot.tolist()) if c}

    def _name_only_entries(self, b: int, i: int, fdoi: bool, rorfund: bool,
                           extra: bool) -> list[str]:
        if fdoi or rorfund:
            if not extra:
                return []
            k = 1
        else:
            k = 1 + (mix64(int(self.pop.b_key[b]) ^ _SALT["nm_count"] ^ i) % 4 == 0)
        h = mix64(int(self.pop.b_key[b]) ^ _SALT["nm"] ^ i)
        return [NAME_ONLY_FUNDERS[(h >> (8 * j)) % len(NAME_ONLY_FUNDERS)] for j in range(k)]

    # ---------------------------------------------------------------- identity
    def slug(self, m: int) -> str:
        s = self._slug.get(m)
        if s is None:
            words = list(re.findall(r"[A-Za-z]+", self.pop.names[m]))
            s = "".join(w[0] for w in words).lower()[:6] or "x"
            self._slug[m] = s
        return s

    def doi(self, b: int, i: int, year: int) -> str:
        pop = self.pop
        m = int(pop.b_member[b])
        t = TYPES[pop.b_type[b]]
        ystr = str(year) if year else "nd"
        return f"{self.block_prefix(b)}/{self.slug(m)}.{ystr}.{TYPE_CODE[t]}{i}"

    _DOI_RE = re.compile(r"^(10\.\d+)/([a-z]+)\.(\d{4}|nd)\.([a-z])(\d+)$")

    def locate(self, doi: str) -> tuple[int, int] | None:
        """(block, index) of a mock DOI, or None."""
        mt = self._DOI_RE.match(doi.strip().lower())
        if not mt:
            return None
        prefix, _slug, ystr, code, num = mt.groups()
        m = self.pop.prefix_owner.get(prefix)
        t = CODE_TYPE.get(code)
        if m is None or t is None:
            return None
        year = 0 if ystr == "nd" else int(ystr)
        period = UNDATED if year == 0 else (CURRENT if year >= self.Y - 2 else BACKFILE)
        i = int(num)
        for b in self.pop.blocks_of(m):
            if (TYPES[self.pop.b_type[b]] == t and self.pop.b_period[b] == period
                    and i < self.pop.b_n[b] and self.years(b, np.array([i]))[0] == year
                    and self.doi(b, i, year).lower() == doi.strip().lower()):
                return b, i
        return None

    def publisher_licence_url(self, b: int, version: str) -> str:
        m = int(self.pop.b_member[b])
        dom = self.domain(m)
        if version == "tdm":
            return f"https://{dom}/licenses/tdm-1.0"
        if version == "stm-asf":
            return "https://www.stm-assoc.org/text-and-data-mining-stm-statement/"
        return f"https://{dom}/licenses/{version}-terms"

    def domain(self, m: int) -> str:
        return f"{self.slug(m)}{int(self.pop.ids[m])}.example.org"

    # ---------------------------------------------------------------- records
    RECORD_NEED = ("references", "abstracts", "orcids", "auth", "affiliations", "ror-ids",
                   "aff_ror", "rorfund", "funders", "funder-doi", "award-numbers", "f1", "f2",
                   "xref1", "xref2", "name_extra", "ror_pick", "update-policies",
                   "similarity-checking", "resource-links", "tm", "licenses", "lic_versions",
                   "cc", "delay", "descriptions", "ctn", "year")

    def records(self, items: list[tuple[int, int]], select: list[str] | None = None,
                score: float = 0.0) -> list[dict[str, Any]]:
        """Full work records for (block, index) pairs, in the given order."""
        by_block: dict[int, list[int]] = {}
        for b, i in items:
            by_block.setdefault(b, []).append(i)
        built: dict[tuple[int, int], dict[str, Any]] = {}
        for b, idxs in by_block.items():
            arr = np.array(idxs, dtype=np.int64)
            f = self.features(b, arr, self.RECORD_NEED)
            cols = {k: v.tolist() for k, v in f.items()}
            for pos, i in enumerate(idxs):
                row = {k: v[pos] for k, v in cols.items()}
                built[(b, i)] = self.record(b, i, row, score)
        out = [built[it] for it in items]
        if select:
            out = [{k: w[k] for k in select if k in w} for w in out]
        return out

    def record(self, b: int, i: int, f: dict[str, Any], score: float = 0.0) -> dict[str, Any]:
        return build_record(self, b, i, f, score)


def _add(d: dict[str, int], key: str, n: int) -> None:
    if n:
        d[key] = d.get(key, 0) + n


NAME_ONLY_FUNDERS = tuple(
    f"{PLACES[(k * 53 + 7) % len(PLACES)]} {kind}" for k, kind in enumerate(
        ["Municipal Science Grant", "Regional Innovation Fund", "University Seed Programme",
         "Community Research Fund", "Provincial Scholarship Board", "Alumni Research Award",
         "Heritage Grant Scheme", "Young Scholars Fund", "Internal Research Grant",
         "Private Donation Programme", "Industry Partnership Fund", "Doctoral Fellowship"] * 3))

# --------------------------------------------------------------------------------------------
# Record builder (cosmetic detail from a per-work RNG; metric-bearing parts from features)
# --------------------------------------------------------------------------------------------

_GIVEN = ("Arin", "Belo", "Cira", "Dovan", "Elis", "Fenna", "Galo", "Hesna", "Iven", "Jora",
          "Kael", "Lumi", "Maro", "Nesa", "Olin", "Pira", "Quen", "Rilo", "Sena", "Tavi",
          "Ulla", "Varo", "Wenna", "Xeri", "Yano", "Zela", "Amani", "Bex", "Caro", "Dita")
_FAMILY = ("Ashcombe", "Brelwick", "Corvane", "Dunmere", "Elstrand", "Farrowby", "Glenhart",
           "Halvorsen-Ly", "Ingleby", "Jastrow", "Kettleby", "Lorimer", "Marchetti-Vo",
           "Nakaura", "Oyelaran", "Pradana", "Quillon", "Rasmuth", "Santoso-Ril", "Thornevik",
           "Utomo-Kay", "Varga-Lin", "Wirasena", "Xandrell", "Yildrin", "Zorvath", "Abernathy-Q",
           "Bergqvane", "Castellon-Ru", "Darmawen")
_TITLE_A = ("On the", "Towards a", "A study of", "Revisiting", "Notes on", "Evidence for",
            "Modelling", "Measuring", "An inventory of", "Rethinking")
_TITLE_B = ("seasonal", "latent", "recursive", "fragmentary", "luminous", "drifting",
            "collective", "hidden", "lateral", "nested")
_TITLE_C = ("patterns", "archives", "gradients", "networks", "harvests", "signals", "echoes",
            "lattices", "migrations", "ledgers")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


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
    return {"date-parts": [parts], "date-time": dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timestamp": ts}


def build_record(eng: WorkEngine, b: int, i: int, f: dict[str, Any],
                 score: float = 0.0) -> dict[str, Any]:
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
        offs = pop.s_off[s0:s0 + ns]
        sj = int(np.searchsorted(offs, i, side="right") - 1)
        n_y = int(pop.s_n[s0 + sj])
        jj = i - int(offs[sj])
        D = eng.days_in_year_scalar(year)
        doy = (jj * D) // n_y
        date = _dt.date(year, 1, 1) + _dt.timedelta(days=doy)
        parts = [year, date.month, date.day] if prec == 0 else (
            [year, date.month] if prec == 1 else [year])
        eff = date if prec == 0 else (date.replace(day=1) if prec == 1 else _dt.date(year, 1, 1))
        issued = {"date-parts": [parts]}
    else:
        date = eff = _dt.date(2000 + rng.randrange(20), 1 + rng.randrange(12), 1)
        parts = []
        issued = {"date-parts": [[None]]}
    # Crossref's "created" is the first deposit: never before the member joined (≥ 2002)
    joined = _dt.date(max(2002, min(int(pop.start_year[m]), eng.Y - 1)), 1, 1) + _dt.timedelta(
        days=int(pop.ids[m]) % 300)
    created_d = min(max(eff, joined) + _dt.timedelta(days=rng.randrange(0, 20)), eng.as_of_date)
    created_ts = int(_dt.datetime(created_d.year, created_d.month, created_d.day,
                                  tzinfo=_dt.UTC).timestamp() * 1000) + rng.randrange(86_400_000)
    indexed_ord = eng.indexed_ordinal(m)
    indexed_d = _dt.date.fromordinal(indexed_ord)
    indexed_ts = int(_dt.datetime(indexed_d.year, indexed_d.month, indexed_d.day,
                                  tzinfo=_dt.UTC).timestamp() * 1000) + rng.randrange(86_400_000)
    deposited_ts = max(created_ts + rng.randrange(3_600_000),
                       indexed_ts - rng.randrange(1, 400) * 86_400_000)
    deposited_ts = min(deposited_ts, indexed_ts)
    w: dict[str, Any] = {}
    w["indexed"] = _date_obj(indexed_d, [indexed_d.year, indexed_d.month, indexed_d.day],
                             indexed_ts)
    w["indexed"]["version"] = "4.0.1"
    n_refs = 0
    if f["references"]:
        n_refs = rng.randint(3, 45)
    w["reference-count"] = n_refs
    w["publisher"] = publisher
    # licences
    if f["licenses"]:
        lic = []
        start_d = date + _dt.timedelta(days=max(int(f["delay"]), 0))
        for ver in ("vor", "am", "tdm", "unspecified", "stm"):
            if not f.get(ver):
                continue
            if ver in ("vor", "am", "unspecified") and f["cc"]:
                url = CC_URLS[int(f["cc_pick"])]
            else:
                url = eng.publisher_licence_url(b, "stm-asf" if ver == "stm" else ver)
            entry: dict[str, Any] = {}
            if int(f["delay"]) >= 0:
                entry["start"] = _date_obj(start_d, [start_d.year, start_d.month, start_d.day])
            entry["content-version"] = "stm-asf" if ver == "stm" else ver
            if int(f["delay"]) >= 0:
                entry["delay-in-days"] = int(f["delay"])
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
                nums = [f"{rng.choice('ABCDEFGHKLMNPRSTX')}{rng.randrange(10, 99)}-"
                        f"{rng.randrange(100000, 999999)}" for _ in range(rng.randint(1, 2))]
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
            entry = {"name": fu.name} if rng.random() < 0.7 else {}
            award(entry)
            entry["id"] = [{"id": fu.ror, "id-type": "ROR", "asserted-by": "publisher"}]
            funders.append(entry)
        for nm in eng._name_only_entries(b, i, bool(f["funder-doi"]), bool(f["rorfund"]),
                                          bool(f["name_extra"])):
            entry = {"name": nm}
            award(entry)
            funders.append(entry)
        for entry in funders:
            if entry.get("award") == []:
                del entry["award"]
        w["funder"] = funders
    domain = [dom] if f["update-policies"] or rng.random() < 0.5 else []
    w["content-domain"] = {"domain": domain,
                           "crossmark-restriction": bool(f["update-policies"]) and
                           rng.random() < 0.4}
    if t in ("journal-article", "proceedings-article", "journal-issue"):
        w["short-container-title"] = [_journal(eng, m, rng, short=True)]
    if f["abstracts"]:
        w["abstract"] = _abstract(rng)
    w["DOI"] = doi
    w["type"] = t
    w["created"] = _date_obj(created_d, [created_d.year, created_d.month, created_d.day],
                             created_ts)
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
        if t in ("book", "book-chapter") and rng.random() < 0.3:
            w["editor"] = [{"given": rng.choice(_GIVEN), "family": rng.choice(_FAMILY),
                            "sequence": "first", "affiliation": []}]
    w["member"] = str(int(pop.ids[m]))
    if year and prec == 0:
        w["published-online"] = {"date-parts": [parts]}
    if f["ctn"]:
        ctn = []
        for _ in range(rng.randint(1, 2)):
            reg = CT_REGISTRIES[rng.randrange(2)]
            num = (f"nct{rng.randrange(10**7, 10**8)}" if reg.endswith("gov")
                   else f"isrctn{rng.randrange(10**7, 10**8)}")
            ctn.append({"clinical-trial-number": num, "registry": reg})
        w["clinical-trial-number"] = ctn
    if t in ("journal-article", "proceedings-article", "book-chapter", "journal-issue"):
        w["container-title"] = [_journal(eng, m, rng)]
    w["language"] = "en"
    links = []
    if f["resource-links"]:
        if f["tm"]:
            links.append({"URL": f"https://{dom}/pdf/{doi.split('/', 1)[1]}",
                          "content-type": "application/pdf", "content-version": "vor",
                          "intended-application": "text-mining"})
            links.append({"URL": f"https://{dom}/xml/{doi.split('/', 1)[1]}",
                          "content-type": "application/xml", "content-version": "vor",
                          "intended-application": "text-mining"})
        else:
            links.append({"URL": f"https://{dom}/article/{doi.split('/', 1)[1]}",
                          "content-type": "unspecified", "content-version": "vor",
                          "intended-application": "unspecified"})
    if f["similarity-checking"]:
        links.append({"URL": f"https://{dom}/view/{doi.split('/', 1)[1]}",
                      "content-type": "unspecified", "content-version": "vor",
                      "intended-application": "similarity-checking"})
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
        w["journal-issue"] = {"issue": str(1 + (date.month - 1) // 3),
                              "published-online": {"date-parts": [[year]]}}
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
    return w


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
    return (f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)} {rng.choice(_TITLE_C)} in "
            f"{rng.choice(FIELDS).lower()}")


_POOL = 4096
_TITLES = [_make_title(random.Random(k)) for k in range(_POOL)]


def _title(rng: random.Random) -> str:
    return _TITLES[int(rng.random() * _POOL)]


def _make_ref(k: int) -> dict[str, Any]:
    rng = random.Random(100_000 + k)
    if rng.random() < 0.55:
        return {"doi-asserted-by": "crossref" if rng.random() < 0.5 else "publisher",
                "DOI": f"10.9{rng.randrange(10000, 99999)}/ref.{rng.randrange(10**6)}"}
    return {"unstructured": f"{rng.choice(_FAMILY)} {rng.choice(_GIVEN)[0]}. "
                            f"{_make_title(rng)}. {rng.randrange(1950, 2026)}"}


_REFS = [_make_ref(k) for k in range(_POOL)]


def _abstract(rng: random.Random) -> str:
    body = " ".join(f"{rng.choice(_TITLE_A)} {rng.choice(_TITLE_B)} {rng.choice(_TITLE_C)}."
                    for _ in range(rng.randint(2, 5)))
    style = rng.random()
    if style < 0.6:
        return f"<jats:p>{body}</jats:p>"
    if style < 0.9:
        return (f"<jats:title>Abstract</jats:title><jats:sec><jats:title>Background"
                f"</jats:title><jats:p>{body}</jats:p></jats:sec>")
    return f"<p>{body}</p>"


def _description(rng: random.Random, t: str) -> str:
    return f"{t.replace('-', ' ').capitalize()}: {_title(rng)}."


def _references(rng: random.Random, doi: str, n: int) -> list[dict[str, Any]]:
    start = int(rng.random() * _POOL)
    return [{"key": f"{doi}_ref{j + 1}", **_REFS[(start + j * 7) % _POOL]} for j in range(n)]


def _authors(eng: WorkEngine, f: dict[str, Any], rng: random.Random, year: int,
             m: int) -> list[dict[str, Any]]:
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
    http_orcid = (year and year < eng.Y - 2 and rng.random() < 0.5)
    out = []
    for p in range(n):
        a: dict[str, Any] = {}
        if p in orcid_pos:
            scheme = "http" if http_orcid else "https"
            a["ORCID"] = f"{scheme}://orcid.org/{_orcid(rng)}"
            a["authenticated-orcid"] = bool(p == auth_first or (f["auth"] and
                                                                 rng.random() < 0.5))
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


def hkey_seed(*parts: int) -> int:
    return hkey(*parts)
