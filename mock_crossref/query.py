"""``/works`` request vocabulary and filter parsing.

Filter, facet and ``select`` names the mock accepts, Crossref's validation errors
(:class:`QueryError`), and :func:`parse_filters`, which turns ``filter=a:x,b:y`` into a
:class:`WorkQuery` (scope plus work predicates). :class:`Scope` is what a query selects: the
blocks and per-block index ranges that pass its scope and date filters (see
:meth:`mock.engine.WorkEngine.scope`).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

import numpy as np

from mock_crossref.population import TYPE_INDEX, TYPE_LABELS, Population

# --------------------------------------------------------------------------------------------
# Filters: names, parsing
# --------------------------------------------------------------------------------------------

BOOL_FILTERS: dict[str, str] = {
    "has-references": "references",
    "has-abstract": "abstracts",
    "has-orcid": "orcids",
    "has-authenticated-orcid": "auth",
    "has-affiliation": "affiliations",
    "has-ror-id": "ror-ids",
    "has-funder": "funders",
    "has-funder-doi": "funder-doi",
    "has-award": "award-numbers",
    "has-update-policy": "update-policies",
    "has-full-text": "resource-links",
    "has-license": "licenses",
    "has-description": "descriptions",
    "has-clinical-trial-number": "ctn",
    "has-relation": "relations",
    "has-update": "updated",
    "is-update": "notice",
}
VALUE_FILTERS = (
    "full-text.application",
    "license.version",
    "license.delay",
    "license.url",
    "funder-doi-asserted-by",
    "funder",
    "relation.type",
)
SCOPE_FILTERS = ("member", "prefix", "type", "type-name")
DATE_FILTERS = (
    "from-pub-date",
    "until-pub-date",
    "from-issued-date",
    "until-issued-date",
    "from-index-date",
    "until-index-date",
)
WORKS_FILTERS: tuple[str, ...] = SCOPE_FILTERS + DATE_FILTERS + tuple(BOOL_FILTERS) + VALUE_FILTERS
FACETS = (
    "published",
    "type-name",
    "publisher-name",
    "funder-doi",
    "funder-name",
    "link-application",
    "license",
)
SELECTABLE = (
    "DOI",
    "ISBN",
    "ISSN",
    "URL",
    "abstract",
    "accepted",
    "alternative-id",
    "archive",
    "author",
    "clinical-trial-number",
    "container-title",
    "content-domain",
    "created",
    "deposited",
    "description",
    "editor",
    "funder",
    "group-title",
    "indexed",
    "is-referenced-by-count",
    "issn-type",
    "issue",
    "issued",
    "journal-issue",
    "language",
    "license",
    "link",
    "member",
    "original-title",
    "page",
    "posted",
    "prefix",
    "published",
    "published-online",
    "published-print",
    "publisher",
    "publisher-location",
    "reference",
    "reference-count",
    "references-count",
    "relation",
    "resource",
    "score",
    "short-container-title",
    "short-title",
    "source",
    "subject",
    "subtitle",
    "subtype",
    "title",
    "type",
    "update-policy",
    "update-to",
    "updated-by",
    "volume",
    "article-number",
    "assertion",
    "isbn-type",
    "institution",
)
TRUE = {"t", "true", "1"}
FALSE = {"f", "false", "0"}
LABEL_TYPE = {v.lower(): k for k, v in TYPE_LABELS.items()}


class QueryError(ValueError):
    """A request Crossref would reject (validation-failure); carries the message item."""

    def __init__(self, kind: str, value: str, message: str, status: int = 400):
        super().__init__(message)
        self.item = {"type": kind, "value": value, "message": message}
        self.status = status


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise QueryError(
        "boolean-not-valid",
        value,
        f"Boolean specified as {value} but must be one of: t, true, 1, f, false, 0",
    )


_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


def parse_date(value: str, until: bool) -> _dt.date:
    """``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; an until-date is the last day of that span."""
    m = _DATE_RE.match(value.strip())
    if not m:
        raise QueryError(
            "date-not-valid",
            value,
            f"Date specified as {value} but must be of the form YYYY, YYYY-MM or YYYY-MM-DD",
        )
    y, mo, d = int(m.group(1)), m.group(2), m.group(3)
    try:
        if mo is None:
            return _dt.date(y, 12, 31) if until else _dt.date(y, 1, 1)
        mo_i = int(mo)
        if d is None:
            if until:
                nxt = _dt.date(y + (mo_i == 12), mo_i % 12 + 1, 1)
                return nxt - _dt.timedelta(days=1)
            return _dt.date(y, mo_i, 1)
        return _dt.date(y, mo_i, int(d))
    except ValueError as exc:
        raise QueryError(
            "date-not-valid", value, f"Date specified as {value} is not a valid date"
        ) from exc


@dataclass
class WorkQuery:
    """Parsed ``/works`` filters: scope (which blocks / index ranges) and work predicates."""

    members: list[int] | None = None  # member indices (None = all)
    types: set[int] | None = None
    prefixes: set[str] | None = None
    from_date: _dt.date | None = None
    until_date: _dt.date | None = None
    index_from: _dt.date | None = None
    index_until: _dt.date | None = None
    bools: list[tuple[str, bool]] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    funders: list[int] | None = None  # funder:{id} (registry idx), OR-ed
    empty: bool = False  # a filter that matches nothing (unknown member, …)

    @property
    def has_predicates(self) -> bool:
        return bool(self.bools or self.values or self.funders is not None)


def parse_filters(
    pop: Population, filt: str | None, *, member: int | None = None, funder: int | None = None
) -> WorkQuery:
    """Parse Crossref's ``filter=a:x,b:y`` (same name repeated = OR, different names = AND)."""
    q = WorkQuery()
    by_name: dict[str, list[str]] = {}
    if filt:
        for part in filt.split(","):
            if not part.strip():
                continue
            name, sep, value = part.partition(":")
            name = name.strip()
            if name not in WORKS_FILTERS:
                raise QueryError(
                    "filter-not-available",
                    name,
                    f"Filter '{name}' specified but there is no such filter for this route. "
                    f"Valid filters for this route are: {', '.join(WORKS_FILTERS)}",
                )
            if not sep:
                raise QueryError(
                    "filter-not-valid", part, f"Filter '{name}' specified without a value"
                )
            by_name.setdefault(name, []).append(value.strip())
    mids: list[int] | None = None
    if member is not None:
        mids = [member]
    if "member" in by_name:
        wanted = []
        for v in by_name["member"]:
            idx = pop.member_index(int(v)) if v.isdigit() else None
            if idx is not None:
                wanted.append(idx)
        mids = [m for m in wanted if mids is None or m in mids]
        if not mids:
            q.empty = True
    q.members = sorted(set(mids)) if mids is not None else None
    tset: set[int] | None = None
    for key in ("type", "type-name"):
        if key in by_name:
            s = set()
            for v in by_name[key]:
                t = v if key == "type" else LABEL_TYPE.get(v.lower(), "")
                if t in TYPE_INDEX:
                    s.add(TYPE_INDEX[t])
            tset = s if tset is None else tset & s
    if tset is not None:
        q.types = tset
        if not tset:
            q.empty = True
    if "prefix" in by_name:
        q.prefixes = {v.removeprefix("https://id.crossref.org/prefix/") for v in by_name["prefix"]}
    for name, attr, until in (
        ("from-pub-date", "from_date", False),
        ("from-issued-date", "from_date", False),
        ("until-pub-date", "until_date", True),
        ("until-issued-date", "until_date", True),
        ("from-index-date", "index_from", False),
        ("until-index-date", "index_until", True),
    ):
        for v in by_name.get(name, []):
            d = parse_date(v, until)
            cur = getattr(q, attr)
            if cur is None:
                setattr(q, attr, d)
            else:  # repeated date filters: OR of half-lines = the widest
                setattr(q, attr, max(cur, d) if until else min(cur, d))
    for name, feat in BOOL_FILTERS.items():
        for v in by_name.get(name, [])[:1]:
            q.bools.append((feat, parse_bool(name, v)))
        vals = {parse_bool(name, v) for v in by_name.get(name, [])}
        if len(vals) > 1:  # true OR false
            q.bools = [b for b in q.bools if b[0] != feat]
    for name in (
        "full-text.application",
        "license.version",
        "license.delay",
        "license.url",
        "funder-doi-asserted-by",
        "relation.type",
    ):
        if name in by_name:
            if name == "license.delay":
                for v in by_name[name]:
                    if not v.lstrip("-").isdigit():
                        raise QueryError(
                            "integer-not-valid",
                            v,
                            f"Integer specified as {v} but must be an integer",
                        )
            q.values[name] = by_name[name]
    fids: list[int] = []
    if funder is not None:
        fids.append(funder)
    if "funder" in by_name:
        for v in by_name["funder"]:
            f = pop.funder_by_id.get(funder_id_of(v))
            fids.append(f.idx if f else -1)
        if funder is not None:  # route funder AND filter funder
            fids = [funder] if funder in fids[1:] else [-1]
    if fids:
        q.funders = fids
    return q


def funder_id_of(value: str) -> str:
    """``10.13039/500000042``, ``https://doi.org/10.13039/…`` or the bare number → number."""
    v = value.strip()
    for pre in ("https://doi.org/", "http://dx.doi.org/", "http://doi.org/", "doi.org/"):
        v = v.removeprefix(pre)
    return v.removeprefix("10.13039/")


@dataclass
class Scope:
    """Blocks of a query with the index range ``[lo, hi)`` that passes the date filters."""

    blocks: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def total(self) -> int:
        return int((self.hi - self.lo).sum())


# --------------------------------------------------------------------------------------------
# The same filter semantics on one JSON work record
# --------------------------------------------------------------------------------------------

#: Filters :func:`record_matches` evaluates on a record (the licence and ORCID ones).
RECORD_FILTERS = (
    "has-license",
    "license.version",
    "license.url",
    "license.delay",
    "has-orcid",
    "has-authenticated-orcid",
    "has-relation",
    "relation.type",
    "has-update",
    "is-update",
)
_CONTRIBUTOR_ROLES = ("author", "editor", "chair", "translator")


def _licence_entries(work: dict) -> list[dict]:
    value = work.get("license")
    return [x for x in value if isinstance(x, dict)] if isinstance(value, list) else []


def _contributors(work: dict) -> list[dict]:
    out: list[dict] = []
    for role in _CONTRIBUTOR_ROLES:
        value = work.get(role)
        if isinstance(value, list):
            out += [x for x in value if isinstance(x, dict)]
    return out


def _relation_types(work: dict) -> set[str]:
    """Relation types indexed for a record: keys of ``relation`` whose list (or lone object)
    holds an entry with a non-blank ``id``; ``{}`` indexes nothing."""
    relation = work.get("relation")
    if not isinstance(relation, dict):
        return set()
    out = set()
    for rtype, entries in relation.items():
        items = [entries] if isinstance(entries, dict) else entries
        named = isinstance(rtype, str) and rtype.strip() and isinstance(items, list)
        if named and any(
            isinstance(e, dict) and isinstance(e.get("id"), str) and e["id"].strip() for e in items
        ):
            out.add(rtype.strip().lower())
    return out


def _listed(value: object) -> bool:
    """A non-empty update list (``updated-by``/``update-to``), or a lone update object."""
    return (isinstance(value, list) and len(value) > 0) or isinstance(value, dict)


def _delay(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _record_clause(work: dict, name: str, value: str) -> bool:
    """One ``name:value`` clause on a record, as Crossref's index evaluates it."""
    if name == "has-license":
        has = any(
            isinstance(x.get("URL"), str) and x["URL"].strip() for x in _licence_entries(work)
        )
        return has == parse_bool(name, value)
    if name == "license.version":  # a keyword: the exact value, "unspecified" included
        return any(x.get("content-version") == value for x in _licence_entries(work))
    if name == "license.url":  # a keyword: the exact URL, no normalisation
        return any(x.get("URL") == value for x in _licence_entries(work))
    if name == "license.delay":  # at most `value` days from publication to the start
        if not value.lstrip("-").isdigit():
            raise QueryError(
                "integer-not-valid", value, f"Integer specified as {value} but must be an integer"
            )
        limit = int(value)
        delays = [_delay(x.get("delay-in-days")) for x in _licence_entries(work)]
        return any(d is not None and d <= limit for d in delays)
    if name == "has-orcid":
        has = any(
            isinstance(c.get("ORCID"), str) and c["ORCID"].strip() for c in _contributors(work)
        )
        return has == parse_bool(name, value)
    if name == "has-authenticated-orcid":
        has = any(c.get("authenticated-orcid") is True for c in _contributors(work))
        return has == parse_bool(name, value)
    if name == "has-relation":
        return bool(_relation_types(work)) == parse_bool(name, value)
    if name == "relation.type":  # a keyword: one relation type, e.g. is-supplemented-by
        return value.strip().lower() in _relation_types(work)
    if name == "has-update":  # the work received an update (updated-by), from any source
        return _listed(work.get("updated-by")) == parse_bool(name, value)
    if name == "is-update":  # the work is an update notice (update-to)
        return _listed(work.get("update-to")) == parse_bool(name, value)
    raise QueryError(
        "filter-not-available",
        name,
        f"Filter '{name}' is not evaluated on records; record filters: {', '.join(RECORD_FILTERS)}",
    )


def record_matches(work: dict, filt: str) -> bool:
    """Whether one ``/works`` record passes ``filt`` (``a:x,b:y``), with the mock's semantics.

    The same semantics :class:`mock_crossref.engine.WorkEngine` applies to its generated works,
    written for any JSON work record (real fixtures included), for the filters in
    :data:`RECORD_FILTERS`: different names AND, a repeated name ORs, and every licence filter
    is "some licence of the work has it" (``license.delay:d``: some licence has
    ``delay-in-days`` ≤ d). ``has-relation``/``relation.type`` read the relation types holding
    an item with an id; ``has-update`` a non-empty ``updated-by``; ``is-update`` a non-empty
    ``update-to``. Raises :class:`QueryError` for other filters or bad values.
    """
    by_name: dict[str, list[str]] = {}
    for part in (filt or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition(":")
        if not sep:
            raise QueryError("filter-not-valid", part, f"Filter '{name}' specified without a value")
        by_name.setdefault(name.strip(), []).append(value.strip())
    return all(
        any(_record_clause(work, name, value) for value in values)
        for name, values in by_name.items()
    )
