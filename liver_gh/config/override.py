"""A service repository's own ``.github/liver.yml``: it may narrow, never grant.

Repository maintainers control this file, so it is parsed as untrusted input (size,
encoding, no aliases, bounded values) and may only change what the central config's
``repo_overrides`` lists, and only in the narrowing direction: a higher minimum severity,
shorter SLAs, its own on-call. Approvers, accounts and severity floors stay central. Any
problem means the service runs on the central values and the problem is reported.
"""

from __future__ import annotations

from dataclasses import replace

import pydantic

from liver_gh.config import schema
from liver_gh.config.load import MAX_OVERRIDE_BYTES, decode, parse_yaml, validation_problems
from liver_gh.config.model import Config, Overridable, Service
from liver_gh.errors import ConfigError
from liver_gh.models import Severity


def apply_override(service: Service, raw: bytes, config: Config) -> tuple[Service, list[str]]:
    """The service with its repository's override applied, and the problems found."""
    source = f"{service.repo}:.github/liver.yml"
    try:
        data, node = parse_yaml(decode(raw, source, MAX_OVERRIDE_BYTES), source)
    except ConfigError as e:
        return service, _fallback(e.problems, source)
    if data is None:
        return service, []
    if not isinstance(data, dict):
        return service, _fallback([f"{source}: the top level must be a mapping."], source)
    allowed = {o.value for o in config.repo_overrides}
    problems = [
        f"{source}: {key}: may not be overridden by a repository; the central config's repo_overrides does not list it."
        for key in sorted(str(k) for k in data)
        if key in schema.OverrideSchema.model_fields and key != "version" and key not in allowed
    ]
    try:
        parsed = schema.OverrideSchema.model_validate(data)
    except pydantic.ValidationError as e:
        return service, _fallback([*validation_problems(e, schema.OverrideSchema, source, node), *problems], source)
    updated = service
    if parsed.min_severity is not None and Overridable.MIN_SEVERITY in config.repo_overrides:
        updated = replace(updated, min_severity=_raised_minimum(service, parsed.min_severity, config, source, problems))
    if parsed.sla_days is not None and Overridable.SLA_DAYS in config.repo_overrides:
        updated = replace(updated, sla_days=_shorter_slas(service, parsed.sla_days, source, problems))
    if parsed.oncall is not None and Overridable.ONCALL in config.repo_overrides:
        updated = replace(updated, oncall=parsed.oncall.build())
    if problems:
        return service, _fallback(problems, source)
    return updated, []


def _fallback(problems: list[str], source: str) -> list[str]:
    return [*problems, f"{source}: the central values are used for this service until the file is fixed."]


def _raised_minimum(
    service: Service, value: schema.MinSeverity, config: Config, source: str, problems: list[str]
) -> dict[str, Severity]:
    wanted = schema.min_severity_map(value)
    envs = sorted(set(service.accounts.values()))
    out = dict(service.min_severity)
    for env in envs:
        level = wanted.get(env, wanted.get("*"))
        if level is None:
            continue
        floor = service.threshold(env, config.default_min_severity)
        if level < floor:
            problems.append(
                f"{source}: min_severity: {level.name} for {env} is below the central minimum {floor.name}; "
                "a repository may only raise it."
            )
        out[env] = level
    unknown = sorted(set(wanted) - set(envs) - {"*"})
    if unknown:
        problems.append(f"{source}: min_severity: no account of this service has environment(s) {', '.join(unknown)}.")
    return out


def _shorter_slas(
    service: Service, value: dict[Severity, int], source: str, problems: list[str]
) -> dict[Severity, int]:
    out = dict(service.sla_days)
    for severity, days in value.items():
        central = service.sla_days.get(severity)
        if central is not None and days > central:
            problems.append(
                f"{source}: sla_days.{severity.name}: {days} days is longer than the central {central}; "
                "a repository may only shorten it."
            )
        out[severity] = days
    return out
