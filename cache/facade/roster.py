"""Members: the member table of the latest snapshot, id parsing, lookup and name search."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from .export import _loads, _py
from .loader import has_snapshot, snapshot


def members() -> pd.DataFrame:
    return snapshot().members


def parse_member_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**53 else None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,15}\s*", value):
        return int(value)
    return None


def member(member_id: Any) -> dict | None:
    mid = parse_member_id(member_id)
    if mid is None or not has_snapshot():
        return None
    m = members()
    if mid not in m.index:
        return None
    row = m.loc[mid]
    out = {k: _py(row[k]) for k in m.columns if k not in ("name_lc", "name_rank")}
    for key in ("counts_type", "dois_by_year"):
        out[key] = _loads(out.get(key))
    return out


def member_name(member_id: int) -> str:
    m = members()
    return str(m.at[member_id, "name"]) if member_id in m.index else str(member_id)


def search_members(query: Any, limit: int = 20, keep: Iterable[Any] = ()) -> list[dict]:
    """Options for a server-searched select: name substring or exact id; `keep` stays listed."""
    if not has_snapshot():
        return []
    m = members()
    keep = list(keep or ())
    if isinstance(
        query, str
    ):  # a select sends the chosen option's label "Name (123)" as its search
        picked = re.search(r"\((\d{1,15})\)\s*$", query)
        if picked:
            keep.append(picked.group(1))
    keep_ids = list(
        dict.fromkeys(
            i for i in (parse_member_id(k) for k in keep) if i is not None and i in m.index
        )
    )
    out = [_option(m, i) for i in keep_ids]
    q = query.strip().lower()[:100] if isinstance(query, str) else ""
    if q:
        hits: list[int] = []
        qid = parse_member_id(q)
        if qid is not None and qid in m.index:
            hits.append(qid)
        mask = m["name_lc"].str.contains(q, regex=False)
        found = m.loc[mask]
        found = found.sort_values("total_dois", ascending=False)
        hits.extend(found.index[: limit * 2].tolist())
    else:
        hits = m.sort_values("total_dois", ascending=False).index[:limit].tolist()
    seen = set(keep_ids)
    for i in hits:
        if i not in seen and len(out) < limit + len(keep_ids):
            out.append(_option(m, i))
            seen.add(i)
    return out


def _option(m: pd.DataFrame, i: int) -> dict:
    return {"value": str(i), "label": f"{m.at[i, 'name']} ({i})"}
