"""Updates and retractions: Crossmark updates a work received, update notices, who asserted them.

Shapes (REST API ``/works`` items, read from the fixtures):

* ``updated-by[]`` on the updated work and ``update-to[]`` on the update notice:
  ``{"DOI", "type", "label", "source", "updated": {date-parts, date-time, timestamp},
  "record-id"?}``. ``type`` is Crossref's update vocabulary (``correction``, ``retraction``,
  ``withdrawal``, ``new_version``, ``expression_of_concern`` …); ``source`` is ``publisher``
  (the member registered it, through Crossmark) or ``retraction-watch`` (known from the
  Retraction Watch database, in the API since January 2025; ``record-id`` is its id).
* Records indexed before 2025 (e.g. the 2022 APS and PLOS notices in the nexus fixture) have no
  ``source``: before Retraction Watch data came in, every update was registered by a member,
  so a missing ``source`` reads as ``publisher``.
* A PLOS "new version" names the work itself in both ``updated-by`` and ``update-to``; it is
  an update like any other.
"""

from __future__ import annotations

from metrics.base import Metric, Work, as_list, dicts, lower

_URL = (
    "https://www.crossref.org/documentation/register-maintain-records/"
    "maintaining-your-metadata/registering-updates/"
)

#: Update types that make the updated work retracted. A withdrawal removes the work from the
#: record as a retraction does (Crossref lists both as "retraction/withdrawal" notices);
#: a partial retraction, a correction or an expression of concern leave the work standing.
RETRACTION_TYPES: frozenset[str] = frozenset({"retraction", "withdrawal"})
PUBLISHER = "publisher"
RETRACTION_WATCH = "retraction-watch"


def update_type(entry: dict) -> str:
    """An update entry's ``type``, lower-cased with ``-``/space read as ``_`` (``new_version``)."""
    return lower(entry.get("type")).replace("-", "_").replace(" ", "_")


def update_source(entry: dict) -> str:
    """An update entry's ``source`` lower-cased; ``"publisher"`` when absent or blank (pre-2025
    records carry no source and were all registered by members)."""
    return lower(entry.get("source")) or PUBLISHER


def has_update(work: Work) -> bool:
    """The work received at least one update, from anyone: a non-empty ``updated-by`` list."""
    return bool(as_list(work.get("updated-by")))


def is_update_notice(work: Work) -> bool:
    """The work is itself an update notice (correction, retraction …): non-empty ``update-to``."""
    return bool(as_list(work.get("update-to")))


def retractions(work: Work) -> list[dict]:
    """The ``updated-by`` entries that retract (or withdraw) the work."""
    return [e for e in dicts(work.get("updated-by")) if update_type(e) in RETRACTION_TYPES]


def is_retracted(work: Work) -> bool:
    """An ``updated-by`` entry of type retraction or withdrawal, whatever its source."""
    return bool(retractions(work))


def retraction_publisher_share(work: Work) -> tuple[int, int]:
    """``(1, 1)`` for a retracted work whose retraction the publisher registered, ``(0, 1)`` for
    one known only from Retraction Watch, ``(0, 0)`` for a work that is not retracted.

    Summed over a member's works: publisher-registered retractions / retracted works; a member
    with no retracted work has a 0 denominator (not applicable, never 0 %).
    """
    entries = retractions(work)
    if not entries:
        return (0, 0)
    return (int(any(update_source(e) == PUBLISHER for e in entries)), 1)


METRICS = (
    Metric(
        key="updates",
        label="Updated works",
        family="updates",
        description=(
            "Works that have received at least one update (correction, retraction, new "
            "version …), registered by the publisher or known from Retraction Watch "
            "(`updated-by`)."
        ),
        why=(
            "Readers must learn that a work was corrected or retracted wherever they find it; "
            "the share of updated works is part of a member's record of maintaining its content."
        ),
        improve_url=_URL,
        count_filter="has-update:true",
        predicate=has_update,
    ),
    Metric(
        key="update-notices",
        label="Update notices",
        family="updates",
        description=(
            "Works that are themselves update notices (a correction, erratum, retraction notice "
            "…) linked to the work they update (`update-to`)."
        ),
        why=(
            "An update notice registered with its `update-to` link is what makes the update "
            "travel with the original work in Crossmark and the API."
        ),
        improve_url=_URL,
        count_filter="is-update:true",
        predicate=is_update_notice,
    ),
    Metric(
        key="retraction-publisher-asserted",
        label="Retractions registered by the publisher",
        family="updates",
        description=(
            "Among the member's retracted works (an `updated-by` of type retraction or "
            "withdrawal), the share whose retraction the publisher registered itself rather "
            "than being known only from Retraction Watch. Members with no retracted work are "
            "not applicable. Records from before 2025 carry no `source` and count as the "
            "publisher's."
        ),
        why=(
            "A retraction only reaches readers of every copy when the publisher registers it; "
            "retractions known only to Retraction Watch show notices the member never deposited."
        ),
        improve_url=_URL,
        share=retraction_publisher_share,
        unit="retracted works",
        sample_only_reason=(
            "`update-type` selects update notices, not the works they retract, and no filter "
            "selects `updated-by` by source: measured on work records."
        ),
        kind="depth",
    ),
)
