"""Affiliations: does any contributor carry an affiliation?"""

from __future__ import annotations

from metrics.base import Metric, Work, affiliation_present, affiliations


def has_affiliation(work: Work) -> bool:
    """Any contributor affiliation with a non-blank ``name`` or any identifier.

    Affiliations that carry only a ROR id and no name (Optica, 2025) count.
    """
    return any(affiliation_present(aff) for aff in affiliations(work))


METRICS = (
    Metric(
        key="affiliations",
        label="Affiliations",
        family="affiliations",
        description="Works where at least one contributor has an affiliation (name or identifier).",
        why=(
            "Affiliations connect research to the organisations that produce it, which "
            "institutions, funders and national assessments rely on."
        ),
        improve_url=(
            "https://www.crossref.org/documentation/schema-library/"
            "markup-guide-metadata-segments/affiliations/"
        ),
        coverage_key="affiliations",
        works_filter="has-affiliation",
        predicate=has_affiliation,
        default_weight=0.10,
    ),
)
