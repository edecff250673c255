"""Full-text links: Similarity Check URLs and text-mining (resource) URLs."""

from __future__ import annotations

from metrics.base import Metric, Work, link_applications


def has_similarity_link(work: Work) -> bool:
    """Any ``link`` whose ``intended-application`` is similarity-checking."""
    return "similarity-checking" in link_applications(work)


def has_text_mining_link(work: Work) -> bool:
    """Any ``link`` whose ``intended-application`` is text-mining or unspecified."""
    return bool(link_applications(work) & {"text-mining", "unspecified"})


METRICS = (
    Metric(
        key="similarity-checking",
        label="Similarity Check URLs",
        family="links",
        description="Works with a full-text URL for Similarity Check (iThenticate) indexing.",
        why=(
            "Similarity Check can only protect content it can index; the URL lets Turnitin "
            "add the full text to the comparison database."
        ),
        improve_url="https://www.crossref.org/documentation/similarity-check/",
        coverage_key="similarity-checking",
        count_filter="full-text.application:similarity-checking",
        predicate=has_similarity_link,
        default_weight=0.04,
    ),
    Metric(
        key="resource-links",
        label="Text-mining URLs",
        family="links",
        description="Works with a full-text URL intended for text and data mining.",
        why=(
            "Full-text links let researchers mine content through one API across publishers "
            "instead of scraping websites."
        ),
        improve_url=(
            "https://www.crossref.org/documentation/retrieve-metadata/rest-api/"
            "text-and-data-mining/"
        ),
        coverage_key="resource-links",
        works_filter="has-full-text",
        predicate=has_text_mining_link,
        default_weight=0.04,
    ),
)
