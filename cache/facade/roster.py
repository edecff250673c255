"""Members: the member table of the served snapshot, peer groups, id parsing, lookup, search."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from metrics import scoring

from .loader import has_snapshot, memo, snapshot


def members() -> pd.DataFrame:
    """The member table of the served snapshot (`Loaded.members`: indexed by member_id).
    LookupError when there is no snapshot."""
    return snapshot().members


def peer_groups(by: str) -> pd.Series:
    """Peer-group label per member (index member_id, str) for a `scoring.PEER_GROUPINGS` key,
    memoised per snapshot. ValueError for an unknown grouping."""

    def compute():
        m = members()
        groups = scoring.peer_groups(m.reset_index(drop=True), by)
        return pd.Series(np.asarray(groups, dtype=object), index=m.index).astype(str)

    return memo(("peer_groups", by), compute)


def parse_member_id(value: Any) -> int | None:
    """A Crossref member id from user input (int or digit string, 1…2^53), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**53 else None
    if isinstance(value, str) and re.fullmatch(r"\s*\d{1,15}\s*", value):
        return int(value)
    return None


def member(member_id: Any) -> dict | None:
    """One member's row as JSON-safe values (counts_type, dois_by_year parsed from their JSON
    text, as `/members` gives them); None for an unknown id or without a snapshot."""
    mid = parse_member_id(member_id)
    if mid is None or not has_snapshot():
        return None
    m = members()
    if mid not in m.index:
        return None
    row = m.loc[mid]
    out = {k: _scalar(row[k]) for k in m.columns if k not in ("name_lc", "name_rank")}
    for key in ("counts_type", "dois_by_year"):
        out[key] = _json(out.get(key))
    return out


def member_name(member_id: int) -> str:
    """The member's name; its id as text when unknown."""
    m = members()
    return str(m.at[member_id, "name"]) if member_id in m.index else str(member_id)


def search_members(query: Any, limit: int = 20, keep: Iterable[Any] = ()) -> list[dict]:
    """Options for a server-searched select: name substring or exact id; `keep` stays listed.

    ``[{"value": "<member id>", "label": "Name (id)"}]``: the `keep` ids first, then matches
    by most registered works, at most ``limit`` (+ kept); ``[]`` without a snapshot.
    """
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


def _scalar(x: Any) -> Any:
    """numpy scalars as plain Python (NaN → None)."""
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return None if np.isnan(x) else float(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def _json(x: Any) -> Any:
    """Parsed JSON text; None when it does not parse; non-text unchanged."""
    if isinstance(x, str):
        try:
            return json.loads(x)
        except ValueError:
            return None
    return x
