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
facets, samples and pages are exact and fast; it builds full JSON records
(:mod:`mock.records`) only for the works a response returns. Filters are parsed in
:mod:`mock.query`; facet counting lives in :mod:`mock.facets`. The predicates of
docs/architecture.md §4 hold on the records by construction, and the filters here implement
exactly those semantics.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from mock_crossref.facets import facet_counts
from mock_crossref.population import (
    BACKFILE,
    COINS,
    COUNTED,
    CURRENT,
    PARENT,
    PLACES,
    TYPES,
    UNDATED,
    C,
    E,
    Perm,
    Population,
    mix64,
    mix64_np,
    uniform_np,
)
from mock_crossref.query import Scope, WorkQuery
from mock_crossref.records import AM_GREEN_URL, CC_URLS, build_record

TYPE_CODE = {
    "journal-article": "a",
    "book-chapter": "c",
    "proceedings-article": "p",
    "dataset": "d",
    "posted-content": "x",
    "book": "b",
    "report": "r",
    "component": "s",
    "journal-issue": "i",
    "journal": "j",
}
CODE_TYPE = {v: k for k, v in TYPE_CODE.items()}

# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_CUM = {
    leap: np.array(
        [
            0,
            31,
            59 + leap,
            90 + leap,
            120 + leap,
            151 + leap,
            181 + leap,
            212 + leap,
            243 + leap,
            273 + leap,
            304 + leap,
            334 + leap,
            365 + leap,
        ]
    )
    for leap in (0, 1)
}


def _leap(y: np.ndarray) -> np.ndarray:
    return ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)


# --------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------

# --------------------------------------------------------------------------------------------
# The research nexus (relations, updates, grant DOIs, institutions, editors' iDs)
# --------------------------------------------------------------------------------------------
#: Per-work features of the research nexus, none in the member summary: a work has one iff a
#: keyed coin falls below its member's rate (for a child, within the parent's works).
NEXUS_FEATURES: tuple[str, ...] = (
    "rel_supp",  # an is-supplemented-by relation (data or software)
    "rel_preprint",  # has-preprint (articles) / is-preprint-of (posted content)
    "rel_review",  # has-review (articles, proceedings)
    "updated",  # updated-by: the work received an update
    "retracted",  # ⊆ updated: one update is a retraction (or withdrawal)
    "rw_only",  # ⊆ retracted: known only from Retraction Watch (no publisher notice)
    "notice",  # update-to: the work is an update notice (journal articles)
    "grant_doi",  # ⊆ award-numbers: the award is a registered grant DOI
    "inst",  # an institution entry (reports, datasets, posted content)
    "inst_ror",  # ⊆ inst: the institution carries a ROR ID
    "editor_orcid",  # the work's editor has an ORCID iD
)
#: Mean rates per archetype (ARCHETYPES order: ojs, jstage, society, commercial,
#: university-press, repository, conference, preprint), before the per-member spread. Child
#: rates are shares of the parent's works.
_NEXUS_MEANS: dict[str, tuple[float, ...]] = {
    "rel_supp": (0.002, 0.001, 0.01, 0.04, 0.005, 0.08, 0.005, 0.02),
    "rel_preprint": (0.005, 0.0, 0.02, 0.04, 0.005, 0.0, 0.01, 0.35),
    "rel_review": (0.002, 0.0, 0.01, 0.03, 0.0, 0.0, 0.005, 0.0),
    "updated": (0.003, 0.004, 0.01, 0.02, 0.005, 0.01, 0.003, 0.05),
    "retracted": (0.3, 0.1, 0.2, 0.25, 0.1, 0.05, 0.3, 0.05),
    "rw_only": (0.8, 0.5, 0.4, 0.15, 0.4, 0.5, 0.7, 0.3),
    "notice": (0.002, 0.003, 0.008, 0.015, 0.004, 0.0, 0.002, 0.0),
    "grant_doi": (0.005, 0.0, 0.02, 0.05, 0.01, 0.02, 0.01, 0.03),
    "inst": (0.5, 0.5, 0.6, 0.7, 0.6, 0.9, 0.5, 0.9),
    "inst_ror": (0.02, 0.0, 0.05, 0.15, 0.05, 0.2, 0.03, 0.1),
    "editor_orcid": (0.05, 0.0, 0.1, 0.3, 0.15, 0.1, 0.1, 0.1),
}
#: Parent of each child feature (the child's coin is only read where the parent holds).
NEXUS_PARENT = {
    "retracted": "updated",
    "rw_only": "retracted",
    "grant_doi": "award-numbers",
    "inst_ror": "inst",
}
#: Types that carry each feature (others never do).
NEXUS_TYPES: dict[str, frozenset[str]] = {
    "rel_supp": frozenset({"journal-article", "proceedings-article", "posted-content"}),
    "rel_preprint": frozenset({"journal-article", "posted-content"}),
    "rel_review": frozenset({"journal-article", "proceedings-article"}),
    "updated": frozenset(
        {"journal-article", "proceedings-article", "book-chapter", "posted-content", "dataset"}
    ),
    "notice": frozenset({"journal-article"}),
    "inst": frozenset({"report", "dataset", "posted-content"}),
    "editor_orcid": frozenset({"book", "book-chapter"}),
}


def nexus_rates(pop: Population) -> np.ndarray:
    """Member × :data:`NEXUS_FEATURES` rates (0–1): the archetype mean spread per member.

    Drawn from keyed hashes of the member index, not from the population's RNG, so the rest of
    the demo population is unchanged. About half the members never deposit a relation, an
    update notice, a grant DOI or an institution ROR (rate 0), as in Crossref's participation
    figures; the others spread around twice the mean.
    """
    m = np.arange(pop.n_members, dtype=np.int64)
    arch = np.asarray(pop.archetype, dtype=np.int64)
    out = np.zeros((pop.n_members, len(NEXUS_FEATURES)), dtype=np.float64)
    zero = uniform_np(_SALT["nx_zero"], m)
    for k, name in enumerate(NEXUS_FEATURES):
        mean = np.array(_NEXUS_MEANS[name])[arch]
        u = uniform_np(_SALT[f"nx_{k}"], m)
        if name in NEXUS_PARENT or name == "inst":  # shares within the parent: no zero mass
            out[:, k] = np.clip(mean * (0.5 + u), 0, 1)
        else:
            out[:, k] = np.where(zero < 0.5, 0.0, np.clip(2 * mean * (0.5 + u), 0, 1))
    return out


_SALT = {
    name: mix64(0xC0FFEE + i)
    for i, name in enumerate(
        list(COUNTED)
        + list(COINS)
        + ["tm", "delay", "ror_pick", "cc_pick", "xref2", "nm", "nm_count", "rorfund_both"]
        + ["am_green", "am_delay"]
        + ["nx_member", "nx_zero", *(f"nx_{k}" for k in range(16))]
        + ["rorfund_named"]
        + list(NEXUS_FEATURES)
    )
}

NAME_ONLY_FUNDERS = tuple(
    f"{PLACES[(k * 53 + 7) % len(PLACES)]} {kind}"
    for k, kind in enumerate(
        [
            "Municipal Science Grant",
            "Regional Innovation Fund",
            "University Seed Programme",
            "Community Research Fund",
            "Provincial Scholarship Board",
            "Alumni Research Award",
            "Heritage Grant Scheme",
            "Young Scholars Fund",
            "Internal Research Grant",
            "Private Donation Programme",
            "Industry Partnership Fund",
            "Doctoral Fellowship",
        ]
        * 3
    )
)


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
        self.nexus = nexus_rates(pop)

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
            "auth": {"orcids"},
            "ror-ids": {"affiliations"},
            "award-numbers": {"funders"},
            "funder-doi": {"funders"},
            "rorfund": {"ror-ids", "funders"},
            "aff_ror": {"ror-ids", "rorfund"},
            "funder-identified": {"funder-doi", "rorfund"},
            "f1": {"funder-doi"},
            "f2": {"f1"},
            "xref1": {"funder-doi"},
            "xref2": {"f2"},
            "lic_versions": {"licenses"},
            "delay": {"licenses"},
            "tm": {"resource-links"},
            "cc": {"lic_versions"},
            "am_green": {"lic_versions"},
            "name_extra": {"funders"},
            "ror_pick": set(),
            "relations": {"rel_supp", "rel_preprint", "rel_review"},
            "retracted": {"updated"},
            "rw_only": {"retracted"},
            "grant_doi": {"award-numbers"},
            "inst_ror": {"inst"},
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
            out["rorfund"] = (
                out["ror-ids"]
                & out["funders"]
                & (self.coin(b, "ror_funder", idx) < coins[C["ror_funder"]])
            )
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
                j = np.searchsorted(bounds[1 : k + 1], r, side="right")
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
                self.coin(b, "name_extra", idx) < coins[C["name_extra"]]
            )
        if "ror_pick" in need:
            out["ror_pick"] = (self.coin(b, "ror_pick", idx) * len(self.ror_funders)).astype(
                np.int64
            )
        if "lic_versions" in need or "cc" in need:
            lic = out["licenses"]
            vor = lic & (self.coin(b, "vor", idx) < coins[C["vor"]])
            am = lic & (self.coin(b, "am", idx) < coins[C["am"]])
            tdm = lic & (self.coin(b, "tdm", idx) < coins[C["tdm"]])
            unspec = lic & ~(vor | am | tdm)  # one licence without a version (PeerJ, PLOS)
            stm = lic & (self.coin(b, "stm", idx) < coins[C["stm"]])
            out.update({"vor": vor, "am": am, "tdm": tdm, "unspecified": unspec, "stm": stm})
            out["lic_versions"] = lic
            cc = lic & (self.coin(b, "cc", idx) < coins[C["cc"]])
            # open works: a CC URL on the vor/am/unspecified licences; a TDM-only work has none
            out["cc"] = cc & (vor | am | unspec)
            out["cc_pick"] = (self.coin(b, "cc_pick", idx) * len(CC_URLS)).astype(np.int64)
            # the other works' AM licence: green OA, CC BY-NC after an embargo (AM_GREEN_URL),
            # or else the publisher's AM terms page
            out["am_green"] = am & ~out["cc"] & (self.coin(b, "am_green", idx) < 0.6)
        if "delay" in need:
            # the REST API gives every licence a delay: days from publication to its start
            # (0 for undated works, which have no start)
            zero = self.coin(b, "zero_delay", idx) < coins[C["zero_delay"]]
            d = 1 + (self.coin(b, "delay", idx) * 730).astype(np.int64)
            out["delay"] = np.where(out["licenses"], np.where(zero, 0, d), 0)
            # a green-OA AM licence starts after its own embargo (6 to 24 months)
            out["am_delay"] = 182 + (self.coin(b, "am_delay", idx) * 548).astype(np.int64)
        if "tm" in need:
            out["tm"] = out["resource-links"] & (self.coin(b, "tm", idx) < 0.8)
        if "ctn" in need:
            rate = coins[C["ctn"]] if t == "journal-article" else 0.0
            out["ctn"] = self.coin(b, "ctn", idx) < rate
        for k, name in enumerate(NEXUS_FEATURES):  # parents come before their children
            if name not in need:
                continue
            rate = float(self.nexus[m, k]) if t in NEXUS_TYPES.get(name, frozenset(TYPES)) else 0
            has = self.coin(b, name, idx) < rate
            parent = NEXUS_PARENT.get(name)
            out[name] = has & out[parent] if parent else has
        if "relations" in need:
            out["relations"] = out["rel_supp"] | out["rel_preprint"] | out["rel_review"]
        if "year" in need:
            out["year"] = self.years(b, idx)
        return out

    def years(self, b: int, idx: np.ndarray) -> np.ndarray:
        pop = self.pop
        s0, ns = int(pop.b_seg0[b]), int(pop.b_nseg[b])
        offs = pop.s_off[s0 : s0 + ns]
        j = np.searchsorted(offs, idx, side="right") - 1
        return pop.s_year[s0 : s0 + ns].astype(np.int64)[j]

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
                need |= {"delay", "lic_versions", "cc"}
            elif name == "funder-doi-asserted-by":
                need |= {"xref1", "xref2", "f2"}
            elif name == "relation.type":
                need |= {"rel_supp", "rel_preprint", "rel_review"}
        if q.funders is not None:
            need |= {"f1", "f2"}
        return need

    def mask(
        self, b: int, idx: np.ndarray, q: WorkQuery, feats: dict[str, np.ndarray] | None = None
    ) -> np.ndarray:
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
            return (
                feats.get(v, none)
                if v in ("vor", "am", "tdm", "unspecified")
                else (feats["stm"] if v == "stm-asf" else none)
            )
        if name == "license.delay":
            # any licence whose delay is at most d: the AM licence of a green-OA work has its
            # own delay, every other licence the work's
            d = int(v)
            am_delay = np.where(feats["am_green"], feats["am_delay"], feats["delay"])
            others = feats["vor"] | feats["tdm"] | feats["unspecified"] | feats["stm"]
            return (others & (feats["delay"] <= d)) | (feats["am"] & (am_delay <= d))
        if name == "license.url":
            out = none.copy()
            if v in CC_URLS:
                out |= feats["cc"] & (feats["cc_pick"] == CC_URLS.index(v))
            if v == AM_GREEN_URL:
                out |= feats["am_green"]
            for ver in ("vor", "am", "unspecified"):
                if v == self.publisher_licence_url(b, ver):
                    out |= feats[ver] & ~feats["cc"] & ~feats["am_green"]
            if v == self.publisher_licence_url(b, "tdm"):
                out |= feats["tdm"]
            if v == self.publisher_licence_url(b, "stm-asf"):
                out |= feats["stm"]
            return out
        if name == "relation.type":  # the types the mock generates (records.nexus_parts)
            t = TYPES[self.pop.b_type[b]]
            if v == "is-supplemented-by":
                return feats["rel_supp"]
            if v == "has-preprint":
                return feats["rel_preprint"] if t != "posted-content" else none
            if v == "is-preprint-of":
                return feats["rel_preprint"] if t == "posted-content" else none
            if v == "has-review":
                return feats["rel_review"]
            return none
        if name == "funder-doi-asserted-by":
            if v == "crossref":
                return feats["xref1"] | feats["xref2"]
            if v == "publisher":
                return (feats["funder-doi"] & ~feats["xref1"]) | (
                    (feats["f2"] >= 0) & ~feats["xref2"]
                )
            return none
        return none

    # ---------------------------------------------------------------- scope
    def scope(self, q: WorkQuery) -> Scope:
        pop = self.pop
        if q.empty:
            z = np.zeros(0, dtype=np.int64)
            return Scope(z, z, z)
        if q.members is not None:
            blocks = (
                np.concatenate(
                    [np.arange(pop.m_block0[m], pop.m_block0[m + 1]) for m in q.members]
                ).astype(np.int64)
                if q.members
                else np.zeros(0, dtype=np.int64)
            )
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

    def segments(self, blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Year segments of ``blocks``, in order: (segment index, row in ``blocks``)."""
        pop = self.pop
        nb = pop.b_nseg[blocks].astype(np.int64)
        first = np.repeat(np.cumsum(nb) - nb, nb)
        sidx = np.repeat(pop.b_seg0[blocks], nb) + (np.arange(int(nb.sum())) - first)
        return sidx, np.repeat(np.arange(len(blocks)), nb)

    def _date_ranges(
        self, blocks: np.ndarray, dfrom: _dt.date | None, duntil: _dt.date | None
    ) -> tuple[np.ndarray, np.ndarray]:
        pop = self.pop
        sidx, sblk = self.segments(blocks)
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

    def _iter_idx(
        self, q: WorkQuery, sc: Scope, start: tuple[int, int] = (0, 0), size: int | None = None
    ) -> Iterator[tuple[int, int, np.ndarray]]:
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
                cand = np.unique(
                    np.concatenate(
                        [self.funder_indices(b, f) for f in fids] or [np.zeros(0, np.int64)]
                    )
                )
                cand = cand[(cand >= lo) & (cand < hi)]
                step = size or self.CHUNK
                for s in range(0, len(cand), step):
                    yield k, b, cand[s : s + step]
            else:
                for idx in self._chunks(lo, hi, size):
                    yield k, b, idx

    # ---------------------------------------------------------------- paging
    def page(
        self, q: WorkQuery, pos: tuple[int, int], rows: int, scope: Scope | None = None
    ) -> tuple[list[tuple[int, int]], tuple[int, int]]:
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

    def _sample_funder(
        self, q: WorkQuery, sc: Scope, n: int, rng: np.random.Generator
    ) -> list[tuple[int, int]]:
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
                one = Scope(sc.blocks[k : k + 1], sc.lo[k : k + 1], sc.hi[k : k + 1])
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
        """Facet counts (see :func:`mock.facets.facet_counts`)."""
        return facet_counts(self, q, specs)

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

    def _name_only_entries(
        self, b: int, i: int, fdoi: bool, rorfund: bool, extra: bool
    ) -> list[str]:
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
            if (
                TYPES[self.pop.b_type[b]] == t
                and self.pop.b_period[b] == period
                and i < self.pop.b_n[b]
                and self.years(b, np.array([i]))[0] == year
                and self.doi(b, i, year).lower() == doi.strip().lower()
            ):
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
    RECORD_NEED = (
        "references",
        "abstracts",
        "orcids",
        "auth",
        "affiliations",
        "ror-ids",
        "aff_ror",
        "rorfund",
        "funders",
        "funder-doi",
        "award-numbers",
        "f1",
        "f2",
        "xref1",
        "xref2",
        "name_extra",
        "ror_pick",
        "update-policies",
        "similarity-checking",
        "resource-links",
        "tm",
        "licenses",
        "lic_versions",
        "cc",
        "am_green",
        "delay",
        "descriptions",
        "ctn",
        *NEXUS_FEATURES,
        "year",
    )

    def records(
        self, items: list[tuple[int, int]], select: list[str] | None = None, score: float = 0.0
    ) -> list[dict[str, Any]]:
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
