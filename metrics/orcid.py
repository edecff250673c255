"""ORCID iDs: presence, authenticated iDs, and the share of authors with an iD (depth)."""

from __future__ import annotations

from metrics.base import Metric, Work, authors, contributors, has_orcid

_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/contributors/"
)


def has_any_orcid(work: Work) -> bool:
    """Any contributor (author, editor, chair, translator) with a non-empty ``ORCID``.

    Both ``https://orcid.org/…`` and the older ``http://orcid.org/…`` forms count.
    """
    return any(has_orcid(person) for person in contributors(work))


def has_authenticated_orcid(work: Work) -> bool:
    """Any contributor with an ``ORCID`` whose ``authenticated-orcid`` is ``true``."""
    return any(
        has_orcid(person) and person.get("authenticated-orcid") is True
        for person in contributors(work)
    )


def orcid_author_share(work: Work) -> tuple[int, int]:
    """``(authors with ORCID, authors)``; a work without authors gives ``(0, 0)``."""
    people = authors(work)
    return sum(1 for person in people if has_orcid(person)), len(people)


METRICS = (
    Metric(
        key="orcids",
        label="ORCID iDs",
        family="orcid",
        description="Works where at least one contributor has an ORCID iD.",
        why=(
            "ORCID iDs identify people unambiguously, so works reach the right researcher's "
            "record and credit is not lost to name ambiguity."
        ),
        improve_url=_URL,
        coverage_key="orcids",
        works_filter="has-orcid",
        predicate=has_any_orcid,
        default_weight=0.12,
    ),
    Metric(
        key="orcid-authenticated",
        label="Authenticated ORCID iDs",
        family="orcid",
        description=(
            "Works where at least one contributor's ORCID iD is marked authenticated (collected "
            "through ORCID's OAuth sign-in rather than typed in)."
        ),
        why=(
            "An authenticated iD was asserted by its owner, so it cannot be a typo or another "
            "person's iD; it is the reliable form of the link."
        ),
        improve_url=_URL,
        works_filter="has-authenticated-orcid",
        predicate=has_authenticated_orcid,
    ),
    Metric(
        key="orcid-author-share",
        label="Authors with ORCID iDs",
        family="orcid",
        description=(
            "Share of all authors (over all works) who carry an ORCID iD: Σ authors with an iD "
            "/ Σ authors. Works without authors add nothing."
        ),
        why=(
            "Presence only needs one iD per work; depth shows whether every author is "
            "identified or just the corresponding author."
        ),
        improve_url=_URL,
        share=orcid_author_share,
        kind="depth",
    ),
)
