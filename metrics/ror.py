"""ROR IDs: organisation identifiers, in affiliations or funders, and the split between them."""

from __future__ import annotations

from metrics.base import (
    Metric,
    Work,
    affiliations,
    dicts,
    funder_has_ror,
    funders,
    id_entries,
)

_AFF_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/affiliations/"
)
_FUND_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/funding-information/"
)


def has_affiliation_ror(work: Work) -> bool:
    """Any affiliation ``id[]`` entry with ``id-type`` ROR."""
    return any(kind == "ror" for aff in affiliations(work) for kind, _, _ in id_entries(aff))


def has_funder_ror(work: Work) -> bool:
    """Any funder ``id[]`` entry with ``id-type`` ROR."""
    return any(funder_has_ror(funder) for funder in funders(work))


def institutions(work: Work) -> list[dict]:
    """The dict entries of the work's ``institution`` list (dissertations, reports, grants,
    posted content: the degree-granting, publishing or hosting organisation)."""
    return list(dicts(work.get("institution"))) if isinstance(work, dict) else []


def has_institution_ror(work: Work) -> bool:
    """Any ``institution[].id[]`` entry with ``id-type`` ROR."""
    return any(kind == "ror" for inst in institutions(work) for kind, _, _ in id_entries(inst))


def has_ror_id(work: Work) -> bool:
    """Any ROR id, in an affiliation **or** a funder (what ``has-ror-id`` selects)."""
    return has_affiliation_ror(work) or has_funder_ror(work)


METRICS = (
    Metric(
        key="ror-ids",
        label="ROR IDs",
        family="ror",
        description=(
            "Works carrying at least one ROR ID, in a contributor affiliation or a funder."
        ),
        why=(
            "ROR IDs name organisations unambiguously, so outputs can be attributed to "
            "institutions and funders without string matching."
        ),
        improve_url=_AFF_URL,
        coverage_key="ror-ids",
        works_filter="has-ror-id",
        predicate=has_ror_id,
        default_weight=0.10,
    ),
    Metric(
        key="ror-affiliation",
        label="ROR IDs in affiliations",
        family="ror",
        description="Works where at least one contributor affiliation carries a ROR ID.",
        why=(
            "Affiliation ROR IDs are what institutions need to find their own outputs; "
            "`has-ror-id` alone cannot tell them apart from funder RORs."
        ),
        improve_url=_AFF_URL,
        predicate=has_affiliation_ror,
    ),
    Metric(
        key="ror-funder",
        label="ROR IDs for funders",
        family="ror",
        description=(
            "Works where at least one funder is identified by a ROR ID (possible since 2025)."
        ),
        why=(
            "Funders can be identified by ROR as well as by Funder Registry DOI; tracking it "
            "shows adoption of the single open organisation identifier."
        ),
        improve_url=_FUND_URL,
        predicate=has_funder_ror,
    ),
    Metric(
        key="ror-institution",
        label="ROR IDs for institutions",
        family="ror",
        description=(
            "Works whose `institution` (the organisation behind a dissertation, report, grant "
            "or posted content) carries a ROR ID."
        ),
        why=(
            "The institution element names who granted the degree or issued the report; its "
            "ROR ID lets institutions find these outputs, which have no affiliations."
        ),
        improve_url=_AFF_URL,
        predicate=has_institution_ror,
        sample_only_reason=(
            "`has-ror-id` does not say where the ROR ID sits; institution ROR IDs are counted "
            "on work records."
        ),
    ),
)
