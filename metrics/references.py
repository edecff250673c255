"""References: does the work deposit its reference list?"""

from __future__ import annotations

from metrics.base import Metric, Work, as_list, positive_int


def has_references(work: Work) -> bool:
    """``reference-count`` > 0 or a non-empty ``reference`` list."""
    return positive_int(work.get("reference-count")) or bool(as_list(work.get("reference")))


METRICS = (
    Metric(
        key="references",
        label="References",
        family="references",
        description="Works whose metadata includes their reference list.",
        why=(
            "Deposited references power citation linking and Cited-by, let readers and tools "
            "follow the provenance of a work, and feed open citation data."
        ),
        improve_url=(
            "https://www.crossref.org/documentation/schema-library/"
            "markup-guide-metadata-segments/references/"
        ),
        coverage_key="references",
        works_filter="has-references",
        predicate=has_references,
        default_weight=0.12,
    ),
)
