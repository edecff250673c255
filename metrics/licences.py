"""Licences: presence of a licence URL, and the quality of what is licensed."""

from __future__ import annotations

from urllib.parse import urlsplit

from metrics.base import Metric, Work, as_int, licences, lower, nonblank, year_of

_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/license-information/"
)
_CC_HOSTS = frozenset({"creativecommons.org", "www.creativecommons.org"})


def has_licence(work: Work) -> bool:
    """Any ``license`` entry with a non-blank ``URL``."""
    return any(nonblank(lic.get("URL")) for lic in licences(work))


def _has_version(version: str):
    def predicate(work: Work) -> bool:
        return any(lower(lic.get("content-version")) == version for lic in licences(work))

    predicate.__name__ = f"has_{version}_licence"
    predicate.__doc__ = f"Any licence with ``content-version`` {version}."
    return predicate


has_vor_licence = _has_version("vor")
has_am_licence = _has_version("am")
has_tdm_licence = _has_version("tdm")


def is_creative_commons(url: object) -> bool:
    """A licence URL on creativecommons.org (http or https, with or without www)."""
    if not nonblank(url):
        return False
    try:
        parts = urlsplit(str(url).strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and host in _CC_HOSTS


def has_cc_licence(work: Work) -> bool:
    """Any licence whose URL is a Creative Commons licence."""
    return any(is_creative_commons(lic.get("URL")) for lic in licences(work))


def has_licence_start_date(work: Work) -> bool:
    """Any licence whose ``start.date-parts`` holds a year."""
    return any(year_of(lic.get("start")) is not None for lic in licences(work))


def has_zero_embargo_vor(work: Work) -> bool:
    """Any ``vor`` licence with ``delay-in-days`` 0 (open from publication)."""
    return any(
        lower(lic.get("content-version")) == "vor" and as_int(lic.get("delay-in-days")) == 0
        for lic in licences(work)
    )


METRICS = (
    Metric(
        key="licenses",
        label="Licence URLs",
        family="licences",
        description="Works with at least one licence URL.",
        why=(
            "A licence tells readers, repositories and text miners what they may do with the "
            "content; without one, reuse is legally unclear."
        ),
        improve_url=_URL,
        coverage_key="licenses",
        works_filter="has-license",
        predicate=has_licence,
        default_weight=0.10,
    ),
    Metric(
        key="license-vor",
        label="Version-of-record licence",
        family="licences",
        description="Works with a licence that applies to the version of record (`vor`).",
        why="The version-of-record licence is the one that governs reuse of the published text.",
        improve_url=_URL,
        count_filter="license.version:vor",
        predicate=has_vor_licence,
    ),
    Metric(
        key="license-am",
        label="Accepted-manuscript licence",
        family="licences",
        description="Works with a licence that applies to the accepted manuscript (`am`).",
        why=(
            "An accepted-manuscript licence tells repositories whether and when they may "
            "host the author's version (green open access)."
        ),
        improve_url=_URL,
        count_filter="license.version:am",
        predicate=has_am_licence,
    ),
    Metric(
        key="license-tdm",
        label="Text-mining licence",
        family="licences",
        description="Works with a licence that applies to text and data mining (`tdm`).",
        why="A TDM licence states whether machines may mine the content, and on what terms.",
        improve_url=_URL,
        count_filter="license.version:tdm",
        predicate=has_tdm_licence,
    ),
    Metric(
        key="license-cc",
        label="Creative Commons licence",
        family="licences",
        description="Works with a licence URL on creativecommons.org.",
        why=(
            "Creative Commons licences are standard and machine-readable, so reuse rights can "
            "be understood without reading a publisher's own terms."
        ),
        improve_url=_URL,
        predicate=has_cc_licence,
    ),
    Metric(
        key="license-start-date",
        label="Licence with start date",
        family="licences",
        description="Works with a licence that states when it starts to apply.",
        why=(
            "A start date (with the delay after publication) is how embargoes are expressed; "
            "without it, nobody can tell when content becomes reusable."
        ),
        improve_url=_URL,
        predicate=has_licence_start_date,
    ),
    Metric(
        key="license-vor-zero-embargo",
        label="Version of record open at publication",
        family="licences",
        description="Works with a version-of-record licence that applies from day 0 (no embargo).",
        why=(
            "Shows immediate open licensing of the published version, which many funder "
            "policies require."
        ),
        improve_url=_URL,
        count_filter="license.version:vor,license.delay:0",
        predicate=has_zero_embargo_vor,
    ),
)
