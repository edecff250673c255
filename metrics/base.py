"""The `Metric` definition and the helpers every family module shares.

Pure code: no I/O, no network. Helpers never raise on odd shapes: a missing key, a `None`, a
string where a list was expected or an empty string all read as "absent", because real
Crossref records drift (see docs/architecture.md §4 and the fixtures under ../shared).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Work = dict[str, Any]
Predicate = Callable[[Work], bool]
Share = Callable[[Work], tuple[int, int]]

#: Contributor lists that count for presence metrics ("any contributor with …").
CONTRIBUTOR_ROLES: tuple[str, ...] = ("author", "editor", "chair", "translator")

#: The 12 keys of `/members` `coverage-type[period][type]`, in the order Crossref sends them.
CROSSREF_COVERAGE_KEYS: tuple[str, ...] = (
    "affiliations",
    "abstracts",
    "orcids",
    "licenses",
    "references",
    "funders",
    "similarity-checking",
    "award-numbers",
    "ror-ids",
    "update-policies",
    "resource-links",
    "descriptions",
)

#: Family key → label, in the order of the contract table.
FAMILIES: dict[str, str] = {
    "references": "References",
    "abstracts": "Abstracts",
    "orcid": "ORCID iDs",
    "affiliations": "Affiliations",
    "ror": "ROR IDs",
    "funding": "Funding",
    "crossmark": "Crossmark",
    "links": "Full-text links",
    "licences": "Licences",
    "descriptions": "Descriptions",
    "trials": "Clinical trials",
    "relations": "Relations",
    "updates": "Updates and retractions",
}

Kind = Literal["presence", "depth"]


@dataclass(frozen=True)
class Metric:
    """One thing we measure, with up to three ways to measure it that must agree.

    * ``coverage_key``: key in the member summary (`/members` `coverage-type`), exact and cheap;
    * ``works_filter``: a `/works` boolean filter (``has-x``); ``:true``/``:false`` select works
      with/without the element (counts, facets, gap lists);
    * ``count_filter``: a full filter clause counting works *with* the element, for elements
      that have no boolean filter (no negated form exists);
    * ``predicate(work)``: evaluated on one work record (samples, harvested pages, bulk files);
    * ``share(work)``: for depth metrics, ``(numerator, denominator)`` per work; the value for a
      set of works is Σnum/Σden;
    * ``sample_only_reason``: for metrics no `/works` filter can count exactly, why not (shown
      next to their sample estimates, which carry a Wilson interval).

    A ``count_filter`` may repeat one filter name (``license.version:vor,license.version:
    unspecified``): Crossref ORs a repeated name, so it is still one exact request.
    """

    key: str
    label: str
    family: str
    description: str
    why: str
    improve_url: str
    coverage_key: str | None = None
    works_filter: str | None = None
    count_filter: str | None = None
    predicate: Predicate | None = field(default=None, compare=False, repr=False)
    share: Share | None = field(default=None, compare=False, repr=False)
    kind: Kind = "presence"
    default_weight: float = 0.0
    sample_only_reason: str | None = None
    #: what a share's denominator counts, for display ("works"; "authors", "references" …)
    unit: str = "works"

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"metric {self.key!r}: unknown family {self.family!r}")
        if self.kind not in ("presence", "depth"):
            raise ValueError(f"metric {self.key!r}: kind must be 'presence' or 'depth'")
        if self.kind == "depth" and self.share is None:
            raise ValueError(f"depth metric {self.key!r} needs a share function")
        if not (
            self.coverage_key
            or self.works_filter
            or self.count_filter
            or self.predicate
            or self.share
        ):
            raise ValueError(f"metric {self.key!r} has no way to be measured")
        if self.default_weight < 0:
            raise ValueError(f"metric {self.key!r}: negative default weight")
        if self.sample_only_reason and (self.measurable_by_filter or self.coverage_key):
            raise ValueError(f"metric {self.key!r} has a filter, so it is not sample-only")

    @property
    def family_label(self) -> str:
        """The family's display name from :data:`FAMILIES` (e.g. ``"ORCID iDs"``)."""
        return FAMILIES[self.family]

    @property
    def in_member_summary(self) -> bool:
        """True when the `/members` summary carries it (exact, no sampling needed)."""
        return self.coverage_key is not None

    @property
    def measurable_by_filter(self) -> bool:
        """True when a `/works` filter counts it (``works_filter`` or ``count_filter``): exact."""
        return self.works_filter is not None or self.count_filter is not None

    @property
    def measurable_on_works(self) -> bool:
        """True when it can be evaluated on one work record (``predicate`` or ``share``)."""
        return self.predicate is not None or self.share is not None

    @property
    def estimated_by_sample(self) -> bool:
        """True when only work records can measure it (no summary key, no `/works` filter)."""
        return self.measurable_on_works and not (self.coverage_key or self.measurable_by_filter)

    def gap_filter(self, has: bool = True) -> str | None:
        """The `/works` filter clause selecting works with (``has=True``) or without it.

        ``None`` when no such filter exists (e.g. works *without* a count-filter element).
        """
        if self.works_filter:
            return f"{self.works_filter}:{'true' if has else 'false'}"
        if has and self.count_filter:
            return self.count_filter
        return None

    def evaluate(self, work: Work) -> bool | None:
        """Presence of the element in one work; ``None`` for depth metrics."""
        if self.predicate is None:
            return None
        return bool(self.predicate(work if isinstance(work, dict) else {}))

    def how_measured(self) -> str:
        """One line saying how the metric is measured (used by the methodology page)."""
        parts = []
        if self.coverage_key:
            parts.append(f"member summary `coverage-type[…][…].{self.coverage_key}`")
        if self.works_filter:
            parts.append(f"`/works` filter `{self.works_filter}:true` / `:false`")
        if self.count_filter:
            names = [part.partition(":")[0] for part in self.count_filter.split(",")]
            repeated = len(set(names)) < len(names)
            parts.append(
                f"`/works` count filter `{self.count_filter}`"
                + (" (one request; Crossref ORs the repeated filter name)" if repeated else "")
            )
        if self.share is not None:
            parts.append("work records (Σ numerator / Σ denominator)")
        elif self.predicate is not None:
            parts.append("work records (predicate)")
        if self.estimated_by_sample:
            parts.append("no exact `/works` count: a sample estimate in drill-downs")
        return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# Shape-tolerant accessors
# ---------------------------------------------------------------------------------------------


def as_list(value: Any) -> list:
    """A list for list-ish fields: lists as they are, a lone dict as ``[dict]``, else ``[]``."""
    if isinstance(value, list):
        return value
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return [value]
    return []


def dicts(value: Any) -> Iterator[dict]:
    """The dict items of a list-ish field, skipping ``None`` and other junk."""
    for item in as_list(value):
        if isinstance(item, dict):
            yield item


def nonblank(value: Any) -> bool:
    """True for a string with at least one non-whitespace character."""
    return isinstance(value, str) and bool(value.strip())


def lower(value: Any) -> str:
    """A string stripped and lower-cased; ``""`` for anything that is not a string."""
    return value.strip().lower() if isinstance(value, str) else ""


def any_nonblank(value: Any) -> bool:
    """A non-blank string, or a list holding at least one non-blank string."""
    if isinstance(value, str):
        return nonblank(value)
    return any(nonblank(v) for v in as_list(value))


def positive_int(value: Any) -> bool:
    """True for a number > 0 or a digit string > 0 (``reference-count``); bools are not numbers."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value > 0
    if isinstance(value, str) and value.strip().isdigit():
        return int(value) > 0
    return False


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float or a digit string; else ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit():
            return int(text)
    return None


# --- contributors and affiliations -----------------------------------------------------------


def contributors(work: Work, roles: tuple[str, ...] = CONTRIBUTOR_ROLES) -> Iterator[dict]:
    """Every contributor (author, editor, chair, translator) that is a dict."""
    if not isinstance(work, dict):
        return
    for role in roles:
        yield from dicts(work.get(role))


def authors(work: Work) -> list[dict]:
    """The dict entries of the work's ``author`` list (people and organisations); ``[]`` if none."""
    return list(dicts(work.get("author"))) if isinstance(work, dict) else []


def has_orcid(contributor: dict) -> bool:
    """True when the contributor's ``ORCID`` is a non-blank string (either URL scheme)."""
    return nonblank(contributor.get("ORCID"))


def affiliations(work: Work) -> Iterator[dict]:
    """Every affiliation object of every contributor."""
    for person in contributors(work):
        yield from dicts(person.get("affiliation"))


def id_entries(obj: dict) -> Iterator[tuple[str, str, str]]:
    """``(id-type lower-cased, id, asserted-by lower-cased)`` for each non-blank ``id[]`` entry.

    A bare string ``id`` (seen in some deposits) reads as an entry with an empty id-type.
    """
    raw = obj.get("id")
    if isinstance(raw, str):
        if nonblank(raw):
            yield ("", raw.strip(), "")
        return
    for entry in dicts(raw):
        ident = entry.get("id")
        if nonblank(ident):
            yield (lower(entry.get("id-type")), ident.strip(), lower(entry.get("asserted-by")))


def affiliation_present(aff: dict) -> bool:
    """An affiliation counts when it has a non-blank name or any identifier."""
    return nonblank(aff.get("name")) or any(True for _ in id_entries(aff))


# --- funders ---------------------------------------------------------------------------------


def funders(work: Work) -> list[dict]:
    """The dict entries of the work's ``funder`` list; ``[]`` when absent or not a list."""
    return list(dicts(work.get("funder"))) if isinstance(work, dict) else []


def funder_ids(funder: dict, id_type: str) -> list[str]:
    """Identifiers of one type (``"doi"`` or ``"ror"``) from a funder's ``id[]``."""
    return [ident for kind, ident, _ in id_entries(funder) if kind == id_type]


def funder_doi_assertions(funder: dict) -> Iterator[str]:
    """``asserted-by`` values attached to the funder's DOI, in either form.

    The legacy form is ``DOI`` + ``doi-asserted-by``; the 2025+ form is an ``id[]`` entry with
    ``id-type: "DOI"`` and its own ``asserted-by``.
    """
    if "doi-asserted-by" in funder:
        yield lower(funder.get("doi-asserted-by"))
    for kind, _ident, asserted in id_entries(funder):
        if kind == "doi":
            yield asserted


def funder_has_doi(funder: dict) -> bool:
    """A Funder Registry DOI in the legacy ``DOI`` field or as an ``id[]`` entry of type DOI."""
    return nonblank(funder.get("DOI")) or bool(funder_ids(funder, "doi"))


def funder_has_ror(funder: dict) -> bool:
    """An ``id[]`` entry of ``id-type`` ROR on the funder."""
    return bool(funder_ids(funder, "ror"))


def funder_has_award(funder: dict) -> bool:
    """A non-blank ``award`` (string or list) or ``award-info[].award-number`` on the funder."""
    if any_nonblank(funder.get("award")):
        return True
    return any(any_nonblank(info.get("award-number")) for info in dicts(funder.get("award-info")))


# --- licences and links ----------------------------------------------------------------------


def licences(work: Work) -> list[dict]:
    """The dict entries of the work's ``license`` list; ``[]`` when absent or not a list."""
    return list(dicts(work.get("license"))) if isinstance(work, dict) else []


def links(work: Work) -> list[dict]:
    """The dict entries of the work's ``link`` list; ``[]`` when absent or not a list."""
    return list(dicts(work.get("link"))) if isinstance(work, dict) else []


def link_applications(work: Work) -> set[str]:
    """The ``link[].intended-application`` values, lower-cased (e.g. ``{"text-mining"}``)."""
    return {lower(link.get("intended-application")) for link in links(work)}


# --- dates and periods -----------------------------------------------------------------------


def year_of(date_field: Any) -> int | None:
    """Year of a Crossref partial date ``{"date-parts": [[y, m?, d?]]}``; ``None`` if absent.

    ``{"date-parts": [[null]]}`` (seen on real records) gives ``None``.
    """
    if not isinstance(date_field, dict):
        return None
    parts = date_field.get("date-parts")
    if not isinstance(parts, list) or not parts:
        return None
    first = parts[0]
    if not isinstance(first, list) or not first:
        return None
    return as_int(first[0])


def issued_year(work: Work) -> int | None:
    """Publication year as Crossref counts it for periods: ``issued``, else ``published``."""
    if not isinstance(work, dict):
        return None
    year = year_of(work.get("issued"))
    if year is None:
        year = year_of(work.get("published"))
    return year


def period_of(year: int | None, current_year: int) -> str | None:
    """``"current"`` (issued ≥ current_year − 2), ``"backfile"`` (≤ current_year − 3) or ``None``.

    Matches Crossref's ``from-pub-date:{Y-2}`` / ``until-pub-date:{Y-3}`` split; a work with no
    usable date belongs to neither period (it still counts in ``all``).
    """
    if year is None:
        return None
    return "current" if year >= current_year - 2 else "backfile"
