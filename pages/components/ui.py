"""Layout building blocks shared by pages: headers, stat cards, notices, selectors."""

from __future__ import annotations

import dash_mantine_components as dmc
from dash import dcc, html

from cache import facade


def page_header(title: str, subtitle: str | None = None, extra=None) -> html.Div:
    return html.Div(
        [
            dmc.Title(title, order=2),
            dmc.Text(subtitle, c="dimmed", size="sm", mt=4) if subtitle else None,
            extra,
        ],
        className="page-header",
    )


def stat(label: str, value: str, hint: str | None = None, sid: str | None = None) -> dmc.Card:
    return dmc.Card(
        [
            dmc.Text(label, size="xs", c="dimmed", tt="uppercase", fw=600),
            dmc.Text(value, size="xl", fw=700, id=sid)
            if sid
            else dmc.Text(value, size="xl", fw=700),
            dmc.Text(hint, size="xs", c="dimmed") if hint else None,
        ],
        className="stat-card",
    )


def no_snapshot() -> dmc.Alert:
    return dmc.Alert(
        [
            html.Span("No snapshot has been published in "),
            html.Code(str(facade.data_dir())),
            html.Span(". Run "),
            html.Code("python -m cache refresh"),
            html.Span(" (live Crossref) or start "),
            html.Code("python app.py"),
            html.Span(" which builds the demo snapshot on first run."),
        ],
        title="No data yet",
        color="yellow",
    )


def type_select(cid: str, value: str) -> dmc.Select:
    data = [{"value": t, "label": facade.type_label(t)} for t in facade.content_types()]
    return dmc.Select(
        id=cid,
        label="Content type",
        data=data,
        value=value,
        searchable=True,
        w=220,
        allowDeselect=False,
        comboboxProps={"zIndex": 400},
    )


def segmented(cid: str, label: str, value: str, options: dict[str, str]) -> html.Div:
    """A labelled DMC SegmentedControl; `options` maps value → label, in display order."""
    return html.Div(
        [
            dmc.Text(label, size="sm", fw=500, mb=3),
            dmc.SegmentedControl(
                id=cid, value=value, data=[{"value": v, "label": lbl} for v, lbl in options.items()]
            ),
        ]
    )


def period_control(cid: str, value: str) -> html.Div:
    return segmented(cid, "Period", value, {p: facade.PERIOD_LABELS[p] for p in facade.periods()})


def metric_select(
    cid: str, value: str, label: str = "Metric", with_composite: bool = False
) -> dmc.Select:
    data = [{"value": "composite", "label": "Composite score"}] if with_composite else []
    data += [{"value": k, "label": facade.metric_label(k)} for k in facade.metric_keys()]
    return dmc.Select(
        id=cid,
        label=label,
        data=data,
        value=value,
        searchable=True,
        w=240,
        allowDeselect=False,
        comboboxProps={"zIndex": 400},
    )


def export_button(cid: str, label: str = "Export CSV") -> dmc.Button:
    return dmc.Button(label, id=cid, variant="light", size="sm")


def download(cid: str) -> dcc.Download:
    return dcc.Download(id=cid)


def table_block(prefix: str) -> list:
    """Row count + "Export CSV" above a table slot, and the download: ids `<prefix>-count`,
    `-export`, `-table`, `-download`."""
    return [
        dmc.Group(
            [
                dmc.Text(id=f"{prefix}-count", size="sm", c="dimmed"),
                export_button(f"{prefix}-export"),
            ],
            justify="space-between",
            mb="xs",
        ),
        html.Div(id=f"{prefix}-table"),
        download(f"{prefix}-download"),
    ]


def section(
    title: str, *children, sid: str | None = None, description: str | None = None
) -> dmc.Card:
    kw = {"id": sid} if sid else {}
    return dmc.Card(
        [
            dmc.Title(title, order=4, mb=4),
            dmc.Text(description, size="sm", c="dimmed", mb="sm") if description else None,
            *children,
        ],
        mb="md",
        **kw,
    )


def graph(gid: str, figure=None, height: int | None = None) -> dcc.Graph:
    from pages.components.figures import GRAPH_CONFIG

    kw = {"figure": figure} if figure is not None else {}
    if height:
        kw["style"] = {"height": f"{height}px"}
    return dcc.Loading(dcc.Graph(id=gid, config=GRAPH_CONFIG, **kw), type="default", delay_show=300)
