"""The one theme: Mantine theme for the shell and a matching palette for figures."""

from __future__ import annotations

PRIMARY = "indigo"
FONT = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', "
    "'DejaVu Sans', sans-serif"
)

#: Colour-blind-safe categorical palette (Okabe–Ito), used for member traces.
SERIES = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
DOI_WEIGHTED = "#3b5bdb"
MEMBER_MEDIAN = "#f08c00"
PEER = "#2f9e44"
MUTED = "#868e96"

THEME = {
    "primaryColor": PRIMARY,
    "fontFamily": FONT,
    "headings": {"fontFamily": FONT},
    "defaultRadius": "md",
    "components": {
        "Card": {
            "defaultProps": {"withBorder": True, "shadow": "xs", "padding": "md", "radius": "md"}
        },
        "Select": {"defaultProps": {"size": "sm", "allowDeselect": False}},
        "MultiSelect": {"defaultProps": {"size": "sm"}},
        "TextInput": {"defaultProps": {"size": "sm"}},
        "NumberInput": {"defaultProps": {"size": "sm"}},
    },
}
