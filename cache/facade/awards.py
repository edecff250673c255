"""Award shortlist (top members per peer group, user weights) and change between snapshots."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from metrics import scoring

from .export import to_csv
from .loader import _memoised, _read_coverage, snapshots
from .member_report import _groups
from .roster import members
from .views import _slice, view
from .vocab import default_weights, metric_keys, metric_label

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
    """Top N members per award peer group (GEM, then small/medium/large outside GEM)."""
    v = view(content_type, period)
    w = clean_weights(weights)
    key = ("shortlist", tuple(sorted(w.items())), int(min_works))

    def compute():
        comp = scoring.composite(v.matrix, {k: val for k, val in w.items() if val > 0})
        t = v.table.loc[v.table["works"] >= max(0, int(min_works))].copy()
        t["score"] = comp.reindex(t.index)
        t = t.loc[t["score"].notna()]
        return t

    t = v.cached(key, compute)
    n = max(1, min(int(top_n), 100))
    cols = ["member_id", "name", "country", "size_tier", "gem", "works", "score", *v.metrics]
    award = _groups("award").reindex(t.index).astype(str)
    out = {}
    for g in SHORTLIST_GROUPS:
        sub = t.loc[(award == ("GEM" if g == "gem" else g)).to_numpy()]
        out[g] = sub.sort_values(["score", "works"], ascending=[False, False]).head(n)[cols]
    return out


def shortlist_csv(
    content_type: str, period: str, weights=None, min_works: int = 100, top_n: int = 10
) -> str:
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
    the metric that improved most. None when the ids are not two different published snapshots.
    """
    ids = {m.get("id") for m in snapshots()}
    if before_id not in ids or after_id not in ids or before_id == after_id:
        return None
    w = {k: v for k, v in clean_weights(weights).items() if v > 0}

    def compute():
        before = _slice(
            _read_coverage(before_id, period=period, content_type=content_type),
            content_type,
            period,
        )
        after = _slice(
            _read_coverage(after_id, period=period, content_type=content_type), content_type, period
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
        return out.sort_values("composite_change", ascending=False, na_position="last")

    res = _memoised(
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
    return res.head(max(1, min(int(top_n), 200)))
