"""Vocabulary: metric keys and labels, content types, periods, size tiers, countries, method.

Periods, their labels and the peer groupings are defined once, in `metrics.scoring`; this module
re-exports them for pages (`facade.PERIOD_LABELS`, `facade.PEER_GROUPINGS`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import metrics
from metrics import scoring

from .loader import has_snapshot, memo, snapshot
from .roster import members

DEFAULT_TYPE = "journal-article"
DEFAULT_PERIOD = "current"
#: Period → label shown on every page (`metrics.scoring.PERIOD_LABELS`).
PERIOD_LABELS = scoring.PERIOD_LABELS
#: Peer grouping → label (`metrics.scoring.PEER_GROUPINGS`).
PEER_GROUPINGS = scoring.PEER_GROUPINGS


def metric_keys() -> list[str]:
    """Registry keys that have data in the served snapshot, in registry order (every registry
    key when there is no snapshot)."""
    if not has_snapshot():
        return list(metrics.names())
    return list(snapshot().metric_keys)


def metric_label(key: str) -> str:
    """The metric's label ('ORCID iDs'); the key itself for an unknown key."""
    try:
        return metrics.get(key).label
    except KeyError:
        return key


def metric_info(key: str) -> dict:
    """What help texts show about one metric: key, label, family, description, why,
    improve_url, default_weight (a share of the composite, 0–1). KeyError for an unknown key."""
    m = metrics.get(key)
    return {
        "key": m.key,
        "label": m.label,
        "family": m.family,
        "description": m.description,
        "why": m.why,
        "improve_url": m.improve_url,
        "default_weight": float(m.default_weight),
    }


def default_weights() -> dict[str, float]:
    """Composite weight per metric with data (`scoring.DEFAULT_WEIGHTS`; 0 for the others)."""
    return {k: float(scoring.DEFAULT_WEIGHTS.get(k, 0.0)) for k in metric_keys()}


def type_label(content_type: str) -> str:
    """'All types' for ALL_TYPES, else the Crossref type id made readable ('Journal article')."""
    if content_type == scoring.ALL_TYPES:
        return "All types"
    return content_type.replace("-", " ").capitalize()


def content_types() -> list[str]:
    """Content types in the snapshot, ALL_TYPES first, then by number of works (all periods)."""
    if not has_snapshot():
        return [DEFAULT_TYPE, scoring.ALL_TYPES]
    return list(snapshot().content_types)


def periods() -> list[str]:
    """The period keys (`scoring.PERIODS`), in display order."""
    return list(scoring.PERIODS)


def valid_type(value: Any, default: str = DEFAULT_TYPE) -> str:
    """`value` when it is a content type of the snapshot, else `default` (or the first type)."""
    types = content_types()
    if isinstance(value, str) and value in types:
        return value
    return default if default in types else (types[1] if len(types) > 1 else types[0])


def valid_period(value: Any, default: str = DEFAULT_PERIOD) -> str:
    """`value` when it is a period key, else `default`."""
    return value if isinstance(value, str) and value in scoring.PERIODS else default


def size_tiers() -> list[tuple[str, str]]:
    """(tier, its range in registered works) per `scoring.SIZE_TIERS`, smallest first:
    [('small', '< 1,000 works'), ('medium', '1,000–49,999 works'), ('large', '≥ 50,000 works')]."""
    tiers = scoring.SIZE_TIERS
    out: list[tuple[str, str]] = []
    for i, (name, low) in enumerate(tiers):
        if i + 1 == len(tiers):
            text = f"≥ {low:,} works"
        elif low <= 0:
            text = f"< {tiers[i + 1][1]:,} works"
        else:
            text = f"{low:,}–{tiers[i + 1][1] - 1:,} works"
        out.append((name, text))
    return out


def tier_names() -> list[str]:
    """Size tiers present in the snapshot, smallest first (every tier without a snapshot)."""
    named = [t for t, _ in scoring.SIZE_TIERS]
    if not has_snapshot():
        return named

    def compute():
        present = {str(t) for t in pd.unique(members()["size_tier"].dropna())}
        return [t for t in named if t in present]

    return memo(("tier_names",), compute)


def country_options() -> list[tuple[str, str]]:
    """(ISO3, name) of every member country in the snapshot, sorted by name."""
    if not has_snapshot():
        return []

    def compute():
        m = members()
        pairs = (
            m.loc[m["country"] != "", ["country", "country_name"]]
            .drop_duplicates("country")
            .sort_values("country_name")
        )
        return [
            (str(c), str(n)) for c, n in zip(pairs["country"], pairs["country_name"], strict=True)
        ]

    return memo(("country_options",), compute)


def methodology_markdown() -> str:
    """The methodology page (`metrics.methodology.methodology_markdown`)."""
    from metrics import methodology

    return methodology.methodology_markdown()
