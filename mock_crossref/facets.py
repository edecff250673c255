"""Facet counts of ``/works`` queries (``facet=published:5,funder-name:10,…``).

Without work predicates, ``type-name``, ``publisher-name`` and ``published`` come from scope
arithmetic alone; everything else evaluates the engine's vectorised features over the query's
candidate works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from mock_crossref.population import TYPE_LABELS, TYPES, E
from mock_crossref.query import Scope, WorkQuery
from mock_crossref.records import AM_GREEN_URL, CC_URLS, RORFUND_NAMED

if TYPE_CHECKING:
    from mock_crossref.engine import WorkEngine


def facet_counts(eng: WorkEngine, q: WorkQuery, specs: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Facets ``name → limit`` of the works matching ``q``, in Crossref's shape."""
    sc = eng.scope(q)
    counters: dict[str, dict[str, int]] = {name: {} for name in specs}
    need = eng._need(q)
    if "published" in specs:
        need.add("year")
    if "funder-doi" in specs or "funder-name" in specs:
        need |= {"f1", "f2", "rorfund", "ror_pick", "name_extra", "funders", "funder-doi"}
    if "link-application" in specs:
        need |= {"tm", "similarity-checking", "resource-links"}
    if "license" in specs:
        need |= {"lic_versions", "cc"}
    pop = eng.pop
    plain = not q.has_predicates
    if plain:
        # scope arithmetic: no work needs evaluating for these three
        sizes = sc.hi - sc.lo
        if "type-name" in specs:
            tc = np.bincount(pop.b_type[sc.blocks], weights=sizes, minlength=len(TYPES))
            for t, c in enumerate(tc.astype(np.int64).tolist()):
                _add(counters["type-name"], TYPE_LABELS[TYPES[t]], c)
        if "publisher-name" in specs:
            mc = np.bincount(
                pop.b_member[sc.blocks], weights=sizes, minlength=pop.n_members
            ).astype(np.int64)
            for m in np.flatnonzero(mc).tolist():
                _add(counters["publisher-name"], pop.names[m], int(mc[m]))
        if "published" in specs:
            for y, c in _year_counts(eng, sc).items():
                _add(counters["published"], str(y), c)
        rest = set(specs) - {"type-name", "publisher-name", "published"}
        if not rest:
            return _facet_out(specs, counters)
        # only blocks with funders matter for funder facets
        if rest <= {"funder-doi", "funder-name"}:
            keep = pop.b_counts[sc.blocks, E["funders"]] > 0
            sc = Scope(sc.blocks[keep], sc.lo[keep], sc.hi[keep])
        need.discard("year")
        specs_eval = rest
    else:
        specs_eval = set(specs)
    for _k, b, idx in eng._iter_idx(q, sc):
        t = TYPES[pop.b_type[b]]
        m = int(pop.b_member[b])
        f = eng.features(b, idx, need)
        ok = eng.mask(b, idx, q, f)
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
                            _add(counters["funder-doi"], f"http://dx.doi.org/{fu.doi}", c)
                        if "funder-name" in specs_eval:
                            _add(counters["funder-name"], fu.name, c)
            if "funder-name" in specs_eval:
                rf = f["rorfund"][ok] & (eng.coin(b, "rorfund_named", idx[ok]) < RORFUND_NAMED)
                if rf.any():
                    us, cs = np.unique(f["ror_pick"][ok][rf], return_counts=True)
                    for ri, c in zip(us.tolist(), cs.tolist(), strict=True):
                        _add(counters["funder-name"], eng.ror_funders[ri].name, c)
                names = eng._name_only_counts(b, idx[ok], {k2: v[ok] for k2, v in f.items()})
                for nm, c in names.items():
                    _add(counters["funder-name"], nm, c)
        if "link-application" in specs_eval:
            _add(counters["link-application"], "text-mining", int(f["tm"][ok].sum()))
            _add(
                counters["link-application"],
                "unspecified",
                int((f["resource-links"] & ~f["tm"])[ok].sum()),
            )
            _add(
                counters["link-application"],
                "similarity-checking",
                int(f["similarity-checking"][ok].sum()),
            )
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
                if ver == "am":  # green OA: the AM licence is CC BY-NC after an embargo
                    _add(counters["license"], AM_GREEN_URL, int((sel & f["am_green"]).sum()))
                    sel = sel & ~f["am_green"]
                c = int(sel.sum())
                if c:
                    _add(
                        counters["license"],
                        eng.publisher_licence_url(b, "stm-asf" if ver == "stm" else ver),
                        c,
                    )
    return _facet_out(specs, counters)


def _facet_out(specs: dict[str, int], counters: dict[str, dict[str, int]]) -> dict:
    out: dict[str, dict[str, Any]] = {}
    for name, limit in specs.items():
        vals = {k2: v for k2, v in counters[name].items() if v > 0}
        ordered = sorted(vals.items(), key=lambda kv: (-kv[1], kv[0]))
        out[name] = {"value-count": len(ordered), "values": dict(ordered[:limit])}
    return out


def _year_counts(eng: WorkEngine, sc: Scope) -> dict[int, int]:
    """Works per issued year in a scope (index ranges), from the segments."""
    pop = eng.pop
    if not len(sc.blocks):
        return {}
    sidx, sblk = eng.segments(sc.blocks)
    off = pop.s_off[sidx].astype(np.int64)
    end = off + pop.s_n[sidx]
    lo = sc.lo[sblk]
    hi = sc.hi[sblk]
    ov = np.maximum(0, np.minimum(hi, end) - np.maximum(lo, off))
    yrs = pop.s_year[sidx].astype(np.int64)
    sel = (ov > 0) & (yrs > 0)
    if not sel.any():
        return {}
    y0 = int(yrs[sel].min())
    cnt = np.bincount(yrs[sel] - y0, weights=ov[sel])
    return {y0 + i: int(c) for i, c in enumerate(cnt.tolist()) if c}


def _add(d: dict[str, int], key: str, n: int) -> None:
    if n:
        d[key] = d.get(key, 0) + n
