"""Compare: up to 8 members side by side, with Crossref-wide and peer-group medians."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .loader import view
from .roster import member_name, members, parse_member_id, peer_groups
from .views import View
from .vocab import PEER_GROUPINGS


def compare(member_ids: Sequence[Any], content_type: str, period: str, peers: str = "size") -> dict:
    """Coverage of up to 8 members per metric, plus Crossref-wide DOI-weighted, the member median
    of all members and the member median of the first member's peer group (`peers` grouping).

    Keys: ids (valid, unique, first 8), names, matrix (ids × metric, fractions 0–1), works,
    composite (fractions), doi_weighted / member_median (per metric, fractions), metrics,
    peer_by, peer_group, peer_median (per metric, fractions, or None), peer_size.
    """
    ids = []
    for i in member_ids or ():
        mid = parse_member_id(i)
        if mid is not None and mid in members().index and mid not in ids:
            ids.append(mid)
    ids = ids[:8]
    v = view(content_type, period)
    mat = v.matrix.reindex(ids)
    return {
        "ids": ids,
        "names": {i: member_name(i) for i in ids},
        "matrix": mat,
        "works": v.works.reindex(ids).fillna(0).astype(int),
        "composite": v.composite.reindex(ids),
        "doi_weighted": v.agg["doi_weighted"],
        "member_median": v.agg["member_median"],
        "metrics": v.metrics,
        **_peer_median(v, ids[0] if ids else None, peers),
    }


def _peer_median(v: View, member_id: int | None, by: str) -> dict:
    by = by if by in PEER_GROUPINGS else "size"
    if member_id is None:
        return {"peer_by": by, "peer_group": None, "peer_median": None, "peer_size": 0}
    groups = peer_groups(by)
    group = str(groups.get(member_id, ""))

    def medians():
        active = v.works.reindex(v.matrix.index).fillna(0) > 0
        mat = v.matrix.loc[active]
        g = groups.reindex(mat.index)
        return mat.groupby(g).median(), g.value_counts()

    med, sizes = v.cached(("peer-median", by), medians)
    return {
        "peer_by": by,
        "peer_group": group,
        "peer_median": med.loc[group] if group in med.index else None,
        "peer_size": int(sizes.get(group, 0)),
    }
