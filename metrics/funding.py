"""Funding: funders, how they are identified, who asserted the identifier, award numbers."""

from __future__ import annotations

from metrics.base import (
    Metric,
    Work,
    as_list,
    funder_doi_assertions,
    funder_has_award,
    funder_has_doi,
    funder_has_ror,
    funders,
)

_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/funding-information/"
)
_OVERVIEW_URL = "https://www.crossref.org/documentation/funder-registry/funding-data-overview/"


def has_funder(work: Work) -> bool:
    """A non-empty ``funder`` list; an entry with only a name (or only a ROR id) counts."""
    return bool(as_list(work.get("funder")))


def has_funder_doi(work: Work) -> bool:
    """Any funder with a ``DOI`` or an ``id[]`` entry of ``id-type`` DOI."""
    return any(funder_has_doi(funder) for funder in funders(work))


def has_identified_funder(work: Work) -> bool:
    """Any funder identified by a Funder Registry DOI or a ROR ID, in either form."""
    return any(funder_has_doi(f) or funder_has_ror(f) for f in funders(work))


def _doi_asserted_by(value: str):
    def predicate(work: Work) -> bool:
        return any(value in funder_doi_assertions(funder) for funder in funders(work))

    predicate.__name__ = f"funder_doi_asserted_by_{value}"
    predicate.__doc__ = (
        f"Any funder whose ``doi-asserted-by`` (or DOI ``id[]`` ``asserted-by``) is {value}."
    )
    return predicate


has_publisher_asserted_funder = _doi_asserted_by("publisher")
has_crossref_asserted_funder = _doi_asserted_by("crossref")


def has_award(work: Work) -> bool:
    """Any funder with a non-empty ``award`` or ``award-info[].award-number``."""
    return any(funder_has_award(funder) for funder in funders(work))


METRICS = (
    Metric(
        key="funders",
        label="Funders",
        family="funding",
        description=(
            "Works naming at least one funder (Crossref's `funders` coverage; a funder name "
            "without an identifier counts)."
        ),
        why=(
            "Funding statements let funders track the outputs of their grants and let readers "
            "see who paid for the research."
        ),
        improve_url=_URL,
        coverage_key="funders",
        works_filter="has-funder",
        predicate=has_funder,
        default_weight=0.10,
    ),
    Metric(
        key="funder-doi",
        label="Funder Registry IDs",
        family="funding",
        description="Works with at least one funder identified by a Funder Registry DOI.",
        why=(
            "A name alone is ambiguous; the Funder Registry DOI is what funders' own searches "
            "and the `funder:` filter use."
        ),
        improve_url=_OVERVIEW_URL,
        works_filter="has-funder-doi",
        predicate=has_funder_doi,
    ),
    Metric(
        key="funder-identified",
        label="Identified funders (DOI or ROR)",
        family="funding",
        description=(
            "Works with at least one funder identified by a Funder Registry DOI or a ROR ID."
        ),
        why=(
            "Since 2025 funders can be identified by ROR as well as DOI; either makes the "
            "funding link machine-actionable."
        ),
        improve_url=_URL,
        predicate=has_identified_funder,
    ),
    Metric(
        key="funder-publisher-asserted",
        label="Publisher-asserted funder IDs",
        family="funding",
        description="Works with a funder DOI that the publisher supplied in its deposit.",
        why=(
            "Shows how much funder identification the member does itself rather than leaving "
            "it to Crossref's automatic matching."
        ),
        improve_url=_OVERVIEW_URL,
        count_filter="funder-doi-asserted-by:publisher",
        predicate=has_publisher_asserted_funder,
    ),
    Metric(
        key="funder-crossref-asserted",
        label="Crossref-matched funder IDs",
        family="funding",
        description="Works with a funder DOI that Crossref added by matching the funder name.",
        why=(
            "Crossref-matched IDs fill gaps but can be wrong; a high share suggests the member "
            "deposits names without IDs."
        ),
        improve_url=_OVERVIEW_URL,
        count_filter="funder-doi-asserted-by:crossref",
        predicate=has_crossref_asserted_funder,
    ),
    Metric(
        key="award-numbers",
        label="Award numbers",
        family="funding",
        description="Works with at least one funder carrying an award (grant) number.",
        why=(
            "Award numbers tie an output to the specific grant, which funders need for "
            "reporting and open-access compliance."
        ),
        improve_url=_URL,
        coverage_key="award-numbers",
        works_filter="has-award",
        predicate=has_award,
        default_weight=0.08,
    ),
)
