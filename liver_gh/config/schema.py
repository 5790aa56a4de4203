"""``liver.yml`` declared once, as a pydantic schema.

The same declaration validates the file (every problem at once, each with its key path),
publishes a JSON Schema for editors (``liver schema``), and builds the frozen objects in
``model.py``. Bounds on every number keep a hostile or mistyped value from overflowing or
exhausting a run; messages say what to write instead.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from liver_gh.config import model
from liver_gh.models import Severity

# GetFindings accepts at most 20 values per filter field (AwsSecurityFindingFilters).
MAX_FILTER_VALUES = 20
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")
_BOT_LOGIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,33}\[bot\]")
_REPO = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")
_TEAM = re.compile(r"[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}")
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_EVERY = re.compile(r"\s*(\d{1,12})\s*([dw])\s*", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,99}")
MAX_ROTATION_DAYS = 366


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# ---------------------------------------------------------------- scalar types


def _severity(value: object) -> Severity:
    if isinstance(value, Severity):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a severity name: CRITICAL, HIGH, MEDIUM, LOW or INFORMATIONAL")
    return Severity.parse(value)


def _account(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not re.fullmatch(r"\d{12}", value.strip()):
        raise ValueError(
            f'{value!r} is not a 12-digit AWS account id; quote it in YAML ("012345678901") so leading zeros are kept'
        )
    return value.strip()


def _login(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads an all-digit login as a number
    if isinstance(value, str) and _LOGIN.fullmatch(value.strip()):
        return value.strip()
    hint = (
        "write the bare GitHub login, not an email or @mention (people: maps emails)"
        if isinstance(value, str) and "@" in value
        else "write a GitHub login like octocat"
    )
    raise ValueError(f"{value!r} is not a GitHub login; {hint}")


def _creator(value: object) -> str:
    if isinstance(value, str) and (_LOGIN.fullmatch(value) or _BOT_LOGIN.fullmatch(value)):
        return value
    raise ValueError(f"{value!r} is not a GitHub login; for a GitHub App write <app-slug>[bot]")


def _repo(value: object) -> str:
    if isinstance(value, str) and _REPO.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(f"{value!r} is not a repository; write it as owner/name, e.g. acme/payments")


def _env_var(value: object) -> str:
    if isinstance(value, str) and _ENV_VAR.fullmatch(value.strip()):
        return value.strip()
    raise ValueError(
        "must name the environment variable that holds the secret, like PAGERDUTY_TOKEN; "
        "never put the secret itself in liver.yml"
    )


def _every(value: object) -> timedelta:
    match = _EVERY.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be a number of days or weeks, like 1w or 3d")
    days = int(match.group(1)) * (7 if match.group(2).lower() == "w" else 1)
    if not 1 <= days <= MAX_ROTATION_DAYS:
        raise ValueError(f"must be between 1d and {MAX_ROTATION_DAYS}d")
    return timedelta(days=days)


def _timezone(value: object) -> str:
    if isinstance(value, str) and value.strip():
        name = value.strip()
        if name == "UTC":
            return name
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return name
    raise ValueError(f"{value!r} is not an IANA time zone; use a name like Europe/Berlin or UTC")


def _date(value: object) -> date:
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError("must be a date written YYYY-MM-DD")


def _name(value: object) -> str:
    if isinstance(value, str) and _NAME.fullmatch(value.strip()):
        return value.strip()
    raise ValueError("must be a name of letters, digits, spaces, '.', '_' or '-' (at most 100 characters)")


def _version(value: object) -> int:
    if value != 1 or isinstance(value, bool):
        raise ValueError("must be 1 (the only config version this liver understands)")
    return 1


def _email(value: str) -> str:
    if "@" not in value or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not an email address; write email: login")
    return value.lower()


_SEVERITY_SCHEMA = {"type": "string", "pattern": "(?i)^(critical|high|medium|low|informational)$"}
SeverityName = Annotated[Severity, BeforeValidator(_severity), WithJsonSchema(_SEVERITY_SCHEMA)]
AccountIdStr = Annotated[str, BeforeValidator(_account), WithJsonSchema({"type": "string", "pattern": r"^\d{12}$"})]
Login = Annotated[str, BeforeValidator(_login)]
Repo = Annotated[str, BeforeValidator(_repo)]
EnvVar = Annotated[str, BeforeValidator(_env_var)]
Day = Annotated[date, BeforeValidator(_date)]
Every = Annotated[
    timedelta, BeforeValidator(_every), WithJsonSchema({"type": "string", "pattern": "^\\s*\\d+\\s*[dwDW]\\s*$"})
]
TimeZone = Annotated[str, BeforeValidator(_timezone)]
Name = Annotated[str, BeforeValidator(_name)]
Email = Annotated[str, AfterValidator(_email)]
Creator = Annotated[str, BeforeValidator(_creator)]
Days = Annotated[int, Field(ge=1, le=3650)]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


# ---------------------------------------------------------------- blocks


class SecurityHubSchema(_Strict):
    region: Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")] | None = Field(
        None, description="Home (aggregation) Region to query; default: AWS_REGION."
    )
    api: Literal["asff", "ocsf"] = Field(
        "asff", description="asff: Security Hub CSPM (GetFindings); ocsf: the new Security Hub (GetFindingsV2)."
    )


class ApproverLoginSchema(_Strict):
    login: Login
    id: Annotated[int, Field(ge=1, le=2**53)] | None = Field(
        None,
        description="The approver's numeric GitHub user id: a renamed login taken over by someone else is not an approver.",
    )


class ApproverTeamSchema(_Strict):
    team: Annotated[str, Field(pattern=_TEAM.pattern)]


def _approver_entry(value: object) -> object:
    if isinstance(value, str):
        return {"team": value} if "/" in value else {"login": value}
    return value


_APPROVER_SCHEMA = {
    "anyOf": [
        {"type": "string", "description": "a GitHub login, or org/team-slug for that team's members"},
        {
            "type": "object",
            "properties": {"login": {"type": "string"}, "id": {"type": "integer", "minimum": 1}},
            "required": ["login"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"team": {"type": "string"}},
            "required": ["team"],
            "additionalProperties": False,
        },
    ]
}
ApproverEntry = Annotated[
    ApproverLoginSchema | ApproverTeamSchema, BeforeValidator(_approver_entry), WithJsonSchema(_APPROVER_SCHEMA)
]


class ApprovalSchema(_Strict):
    label: Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^,]+$")] = model.DEFAULT_APPROVAL_LABEL
    approvers: Annotated[list[ApproverEntry], Field(max_length=100)] = Field(
        default_factory=list, description='Logins, {login, id} pairs, or "org/team-slug" (that team\'s members).'
    )
    expires_after_days: Days = 180


class IgnoreTagSchema(_Strict):
    key: Annotated[str, Field(min_length=1, max_length=128)] = "liver:ignore"
    honored_until: Day | None = None


SlaDays = Annotated[dict[SeverityName, Days], Field(max_length=5)]


class DefaultsSchema(_Strict):
    min_severity: SeverityName = Severity.HIGH
    sla_days: SlaDays = Field(default_factory=dict)


class FiltersSchema(_Strict):
    products_include: Annotated[list[ShortText], Field(max_length=100)] = Field(default_factory=list)
    products_exclude: Annotated[list[ShortText], Field(max_length=100)] = Field(default_factory=list)
    controls_exclude: Annotated[list[ShortText], Field(max_length=1000)] = Field(default_factory=list)
    regions: Annotated[list[Annotated[str, Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$")]], Field(max_length=100)] = Field(
        default_factory=list
    )

    @model_validator(mode="after")
    def _one_product_rule(self) -> FiltersSchema:
        if self.products_include and self.products_exclude:
            raise ValueError(
                "set products_include or products_exclude, not both: Security Hub rejects EQUALS and "
                "NOT_EQUALS on one field, and an include list already excludes everything else"
            )
        return self


class PageSchema(_Strict):
    min_severity: SeverityName = Severity.CRITICAL
    routing_key_env: EnvVar = "PAGERDUTY_ROUTING_KEY"


class RotationOverrideSchema(_Strict):
    start: Day = Field(alias="from")
    until: Day
    login: Login

    @model_validator(mode="after")
    def _ordered(self) -> RotationOverrideSchema:
        if self.until <= self.start:
            raise ValueError("until must be after from; until is exclusive, the first day the rotation applies again")
        return self


class PagerDutySchema(_Strict):
    schedule_id: ShortText | None = None
    escalation_policy_id: ShortText | None = None
    token_env: EnvVar = "PAGERDUTY_TOKEN"  # noqa: S105 - the name of a variable, not a secret

    @model_validator(mode="after")
    def _one_target(self) -> PagerDutySchema:
        if (self.schedule_id is None) == (self.escalation_policy_id is None):
            raise ValueError(
                "give schedule_id or escalation_policy_id (exactly one); the ID is the last part of the "
                "schedule's or policy's URL in PagerDuty"
            )
        return self


class OpsgenieSchema(_Strict):
    schedule: ShortText
    token_env: EnvVar = "OPSGENIE_API_KEY"  # noqa: S105 - the name of a variable, not a secret
    region: Literal["us", "eu"] = "us"


_PROVIDERS = ("rotation", "pagerduty", "opsgenie", "static")
_ROTATION_ONLY = ("start", "every", "timezone", "overrides")


class OncallSchema(_Strict):
    rotation: Annotated[list[Login], Field(min_length=1, max_length=100)] | None = None
    start: Day | None = None
    every: Every = timedelta(weeks=1)
    timezone: TimeZone = "UTC"
    overrides: Annotated[list[RotationOverrideSchema], Field(max_length=200)] = Field(default_factory=list)
    pagerduty: PagerDutySchema | None = None
    opsgenie: OpsgenieSchema | None = None
    static: Login | None = None
    fallback: Annotated[list[Login], Field(max_length=20)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_provider(self) -> OncallSchema:
        chosen = [p for p in _PROVIDERS if getattr(self, p) is not None]
        if len(chosen) != 1:
            raise ValueError(f"name exactly one on-call provider ({', '.join(_PROVIDERS)}); found {len(chosen)}")
        if chosen[0] == "rotation" and self.start is None:
            raise ValueError("a rotation needs start: the day rotation[0] starts, like 2026-11-02")
        if chosen[0] != "rotation":
            extra = [k for k in _ROTATION_ONLY if k in self.model_fields_set]
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to a rotation; remove them")
        return self

    def build(self) -> model.OncallSpec:
        provider: model.Provider
        if self.rotation is not None:
            assert self.start is not None  # checked above
            provider = model.RotationSpec(
                members=tuple(self.rotation),
                start=self.start,
                every=self.every,
                timezone=self.timezone,
                overrides=tuple(model.RotationOverride(o.start, o.until, o.login) for o in self.overrides),
            )
        elif self.pagerduty is not None:
            provider = model.PagerDutySpec(
                self.pagerduty.token_env, self.pagerduty.schedule_id, self.pagerduty.escalation_policy_id
            )
        elif self.opsgenie is not None:
            provider = model.OpsgenieSpec(self.opsgenie.schedule, self.opsgenie.token_env, self.opsgenie.region)
        else:
            assert self.static is not None
            provider = model.StaticSpec(self.static)
        return model.OncallSpec(provider, tuple(self.fallback))


MinSeverity = (
    SeverityName
    | Annotated[dict[Annotated[str, Field(min_length=1, max_length=64)], SeverityName], Field(max_length=50)]
)


class ServiceSchema(_Strict):
    name: Name
    repo: Repo
    accounts: Annotated[
        dict[AccountIdStr, Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=500)
    ] = Field(description='Each 12-digit account id mapped to its environment, e.g. {"111111111111": production}.')
    min_severity: MinSeverity | None = None
    oncall: OncallSchema | None = None
    filters: FiltersSchema = Field(default_factory=FiltersSchema)
    honored_until: Day | None = None
    group_by: Literal["resource", "control"] = "resource"
    escalation: Annotated[list[Login], Field(max_length=20)] = Field(default_factory=list)
    sla_days: SlaDays = Field(default_factory=dict)
    remind_every_days: SlaDays = Field(default_factory=dict)
    reassign_on_handover: bool = True
    page: PageSchema | None = None

    @model_validator(mode="after")
    def _environments_exist(self) -> ServiceSchema:
        if isinstance(self.min_severity, dict):
            envs = set(self.accounts.values())
            unknown = sorted(e for e in self.min_severity if e != "*" and e not in envs)
            if unknown:
                raise ValueError(
                    f"min_severity names environment(s) {', '.join(unknown)} that no account of this service has; "
                    f"environments: {', '.join(sorted(envs))}"
                )
        return self


class GitHubSchema(_Strict):
    mutations_per_minute: Annotated[int, Field(ge=1, le=100_000)] = 80
    mutations_per_hour: Annotated[int, Field(ge=1, le=1_000_000)] = 500
    max_wait_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        120.0, description="Longest wait for a rate limit; past it the run stops cleanly and the next run goes on."
    )
    login: Creator | None = Field(
        None,
        description="The login liver's issues are created by (a GitHub App: <app-slug>[bot]); default: the token's user.",
    )
    issue_creators: Annotated[list[Creator], Field(max_length=10)] = Field(
        default_factory=list, description="Other logins whose issues are liver's (an earlier token)."
    )


class ReportSchema(_Strict):
    dashboard_repo: Repo | None = None


class ConfigSchema(_Strict):
    """The central liver.yml."""

    version: Annotated[int, BeforeValidator(_version)]
    securityhub: SecurityHubSchema = Field(default_factory=lambda: SecurityHubSchema())
    approval: ApprovalSchema = Field(default_factory=ApprovalSchema)
    ignore_tag: IgnoreTagSchema = Field(default_factory=IgnoreTagSchema)
    prototype_accounts: Annotated[list[AccountIdStr], Field(max_length=1000)] = Field(default_factory=list)
    group_by_tags: Annotated[list[Annotated[str, Field(min_length=1, max_length=128)]], Field(max_length=10)] = Field(
        default_factory=lambda: ["aws:autoscaling:groupName"]
    )
    defaults: DefaultsSchema = Field(default_factory=DefaultsSchema)
    max_new_issues: Annotated[int, Field(ge=0, le=10_000)] = 50
    filters: FiltersSchema = Field(default_factory=FiltersSchema)
    explanations_dir: Annotated[str, Field(min_length=1, max_length=500)] | None = None
    people: Annotated[dict[Email, Login], Field(max_length=5000)] = Field(default_factory=dict)
    page: PageSchema | None = None
    repo_overrides: Annotated[list[model.Overridable], Field(max_length=3)] = Field(default_factory=list)
    github: GitHubSchema = Field(default_factory=lambda: GitHubSchema())
    issue_type: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    report: ReportSchema = Field(default_factory=ReportSchema)
    services: Annotated[list[ServiceSchema], Field(min_length=1, max_length=2000)]

    def cross_problems(self) -> list[tuple[tuple[int | str, ...], str]]:
        """Problems that involve several keys, each with the key path to point at."""
        out: list[tuple[tuple[int | str, ...], str]] = []
        names: dict[str, int] = {}
        owners: dict[str, str] = {}
        for i, service in enumerate(self.services):
            if service.name in names:
                out.append(
                    (
                        ("services", i, "name"),
                        f"'{service.name}' is also services[{names[service.name]}]'s name; service names must be unique",
                    )
                )
            names.setdefault(service.name, i)
            for account in service.accounts:
                if account in owners:
                    out.append(
                        (
                            ("services", i, "accounts", account),
                            f"already belongs to service '{owners[account]}'; an account belongs to one service",
                        )
                    )
                owners.setdefault(account, service.name)
        for key in ("products_include", "products_exclude", "regions"):
            values = getattr(self.filters, key)
            if len(values) > MAX_FILTER_VALUES:
                out.append(
                    (
                        ("filters", key),
                        f"has {len(values)} values; Security Hub accepts at most {MAX_FILTER_VALUES} per filter field",
                    )
                )
        return out


class OverrideSchema(_Strict):
    """A service repository's own .github/liver.yml: only what the central config allows."""

    version: Annotated[int, BeforeValidator(_version)] | None = None
    min_severity: MinSeverity | None = None
    sla_days: SlaDays | None = None
    oncall: OncallSchema | None = None


# ---------------------------------------------------------------- to the domain model


def min_severity_map(value: MinSeverity | None) -> dict[str, Severity]:
    if value is None:
        return {}
    if isinstance(value, Severity):
        return {"*": value}
    return dict(value)


def _filters(schema: FiltersSchema) -> model.Filters:
    return model.Filters(
        products_include=tuple(schema.products_include),
        products_exclude=tuple(schema.products_exclude),
        controls_exclude=tuple(schema.controls_exclude),
        regions=tuple(schema.regions),
    )


def _page(schema: PageSchema | None) -> model.PageSpec | None:
    return model.PageSpec(schema.min_severity, schema.routing_key_env) if schema else None


def _service(schema: ServiceSchema, default_sla: dict[Severity, int]) -> model.Service:
    return model.Service(
        name=schema.name,
        repo=schema.repo,
        accounts=dict(schema.accounts),
        min_severity=min_severity_map(schema.min_severity),
        oncall=schema.oncall.build() if schema.oncall else None,
        filters=_filters(schema.filters),
        honored_until=schema.honored_until,
        group_by=schema.group_by,
        escalation=tuple(schema.escalation),
        sla_days={**default_sla, **schema.sla_days},
        remind_every_days=dict(schema.remind_every_days),
        reassign_on_handover=schema.reassign_on_handover,
        page=_page(schema.page),
    )


def _approver(entry: ApproverLoginSchema | ApproverTeamSchema) -> model.Approver:
    if isinstance(entry, ApproverTeamSchema):
        org, slug = entry.team.split("/", 1)
        return model.ApproverTeam(org, slug)
    return model.ApproverLogin(entry.login, entry.id)


def build(schema: ConfigSchema, path: Any, explanations_dir: Any) -> model.Config:
    default_sla = {**model.DEFAULT_SLA_DAYS, **schema.defaults.sla_days}
    return model.Config(
        path=path,
        region=schema.securityhub.region,
        api=model.SourceApi(schema.securityhub.api),
        approval=model.ApprovalPolicy(
            label=schema.approval.label,
            approvers=tuple(_approver(a) for a in schema.approval.approvers),
            expires_after_days=schema.approval.expires_after_days,
        ),
        ignore_tag=model.IgnoreTag(schema.ignore_tag.key, schema.ignore_tag.honored_until),
        prototype_accounts=frozenset(schema.prototype_accounts),
        group_by_tags=tuple(schema.group_by_tags),
        default_min_severity=schema.defaults.min_severity,
        services=tuple(_service(s, default_sla) for s in schema.services),
        filters=_filters(schema.filters),
        max_new_issues=schema.max_new_issues,
        explanations_dir=explanations_dir,
        people=dict(schema.people),
        page=_page(schema.page),
        repo_overrides=tuple(schema.repo_overrides),
        github=model.GitHubSettings(
            mutations_per_minute=schema.github.mutations_per_minute,
            mutations_per_hour=schema.github.mutations_per_hour,
            max_wait_seconds=schema.github.max_wait_seconds,
            login=schema.github.login,
            issue_creators=tuple(schema.github.issue_creators),
        ),
        issue_type=schema.issue_type,
        dashboard_repo=schema.report.dashboard_repo,
        default_sla_days=default_sla,
    )


def json_schema() -> dict[str, Any]:
    """The JSON Schema of liver.yml, for editors (yaml-language-server) and `liver schema`."""
    out = ConfigSchema.model_json_schema(mode="validation")
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "liver.yml"
    return out
