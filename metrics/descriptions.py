"""Descriptions: a free-text description deposited with the work."""

from __future__ import annotations

from metrics.base import Metric, Work, any_nonblank


def has_description(work: Work) -> bool:
    """A non-blank ``description``: a string, or a list holding at least one non-blank string."""
    return any_nonblank(work.get("description"))


METRICS = (
    Metric(
        key="descriptions",
        label="Descriptions",
        family="descriptions",
        description=(
            "Works with a free-text description (common for components, datasets and grants)."
        ),
        why=(
            "Where a work has no abstract (figures, datasets, supplementary files), a "
            "description is what makes it understandable and findable."
        ),
        improve_url="https://www.crossref.org/documentation/schema-library/",
        coverage_key="descriptions",
        works_filter="has-description",
        predicate=has_description,
        default_weight=0.04,
    ),
)
