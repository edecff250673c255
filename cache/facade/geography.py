"""Countries: per member country, members, works, DOI-weighted and member-median coverage."""

from __future__ import annotations

import pandas as pd

from .views import view


def countries(content_type: str, period: str, metric: str) -> pd.DataFrame:
    """Per member country: members, works, DOI-weighted and member-median coverage of `metric`."""
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
