"""The one member search: a server-searched select that tolerates typos and word order.

Every page that finds a member by name (overview, member, compare, shortlist) uses
`member_select` plus `register(cid)`; the options come from `member_options`:

1. an exact member id, 2. names containing the query as typed (case-insensitive substring),
3. names holding the query's words in any order, each word matched with a typo or two
   (`rapidfuzz` ``fuzz.ratio`` ≥ ``WORD_CUTOFF`` against the words of all member names) or as
   the start of a word, so "univ press oxfrd" finds "Oxford University Press".

Within 2. and 3., larger members (more registered works) come first among equal matches. The
values are member ids as text, the labels "Name (id)"; the picked ids always stay in the options,
so a pick made while another search was in flight is never dropped.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from typing import Any

import dash_mantine_components as dmc
import numpy as np
from dash import Input, Output, callback
from rapidfuzz import fuzz, process, utils

from cache import facade
from cache.facade.loader import memo

WORD_CUTOFF = 80  # rapidfuzz ratio 0–100 of a query word against a name word (≈ 1 typo in 5)
LIMIT = 20


class _Index:
    """Words of every member name: a sorted vocabulary and, per word, the members using it."""

    def __init__(self, names: list[str], ids: np.ndarray, works: np.ndarray):
        self.names = names
        self.ids = ids
        self.works = works
        postings: dict[str, list[int]] = {}
        for pos, name in enumerate(names):
            for word in set(name.split()):
                postings.setdefault(word, []).append(pos)
        self.vocab = sorted(postings)
        self.postings = {w: np.asarray(p, dtype=np.int64) for w, p in postings.items()}

    def words_like(self, word: str) -> dict[str, float]:
        """Vocabulary words matching one query word → score 0–100: words it starts (typing in
        progress: 100), and (3+ letters) words within a typo or two (rapidfuzz ``fuzz.ratio``)."""
        out: dict[str, float] = {}
        i = bisect.bisect_left(self.vocab, word)
        while i < len(self.vocab) and self.vocab[i].startswith(word) and len(out) < 500:
            out[self.vocab[i]] = 100.0
            i += 1
        if len(word) >= 3:
            for match, score, _ in process.extract(
                word,
                self.vocab,
                scorer=fuzz.ratio,
                processor=None,
                limit=50,
                score_cutoff=WORD_CUTOFF,
            ):
                out[match] = max(out.get(match, 0.0), float(score))
        return out

    def search(self, text: str, limit: int) -> list[int]:
        """Member ids whose names hold (fuzzily, in any order) the most query words: ranked by
        words matched, then summed match score, then registered works."""
        words = [w for w in dict.fromkeys(text.split()) if w][:8]
        if not words:
            return []
        score = np.zeros(len(self.names))
        matched = np.zeros(len(self.names), dtype=np.int64)
        for w in words:
            best = np.zeros(len(self.names))
            for v, s in self.words_like(w).items():
                p = self.postings[v]
                best[p] = np.maximum(best[p], s)
            score += best
            matched += best > 0
        need = max(1, len(words) - (1 if len(words) >= 3 else 0))  # one word may be noise
        cand = np.flatnonzero(matched >= need)
        order = np.lexsort((-self.works[cand], -score[cand], -matched[cand]))
        return [int(self.ids[c]) for c in cand[order][:limit]]


def _index() -> _Index:
    """The word index of the served snapshot's member names, memoised per snapshot."""

    def compute():
        m = facade.members()
        names = [utils.default_process(str(n)) for n in m["name"].tolist()]
        return _Index(names, m.index.to_numpy(), m["total_dois"].to_numpy())

    return memo(("member-search-index",), compute)


def member_options(query: Any, limit: int = LIMIT, keep: Iterable[Any] = ()) -> list[dict]:
    """Options ``[{"value": "<id>", "label": "Name (id)"}]`` for `query` (untrusted text).

    The `keep` ids first (picked values; unknown ids dropped), then at most `limit` matches: an
    exact id, names containing the query as typed (largest first), then names holding its words
    in any order with typos (`_Index.search`). An empty query lists the largest members.
    ``[]`` without a snapshot.
    """
    if not facade.has_snapshot():
        return []
    m = facade.members()
    keep = [k for k in (keep or ()) if isinstance(k, str | int) and not isinstance(k, bool)]
    text = query.strip()[:100] if isinstance(query, str) else ""
    picked = re.search(r"\((\d{1,15})\)\s*$", text)  # a select echoes the picked label
    if picked:
        keep.append(picked.group(1))
        text = ""
    keep_ids = list(
        dict.fromkeys(
            i for i in (facade.parse_member_id(k) for k in keep) if i is not None and i in m.index
        )
    )
    hits: list[int] = []
    if not text:
        hits = m.sort_values("total_dois", ascending=False).index[: limit + len(keep_ids)].tolist()
    else:
        qid = facade.parse_member_id(text)
        if qid is not None and qid in m.index:
            hits.append(qid)
        index = _index()
        q = utils.default_process(text)
        if q:
            sub = np.fromiter((q in n for n in index.names), dtype=bool, count=len(index.names))
            order = np.argsort(-index.works[sub], kind="stable")
            hits.extend(int(i) for i in index.ids[sub][order][: limit * 2])
            if len(hits) < limit:
                hits.extend(index.search(q, limit * 2))
    out = [_option(m, i) for i in keep_ids]
    seen = set(keep_ids)
    for i in hits:
        if i not in seen and len(out) < limit + len(keep_ids):
            out.append(_option(m, i))
            seen.add(i)
    return out


def _option(m, i: int) -> dict:
    return {"value": str(i), "label": f"{m.at[i, 'name']} ({i})"}


def picked(value: object) -> list[str]:
    """A select's value as member ids (text): a str for a Select, a list for a MultiSelect;
    malformed entries dropped, at most 100."""
    items = value if isinstance(value, list) else [value]
    ok = [str(v) for v in items if isinstance(v, str | int) and not isinstance(v, bool)]
    return ok[:100]


def member_select(
    cid: str,
    *,
    multi: bool = False,
    value=None,
    label: str | None = "Find a member",
    placeholder: str = "Member name or id (typos are fine)…",
    max_values: int | None = None,
    **kw,
):
    """The member search box: a `dmc.Select` (or `dmc.MultiSelect` with ``multi``) whose options
    the server fills as the user types (`register(cid)` adds that callback)."""
    keep = picked(value) if value is not None else []
    common = {
        "id": cid,
        "label": label,
        "placeholder": placeholder,
        "searchable": True,
        "clearable": True,
        "data": member_options("", keep=keep),
        "nothingFoundMessage": "No matching member",
        "comboboxProps": {"zIndex": 400},
        # the server already filtered (fuzzy): the browser must not filter again by substring
        "filter": {"function": "memberSearchFilter"},
        **kw,
    }
    if multi:
        return dmc.MultiSelect(value=keep, maxValues=max_values, hidePickedOptions=True, **common)
    return dmc.Select(value=keep[0] if keep else None, **common)


def register(cid: str) -> None:
    """The callback that fills `cid`'s options as the user types. The picked value is an Input
    (not State): a pick re-runs it, and Dash drops the answer of the older, stale request."""

    @callback(
        Output(cid, "data"),
        Input(cid, "searchValue"),
        Input(cid, "value"),
        prevent_initial_call=True,
    )
    def _options(search, value):
        return member_options(search, keep=picked(value))
