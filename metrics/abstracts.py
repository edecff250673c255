"""Abstracts: is an abstract deposited?"""

from __future__ import annotations

from metrics.base import Metric, Work, nonblank


def has_abstract(work: Work) -> bool:
    """A non-blank ``abstract`` string (usually JATS XML)."""
    return nonblank(work.get("abstract"))


METRICS = (
    Metric(
        key="abstracts",
        label="Abstracts",
        family="abstracts",
        description="Works whose metadata includes an abstract.",
        why=(
            "Abstracts make works findable in search and discovery services and let readers and "
            "text-mining tools judge relevance without the full text."
        ),
        improve_url=(
            "https://www.crossref.org/documentation/schema-library/"
            "markup-guide-metadata-segments/abstracts/"
        ),
        coverage_key="abstracts",
        works_filter="has-abstract",
        predicate=has_abstract,
        default_weight=0.12,
    ),
)
