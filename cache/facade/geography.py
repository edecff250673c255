"""Countries: per member country, members, works, DOI-weighted and member-median coverage."""

from __future__ import annotations

import pandas as pd

from .loader import view


def countries(content_type: str, period: str, metric: str) -> pd.DataFrame:
    """Per member country: members, works, DOI-weighted and member-median coverage of `metric`.

    One row per ISO 3166 alpha-3 ``country`` (members without a recognised country and members
    without works of this type and period are left out), most works first. Columns:
    country, country_name (str), gem (bool), members (int), works (float, Σ totals),
    doi_weighted (Σcovered / Σtotal), member_median, members_at_zero (share of members at 0):
    all **fractions 0–1** (NaN without works). ``metric`` is a registry key or ``"composite"``;
    an unknown one falls back to the first metric. LookupError without a snapshot.
    """
    v = view(content_type, period)
    if metric not in v.metrics and metric != "composite":
        metric = v.metrics[0]

    def compute():
        t = v.table.loc[(v.table["works"] > 0) & (v.table["country"] != "")]
        if metric == "composite":
            vals = t["composite"]
            cov = t["composite"] * t["works"]
            tot = t["works"].astype(float)
        else:
            vals = t[metric]
            cov = v.covered[metric].reindex(t.index).astype(float)
            tot = v.total[metric].reindex(t.index).astype(float)
        frame = pd.DataFrame(
            {
                "country": t["country"],
                "country_name": t["country_name"],
                "value": vals,
                "cov": cov,
                "tot": tot,
                "gem": t["gem"],
            }
        )
        g = frame.groupby("country", observed=True)
        out = pd.DataFrame(
            {
                "country_name": g["country_name"].first(),
                "gem": g["gem"].first(),
                "members": g.size(),
                "works": g["tot"].sum(),
                "doi_weighted": g["cov"].sum() / g["tot"].sum().where(g["tot"].sum() > 0),
                "member_median": g["value"].median(),
                "members_at_zero": g["value"].apply(lambda s: float((s == 0).mean())),
            }
        ).reset_index()
        return out.sort_values("works", ascending=False).reset_index(drop=True)

    return v.cached(("countries", metric), compute)
