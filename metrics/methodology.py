"""The methodology page text, generated from the registry and the scoring constants.

Because every definition, weight and threshold is read from the code that applies it, the page
cannot disagree with the scores. Pure: returns a Markdown string.
"""

from __future__ import annotations

from metrics import COVERAGE_KEYS, FAMILIES, REGISTRY, by_family
from metrics.licences import OTHER_OPEN_LICENCES
from metrics.scoring import (
    ALL_TYPES,
    CONTENT_MIX_DOMINANCE,
    DEFAULT_WEIGHTS,
    MIN_WORKS,
    MIXED,
    PEER_GROUPINGS,
    SIZE_TIERS,
    UNKNOWN,
    Z95,
)

__all__ = ["methodology_markdown", "size_tier_text"]


def _pct(value: float) -> str:
    return f"{value * 100:.0f} %"


def size_tier_text() -> str:
    """Human text for the size tiers, e.g. ``small: < 1,000 works; medium: 1,000–49,999 …``."""
    parts = []
    for i, (label, lower) in enumerate(SIZE_TIERS):
        upper = SIZE_TIERS[i + 1][1] if i + 1 < len(SIZE_TIERS) else None
        if lower == 0 and upper is not None:
            parts.append(f"{label}: fewer than {upper:,} works")
        elif upper is None:
            parts.append(f"{label}: {lower:,} works or more")
        else:
            parts.append(f"{label}: {lower:,} to {upper - 1:,} works")
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _metric_table() -> list[str]:
    lines = [
        "| Metric | Key | What counts | How it is measured | Default weight |",
        "|---|---|---|---|---|",
    ]
    for family, metrics in by_family().items():
        for m in metrics:
            weight = _pct(m.default_weight) if m.default_weight > 0 else "—"
            label = f"[{_cell(m.label)}]({m.improve_url})"
            if FAMILIES[family] != m.label:
                label += f" ({_cell(FAMILIES[family])})"
            lines.append(
                f"| {label} | `{m.key}` | {_cell(m.description)} "
                f"| {_cell(m.how_measured())} | {weight} |"
            )
    return lines


def _why_list() -> list[str]:
    lines = []
    for m in REGISTRY.values():
        lines.append(f"- **{m.label}**: {m.why} [How to improve it]({m.improve_url}).")
    return lines


def _licence_lines() -> list[str]:
    """The licence rules and the list of recognised open licences, with their sources."""
    sample_only = ", ".join(f"`{m.key}`" for m in by_family()["licences"] if m.estimated_by_sample)
    lines = [
        "## Licences",
        "",
        "The licence metrics follow Crossref's licence guidance (the REST API format docs and "
        "Crossref's guide to licence metadata for funder mandates, "
        "`funder_kpi_metadata_best_practice.md` in CrossRef/rest-api-doc):",
        "",
        "- **Versions.** A licence deposited without `applies_to` is shown by the REST API as "
        "`content-version: unspecified` and applies to every version of the work. So a licence "
        "applies to the version of record when its version is `vor` or `unspecified`, to the "
        "accepted manuscript when it is `am` or `unspecified`, and to text and data mining when "
        "it is `tdm` or `unspecified`. A fully open publisher that deposits one CC BY licence "
        "without a version (PeerJ, PLOS) has a version-of-record licence on every work.",
        "- **Openness comes from the licence, not the delay.** `delay-in-days` is only the "
        "number of days from publication to the licence `start`; it says nothing about what the "
        "licence allows. A link to a publisher's general terms and conditions with delay 0 is "
        "not open access. *Version of record open from publication* needs one licence that is "
        "open, applies to the version of record and starts on or before publication "
        "(`delay-in-days` 0); *Accepted manuscript openly licensed* needs one open licence "
        "that applies to the accepted manuscript and has a start date (green open access "
        "whose embargo end can be read off the record).",
        "- **Open licences.** A licence counts as open when its URL is a Creative Commons "
        "licence or public-domain tool — any licence and version, ported or not, deed page or "
        "legal code, http or https, with or without `www`, with or without a trailing slash "
        "(`creativecommons.org/licenses/…`, `creativecommons.org/publicdomain/…`) — or one of "
        "these other licences, each listed as conformant by the Open Definition "
        "(https://opendefinition.org/licenses/):",
        "",
    ]
    lines += [f"  - {lic.name}: {lic.source}" for lic in OTHER_OPEN_LICENCES]
    lines += [
        "",
        "  Any other URL — a publisher's terms page, a TDM licence, a rightsstatements.org "
        "statement — is not open. Creative Commons licences with NonCommercial or NoDerivatives "
        "terms count as open here, as Crossref's guidance treats Creative Commons licences as "
        "the ones that validate open access.",
        "- **No start-date metric.** The REST API fills a licence's `start` from the "
        "publication date when the member deposited none, and computes `delay-in-days` from "
        "it. On the real records in this project's test fixtures, 123 of the 124 licences with "
        "delay 0 start exactly on the publication date; an undated work's licence has no start "
        "at all. Whether a licence has a start date therefore shows the publication date, not "
        "what the member deposited, and nothing in the record tells a deposited start from a "
        "filled one, so it is not measured.",
        "- **How they are counted.** The version metrics are exact `/works` counts with one "
        "request each: `license.version:vor,license.version:unspecified` (Crossref ORs a "
        "repeated filter name; adding two separate counts would count twice every work with "
        "both). Crossref's `license.url` filter matches one exact URL and an open licence has "
        f"countless spellings, so {sample_only} are estimated from a random sample of work "
        "records (labelled as estimates, with a 95 % interval) in drill-downs, and counted "
        "exactly from bulk files and harvested pages.",
        "",
    ]
    return lines


def _nexus_lines() -> list[str]:
    """How the research-nexus metrics (relations, updates, reference DOIs, grants, roles) read
    the records, with the decisions taken where Crossref's documentation leaves a choice."""
    from metrics.updates import RETRACTION_TYPES

    filtered = [
        f"`{m.key}` (`{m.gap_filter(True)}`)"
        for f in ("relations", "updates")
        for m in by_family()[f]
        if m.measurable_by_filter
    ]
    retraction = " or ".join(f"`{t}`" for t in sorted(RETRACTION_TYPES))
    return [
        "## The research nexus",
        "",
        "Beyond the member summary, the dashboard measures the links Crossref's country "
        "statistics and coverage dashboard report: relations, updates and retractions, "
        "reference DOIs, grant IDs, and ORCID and ROR IDs by contributor role.",
        "",
        "- **Relations.** A work has a relation when its `relation` object holds a type with "
        "at least one related item (an `id`); `{}` is no relation. Links registered by either "
        "side count (`asserted-by` `subject` or `object`). Data and software: "
        "`is-supplemented-by`; preprints: `has-preprint` or `is-preprint-of`; reviews: "
        "`has-review` or `is-review-of`.",
        "- **Updates.** *Updated works* have a non-empty `updated-by` (a correction, "
        "retraction, new version … registered by the publisher or known from Retraction "
        "Watch); *update notices* have a non-empty `update-to`. A PLOS new version names the "
        "work itself in both and counts as both.",
        f"- **Retractions.** A work is retracted when an `updated-by` entry has type "
        f"{retraction} (a partial retraction, correction or expression of concern leaves it "
        "standing). *Retractions registered by the publisher* = retracted works with at least "
        "one such entry of `source` `publisher` / retracted works; a work known only from "
        "`retraction-watch` counts against. Records from before 2025 carry no `source`; as "
        "Retraction Watch data only entered the API in January 2025, they count as the "
        "publisher's. A member with no retracted work is not applicable, never 0 %.",
        "- **Reference DOIs.** Σ references with a `DOI` / Σ references in the `reference` "
        "lists (a work without a visible list adds nothing); of those DOIs, the share whose "
        "`doi-asserted-by` is `publisher` rather than `crossref`.",
        "- **Grant IDs.** A funder entry links a registered grant when an `award` or "
        "`award-info[].award-number` value is a DOI (`10.…/…`, `doi:10.…` or a doi.org URL), "
        "as Crossref's Grant Linking System asks publishers to deposit it, or when an "
        "`award-info` entry carries a `DOI`. Plain award numbers do not count.",
        "- **Roles.** ORCID iDs are counted per role (`author`, `editor`, `chair`, "
        "`translator` lists) and ROR IDs per place (contributor affiliations, funders, and "
        "the `institution` of dissertations, reports, grants and posted content).",
        "- **How they are counted.** Exact `/works` counts where Crossref has a filter: "
        + ", ".join(filtered)
        + '; `has-update` is read as "has received an update" (the pair of `is-update`), '
        "which the live API lists but does not document. The rest are estimated from samples "
        "in drill-downs (labelled, with a 95 % interval) and counted exactly from bulk files.",
        "",
    ]


def methodology_markdown() -> str:
    """The full methodology page as Markdown."""
    weights = sorted(DEFAULT_WEIGHTS.items(), key=lambda kv: (-kv[1], kv[0]))
    weight_lines = [f"- {REGISTRY[k].label} (`{k}`): {_pct(w)}" for k, w in weights]
    summary_labels = ", ".join(REGISTRY[k].label for k in COVERAGE_KEYS)
    groupings = ", ".join(f"`{g}`" for g in PEER_GROUPINGS)
    out: list[str] = [
        "# Methodology",
        "",
        "This page is generated from the code that computes every score, so the definitions, "
        "weights and thresholds below are exactly the ones in use.",
        "",
        "## What is measured",
        "",
        "Each metric is the **coverage** of one metadata element: the share of a member's works "
        "that have at least one instance of it, for a content type and a period. "
        f"{len(REGISTRY)} metrics in {len(FAMILIES)} families are defined. "
        f"{len(COVERAGE_KEYS)} come ready-made in Crossref's member summary ({summary_labels}); "
        "the others are counted with `/works` filters or evaluated on work records "
        "(samples, harvested pages, public data files), "
        "with the same definition whichever way they are measured.",
        "",
        *_metric_table(),
        "",
        "Contributors are authors, editors, chairs and translators. The depth metric "
        "*Authors with ORCID iDs* is Σ person authors with an iD ÷ Σ person authors over all "
        "works, so large author lists weigh more and works without authors add nothing. "
        "An organisation author (Crossref shows it as a bare `name` with no `given` or "
        "`family`, such as “The PLOS ONE Staff”) cannot hold an ORCID iD and is left out of "
        "both sums. An iD counts in either form, `https://orcid.org/…` or the older "
        "`http://orcid.org/…`.",
        "",
        *_licence_lines(),
        *_nexus_lines(),
        "### Why each metric matters",
        "",
        *_why_list(),
        "",
        "## Periods and content types",
        "",
        "- **current**: works whose issued year is this calendar year or one of the two before "
        "(Crossref's `from-pub-date:{Y-2}`); **backfile**: older works (`until-pub-date:{Y-3}`); "
        "**all**: every work, including works with no publication date, which belong to neither "
        "period. The issued year is taken from `issued`, falling back to `published`.",
        "- Scores are available per Crossref content type (journal-article, book-chapter, …) "
        f"and for all types together (`{ALL_TYPES}`). The all-types figure is the count-weighted "
        "mean over the member's types, Σ coverage × works ÷ Σ works, which reproduces "
        "Crossref's own cross-type figures exactly.",
        "",
        "## Not applicable is not zero",
        "",
        "A member with no works in a content type or period has no score there: it is shown as "
        "“—” (not applicable), never as 0 %, and it is left out of averages, ranks and the "
        "composite. Crossref's summary reports 0.0 for empty periods; we check the work counts "
        "first.",
        "",
        "## Composite score",
        "",
        "The composite is the weighted mean of a member's metric coverages for the chosen "
        "content type and period. Default weights (they sum to 100 %, and can be changed on the "
        "shortlist page):",
        "",
        *weight_lines,
        "",
        "Elements that identify and connect a work weigh more than service-specific links and "
        "flags, which depend on services a member may not use. Weights are renormalised over "
        "the metrics that apply to a member: a metric that is not applicable neither helps nor "
        "hurts. A member with none of the weighted metrics has no composite.",
        "",
        "## Aggregates: DOI-weighted and member averages",
        "",
        "Figures over many members come in two kinds and are always labelled:",
        "",
        "- **DOI-weighted**: Σ works with the element ÷ Σ works, the share of all works; large "
        "members dominate it.",
        "- **Member mean / median**: the average (or middle) of the members' own coverages, the "
        "typical member; every member counts once.",
        "",
        "They can differ hugely: most members deposit no funder IDs at all, while a quarter of "
        "all works carry one.",
        "",
        "## Peer groups and percentiles",
        "",
        f"Members are compared within peer groups ({groupings}):",
        "",
        f"- **size** by registered works: {size_tier_text()}. Crossref's Metadata Awards define "
        "size by publishing revenue, which is not public; registered works are the public "
        "proxy.",
        "- **gem**: members in countries of Crossref's Global Equitable Membership (GEM) "
        "program versus the rest.",
        "- **country**: the member's country, parsed from its address (ISO 3166 code; "
        f"`{UNKNOWN}` when it cannot be parsed).",
        "- **content-mix**: the content type that makes up more than "
        f"{_pct(CONTENT_MIX_DOMINANCE)} of the member's works, otherwise `{MIXED}`.",
        "- **award**: as in the Crossref Metadata Awards, GEM members form one group and all "
        "others are grouped by size.",
        "",
        "A percentile rank is the share of the peer group at or below the member (ties share "
        "the average rank): the best member of a group scores 100. Members with no score are "
        "not ranked.",
        "",
        "## Improvement",
        "",
        "Improvement (the “enrichment” award) is the change in coverage between two dated "
        "snapshots, in percentage points, per metric and for the composite. Members with fewer "
        f"than {MIN_WORKS:,} works in the chosen content type and period in either snapshot are "
        "not ranked, because small denominators swing widely.",
        "",
        "## Estimates",
        "",
        "Metrics not in Crossref's member summary can be estimated from a random sample of a "
        "member's works (Crossref's `sample`, at most 100 works). Estimates are labelled as "
        f"such and carry a 95 % Wilson score interval (z = {Z95}), which stays inside 0–100 % "
        "and behaves well for small samples and coverages near 0 or 100 %. Exact counts "
        "(member summary, filter counts, bulk files) carry no interval.",
        "",
        "## Caveats",
        "",
        "- **Presence, not completeness or correctness.** A work counts when it has at least "
        "one instance of an element: one affiliation on one of ten authors, or a reference list "
        "of one item, is enough. Depth metrics and quality metrics (licence versions, "
        "authenticated iDs) show part of what presence hides.",
        "- **Denominators include paratext.** Crossref counts every registered work: editorials, "
        "covers, tables of contents and errata have no abstract, references or funding, and "
        "pull coverage down. Choosing a single content type such as journal-article helps, but "
        "does not remove paratext registered as articles.",
        "- **`has-ror-id` is not affiliation-specific.** Crossref's ROR IDs figure (and the "
        "`has-ror-id` filter) counts a ROR ID in an affiliation *or* a funder. The separate "
        "*ROR IDs in affiliations* and *ROR IDs for funders* metrics split the two.",
        "- **Funders without identifiers count.** Crossref's Funders figure counts works naming "
        "any funder, even by name only; *Funder Registry IDs* and *Identified funders* count "
        "identified ones.",
        "- **Summaries are recomputed daily.** Crossref rebuilds member summaries about every "
        "24 hours, so recent deposits can take a day to appear, and work-level checks can run "
        "ahead of the summary.",
        "- **Counts from filters and facets are Crossref's**, and facet counts are approximate.",
        "",
    ]
    return "\n".join(out)
