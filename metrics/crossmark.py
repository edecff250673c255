"""Crossmark: does the work point to an update (corrections and retractions) policy?"""

from __future__ import annotations

from metrics.base import Metric, Work, nonblank


def has_update_policy(work: Work) -> bool:
    """A non-blank ``update-policy`` (the Crossmark policy page DOI)."""
    return nonblank(work.get("update-policy"))


METRICS = (
    Metric(
        key="update-policies",
        label="Crossmark",
        family="crossmark",
        description="Works that carry a Crossmark update policy.",
        why=(
            "Crossmark tells readers whether a work has been corrected, retracted or updated, "
            "even from a downloaded PDF."
        ),
        improve_url="https://www.crossref.org/documentation/crossmark/participating-in-crossmark/",
        coverage_key="update-policies",
        works_filter="has-update-policy",
        predicate=has_update_policy,
        default_weight=0.04,
    ),
)
