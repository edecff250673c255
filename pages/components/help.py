"""Metric help built from metrics.REGISTRY: why it matters and how to improve it."""

from __future__ import annotations

from collections.abc import Iterable

import dash_mantine_components as dmc
from dash import dcc, html

from cache import facade


def markdown(text: str) -> dcc.Markdown:
    """Help text rendered as Markdown (`code`, **bold**, links), never raw HTML."""
    return dcc.Markdown(
        str(text or ""),
        dangerously_allow_html=False,
        link_target="_blank",
        className="help-markdown",
    )


def metric_help(keys: Iterable[str], values: dict[str, str] | None = None) -> dmc.Accordion:
    """An accordion, one item per metric: description, why it matters, link to how to improve."""
    items = []
    for k in keys:
        info = facade.metric_info(k)
        control = [html.Span(info["label"])]
        if values and k in values:
            control.append(dmc.Badge(values[k], variant="light", ml="sm"))
        body = [
            markdown(info["description"]),
            markdown(f"**Why it matters:** {info['why']}") if info["why"] else None,
        ]
        if info["improve_url"] and str(info["improve_url"]).startswith(("https://", "http://")):
            body.append(
                dmc.Anchor(
                    "How to improve this →", href=info["improve_url"], target="_blank", size="sm"
                )
            )
        items.append(
            dmc.AccordionItem([dmc.AccordionControl(control), dmc.AccordionPanel(body)], value=k)
        )
    return dmc.Accordion(items, multiple=True, variant="separated", chevronPosition="left")
