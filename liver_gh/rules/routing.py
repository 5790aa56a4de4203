"""Who owns a finding, and whether a finding without an issue deserves one.

Every skip has a reason from ``SkipReason``, counted in the run summary, so a finding is
never dropped without saying why.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from liver_gh.config.model import Config, Filters, Service
from liver_gh.models import Finding, Workflow
from liver_gh.rules.ignore import IgnoreVerdict, ignore_verdict


class SkipReason(enum.StrEnum):
    PROTOTYPE = "prototype account"
    UNMAPPED = "unmapped account"
    PRODUCT_NOT_INCLUDED = "product not included"
    PRODUCT_EXCLUDED = "product excluded"
    CONTROL_EXCLUDED = "control excluded"
    REGION_EXCLUDED = "region excluded"
    NOT_ACTIVE = "not active or already handled"
    BELOW_MINIMUM = "below minimum severity"
    IGNORE_TAG = "ignore tag"
    REPOSITORY_FAILED = "its repository could not be read"
    OUT_OF_SCOPE = "another service's finding (scoped run)"


@dataclass(frozen=True)
class Owner:
    service: Service
    environment: str


def owner(finding: Finding, config: Config, services: tuple[Service, ...]) -> Owner | SkipReason:
    """The service owning the finding's account, or why there is none."""
    if finding.account in config.prototype_accounts:
        return SkipReason.PROTOTYPE
    found = config.owner_of(finding.account, services)
    if found is None:
        return SkipReason.UNMAPPED
    return Owner(*found)


def filtered(finding: Finding, filters: Filters) -> SkipReason | None:
    """Why ``filters`` leave this finding out, or None when it passes."""
    if filters.products_include and finding.product_name not in filters.products_include:
        return SkipReason.PRODUCT_NOT_INCLUDED
    if finding.product_name in filters.products_exclude:
        return SkipReason.PRODUCT_EXCLUDED
    if finding.control_id and finding.control_id in filters.controls_exclude:
        return SkipReason.CONTROL_EXCLUDED
    if filters.regions and finding.region not in filters.regions:
        return SkipReason.REGION_EXCLUDED
    return None


@dataclass(frozen=True)
class Eligible:
    """A finding that deserves an issue; ``ignore`` is an ignore tag that was not honoured."""

    ignore: IgnoreVerdict | None = None


def eligibility(
    finding: Finding, found: Owner, config: Config, today: date, *, tracked: bool = False
) -> Eligible | SkipReason:
    """Whether a finding without an issue gets one (README: 'A finding opens an issue when').

    ``tracked`` findings were linked to an issue before (a moved account, an issue
    liver cannot see any more): they deserve one whatever their workflow status, unless
    a person suppressed them.
    """
    why = filtered(finding, config.filters) or filtered(finding, found.service.filters)
    if why:
        return why
    if not finding.failing:
        return SkipReason.NOT_ACTIVE
    if tracked:
        if finding.workflow is Workflow.SUPPRESSED and (finding.note is None or finding.note.updated_by != "liver"):
            return SkipReason.NOT_ACTIVE
    elif finding.workflow is not Workflow.NEW:
        return SkipReason.NOT_ACTIVE
    if finding.severity < found.service.threshold(found.environment, config.default_min_severity):
        return SkipReason.BELOW_MINIMUM
    verdict = ignore_verdict(finding, found.service, config, today)
    if verdict is not None and verdict.honoured:
        return SkipReason.IGNORE_TAG
    return Eligible(verdict)


def lowest_minimum(config: Config, services: Sequence[Service]) -> object:
    """The lowest severity any chosen service is notified about: the server-side filter."""
    return min([config.default_min_severity, *[v for s in services for v in s.min_severity.values()]])
