"""Licences: presence of a licence URL, and what the licences say, following Crossref's licence
best practice.

Crossref's rules (REST API format docs; "Using Crossref metadata to enable auditing of conformance
to funder mandates", CrossRef/rest-api-doc ``funder_kpi_metadata_best_practice.md``):

* a licence deposited without ``applies_to`` is shown as ``content-version: "unspecified"`` and
  applies to **every** version of the work, so it counts for the version of record (``vor``), the
  accepted manuscript (``am``) and text and data mining (``tdm``) alike;
* ``delay-in-days`` is only the gap between publication and the licence ``start``; it says nothing
  about openness. A publisher's own terms page with delay 0 is not open access;
* the REST API fills ``start`` from the publication date when the member deposited none (and
  computes ``delay-in-days`` from it, 0 when the start is on or before publication), so whether a
  licence *has* a start cannot show what the member deposited. There is no start-date metric.

"Open" means a Creative Commons licence or public-domain tool, or one of the few other licences
in :data:`OTHER_OPEN_LICENCES`, recognised from the licence URL (:func:`open_licence_kind`).
Crossref's ``/works`` filters match licence URLs exactly, and an open licence has countless
spellings, so the metrics that need "open" are estimated from samples of work records
(``sample_only_reason``); the version metrics are exact with one request whose repeated
``license.version`` filter Crossref ORs.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from metrics.base import Metric, Work, as_int, licences, lower, nonblank, year_of

_URL = (
    "https://www.crossref.org/documentation/schema-library/"
    "markup-guide-metadata-segments/license-information/"
)

#: ``content-version`` of a licence deposited without ``applies_to``: it applies to every version.
UNSPECIFIED = "unspecified"


class OpenLicence(NamedTuple):
    """One recognised open licence (other than Creative Commons): name, URL pattern, source."""

    name: str
    pattern: str  # regular expression over the normalised URL (see normalise_licence_url)
    source: str


#: Creative Commons licences and public-domain tools: any version, ported or not, deed or
#: legal code, http or https, with or without ``www`` (https://creativecommons.org/licenses/,
#: https://creativecommons.org/publicdomain/).
CC_PATTERN = r"^https?://(www\.)?creativecommons\.org/(licenses|publicdomain)/"

#: Open licences other than Creative Commons, each conformant with the Open Definition
#: (https://opendefinition.org/licenses/), as licences governments and data publishers deposit.
OTHER_OPEN_LICENCES: tuple[OpenLicence, ...] = (
    OpenLicence(
        "Open Government Licence (UK)",
        r"^https?://(www\.)?nationalarchives\.gov\.uk/doc/open-government-licence/",
        "https://www.nationalarchives.gov.uk/doc/open-government-licence/",
    ),
    OpenLicence(
        "Open Government Licence – Canada",
        r"^https?://open\.canada\.ca/(en/open-government-licence-canada"
        r"|fr/licence-du-gouvernement-ouvert-canada)",
        "https://open.canada.ca/en/open-government-licence-canada",
    ),
    OpenLicence(
        "Licence Ouverte / Open Licence (Etalab, France)",
        r"^https?://(www\.)?etalab\.gouv\.fr/[^?#]*licence-ouverte",
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
    ),
    OpenLicence(
        "Open Data Commons (PDDL, ODC-By, ODbL)",
        r"^https?://(www\.)?opendatacommons\.org/licenses/(pddl|by|odbl)(/|$)",
        "https://opendatacommons.org/licenses/",
    ),
    OpenLicence(
        "Data licence Germany (dl-de/by-2-0, dl-de/zero-2-0)",
        r"^https?://(www\.)?govdata\.de/dl-de/(by|zero)-2-0",
        "https://www.govdata.de/lizenzen",
    ),
)

#: Any of :data:`OTHER_OPEN_LICENCES`, as one regular expression (also used by the bulk SQL).
OTHER_OPEN_PATTERN = "|".join(f"({lic.pattern})" for lic in OTHER_OPEN_LICENCES)

#: Hosts of every recognised open licence: a URL naming none of them is not open (a cheap test
#: the bulk SQL runs before the regular expressions).
OPEN_HOSTS: tuple[str, ...] = (
    "creativecommons.org",
    "nationalarchives.gov.uk",
    "open.canada.ca",
    "etalab.gouv.fr",
    "opendatacommons.org",
    "govdata.de",
)

_CC_RE = re.compile(CC_PATTERN)
_OTHER_RE = re.compile(OTHER_OPEN_PATTERN)
_STRIP_INSIDE = re.compile(r"[\t\r\n]")

#: :func:`open_licence_kind` results.
NOT_OPEN, OTHER_OPEN, CREATIVE_COMMONS = 0, 1, 2


def normalise_licence_url(url: object) -> str | None:
    """The licence URL as compared: stripped, tabs and newlines removed, lower-cased.

    ``None`` for anything that is not a string (a number or list where Crossref's ``license[].URL``
    belongs). Matches how browsers and ``urllib.parse.urlsplit`` read a URL.
    """
    if not isinstance(url, str):
        return None
    return _STRIP_INSIDE.sub("", url.strip()).lower()


def open_licence_kind(url: object) -> int:
    """:data:`CREATIVE_COMMONS` (2), :data:`OTHER_OPEN` (1) or :data:`NOT_OPEN` (0) for a URL.

    Creative Commons: ``http(s)://(www.)creativecommons.org/licenses/…`` or ``/publicdomain/…``
    (any licence and version, deed page or legal code, trailing slash or not). Other open
    licences: :data:`OTHER_OPEN_LICENCES`. Anything else (a publisher's terms page, a TDM
    licence, rightsstatements.org, a bare host) is not open. Never raises.
    """
    norm = normalise_licence_url(url)
    if not norm:
        return NOT_OPEN
    if _CC_RE.search(norm):
        return CREATIVE_COMMONS
    if _OTHER_RE.search(norm):
        return OTHER_OPEN
    return NOT_OPEN


def is_creative_commons(url: object) -> bool:
    """A Creative Commons licence or public-domain tool URL (see :func:`open_licence_kind`)."""
    return open_licence_kind(url) == CREATIVE_COMMONS


def is_open_licence(url: object) -> bool:
    """Creative Commons or a recognised open licence (:data:`OTHER_OPEN_LICENCES`)."""
    return open_licence_kind(url) != NOT_OPEN


def applies_to(licence: dict, version: str) -> bool:
    """The licence applies to ``version`` (``vor``/``am``/``tdm``): that version or unspecified.

    Reads ``content-version`` case-insensitively, stripped; a licence deposited without
    ``applies_to`` is ``unspecified`` in the REST API and applies to every version.
    """
    return lower(licence.get("content-version")) in (version, UNSPECIFIED)


def starts_at_publication(licence: dict) -> bool:
    """``delay-in-days`` is 0 (or less): the licence applies from publication.

    The REST API computes ``delay-in-days`` from the publication date to ``start``, and gives 0
    when the start is on or before publication or was not deposited (then ``start`` is the
    publication date itself).
    """
    delay = as_int(licence.get("delay-in-days"))
    return delay is not None and delay <= 0


def has_start(licence: dict) -> bool:
    """``start.date-parts`` holds a year: the date the licence takes effect is known."""
    return year_of(licence.get("start")) is not None


def has_licence(work: Work) -> bool:
    """Any ``license`` entry with a non-blank ``URL`` (Crossref's "License URLs" coverage)."""
    return any(nonblank(lic.get("URL")) for lic in licences(work))


def _applies_to_version(version: str):
    def predicate(work: Work) -> bool:
        return any(applies_to(lic, version) for lic in licences(work))

    predicate.__name__ = f"has_{version}_licence"
    predicate.__doc__ = (
        f"Any licence whose ``content-version`` is ``{version}`` or ``unspecified`` (a licence "
        "without a version applies to every version)."
    )
    return predicate


has_vor_licence = _applies_to_version("vor")
has_am_licence = _applies_to_version("am")
has_tdm_licence = _applies_to_version("tdm")


def has_cc_licence(work: Work) -> bool:
    """Any licence whose URL is a Creative Commons licence, whatever version it applies to."""
    return any(is_creative_commons(lic.get("URL")) for lic in licences(work))


def has_open_vor_immediate(work: Work) -> bool:
    """An open licence applies to the version of record from publication.

    Some single licence is open (:func:`is_open_licence`), applies to the VoR (``vor`` or
    ``unspecified``) and starts on or before publication (``delay-in-days`` 0). A publisher's
    terms page with delay 0, or a CC licence that starts after an embargo, does not count.
    """
    return any(
        applies_to(lic, "vor") and starts_at_publication(lic) and is_open_licence(lic.get("URL"))
        for lic in licences(work)
    )


def has_open_am(work: Work) -> bool:
    """An open licence applies to the accepted manuscript, with its start date (green OA).

    Some single licence is open, applies to the AM (``am`` or ``unspecified``) and has a
    ``start`` date, so the end of any embargo can be read off the record.
    """
    return any(
        applies_to(lic, "am") and has_start(lic) and is_open_licence(lic.get("URL"))
        for lic in licences(work)
    )


def _version_filter(version: str) -> str:
    # a repeated filter name is ORed by Crossref: one request counts "version OR unspecified"
    return f"license.version:{version},license.version:{UNSPECIFIED}"


_OPEN_NEEDS_SAMPLE = (
    "Crossref's license.url filter matches one exact URL, and an open licence has countless "
    "spellings (versions, ports, deed or legal code, http or https), so no set of /works "
    "filters counts it exactly; it is estimated from a random sample of work records."
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
        description=(
            "Works with a licence that applies to the version of record: `vor`, or "
            "`unspecified` (deposited without a version, so it applies to every version)."
        ),
        why="The version-of-record licence is the one that governs reuse of the published text.",
        improve_url=_URL,
        count_filter=_version_filter("vor"),
        predicate=has_vor_licence,
    ),
    Metric(
        key="license-am",
        label="Accepted-manuscript licence",
        family="licences",
        description=(
            "Works with a licence that applies to the accepted manuscript: `am`, or "
            "`unspecified` (applies to every version)."
        ),
        why=(
            "An accepted-manuscript licence tells repositories whether and when they may "
            "host the author's version (green open access)."
        ),
        improve_url=_URL,
        count_filter=_version_filter("am"),
        predicate=has_am_licence,
    ),
    Metric(
        key="license-tdm",
        label="Text-mining licence",
        family="licences",
        description=(
            "Works with a licence that applies to text and data mining: `tdm`, or "
            "`unspecified` (applies to every version)."
        ),
        why="A TDM licence states whether machines may mine the content, and on what terms.",
        improve_url=_URL,
        count_filter=_version_filter("tdm"),
        predicate=has_tdm_licence,
    ),
    Metric(
        key="license-cc",
        label="Creative Commons licence",
        family="licences",
        description=(
            "Works with a Creative Commons licence or public-domain tool (any version; "
            "creativecommons.org/licenses/… or /publicdomain/…, http or https, with or "
            "without www)."
        ),
        why=(
            "Creative Commons licences are standard and machine-readable, so reuse rights can "
            "be understood without reading a publisher's own terms."
        ),
        improve_url=_URL,
        predicate=has_cc_licence,
        sample_only_reason=_OPEN_NEEDS_SAMPLE,
    ),
    Metric(
        key="license-open-vor-immediate",
        label="Version of record open from publication",
        family="licences",
        description=(
            "Works where one open licence (Creative Commons or a recognised open licence) "
            "applies to the version of record (`vor` or `unspecified`) and starts on or before "
            "publication (`delay-in-days` 0). A publisher's terms page with delay 0 is not open."
        ),
        why=(
            "Shows immediate open access to the published version, which many funder policies "
            "require; Crossref recommends an open licence with its start date because that is "
            "what can validate immediate open access."
        ),
        improve_url=_URL,
        predicate=has_open_vor_immediate,
        sample_only_reason=_OPEN_NEEDS_SAMPLE,
    ),
    Metric(
        key="license-open-am",
        label="Accepted manuscript openly licensed",
        family="licences",
        description=(
            "Works where one open licence applies to the accepted manuscript (`am` or "
            "`unspecified`) and has a start date, so the end of any embargo can be read off the "
            "record (green open access)."
        ),
        why=(
            "Repositories and funders can deposit and check the author's version only when an "
            "open licence and its start date are in the metadata."
        ),
        improve_url=_URL,
        predicate=has_open_am,
        sample_only_reason=_OPEN_NEEDS_SAMPLE,
    ),
)
