"""Vocabulary: metric keys and labels, content types, periods, size tiers, countries, method."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

import metrics
from metrics import scoring

from .loader import _memoised, has_snapshot, snapshot
from .roster import members

DEFAULT_TYPE = "journal-article"
DEFAULT_PERIOD = "current"
PERIOD_LABELS = {
    "current": "Current (last 3 years)",
    "backfile": "Backfile (older)",
    "all": "All time",
}


def metric_keys() -> list[str]:
    """Registry keys that have data in the latest snapshot, in registry order."""
    if not has_snapshot():
        return list(metrics.names())

    def compute():
        present = set(map(str, snapshot().coverage["metric"].unique()))
        return [k for k in metrics.names() if k in present]

    return _memoised(("metric_keys",), compute)


def metric_label(key: str) -> str:
    try:
        return metrics.get(key).label
    except KeyError:
        return key


def metric_info(key: str) -> dict:
    m = metrics.get(key)
    return {
        "key": m.key,
        "label": m.label,
        "family": getattr(m, "family", ""),
        "description": getattr(m, "description", ""),
        "why": getattr(m, "why", ""),
        "improve_url": getattr(m, "improve_url", ""),
        "default_weight": float(getattr(m, "default_weight", 0) or 0),
    }


def default_weights() -> dict[str, float]:
    w = {k: float(v) for k, v in dict(scoring.DEFAULT_WEIGHTS).items()}
    return {k: w.get(k, 0.0) for k in metric_keys()}


def type_label(content_type: str) -> str:
    if content_type == scoring.ALL_TYPES:
        return "All types"
    return content_type.replace("-", " ").capitalize()


def content_types() -> list[str]:
    """Content types in the snapshot, ALL_TYPES first, then by number of works (all periods)."""
    if not has_snapshot():
        return [DEFAULT_TYPE, scoring.ALL_TYPES]

    def compute():
        cov = snapshot().coverage
        period = (
            cov["period"].cat.codes.to_numpy()
            if isinstance(cov["period"].dtype, pd.CategoricalDtype)
            else None
        )
        if period is None:
            cov = cov.astype(
                {"period": "category", "metric": "category", "content_type": "category"}
            )
            period = cov["period"].cat.codes.to_numpy()
        cats = list(cov["period"].cat.categories)
        metric = cov["metric"].cat.codes.to_numpy()
        # one row per member and type: the "all" period of the first metric (every metric has
        # the same total); the demo and API snapshots always carry the "all" period
        mask = metric == (metric[0] if len(metric) else 0)
        if "all" in cats:
            mask &= period == cats.index("all")
        types = cov["content_type"].cat.codes.to_numpy()[mask]
        works = np.bincount(
            types,
            weights=cov["total"].to_numpy()[mask].astype(float),
            minlength=len(cov["content_type"].cat.categories),
        )
        names = list(cov["content_type"].cat.categories)
        ordered = [
            str(names[i])
            for i in np.argsort(-works, kind="stable")
            if works[i] > 0 and names[i] != scoring.ALL_TYPES
        ]
        return [scoring.ALL_TYPES, *ordered]

    return _memoised(("content_types",), compute)


def periods() -> list[str]:
    return list(scoring.PERIODS)


def valid_type(value: Any, default: str = DEFAULT_TYPE) -> str:
    types = content_types()
    if isinstance(value, str) and value in types:
        return value
    return default if default in types else (types[1] if len(types) > 1 else types[0])


def valid_period(value: Any, default: str = DEFAULT_PERIOD) -> str:
    return value if isinstance(value, str) and value in scoring.PERIODS else default


def size_tiers() -> list[tuple[str, str]]:
    """(tier, human-readable threshold) from scoring.SIZE_TIERS, in order."""
    tiers = scoring.SIZE_TIERS
    out: list[tuple[str, str]] = []
    if (
        isinstance(tiers, tuple | list)
        and tiers
        and all(
            isinstance(t, tuple | list) and len(t) == 2 and isinstance(t[1], int | float)
            for t in tiers
        )
    ):
        bounds = sorted(((str(n), int(lo)) for n, lo in tiers), key=lambda x: x[1])
        for i, (name, lo) in enumerate(bounds):
            if i + 1 < len(bounds):
                hi = bounds[i + 1][1]
                text = f"< {hi:,} works" if lo <= 0 else f"{lo:,}–{hi - 1:,} works"
            else:
                text = f"≥ {lo:,} works"
            out.append((name, text))
        return out
    items = tiers.items() if isinstance(tiers, Mapping) else enumerate(tiers)
    for name, spec in items:
        label = str(name)
        if isinstance(spec, tuple | list) and len(spec) == 2:
            lo, hi = spec
            text = (
                f"{int(lo):,}–{int(hi) - 1:,} works"
                if hi is not None and lo is not None
                else f"≥ {int(lo or 0):,} works"
            )
        elif isinstance(spec, Mapping):
            text = ", ".join(f"{k}={v}" for k, v in spec.items())
        else:
            text = str(spec)
        if isinstance(name, int) and isinstance(spec, tuple | list) and len(spec) == 3:
            label, text = str(spec[0]), f"{spec[1]}–{spec[2]}"
        out.append((label, text))
    return out


def tier_names() -> list[str]:
    named = [t for t, _ in size_tiers()]
    if not has_snapshot():
        return named

    def compute():
        present = [str(t) for t in pd.unique(snapshot().members["size_tier"])]
        return [t for t in named if t in present] + [t for t in present if t not in named]

    return _memoised(("tier_names",), compute)


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

    return _memoised(("country_options",), compute)


def methodology_markdown() -> str:
    from metrics import methodology

    return methodology.methodology_markdown()
