"""The configuration as the rules see it: frozen, typed, already validated.

``schema.py`` declares the file format and turns a validated file into these objects;
nothing past ``config`` reads YAML or pydantic models.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from liver_gh.models import Severity

DEFAULT_SLA_DAYS: Mapping[Severity, int] = {
    Severity.CRITICAL: 1,
    Severity.HIGH: 7,
    Severity.MEDIUM: 30,
    Severity.LOW: 90,
    Severity.INFORMATIONAL: 180,
}
DEFAULT_APPROVAL_LABEL = "liver/suppress-approved"
OVERRIDE_PATH = ".github/liver.yml"


class SourceApi(enum.StrEnum):
    ASFF = "asff"  # Security Hub CSPM: GetFindings / BatchUpdateFindings
    OCSF = "ocsf"  # Security Hub (2025): GetFindingsV2 / BatchUpdateFindingsV2


class Overridable(enum.StrEnum):
    """What a service repository's own .github/liver.yml may set (narrowing only)."""

    MIN_SEVERITY = "min_severity"
    SLA_DAYS = "sla_days"
    ONCALL = "oncall"


@dataclass(frozen=True)
class Filters:
    """Which findings liver looks at. Empty tuples mean 'no restriction'."""

    products_include: tuple[str, ...] = ()
    products_exclude: tuple[str, ...] = ()
    controls_exclude: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApproverLogin:
    login: str
    user_id: int | None = None  # pinned: a renamed login taken over by someone else is not an approver


@dataclass(frozen=True)
class ApproverTeam:
    org: str
    slug: str

    @property
    def name(self) -> str:
        return f"{self.org}/{self.slug}"


Approver = ApproverLogin | ApproverTeam


@dataclass(frozen=True)
class ApprovalPolicy:
    label: str = DEFAULT_APPROVAL_LABEL
    approvers: tuple[Approver, ...] = ()
    expires_after_days: int = 180

    @property
    def logins(self) -> tuple[ApproverLogin, ...]:
        return tuple(a for a in self.approvers if isinstance(a, ApproverLogin))

    @property
    def teams(self) -> tuple[ApproverTeam, ...]:
        return tuple(a for a in self.approvers if isinstance(a, ApproverTeam))

    def names(self) -> list[str]:
        return [a.login if isinstance(a, ApproverLogin) else a.name for a in self.approvers]


@dataclass(frozen=True)
class IgnoreTag:
    key: str = "liver:ignore"
    honored_until: date | None = None


@dataclass(frozen=True)
class PageSpec:
    min_severity: Severity
    routing_key_env: str

    def covers(self, severity: Severity) -> bool:
        return severity >= self.min_severity


@dataclass(frozen=True)
class RotationOverride:
    start: date
    until: date  # exclusive: the first day the rotation applies again
    login: str


@dataclass(frozen=True)
class RotationSpec:
    members: tuple[str, ...]
    start: date
    every: timedelta
    timezone: str
    overrides: tuple[RotationOverride, ...] = ()


@dataclass(frozen=True)
class PagerDutySpec:
    token_env: str
    schedule_id: str | None
    escalation_policy_id: str | None


@dataclass(frozen=True)
class OpsgenieSpec:
    schedule: str
    token_env: str
    region: Literal["us", "eu"]


@dataclass(frozen=True)
class StaticSpec:
    login: str


Provider = RotationSpec | PagerDutySpec | OpsgenieSpec | StaticSpec


@dataclass(frozen=True)
class OncallSpec:
    provider: Provider
    fallback: tuple[str, ...] = ()

    @property
    def token_env(self) -> str | None:
        return self.provider.token_env if isinstance(self.provider, PagerDutySpec | OpsgenieSpec) else None


@dataclass(frozen=True)
class Service:
    name: str
    repo: str
    accounts: Mapping[str, str]  # account id -> environment name
    min_severity: Mapping[str, Severity] = field(default_factory=dict)  # environment -> minimum; "*" for all
    oncall: OncallSpec | None = None
    filters: Filters = Filters()
    honored_until: date | None = None
    group_by: Literal["resource", "control"] = "resource"
    escalation: tuple[str, ...] = ()
    sla_days: Mapping[Severity, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))
    remind_every_days: Mapping[Severity, int] = field(default_factory=dict)
    reassign_on_handover: bool = True
    page: PageSpec | None = None

    def threshold(self, environment: str, default: Severity) -> Severity:
        return self.min_severity.get(environment, self.min_severity.get("*", default))

    def remind_every(self, severity: Severity) -> int:
        if severity in self.remind_every_days:
            return self.remind_every_days[severity]
        return 2 if severity >= Severity.HIGH else 7


@dataclass(frozen=True)
class GitHubSettings:
    mutations_per_minute: int = 80
    mutations_per_hour: int = 500
    max_wait_seconds: float = 120.0
    login: str | None = None  # who liver's issues are created by; found from the token when unset
    issue_creators: tuple[str, ...] = ()  # extra creators whose issues are liver's (migrations)


@dataclass(frozen=True)
class Config:
    path: Path
    region: str | None
    approval: ApprovalPolicy
    ignore_tag: IgnoreTag
    prototype_accounts: frozenset[str]
    group_by_tags: tuple[str, ...]
    default_min_severity: Severity
    services: tuple[Service, ...]
    api: SourceApi = SourceApi.ASFF
    filters: Filters = Filters()
    max_new_issues: int = 50
    explanations_dir: Path | None = None
    people: Mapping[str, str] = field(default_factory=dict)
    page: PageSpec | None = None
    repo_overrides: tuple[Overridable, ...] = ()
    github: GitHubSettings = GitHubSettings()
    issue_type: str | None = None
    dashboard_repo: str | None = None
    default_sla_days: Mapping[Severity, int] = field(default_factory=lambda: dict(DEFAULT_SLA_DAYS))

    def owner_of(self, account: str, services: tuple[Service, ...] | None = None) -> tuple[Service, str] | None:
        """The service owning ``account`` and the account's environment (the one lookup)."""
        for service in services if services is not None else self.services:
            env = service.accounts.get(account)
            if env is not None:
                return service, env
        return None

    def service_by_repo(self, repo: str) -> Service | None:
        for service in self.services:
            if service.repo.lower() == repo.lower():
                return service
        return None

    def page_spec(self, service: Service) -> PageSpec | None:
        return service.page or self.page

    @property
    def lowest_threshold(self) -> Severity:
        levels = [self.default_min_severity]
        for s in self.services:
            levels.extend(s.min_severity.values())
        return min(levels)
