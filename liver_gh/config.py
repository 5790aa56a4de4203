"""Read and validate ``liver.yml`` into frozen, typed objects.

Every problem is collected, not just the first, and each line names the file, the key
path and what to do, so one run of ``liver check-config`` shows everything to fix.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml

from liver_gh.errors import ConfigError
from liver_gh.models import Severity
from liver_gh.oncall import OncallSpec, parse_oncall, parse_people
from liver_gh.paging import PageSpec, parse_page

ENVIRONMENTS_HINT = "e.g. production, staging, development"
_REPO = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
_ACCOUNT = re.compile(r"^\d{12}$")
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
DEFAULT_SLA_DAYS = {
    Severity.CRITICAL: 1,
    Severity.HIGH: 7,
    Severity.MEDIUM: 30,
    Severity.LOW: 90,
    Severity.INFORMATIONAL: 180,
}


@dataclass(frozen=True)
class Filters:
    """Which findings liver looks at. Empty tuples mean 'no restriction'."""

    products_include: tuple[str, ...] = ()
    products_exclude: tuple[str, ...] = ()
    controls_exclude: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()

    def allows(self, product: str, control: str | None, region: str) -> str | None:
        """Return why a finding is filtered out, or None when it passes."""
        if self.products_include and product not in self.products_include:
            return "product not included"
        if product in self.products_exclude:
            return "product excluded"
        if control and control in self.controls_exclude:
            return "control excluded"
        if self.regions and region not in self.regions:
            return "region excluded"
        return None


@dataclass(frozen=True)
class Approval:
    label: str = "liver/suppress-approved"
    approvers: tuple[str, ...] = ()  # logins and "org/team-slug" entries
    expires_after_days: int = 180

    @property
    def logins(self) -> tuple[str, ...]:
        return tuple(a for a in self.approvers if "/" not in a)

    @property
    def teams(self) -> tuple[str, ...]:
        return tuple(a for a in self.approvers if "/" in a)


@dataclass(frozen=True)
class IgnoreTag:
    key: str = "liver:ignore"
    honored_until: date | None = None


@dataclass(frozen=True)
class Service:
    name: str
    repo: str
    accounts: Mapping[str, str]  # account id -> environment name
    min_severity: Mapping[str, Severity]  # environment -> minimum; "*" for all
    oncall: OncallSpec | None
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
class Config:
    path: Path
    region: str | None
    approval: Approval
    ignore_tag: IgnoreTag
    prototype_accounts: frozenset[str]
    group_by_tags: tuple[str, ...]
    default_min_severity: Severity
    services: tuple[Service, ...]
    filters: Filters = Filters()
    max_new_issues: int = 50
    explanations_dir: Path | None = None
    people: Mapping[str, str] = field(default_factory=dict)
    page: PageSpec | None = None
    repo_overrides: tuple[str, ...] = ()
    mutations_per_minute: int = 80
    mutations_per_hour: int = 500

    def service_for_account(self, account: str) -> tuple[Service, str] | None:
        for service in self.services:
            env = service.accounts.get(account)
            if env is not None:
                return service, env
        return None

    def service_by_repo(self, repo: str) -> Service | None:
        for service in self.services:
            if service.repo.lower() == repo.lower():
                return service
        return None

    @property
    def lowest_threshold(self) -> Severity:
        levels = [self.default_min_severity]
        for s in self.services:
            levels.extend(s.min_severity.values())
        return min(levels)


class _Checker:
    """Collects problems with a shared prefix so each message names file and key path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def bad(self, where: str, message: str) -> None:
        self.problems.append(f"{self.source}: {where}: {message}")

    def mapping(self, node: object, where: str, allowed: set[str]) -> Mapping[str, Any]:
        if node is None:
            return {}
        if not isinstance(node, Mapping):
            self.bad(where, f"must be a mapping, not {type(node).__name__}.")
            return {}
        for key in node:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.bad(f"{where}.{key}" if where else str(key), f"unknown key; allowed keys here: {hint}.")
        return node

    def string(self, node: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
        value = node.get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.bad(f"{where}.{key}" if where else key, "must be a non-empty string.")
            return default
        return value

    def strings(self, node: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = node.get(key, [])
        path = f"{where}.{key}" if where else key
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            self.bad(path, "must be a list of strings.")
            return ()
        return tuple(str(v) for v in value)

    def severity(self, value: object, where: str) -> Severity | None:
        if not isinstance(value, str):
            self.bad(where, "must be a severity name: CRITICAL, HIGH, MEDIUM, LOW or INFORMATIONAL.")
            return None
        try:
            return Severity.parse(value)
        except ValueError as e:
            self.bad(where, f"{e}.")
            return None

    def day(self, node: Mapping[str, Any], key: str, where: str) -> date | None:
        value = node.get(key)
        path = f"{where}.{key}" if where else key
        if value is None:
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.bad(path, "must be a date written YYYY-MM-DD.")
        return None

    def integer(self, node: Mapping[str, Any], key: str, where: str, default: int, minimum: int = 0) -> int:
        value = node.get(key, default)
        path = f"{where}.{key}" if where else key
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.bad(path, f"must be a whole number of at least {minimum}.")
            return default
        return value


def _filters(c: _Checker, node: object, where: str) -> Filters:
    m = c.mapping(node, where, {"products_include", "products_exclude", "controls_exclude", "regions"})
    return Filters(
        products_include=c.strings(m, "products_include", where),
        products_exclude=c.strings(m, "products_exclude", where),
        controls_exclude=c.strings(m, "controls_exclude", where),
        regions=c.strings(m, "regions", where),
    )


def _min_severity(c: _Checker, node: object, where: str, envs: set[str]) -> dict[str, Severity]:
    if node is None:
        return {}
    if isinstance(node, str):
        sev = c.severity(node, where)
        return {"*": sev} if sev else {}
    if not isinstance(node, Mapping):
        c.bad(where, "must be a severity or a mapping of environment to severity.")
        return {}
    out: dict[str, Severity] = {}
    for env, value in node.items():
        if envs and env not in envs and env != "*":
            c.bad(
                f"{where}.{env}",
                f"no account of this service has environment '{env}'; environments: {', '.join(sorted(envs))}.",
            )
        sev = c.severity(value, f"{where}.{env}")
        if sev is not None:
            out[str(env)] = sev
    return out


def _sla(c: _Checker, node: object, where: str, base: Mapping[Severity, int]) -> dict[Severity, int]:
    out = dict(base)
    if node is None:
        return out
    if not isinstance(node, Mapping):
        c.bad(where, "must map severities to a number of days, e.g. {CRITICAL: 1, HIGH: 7}.")
        return out
    for key, value in node.items():
        sev = c.severity(key, f"{where}.{key}")
        if sev is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            c.bad(f"{where}.{key}", "must be a whole number of days, at least 1.")
            continue
        out[sev] = value
    return out


SERVICE_KEYS = {
    "name",
    "repo",
    "accounts",
    "min_severity",
    "oncall",
    "filters",
    "honored_until",
    "group_by",
    "escalation",
    "sla_days",
    "remind_every_days",
    "reassign_on_handover",
    "page",
}
TOP_KEYS = {
    "version",
    "securityhub",
    "approval",
    "ignore_tag",
    "prototype_accounts",
    "group_by_tags",
    "defaults",
    "services",
    "filters",
    "max_new_issues",
    "explanations_dir",
    "people",
    "page",
    "repo_overrides",
    "github",
}
OVERRIDABLE = ("min_severity", "oncall")


def _service(
    c: _Checker, node: object, where: str, people_ok: bool, defaults_sla: Mapping[Severity, int]
) -> Service | None:
    m = c.mapping(node, where, SERVICE_KEYS)
    if not m:
        if node is not None and isinstance(node, Mapping):
            c.bad(where, "is empty; a service needs name, repo and accounts.")
        return None
    name = c.string(m, "name", where)
    if name is None:
        c.bad(f"{where}.name", "is required: the service's name.")
    repo = c.string(m, "repo", where)
    if repo is None:
        c.bad(f"{where}.repo", "is required: the service's GitHub repository as owner/name.")
    elif not _REPO.match(repo):
        c.bad(f"{where}.repo", f"'{repo}' is not a repository name; write it as owner/name, e.g. acme/payments.")
    accounts: dict[str, str] = {}
    raw_accounts = m.get("accounts")
    if not isinstance(raw_accounts, Mapping) or not raw_accounts:
        c.bad(
            f"{where}.accounts",
            'is required: map each 12-digit AWS account id to its environment, e.g. {"111111111111": production}.',
        )
    else:
        for acct, env in raw_accounts.items():
            acct_s = str(acct)
            if not _ACCOUNT.match(acct_s):
                c.bad(
                    f"{where}.accounts.{acct_s}",
                    "is not a 12-digit AWS account id; quote it in YAML so leading zeros are kept.",
                )
            if not isinstance(env, str) or not env:
                c.bad(f"{where}.accounts.{acct_s}", f"must name an environment ({ENVIRONMENTS_HINT}).")
                continue
            accounts[acct_s] = env
    min_sev = _min_severity(c, m.get("min_severity"), f"{where}.min_severity", set(accounts.values()))
    oncall = None
    if "oncall" in m:
        oncall = parse_oncall(m["oncall"], f"{c.source}: {where}.oncall", c.problems)
    group_by = m.get("group_by", "resource")
    if group_by not in ("resource", "control"):
        c.bad(f"{where}.group_by", "must be 'resource' (default: one issue per finding or tag group) or 'control'.")
        group_by = "resource"
    reassign = m.get("reassign_on_handover", True)
    if not isinstance(reassign, bool):
        c.bad(f"{where}.reassign_on_handover", "must be true or false.")
        reassign = True
    page = parse_page(m["page"], f"{c.source}: {where}.page", c.problems) if "page" in m else None
    remind = _sla(c, m.get("remind_every_days"), f"{where}.remind_every_days", {})
    if name is None or repo is None or not accounts:
        return None
    return Service(
        name=name,
        repo=repo,
        accounts=accounts,
        min_severity=min_sev,
        oncall=oncall,
        filters=_filters(c, m.get("filters"), f"{where}.filters"),
        honored_until=c.day(m, "honored_until", where),
        group_by=group_by,
        escalation=tuple(c.strings(m, "escalation", where)),
        sla_days=_sla(c, m.get("sla_days"), f"{where}.sla_days", defaults_sla),
        remind_every_days=remind,
        reassign_on_handover=reassign,
        page=page,
    )


def parse_config(data: object, source: str, base_dir: Path | None = None) -> Config:
    """Validate already-loaded YAML; raise ConfigError listing every problem."""
    c = _Checker(source)
    top = c.mapping(data, "", TOP_KEYS) if data is not None else {}
    if data is None or not isinstance(data, Mapping):
        if data is not None:
            raise ConfigError(c.problems)
        raise ConfigError([f"{source}: the file is empty; start it with 'version: 1' and a 'services' list."])
    if top.get("version") != 1:
        c.bad("version", "must be 1 (the only config version this liver understands).")
    sh = c.mapping(top.get("securityhub"), "securityhub", {"region"})
    region = c.string(sh, "region", "securityhub")
    ap = c.mapping(top.get("approval"), "approval", {"label", "approvers", "expires_after_days"})
    approvers = c.strings(ap, "approvers", "approval")
    for i, a in enumerate(approvers):
        if not (_LOGIN.match(a) or _TEAM.match(a)):
            c.bad(f"approval.approvers[{i}]", f"'{a}' is neither a GitHub login nor an org/team-slug.")
    approval = Approval(
        label=c.string(ap, "label", "approval", "liver/suppress-approved") or "liver/suppress-approved",
        approvers=approvers,
        expires_after_days=c.integer(ap, "expires_after_days", "approval", 180, minimum=1),
    )
    it = c.mapping(top.get("ignore_tag"), "ignore_tag", {"key", "honored_until"})
    ignore = IgnoreTag(
        key=c.string(it, "key", "ignore_tag", "liver:ignore") or "liver:ignore",
        honored_until=c.day(it, "honored_until", "ignore_tag"),
    )
    protos = c.strings(top, "prototype_accounts", "")
    for i, a in enumerate(protos):
        if not _ACCOUNT.match(a):
            c.bad(f"prototype_accounts[{i}]", f"'{a}' is not a 12-digit AWS account id; quote it in YAML.")
    group_tags = c.strings(top, "group_by_tags", "") if "group_by_tags" in top else ("aws:autoscaling:groupName",)
    df = c.mapping(top.get("defaults"), "defaults", {"min_severity", "sla_days"})
    default_sev = c.severity(df.get("min_severity", "HIGH"), "defaults.min_severity") or Severity.HIGH
    default_sla = _sla(c, df.get("sla_days"), "defaults.sla_days", DEFAULT_SLA_DAYS)
    people = parse_people(top.get("people"), f"{source}: people", c.problems) if "people" in top else {}
    services_raw = top.get("services")
    services: list[Service] = []
    if not isinstance(services_raw, list) or not services_raw:
        c.bad("services", "is required: a list of services, each with name, repo and accounts.")
    else:
        for i, node in enumerate(services_raw):
            svc = _service(c, node, f"services[{i}]", bool(people), default_sla)
            if svc is not None:
                services.append(svc)
    owners: dict[str, str] = {}
    names: set[str] = set()
    for svc in services:
        if svc.name in names:
            c.bad("services", f"the name '{svc.name}' is used twice; service names must be unique.")
        names.add(svc.name)
        for acct in svc.accounts:
            if acct in owners:
                c.bad(
                    f"services.{svc.name}.accounts.{acct}",
                    f"account is already owned by service '{owners[acct]}'; an account belongs to one service.",
                )
            owners[acct] = svc.name
    overrides = c.strings(top, "repo_overrides", "")
    for key in overrides:
        if key not in OVERRIDABLE:
            c.bad("repo_overrides", f"'{key}' cannot be overridden by a repository; allowed: {', '.join(OVERRIDABLE)}.")
    gh = c.mapping(top.get("github"), "github", {"mutations_per_minute", "mutations_per_hour"})
    exp_dir = c.string(top, "explanations_dir", "")
    exp_path = None
    if exp_dir:
        exp_path = Path(exp_dir)
        if not exp_path.is_absolute() and base_dir is not None:
            exp_path = base_dir / exp_path
    config = Config(
        path=Path(source),
        region=region,
        approval=approval,
        ignore_tag=ignore,
        prototype_accounts=frozenset(protos),
        group_by_tags=group_tags,
        default_min_severity=default_sev,
        services=tuple(services),
        filters=_filters(c, top.get("filters"), "filters"),
        max_new_issues=c.integer(top, "max_new_issues", "", 50, minimum=0),
        explanations_dir=exp_path,
        people=people,
        page=parse_page(top["page"], f"{source}: page", c.problems) if "page" in top else None,
        repo_overrides=overrides,
        mutations_per_minute=c.integer(gh, "mutations_per_minute", "github", 80, minimum=1),
        mutations_per_hour=c.integer(gh, "mutations_per_hour", "github", 500, minimum=1),
    )
    if c.problems:
        raise ConfigError(c.problems)
    return config


def load_yaml(text: str, source: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
        raise ConfigError(
            [f"{source}: {line}: YAML syntax error: {e.problem}. Fix the YAML and run 'liver check-config'."]
        ) from None
    except yaml.YAMLError as e:
        raise ConfigError([f"{source}: YAML error: {e}."]) from None


def default_path() -> Path:
    return Path(os.environ.get("LIVER_CONFIG") or "liver.yml")


def load_config(path: Path | None = None) -> Config:
    path = path or default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [f"{path}: file not found; create it (see the README's configuration reference) or pass --config."]
        ) from None
    except OSError as e:
        raise ConfigError([f"{path}: cannot be read ({e.strerror}); check the path and permissions."]) from None
    return parse_config(load_yaml(text, str(path)), str(path), path.parent)


OVERRIDE_PATH = ".github/liver.yml"


def apply_repo_override(service: Service, text: str, allowed: tuple[str, ...]) -> tuple[Service, list[str]]:
    """Apply a service repository's own ``.github/liver.yml``, validated like the main file.

    Only the keys the central config lists in ``repo_overrides`` may be set. Any problem
    means the central values are used and the problems are returned for the summary.
    """
    source = f"{service.repo}:{OVERRIDE_PATH}"
    try:
        data = load_yaml(text, source)
    except ConfigError as e:
        return service, e.problems
    c = _Checker(source)
    node = c.mapping(data, "", {"version", *OVERRIDABLE})
    for key in node:
        if key in OVERRIDABLE and key not in allowed:
            c.bad(key, "may not be overridden by a repository; the central config's repo_overrides does not list it.")
    changes: dict[str, Any] = {}
    if "min_severity" in node and "min_severity" in allowed:
        changes["min_severity"] = _min_severity(c, node["min_severity"], "min_severity", set(service.accounts.values()))
    if "oncall" in node and "oncall" in allowed:
        changes["oncall"] = parse_oncall(node["oncall"], f"{source}: oncall", c.problems)
    if c.problems:
        return service, [*c.problems, f"{source}: the central values are used until this is fixed."]
    return replace(service, **changes), []
