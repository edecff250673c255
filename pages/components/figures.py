"""The figure template and small helpers so every chart has a title, labelled axes and units."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from cache import facade
from pages.components import theme

TEMPLATE = "dashboard"

pio.templates[TEMPLATE] = go.layout.Template(
    layout=go.Layout(
        font={"family": theme.FONT, "size": 13, "color": "#212529"},
        title={"x": 0.0, "xanchor": "left", "font": {"size": 15}},
        colorway=theme.SERIES,
        paper_bgcolor="white",
        plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 64, "b": 60},
        xaxis={"gridcolor": "#eef0f3", "zerolinecolor": "#ced4da", "automargin": True},
        yaxis={"gridcolor": "#eef0f3", "zerolinecolor": "#ced4da", "automargin": True},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1.0},
        hoverlabel={"font": {"family": theme.FONT}},
    )
)

# The app's figures start from this small template instead of plotly's large default one, which
# plotly deep-copies into every new figure (most of a figure callback's time otherwise).
pio.templates.default = TEMPLATE

GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "topojsonURL": "/assets/topojson/",
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
    "toImageButtonOptions": {"scale": 2},
}


def title(text: str, basis: str | None = None) -> dict:
    """A figure title; `basis` says how values are aggregated (DOI-weighted / member-level …)."""
    sub = f"<br><sup>{basis}</sup>" if basis else ""
    return {"text": f"{_esc(text)}{sub}"}


def _esc(s: str) -> str:
    # plotly titles accept a small HTML subset: escape angle brackets from untrusted text
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


esc = _esc


def empty(message: str, title_text: str = "") -> go.Figure:
    """A figure that says why it is empty, instead of blank axes."""
    fig = go.Figure()
    fig.update_layout(
        template=TEMPLATE,
        title=title(title_text) if title_text else None,
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": _esc(message),
                "showarrow": False,
                "font": {"size": 14, "color": "#868e96"},
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
            }
        ],
        height=300,
    )
    return fig


def legend_below(fig: go.Figure, bottom: int = 110) -> go.Figure:
    """Legend in a row at the very bottom of the figure, clear of the x-axis title."""
    fig.update_layout(
        legend={
            "orientation": "h",
            "yref": "container",
            "y": 0.0,
            "yanchor": "bottom",
            "x": 0.0,
            "xanchor": "left",
        },
        margin={"b": bottom},
    )
    return fig


def pct_axis(
    fig: go.Figure, axis: str = "x", label: str = "Coverage (%)", rng=(0, 100)
) -> go.Figure:
    upd = {"title": {"text": label}, "ticksuffix": " %", "range": [rng[0] - 1, rng[1] + 2]}
    if axis == "x":
        fig.update_xaxes(**upd)
    else:
        fig.update_yaxes(**upd)
    return fig


def na_text(value) -> str:
    """A plotted value (figures plot **percent 0–100**) as text, through the one percent
    formatter (`facade.pct`, which takes fractions): 42.0 → '42.0 %'; N/A → '—'."""
    try:
        return facade.pct(float(value) / 100)
    except (TypeError, ValueError):
        return facade.NA
