"""Funding: funders, how they are identified, who asserted the identifier, award numbers."""

from __future__ import annotations

import re

from metrics.base import (
    Metric,
    Work,
    as_list,
    dicts,
    funder_doi_assertions,
    funder_has_award,
    funder_has_doi,
    funder_has_ror,
    funders,
    nonblank,
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


#: A DOI as deposited in an award field: bare ``10.x/y``, ``doi:10.x/y`` or a doi.org URL.
#: (``\s`` is Python's str.isspace(); ``[0-9]``, not ``\d``, so other scripts' digits do not count:
#: the bulk SQL spells the same pattern in RE2, cache.jobs.bulk.sql._DOI_RE)
DOI_PATTERN = re.compile(
    r"^\s*(?:https?://(?:dx\.)?doi\.org/|doi:\s*)?10\.[0-9]{4,9}/\S+\s*$", re.I
)
_GRANTS_URL = "https://www.crossref.org/documentation/research-nexus/grants/"


def is_doi(value: object) -> bool:
    """A string that is a DOI (``10.35802/212220``, ``https://doi.org/10.35802/212220``,
    ``doi:10.…``); award numbers such as ``DE-SC0013599`` are not."""
    return isinstance(value, str) and DOI_PATTERN.match(value) is not None


def funder_grant_dois(funder: dict) -> list[str]:
    """The grant DOIs linked from one funder entry.

    Our reading of the shape (Crossref's Grant Linking System asks publishers to deposit the
    grant's DOI as the award number): an ``award`` value or an ``award-info[].award-number``
    value that is a DOI, or a non-blank ``award-info[].DOI``.
    """
    found = [v.strip() for v in as_list(funder.get("award")) if is_doi(v)]
    if isinstance(funder.get("award"), str) and is_doi(funder["award"]):
        found.append(funder["award"].strip())
    for info in dicts(funder.get("award-info")):
        number = info.get("award-number")
        values = [number] if isinstance(number, str) else as_list(number)
        found += [v.strip() for v in values if is_doi(v)]
        if nonblank(info.get("DOI")):
            found.append(info["DOI"].strip())
    return found


def has_grant_id(work: Work) -> bool:
    """Any funder entry linking a registered grant by its DOI (:func:`funder_grant_dois`)."""
    return any(funder_grant_dois(funder) for funder in funders(work))


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
    Metric(
        key="grant-ids",
        label="Grant IDs",
        family="funding",
        description=(
            "Works whose funding metadata links a registered grant by its DOI (an award number "
            "that is a grant DOI, or an `award-info` DOI), as counted by Crossref's "
            "`with_grant_id`."
        ),
        why=(
            "A grant DOI identifies the award itself, so funders can follow every output of a "
            "grant without matching free-text award numbers."
        ),
        improve_url=_GRANTS_URL,
        predicate=has_grant_id,
        sample_only_reason=(
            "`award.number` only matches one given number; no `/works` filter selects awards "
            "that are grant DOIs, so this is measured on work records."
        ),
    ),
)
