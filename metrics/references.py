"""References: does the work deposit its reference list, and do its references carry DOIs?

``reference[]`` entries look like ``{"key", "DOI"?, "doi-asserted-by"?, "unstructured"?, …}``:
``doi-asserted-by`` is ``publisher`` when the member deposited the DOI and ``crossref`` when
Crossref matched it from the citation text. The REST API shows the list only where references
are open; ``reference-count`` can be positive with no list.
"""

from __future__ import annotations

from metrics.base import Metric, Work, as_list, dicts, lower, nonblank, positive_int


def has_references(work: Work) -> bool:
    """``reference-count`` > 0 or a non-empty ``reference`` list."""
    return positive_int(work.get("reference-count")) or bool(as_list(work.get("reference")))


def reference_entries(work: Work) -> list[dict]:
    """The dict entries of the work's ``reference`` list; ``[]`` when absent or not a list."""
    return list(dicts(work.get("reference"))) if isinstance(work, dict) else []


def reference_has_doi(ref: dict) -> bool:
    """A reference with a non-blank ``DOI`` (asserted by the publisher or matched by Crossref)."""
    return nonblank(ref.get("DOI"))


def reference_doi_share(work: Work) -> tuple[int, int]:
    """``(references with a DOI, references)`` in the work's ``reference`` list (counts).

    A work without a visible reference list gives ``(0, 0)``: it adds nothing to Σ references.
    """
    refs = reference_entries(work)
    return sum(1 for ref in refs if reference_has_doi(ref)), len(refs)


def reference_doi_publisher_share(work: Work) -> tuple[int, int]:
    """``(reference DOIs with doi-asserted-by publisher, reference DOIs)`` for one work (counts).

    A DOI without ``doi-asserted-by`` counts in the denominator only.
    """
    with_doi = [ref for ref in reference_entries(work) if reference_has_doi(ref)]
    publisher = sum(1 for ref in with_doi if lower(ref.get("doi-asserted-by")) == "publisher")
    return publisher, len(with_doi)


_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/references/"
)

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
        improve_url=_URL,
        coverage_key="references",
        works_filter="has-references",
        predicate=has_references,
        default_weight=0.12,
    ),
    Metric(
        key="reference-dois",
        label="References with DOIs",
        family="references",
        description=(
            "Share of all deposited references (over all works) that carry a DOI: Σ references "
            "with a DOI / Σ references in the `reference` lists. DOIs the publisher deposited "
            "and DOIs Crossref matched both count; works without a visible list add nothing."
        ),
        why=(
            "Only a reference with a DOI becomes a citation link (Cited-by, open citation data); "
            "a reference list without DOIs is text that has to be matched again by everyone."
        ),
        improve_url=_URL,
        share=reference_doi_share,
        unit="references",
        sample_only_reason=(
            "No `/works` filter counts references: only work records (samples, bulk files) "
            "show which references carry a DOI."
        ),
        kind="depth",
    ),
    Metric(
        key="reference-dois-publisher-asserted",
        label="Reference DOIs from the publisher",
        family="references",
        description=(
            "Among reference DOIs, the share the publisher deposited (`doi-asserted-by` "
            "publisher) rather than Crossref matched from the citation text."
        ),
        why=(
            "Publisher-supplied DOIs are exact; Crossref's matching misses references it cannot "
            "parse, so depositing DOIs yourself links more of the list."
        ),
        improve_url=_URL,
        share=reference_doi_publisher_share,
        unit="reference DOIs",
        sample_only_reason=(
            "No `/works` filter counts references by `doi-asserted-by`; measured on work records."
        ),
        kind="depth",
    ),
)
