"""Clinical trials: registered trial numbers linked to the work."""

from __future__ import annotations

from metrics.base import Metric, Work, as_list


def has_clinical_trial_number(work: Work) -> bool:
    """A non-empty ``clinical-trial-number`` list."""
    return bool(as_list(work.get("clinical-trial-number")))


METRICS = (
    Metric(
        key="clinical-trial-numbers",
        label="Clinical trial numbers",
        family="trials",
        description=(
            "Works linked to a registered clinical trial number. Not in Crossref's member "
            "summary, so it is counted with `/works` filters or on work records."
        ),
        why=(
            "Linked trial numbers connect every publication reporting on one trial, which "
            "exposes selective reporting and helps systematic reviewers."
        ),
        improve_url="https://www.crossref.org/documentation/crossmark/linked-clinical-trials/",
        works_filter="has-clinical-trial-number",
        predicate=has_clinical_trial_number,
    ),
)
