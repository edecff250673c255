"""Award shortlist (top members per peer group, user weights) and change between snapshots."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from metrics import scoring

from .export import to_csv
from .loader import LOAD_ERRORS, cache, memo, snapshots, view
from .roster import members, peer_groups
from .views import slice_coverage
from .vocab import default_weights, metric_keys, metric_label

logger = logging.getLogger(__name__)

SHORTLIST_GROUPS = ("gem", "small", "medium", "large")


def clean_weights(weights: Mapping[str, Any] | None) -> dict[str, float]:
    """Weights per metric from user input: finite, 0–100, unknown keys dropped, defaults filled."""
    base = default_weights()
    out = dict(base)
    for k, val in (weights or {}).items():
        if k not in base:
            continue
        try:
            f = float(val)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[k] = min(max(f, 0.0), 100.0)
    if sum(out.values()) <= 0:
        return base
    return out


def shortlist(
    content_type: str,
    period: str,
    weights: Mapping[str, Any] | None = None,
    min_works: int = 100,
    top_n: int = 10,
) -> dict[str, pd.DataFrame]:
    """Top N members per award peer group (GEM, then small/medium/large outside GEM).

    group → frame of at most `top_n` (1–100) members with at least `min_works` works, best
    first: member_id, name, country, size_tier, gem, works, score (the composite under the
    cleaned `weights`, a fraction 0–1) and one column per metric (fractions 0–1).
    """
    v = view(content_type, period)
    w = clean_weights(weights)
    key = ("shortlist", tuple(sorted(w.items())), int(min_works))

    def compute():  # the score of every eligible member (a small Series, not a table copy)
        comp = scoring.composite(v.matrix, {k: val for k, val in w.items() if val > 0})
        eligible = v.works.index[v.works.to_numpy() >= max(0, int(min_works))]
        return comp.reindex(eligible).dropna()

    score = v.cached(key, compute)
    n = max(1, min(int(top_n), 100))
    cols = ["member_id", "name", "country", "size_tier", "gem", "works", "score", *v.metrics]
    award = peer_groups("award").reindex(score.index).to_numpy()
    works = v.works.reindex(score.index).to_numpy()
    out = {}
    for g in SHORTLIST_GROUPS:
        in_group = award == ("GEM" if g == "gem" else g)
        ranked = pd.DataFrame({"score": score.to_numpy()[in_group], "works": works[in_group]})
        ranked.index = score.index[in_group]
        top = ranked.sort_values(["score", "works"], ascending=[False, False]).head(n)
        t = v.table.loc[top.index].copy()
        t["score"] = top["score"].to_numpy()
        out[g] = t[cols]
    return out


def shortlist_csv(
    content_type: str, period: str, weights=None, min_works: int = 100, top_n: int = 10
) -> str:
    """The shortlist as CSV (peer_group, rank, member columns, score and metrics in percent
    0–100 rounded to 0.01, headers saying "(%)"), through the one CSV writer."""
    groups = shortlist(content_type, period, weights, min_works, top_n)
    frames = []
    for g, df in groups.items():
        d = df.copy()
        d.insert(0, "peer_group", g)
        d.insert(1, "rank", range(1, len(d) + 1))
        frames.append(d)
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    keys = view(content_type, period).metrics
    for k in ["score", *keys]:
        if k in out.columns:
            out[k] = (out[k].astype(float) * 100).round(2)
    out = out.rename(columns={k: f"{metric_label(k)} (%)" for k in keys} | {"score": "score (%)"})
    return to_csv(out)


def enrichment(
    before_id: str,
    after_id: str,
    content_type: str,
    period: str,
    min_works: int = 100,
    top_n: int = 20,
    weights: Mapping[str, Any] | None = None,
) -> pd.DataFrame | None:
    """Members ranked by the change of their composite score between two snapshots.

    One row per member: composite before/after/change (fractions), works in both snapshots, and
    the metric that improved most; the best `top_n` (1–200). None when the ids are not two
    different published snapshots or one of them cannot be read.
    """
    ids = {m.get("id") for m in snapshots()} - set(cache().broken())
    if before_id not in ids or after_id not in ids or before_id == after_id:
        return None
    w = {k: v for k, v in clean_weights(weights).items() if v > 0}

    def compute():
        before = slice_coverage(
            cache().coverage(before_id, period=period, content_type=content_type),
            content_type,
            period,
        )
        after = slice_coverage(
            cache().coverage(after_id, period=period, content_type=content_type),
            content_type,
            period,
        )
        long = scoring.improvement(
            before,
            after,
            content_type,
            period,
            min_works=int(min_works),
            weights=w,
            metrics=list(metric_keys()),
        )
        long = pd.DataFrame(long)
        if long.empty:
            return long
        comp = long[long["metric"] == scoring.COMPOSITE].set_index("member_id")
        per = long[long["metric"] != scoring.COMPOSITE].dropna(subset=["change"])
        if len(per):
            best = per.loc[per.groupby("member_id")["change"].idxmax()].set_index("member_id")
        else:
            best = pd.DataFrame(columns=["metric", "change"])
        out = pd.DataFrame(
            {
                "member_id": comp.index.to_numpy(),
                "composite_before": comp["before"].to_numpy(),
                "composite_after": comp["after"].to_numpy(),
                "composite_change": comp["change"].to_numpy(),
                "works_before": comp["works_before"].to_numpy(),
                "works_after": comp["works_after"].to_numpy(),
            }
        )
        out["most_improved"] = out["member_id"].map(best["metric"].map(metric_label)).fillna("")
        out["most_improved_change"] = out["member_id"].map(best["change"])
        m = members()
        out["name"] = out["member_id"].map(m["name"]).fillna("")
        out["country"] = out["member_id"].map(m["country"]).fillna("")
        return out.sort_values("composite_change", ascending=False, na_position="last").head(200)

    try:
        res = memo(
            (
                "enrichment",
                before_id,
                after_id,
                content_type,
                period,
                int(min_works),
                tuple(sorted(w.items())),
            ),
            compute,
        )
    except LOAD_ERRORS as exc:
        logger.error("comparing snapshots %s and %s failed: %s", before_id, after_id, exc)
        return None
    return res.head(max(1, min(int(top_n), 200)))
