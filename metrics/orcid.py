"""ORCID iDs: presence, authenticated iDs, and the share of authors with an iD (depth)."""

from __future__ import annotations

from metrics.base import Metric, Work, authors, contributors, has_orcid, nonblank

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


def has_role_orcid(role: str):
    """A predicate: any contributor in the work's ``role`` list (``author``, ``editor``,
    ``chair`` or ``translator``) with a non-blank ``ORCID``."""
    roles = (role,)

    def predicate(work: Work) -> bool:
        return any(has_orcid(person) for person in contributors(work, roles))

    predicate.__name__ = f"has_{role}_orcid"
    predicate.__doc__ = f"Any ``{role}`` entry with a non-blank ``ORCID``."
    return predicate


def is_organisation(contributor: dict) -> bool:
    """An organisation contributor ("The PLOS ONE Staff", "the X study group").

    Crossref shows a deposited ``<organization>`` contributor as a bare ``name`` with no
    ``given``/``family``; organisations cannot hold an ORCID iD, so one with an ``ORCID`` is
    read as a person.
    """
    return (
        nonblank(contributor.get("name"))
        and not nonblank(contributor.get("given"))
        and not nonblank(contributor.get("family"))
        and not has_orcid(contributor)
    )


def person_authors(work: Work) -> list[dict]:
    """The work's ``author`` entries that are people (every dict but organisations)."""
    return [person for person in authors(work) if not is_organisation(person)]


def orcid_author_share(work: Work) -> tuple[int, int]:
    """``(person authors with an ORCID iD, person authors)`` for one work (counts, not a share).

    Organisation authors (:func:`is_organisation`) are left out of both. Any non-blank ``ORCID``
    counts, ``https://orcid.org/…`` or the older ``http://orcid.org/…`` form. A work without
    person authors gives ``(0, 0)``.
    """
    people = person_authors(work)
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
            "Share of all person authors (over all works) who carry an ORCID iD: Σ authors "
            "with an iD / Σ person authors. Organisation authors (a `name` without "
            '`given`/`family`, e.g. "The PLOS ONE Staff") cannot hold an iD and are not '
            "counted; http:// and https:// iDs both count. Works without authors add nothing."
        ),
        why=(
            "Presence only needs one iD per work; depth shows whether every author is "
            "identified or just the corresponding author."
        ),
        improve_url=_URL,
        share=orcid_author_share,
        kind="depth",
        unit="authors",
    ),
    *(
        Metric(
            key=f"orcid-{role}",
            label=f"ORCID iDs for {role}s",
            family="orcid",
            description=(
                f"Works where at least one {role} (the work's `{role}` list) has an ORCID iD: "
                "ORCID iDs by contributor role, as in Crossref's country statistics."
            ),
            why=why,
            improve_url=_URL,
            predicate=has_role_orcid(role),
            sample_only_reason=(
                "`has-orcid` covers every contributor role at once; the role is read from "
                "work records."
            ),
        )
        for role, why in (
            ("author", "Authors are where most iDs are expected; the baseline for other roles."),
            (
                "editor",
                "Editors of books, proceedings and journals get credit in ORCID only when "
                "their iD is deposited with the editor role.",
            ),
            ("chair", "Conference chairs are credited for proceedings only through their iD."),
            (
                "translator",
                "Translators are often left out of credit; an iD on the translator role "
                "puts the work in their ORCID record.",
            ),
        )
    ),
)
