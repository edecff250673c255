"""History: figures over every published snapshot, as time series.

`member_history` gives one member's coverage per metric in each snapshot; `aggregate_history`
the Crossref-wide DOI-weighted value and member median per metric in each snapshot. Both read
the snapshots' coverage tables through the facade's filtered reads (`SnapshotCache.coverage`:
the served one from memory, older ones as filtered Parquet reads) and score them with the pure
`metrics.scoring.aggregate`; results are memoised per served snapshot. Unreadable snapshots are
skipped (and logged), never fatal.
"""

from __future__ import annotations

import logging

import pandas as pd
import plotly.graph_objects as go

from cache import facade
from cache.facade.loader import LOAD_ERRORS, memo
from cache.facade.views import slice_coverage
from metrics import scoring
from pages.components import figures
from pages.components import theme as th

logger = logging.getLogger(__name__)
MAX_SNAPSHOTS = 24  # the newest ones; older snapshots are left off the charts


def _snapshots() -> list[dict]:
    """Readable snapshots (meta dicts), oldest first, at most ``MAX_SNAPSHOTS``."""
    broken = set(facade.cache().broken())
    metas = [m for m in facade.snapshots() if m.get("id") and m["id"] not in broken]
    return list(reversed(metas[:MAX_SNAPSHOTS]))


def _when(meta: dict) -> pd.Timestamp:
    """The date a snapshot's data is from: its ``data_as_of`` (Crossref's newest member check),
    else its ``created`` time; naive UTC, NaT when neither parses."""
    for key in ("data_as_of", "created"):
        value = meta.get(key)
        if not value:
            continue
        try:
            when = pd.Timestamp(str(value))
        except ValueError:
            continue
        return when.tz_convert(None) if when.tzinfo is not None else when
    return pd.NaT


def _rows(sid: str, content_type: str, period: str, member_ids=None) -> pd.DataFrame | None:
    try:
        cov = facade.cache().coverage(
            sid, period=period, content_type=content_type, member_ids=member_ids
        )
    except LOAD_ERRORS as exc:
        logger.warning("history: snapshot %s skipped: %s", sid, exc)
        return None
    return slice_coverage(cov, content_type, period)


def member_history(member_id: int, content_type: str, period: str) -> pd.DataFrame:
    """One member's coverage per metric in every readable snapshot, oldest first.

    Columns: snapshot_id, created (naive UTC timestamp of the snapshot), metric, label, value
    (**fraction 0–1**), covered, total (works, ints). Metrics with no works in a snapshot are
    left out. Empty when no snapshot has the member."""
    snaps = _snapshots()
    key = ("history-member", int(member_id), content_type, period, tuple(m["id"] for m in snaps))

    def compute():
        frames = []
        for meta in snaps:
            rows = _rows(meta["id"], content_type, period, [int(member_id)])
            if rows is None or rows.empty:
                continue
            rows = rows[rows["member_id"] == int(member_id)]
            agg = rows.groupby("metric", sort=False)[["covered", "total"]].sum()
            agg = agg[agg["total"] > 0]
            if agg.empty:
                continue
            frames.append(
                pd.DataFrame(
                    {
                        "snapshot_id": meta["id"],
                        "created": _when(meta),
                        "metric": agg.index.astype(str),
                        "covered": agg["covered"].astype("int64").to_numpy(),
                        "total": agg["total"].astype("int64").to_numpy(),
                    }
                )
            )
        cols = ["snapshot_id", "created", "metric", "label", "value", "covered", "total"]
        if not frames:
            return pd.DataFrame(columns=cols)
        out = pd.concat(frames, ignore_index=True)
        out = out[out["metric"].isin(facade.metric_keys())]
        out["value"] = out["covered"] / out["total"]
        out["label"] = out["metric"].map(facade.metric_label)
        return out[cols]

    return memo(key, compute)


def aggregate_history(content_type: str, period: str) -> pd.DataFrame:
    """Crossref-wide aggregates per metric in every readable snapshot, oldest first.

    Columns: snapshot_id, created, metric, label, doi_weighted, member_median (**fractions
    0–1**), members (with works). Empty when no snapshot can be read."""
    snaps = _snapshots()
    key = ("history-aggregate", content_type, period, tuple(m["id"] for m in snaps))

    def compute():
        frames = []
        for meta in snaps:
            rows = _rows(meta["id"], content_type, period)
            if rows is None or rows.empty:
                continue
            agg = scoring.aggregate(rows, content_type, period)
            agg = agg[agg["members"] > 0]
            frames.append(
                pd.DataFrame(
                    {
                        "snapshot_id": meta["id"],
                        "created": _when(meta),
                        "metric": agg.index.astype(str),
                        "doi_weighted": agg["doi_weighted"].to_numpy(dtype=float),
                        "member_median": agg["member_median"].to_numpy(dtype=float),
                        "members": agg["members"].astype("int64").to_numpy(),
                    }
                )
            )
        cols = ["snapshot_id", "created", "metric", "label", "doi_weighted", "member_median"]
        if not frames:
            return pd.DataFrame(columns=[*cols, "members"])
        out = pd.concat(frames, ignore_index=True)
        out = out[out["metric"].isin(facade.metric_keys())]
        out["label"] = out["metric"].map(facade.metric_label)
        return out[[*cols, "members"]]

    return memo(key, compute)


def _x(frame: pd.DataFrame) -> pd.Series:
    return frame["created"].where(frame["created"].notna(), frame["snapshot_id"])


def member_figure(hist: pd.DataFrame, title: str) -> go.Figure:
    """Lines per metric over the snapshots (coverage in %); says so when there is one snapshot."""
    if hist.empty:
        return figures.empty("No snapshot has works of this type and period.", title)
    n = hist["snapshot_id"].nunique()
    # traces built as plain dicts and validated once: adding them one by one to a Figure
    # re-validates the figure each time (~200 ms for 15 metrics)
    traces = [
        {
            "type": "scatter",
            "x": _x(g),
            "y": (g["value"] * 100).round(1),
            "mode": "lines+markers",
            "name": figures.esc(label),
            "line": {"color": th.SERIES[i % len(th.SERIES)], "width": 2},
            "customdata": g[["covered", "total"]].to_numpy(),
            "hovertemplate": "%{x|%Y-%m-%d}: %{y:.1f} % (%{customdata[0]:,}/%{customdata[1]:,})"
            "<extra>" + figures.esc(label) + "</extra>",
        }
        for i, (label, g) in enumerate(hist.groupby("label", sort=False))
    ]
    fig = go.Figure(data=traces)
    fig.update_layout(
        template=figures.TEMPLATE,
        height=420,
        title=figures.title(
            title,
            f"this member's coverage in each of {n} snapshot{'s' if n != 1 else ''} "
            "(% of its works)",
        ),
        xaxis={"title": {"text": "Crossref data as of (snapshot)"}, "type": "date"},
    )
    figures.legend_below(fig, 150)
    return figures.pct_axis(fig, "y", "Coverage (%)", (0, 100))


def aggregate_figure(hist: pd.DataFrame, metrics: list[str], title: str) -> go.Figure:
    """DOI-weighted (solid) and member median (dotted) lines over the snapshots, per metric."""
    hist = hist[hist["metric"].isin(metrics)]
    if hist.empty:
        return figures.empty("No snapshot has works of this type and period.", title)
    n = hist["snapshot_id"].nunique()
    traces = []
    for i, (label, g) in enumerate(hist.groupby("label", sort=False)):
        color = th.SERIES[i % len(th.SERIES)]
        common = {"type": "scatter", "x": _x(g), "mode": "lines+markers", "legendgroup": label}
        traces.append(
            {
                **common,
                "y": (g["doi_weighted"] * 100).round(1),
                "name": f"{figures.esc(label)} — DOI-weighted",
                "line": {"color": color, "width": 2},
                "hovertemplate": "%{x|%Y-%m-%d}: %{y:.1f} % of all works<extra>"
                + figures.esc(label)
                + " (DOI-weighted)</extra>",
            }
        )
        traces.append(
            {
                **common,
                "y": (g["member_median"] * 100).round(1),
                "name": f"{figures.esc(label)} — member median",
                "line": {"color": color, "width": 2, "dash": "dot"},
                "marker": {"symbol": "diamond-open"},
                "hovertemplate": "%{x|%Y-%m-%d}: %{y:.1f} %<extra>"
                + figures.esc(label)
                + " (member median)</extra>",
            }
        )
    fig = go.Figure(data=traces)
    fig.update_layout(
        template=figures.TEMPLATE,
        height=440,
        title=figures.title(
            title,
            f"solid: DOI-weighted (share of all works); dotted: member median · {n} snapshot"
            f"{'s' if n != 1 else ''}",
        ),
        xaxis={"title": {"text": "Crossref data as of (snapshot)"}, "type": "date"},
    )
    figures.legend_below(fig, 170)
    return figures.pct_axis(fig, "y", "Coverage (%)", (0, 100))
