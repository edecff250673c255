"""404 page."""

from __future__ import annotations

import dash
import dash_mantine_components as dmc
from dash import dcc, html

dash.register_page(
    __name__, path="/404", name="Not found", title="Not found · Crossref metadata completeness"
)


def layout(**kwargs):
    return html.Div(
        [
            dmc.Title("Page not found", order=2, id="notfound-title"),
            dmc.Text(
                "There is no page at this address. Try the overview or the methodology.",
                c="dimmed",
                mt="sm",
            ),
            dmc.Group(
                [dcc.Link("Overview", href="/"), dcc.Link("Methodology", href="/methodology")],
                mt="md",
            ),
        ],
        className="not-found",
    )
