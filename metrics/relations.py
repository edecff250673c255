"""Relations: typed links from a work to data, software, preprints, reviews and versions.

Crossref shows the relationships a member deposited (and those asserted by the other side) in
the work's ``relation`` object: ``{<relation type>: [{"id-type", "id", "asserted-by"}]}``, e.g.
``{"has-preprint": [{"id-type": "doi", "id": "10.1101/2020.02.08.940007",
"asserted-by": "object"}]}``. An empty ``{}`` is common and means no relation. ``asserted-by``
says which side registered the link: ``subject`` (this work's record) or ``object`` (the
related item's record); both count here, as in Crossref's ``has-relation`` filter.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from metrics.base import Metric, Work, dicts, lower, nonblank

_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/relationships/"
)

#: Relation types that link a work to the data or software it generated or used.
SUPPLEMENT_TYPES: tuple[str, ...] = ("is-supplemented-by",)
#: Relation types between a preprint and the article it became (either direction).
PREPRINT_TYPES: tuple[str, ...] = ("has-preprint", "is-preprint-of")
#: Relation types between a work and its peer reviews (either direction).
REVIEW_TYPES: tuple[str, ...] = ("has-review", "is-review-of")


def relation_types(work: Work) -> set[str]:
    """The relation types of the work that hold at least one related item.

    Keys of the ``relation`` object, stripped and lower-cased (``{"has-preprint", …}``); a type
    counts when its list (or lone object) holds a dict entry with a non-blank ``id``. ``{}``,
    ``null``, a non-object ``relation`` and types with empty lists give nothing.
    """
    relation = work.get("relation") if isinstance(work, dict) else None
    if not isinstance(relation, dict):
        return set()
    return {
        lower(rtype)
        for rtype, entries in relation.items()
        if lower(rtype) and any(nonblank(e.get("id")) for e in dicts(entries))
    }


def relation_type_counts(works: Iterable[Work]) -> Counter[str]:
    """Relation type → number of works having it (a breakdown; a work counts once per type)."""
    counts: Counter[str] = Counter()
    for work in works:
        counts.update(relation_types(work))
    return counts


def has_relation(work: Work) -> bool:
    """At least one typed relation (what ``has-relation:true`` selects)."""
    return bool(relation_types(work))


def _has_any(types: tuple[str, ...]):
    wanted = frozenset(types)

    def predicate(work: Work) -> bool:
        return bool(relation_types(work) & wanted)

    predicate.__doc__ = f"A relation of type {' or '.join(types)}."
    return predicate


has_supplement = _has_any(SUPPLEMENT_TYPES)
has_preprint_link = _has_any(PREPRINT_TYPES)
has_review_link = _has_any(REVIEW_TYPES)


def _type_filter(types: tuple[str, ...]) -> str:
    """``relation.type:a,relation.type:b`` (Crossref ORs the repeated filter name)."""
    return ",".join(f"relation.type:{t}" for t in types)


METRICS = (
    Metric(
        key="relations",
        label="Relations",
        family="relations",
        description=(
            "Works with at least one typed relation in `relation` (to data, software, a "
            "preprint, reviews, other versions, translations …), registered by either side."
        ),
        why=(
            "Relations connect the research nexus: readers and machines can follow a work to "
            "its data, code, preprint and reviews instead of searching for them."
        ),
        improve_url=_URL,
        works_filter="has-relation",
        predicate=has_relation,
    ),
    Metric(
        key="relation-supplement",
        label="Linked data and software",
        family="relations",
        description=(
            "Works with an `is-supplemented-by` relation: the data or software the research "
            "generated, linked from the article."
        ),
        why=(
            "Linking outputs to their datasets and code makes them verifiable and reusable, "
            "and credits the data creators."
        ),
        improve_url=_URL,
        count_filter=_type_filter(SUPPLEMENT_TYPES),
        predicate=has_supplement,
    ),
    Metric(
        key="relation-preprint",
        label="Preprint–article links",
        family="relations",
        description=(
            "Works linked to their preprint or published article (`has-preprint` or "
            "`is-preprint-of`)."
        ),
        why=(
            "Preprint links join the early and final versions, so citations and attention are "
            "not split and readers find the version of record."
        ),
        improve_url=_URL,
        count_filter=_type_filter(PREPRINT_TYPES),
        predicate=has_preprint_link,
    ),
    Metric(
        key="relation-review",
        label="Peer-review links",
        family="relations",
        description="Works linked to their peer reviews (`has-review` or `is-review-of`).",
        why=("Linked reviews make the review process visible and give reviewers citable credit."),
        improve_url="https://www.crossref.org/documentation/research-nexus/peer-reviews/",
        count_filter=_type_filter(REVIEW_TYPES),
        predicate=has_review_link,
    ),
)
