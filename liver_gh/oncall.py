"""Who is on call for a service, as GitHub logins to try in order.

A service names one provider: a rotation kept in liver.yml, a PagerDuty schedule or
escalation policy, an Opsgenie schedule, or one static login. PagerDuty and Opsgenie
answer with emails, which ``people:`` maps to GitHub logins.

Parsing reports every problem at once and never raises. Resolving never raises either:
a provider that cannot answer must not stop findings from being filed, so the service's
fallback is used and a note says why.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from liver_gh.errors import OncallError

__all__ = [
    "OncallAnswer",
    "OncallResolver",
    "OncallSpec",
    "OpsgenieSpec",
    "PagerDutySpec",
    "RotationOverride",
    "RotationSpec",
    "StaticSpec",
    "parse_oncall",
    "parse_people",
]

HTTP_TIMEOUT: Final = 10.0
PAGERDUTY_API: Final = "https://api.pagerduty.com"
OPSGENIE_API: Final[Mapping[str, str]] = {
    "us": "https://api.opsgenie.com",
    "eu": "https://api.eu.opsgenie.com",
}
PROVIDERS: Final = ("rotation", "pagerduty", "opsgenie", "static")
_ROTATION_KEYS: Final = ("start", "every", "timezone", "overrides")
_PAGERDUTY_ACCEPT: Final = "application/vnd.pagerduty+json;version=2"
_OVERRIDE_EXAMPLE: Final = "{from: 2026-12-24, until: 2026-12-27, login: carol}"

# GitHub logins: letters, digits and inner hyphens, at most 39 characters.
_LOGIN_RE: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?")
_ENV_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EVERY_RE: Final = re.compile(r"\s*(\d+)\s*([dw])\s*", re.IGNORECASE)


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
    overrides: tuple[RotationOverride, ...]


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


@dataclass(frozen=True)
class OncallSpec:
    provider: RotationSpec | PagerDutySpec | OpsgenieSpec | StaticSpec
    fallback: tuple[str, ...]


@dataclass(frozen=True)
class OncallAnswer:
    candidates: tuple[str, ...]
    source: str
    notes: tuple[str, ...]


# --------------------------------------------------------------------------- parsing


def check_keys(node: Mapping[object, object], allowed: Iterable[str], where: str, problems: list[str]) -> None:
    """One problem per key that is not in ``allowed``, with a suggestion when one is close."""
    known = list(allowed)
    for key in node:
        if isinstance(key, str) and key in known:
            continue
        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"use {_one_of(known)}"
        problems.append(f"{where}.{key}: unknown key; {hint}")


def env_var_name(value: object, where: str, problems: list[str]) -> str | None:
    if isinstance(value, str) and _ENV_RE.fullmatch(value.strip()):
        return value.strip()
    problems.append(
        f"{where}: must name the environment variable that holds the secret, like "
        "PAGERDUTY_TOKEN; never put the secret itself in liver.yml"
    )
    return None


def _one_of(names: Iterable[str], word: str = "or") -> str:
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _login(value: object, where: str, problems: list[str]) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads an all-digit login as a number
    if isinstance(value, str) and _LOGIN_RE.fullmatch(value.strip()):
        return value.strip()
    if isinstance(value, str) and "@" in value:
        hint = "write the bare GitHub login, not an email or @mention (people: maps emails)"
    else:
        hint = "write a GitHub login like octocat"
    problems.append(f"{where}: {value!r} is not a GitHub login; {hint}")
    return None


def _logins(value: object, where: str, problems: list[str], *, required: bool) -> tuple[str, ...] | None:
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list of GitHub logins, like [alice, bob]")
        return None
    if required and not value:
        problems.append(f"{where}: must list at least one GitHub login")
        return None
    logins = [_login(item, f"{where}[{i}]", problems) for i, item in enumerate(value)]
    return tuple(x for x in logins if x is not None) if None not in logins else None


def _date(value: object, where: str, problems: list[str]) -> date | None:
    if isinstance(value, datetime):
        problems.append(f"{where}: must be a date without a time, like 2026-11-02")
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(f"{where}: must be a date like 2026-11-02")
    return None


def _every(value: object, where: str, problems: list[str]) -> timedelta | None:
    match = _EVERY_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        problems.append(f"{where}: must be a number of days or weeks, like 1w or 3d")
        return None
    count = int(match.group(1))
    if count < 1:
        problems.append(f"{where}: must be at least 1d")
        return None
    return timedelta(days=count * (7 if match.group(2).lower() == "w" else 1))


def _zone(name: str) -> tzinfo:
    # UTC needs no time-zone database, so the default works on machines without one.
    return UTC if name == "UTC" else ZoneInfo(name)


def _timezone(value: object, where: str, problems: list[str]) -> str | None:
    if isinstance(value, str) and value.strip():
        try:
            _zone(value.strip())
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return value.strip()
    problems.append(f"{where}: {value!r} is not an IANA time zone; use a name like Europe/Berlin or UTC")
    return None


def _text(value: object, where: str, problems: list[str], example: str) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    problems.append(f"{where}: must be a non-empty string, like {example}")
    return None


def _overrides(value: object, where: str, problems: list[str]) -> tuple[RotationOverride, ...] | None:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.append(f"{where}: must be a list like [{_OVERRIDE_EXAMPLE}]")
        return None
    result: list[RotationOverride] = []
    before = len(problems)
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{at}: must be a mapping like {_OVERRIDE_EXAMPLE}")
            continue
        check_keys(item, ("from", "until", "login"), at, problems)
        missing = [k for k in ("from", "until", "login") if k not in item]
        if missing:
            problems.append(f"{at}: missing {_one_of(missing, 'and')}; an override needs from, until and login")
            continue
        start = _date(item["from"], f"{at}.from", problems)
        until = _date(item["until"], f"{at}.until", problems)
        login = _login(item["login"], f"{at}.login", problems)
        if start is None or until is None or login is None:
            continue
        if until <= start:
            problems.append(
                f"{at}.until: must be after from; until is exclusive, the first day the rotation applies again"
            )
            continue
        result.append(RotationOverride(start=start, until=until, login=login))
    return tuple(result) if len(problems) == before else None


def _parse_rotation(node: Mapping[object, object], where: str, problems: list[str]) -> RotationSpec | None:
    members = _logins(node["rotation"], f"{where}.rotation", problems, required=True)
    start: date | None = None
    if "start" in node:
        start = _date(node["start"], f"{where}.start", problems)
    else:
        problems.append(f"{where}.start: missing; set it to the day rotation[0] starts, like 2026-11-02")
    every = _every(node.get("every", "1w"), f"{where}.every", problems)
    zone = _timezone(node.get("timezone", "UTC"), f"{where}.timezone", problems)
    overrides = _overrides(node.get("overrides"), f"{where}.overrides", problems)
    if members is None or start is None or every is None or zone is None or overrides is None:
        return None
    return RotationSpec(members=members, start=start, every=every, timezone=zone, overrides=overrides)


def _parse_pagerduty(value: object, where: str, problems: list[str]) -> PagerDutySpec | None:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: must be a mapping like {{schedule_id: PABC123, token_env: PAGERDUTY_TOKEN}}")
        return None
    before = len(problems)
    check_keys(value, ("schedule_id", "escalation_policy_id", "token_env"), where, problems)
    ids: dict[str, str | None] = {"schedule_id": None, "escalation_policy_id": None}
    for key in ids:
        if key in value:
            ids[key] = _text(value[key], f"{where}.{key}", problems, "PABC123")
    if "schedule_id" in value and "escalation_policy_id" in value:
        problems.append(f"{where}: give schedule_id or escalation_policy_id, not both")
    elif "schedule_id" not in value and "escalation_policy_id" not in value:
        problems.append(
            f"{where}: needs schedule_id or escalation_policy_id; the ID is the last part of the "
            "schedule's or policy's URL in PagerDuty"
        )
    token_env = env_var_name(value.get("token_env", "PAGERDUTY_TOKEN"), f"{where}.token_env", problems)
    if len(problems) != before or token_env is None:
        return None
    return PagerDutySpec(
        token_env=token_env,
        schedule_id=ids["schedule_id"],
        escalation_policy_id=ids["escalation_policy_id"],
    )


def _parse_opsgenie(value: object, where: str, problems: list[str]) -> OpsgenieSpec | None:
    if not isinstance(value, Mapping):
        problems.append(f"{where}: must be a mapping like {{schedule: search-primary, token_env: OPSGENIE_API_KEY}}")
        return None
    before = len(problems)
    check_keys(value, ("schedule", "token_env", "region"), where, problems)
    schedule: str | None = None
    if "schedule" in value:
        schedule = _text(value["schedule"], f"{where}.schedule", problems, "search-primary")
    else:
        problems.append(f"{where}.schedule: missing; give the Opsgenie schedule's name")
    token_env = env_var_name(value.get("token_env", "OPSGENIE_API_KEY"), f"{where}.token_env", problems)
    region_value = value.get("region", "us")
    region: Literal["us", "eu"] | None = None
    if isinstance(region_value, str) and region_value.strip().lower() in ("us", "eu"):
        region = "eu" if region_value.strip().lower() == "eu" else "us"
    else:
        problems.append(f"{where}.region: must be us or eu, the Opsgenie instance your account is on")
    if len(problems) != before or schedule is None or token_env is None or region is None:
        return None
    return OpsgenieSpec(schedule=schedule, token_env=token_env, region=region)


def parse_oncall(node: object, where: str, problems: list[str]) -> OncallSpec | None:
    """Validate one service's ``oncall:`` node; append one line per problem to ``problems``."""
    if not isinstance(node, Mapping):
        problems.append(f"{where}: must be a mapping naming one provider: {_one_of(PROVIDERS)}")
        return None
    before = len(problems)
    chosen = [name for name in PROVIDERS if name in node]
    if not chosen:
        problems.append(f"{where}: name exactly one on-call provider: {_one_of(PROVIDERS)}")
    elif len(chosen) > 1:
        problems.append(f"{where}: has {' and '.join(chosen)}; keep exactly one on-call provider")
    kind = chosen[0] if len(chosen) == 1 else None

    if kind is not None and kind != "rotation":
        for key in _ROTATION_KEYS:
            if key in node:
                problems.append(f"{where}.{key}: only a rotation uses {key}; remove it")
    # Rotation keys are allowed when the provider is missing: the message above already says why.
    rotation_keys = _ROTATION_KEYS if kind in ("rotation", None) else ()
    check_keys(
        {k: v for k, v in node.items() if k not in _ROTATION_KEYS},
        (*PROVIDERS, "fallback", *rotation_keys),
        where,
        problems,
    )

    fallback_node = node.get("fallback")
    fallback = () if fallback_node is None else _logins(fallback_node, f"{where}.fallback", problems, required=False)

    provider: RotationSpec | PagerDutySpec | OpsgenieSpec | StaticSpec | None = None
    if kind == "rotation":
        provider = _parse_rotation(node, where, problems)
    elif kind == "pagerduty":
        provider = _parse_pagerduty(node["pagerduty"], f"{where}.pagerduty", problems)
    elif kind == "opsgenie":
        provider = _parse_opsgenie(node["opsgenie"], f"{where}.opsgenie", problems)
    elif kind == "static":
        login = _login(node["static"], f"{where}.static", problems)
        provider = StaticSpec(login) if login is not None else None

    if provider is None or fallback is None or len(problems) != before:
        return None
    return OncallSpec(provider=provider, fallback=fallback)


def parse_people(node: object, where: str, problems: list[str]) -> dict[str, str]:
    """Validate the top-level ``people:`` mapping of email to GitHub login; emails lower-cased."""
    if node is None:
        return {}
    if not isinstance(node, Mapping):
        problems.append(f"{where}: must map emails to GitHub logins, like {{alice@example.com: alice}}")
        return {}
    people: dict[str, str] = {}
    for key, value in node.items():
        if not isinstance(key, str) or "@" not in key or any(c.isspace() for c in key.strip()):
            problems.append(f"{where}: key {key!r} is not an email address; write email: login")
            continue
        login = _login(value, f'{where}["{key}"]', problems)
        if login is None:
            continue
        email = key.strip().lower()
        if email in people and people[email].lower() != login.lower():
            problems.append(
                f'{where}["{key}"]: this email is already mapped to {people[email]} '
                "(emails are compared ignoring case); keep one"
            )
            continue
        people[email] = login
    return people


# --------------------------------------------------------------------------- HTTP


def request_with_retry(
    session: requests.Session,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str],
    params: Mapping[str, str] | None = None,
    json_body: object = None,
    retry_delay: float = 0.5,
) -> requests.Response:
    """Send once, and once more after a short pause on a connection error or a 5xx answer.

    Raises ``requests.RequestException`` when no answer came. A read timeout is not
    retried: the request may have been taken, and waiting twice would double the stall.
    """
    for attempt in (1, 2):
        try:
            response = session.request(
                method,
                url,
                headers=dict(headers),
                params=params,
                json=json_body,
                timeout=HTTP_TIMEOUT,
            )
        except requests.ConnectionError:
            if attempt == 2:
                raise
        else:
            if response.status_code < 500 or attempt == 2:
                return response
        time.sleep(retry_delay)
    raise AssertionError("unreachable")  # pragma: no cover


class _ProviderFailure(OncallError):
    """A provider gave no usable answer; the message is a clause for a note."""


def _fetch_json(
    session: requests.Session,
    url: str,
    *,
    params: Mapping[str, str],
    headers: Mapping[str, str],
    provider: str,
    token_env: str,
    what: str,
    retry_delay: float,
) -> object:
    try:
        response = request_with_retry(session, "GET", url, headers=headers, params=params, retry_delay=retry_delay)
    except requests.Timeout as exc:
        raise _ProviderFailure(f"{provider} did not answer within {HTTP_TIMEOUT:g} s") from exc
    except requests.RequestException as exc:
        raise _ProviderFailure(f"{provider} could not be reached ({type(exc).__name__})") from exc
    status = response.status_code
    if status in (401, 403):
        raise _ProviderFailure(
            f"{provider} refused the key in {token_env} (HTTP {status}); check that it is valid and may read {what}"
        )
    if status == 404:
        raise _ProviderFailure(f"{provider} does not know {what} (HTTP 404); check liver.yml")
    if status == 429:
        raise _ProviderFailure(f"{provider} is rate-limiting liver (HTTP 429)")
    if status != 200:
        raise _ProviderFailure(f"{provider} could not be reached (HTTP {status})")
    try:
        return response.json()
    except ValueError as exc:
        raise _ProviderFailure(f"{provider} answered with something that is not JSON") from exc


# --------------------------------------------------------------------------- resolving


@dataclass(frozen=True)
class _Lookup:
    """What a provider said, before the service's fallback is added."""

    logins: tuple[str, ...]
    source: str
    reasons: tuple[str, ...]  # clauses without a final period


def _rotation_oncall(spec: RotationSpec, now: datetime) -> tuple[str, str]:
    local = now.astimezone(_zone(spec.timezone))
    today = local.date()
    for override in spec.overrides:
        if override.start <= today < override.until:
            return override.login, "override"
    if spec.every <= timedelta(0):
        raise ValueError("a rotation's every must be positive")
    # Wall-clock arithmetic, so handovers stay at local midnight across DST changes.
    elapsed = local.replace(tzinfo=None) - datetime.combine(spec.start, datetime.min.time())
    if elapsed < timedelta(0):
        return spec.members[0], "rotation"
    return spec.members[(elapsed // spec.every) % len(spec.members)], "rotation"


def _is_level_one(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == 1


def _pagerduty_emails(body: object, what: str) -> tuple[list[str], list[str]]:
    """Emails of the level-1 on-calls, in order, and reasons for level-1 users without one."""
    oncalls = body.get("oncalls") if isinstance(body, dict) else None
    if not isinstance(oncalls, list):
        raise _ProviderFailure("PagerDuty answered without an oncalls list")
    emails: list[str] = []
    reasons: list[str] = []
    for entry in oncalls:
        if not isinstance(entry, dict) or not _is_level_one(entry.get("escalation_level")):
            continue
        user = entry.get("user")
        email = user.get("email") if isinstance(user, dict) else None
        if isinstance(email, str) and email.strip():
            if email.strip().lower() not in emails:
                emails.append(email.strip().lower())
        else:
            name = user.get("summary") if isinstance(user, dict) else None
            reasons.append(f"PagerDuty did not give the email of {name or 'an on-call user'} for {what}")
    return emails, reasons


def _opsgenie_emails(body: object) -> list[str]:
    data = body.get("data") if isinstance(body, dict) else None
    recipients = data.get("onCallRecipients") if isinstance(data, dict) else None
    if not isinstance(recipients, list):
        raise _ProviderFailure("Opsgenie answered without data.onCallRecipients")
    emails: list[str] = []
    for item in recipients:
        if isinstance(item, str) and item.strip() and item.strip().lower() not in emails:
            emails.append(item.strip().lower())
    return emails


def _dedupe(logins: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for login in logins:
        if login.lower() not in seen:  # GitHub logins ignore case
            seen.add(login.lower())
            out.append(login)
    return tuple(out)


def _answer(lookup: _Lookup, fallback: tuple[str, ...]) -> OncallAnswer:
    candidates = _dedupe((*lookup.logins, *fallback))
    if lookup.logins:
        return OncallAnswer(candidates, lookup.source, tuple(f"{r}." for r in lookup.reasons))
    reason = "; ".join(lookup.reasons) or "nobody is on call"
    tail = "using the service's fallback" if fallback else "the service has no fallback, so nobody is assigned"
    return OncallAnswer(candidates, "fallback", (f"{reason}; {tail}.",))


class OncallResolver:
    """Answers who is on call; asks each PagerDuty or Opsgenie schedule at most once."""

    retry_delay: float = 0.5  # seconds before the one retry; tests set it to 0

    def __init__(
        self, people: Mapping[str, str], env: Mapping[str, str], session: requests.Session | None = None
    ) -> None:
        self._people = {email.strip().lower(): login for email, login in people.items()}
        self._env = env
        self._session = session if session is not None else requests.Session()
        self._cache: dict[PagerDutySpec | OpsgenieSpec, _Lookup] = {}

    def who(self, spec: OncallSpec, now: datetime) -> OncallAnswer:
        """The logins to try for ``spec`` at ``now`` (naive means UTC). Never raises."""
        try:
            lookup = self._lookup(spec.provider, now if now.tzinfo else now.replace(tzinfo=UTC))
        except Exception as exc:  # an answer is always owed to the caller
            lookup = _Lookup((), "fallback", (f"Could not work out who is on call ({exc})",))
        return _answer(lookup, spec.fallback)

    def _lookup(self, provider: RotationSpec | PagerDutySpec | OpsgenieSpec | StaticSpec, now: datetime) -> _Lookup:
        if isinstance(provider, StaticSpec):
            return _Lookup((provider.login,), "static", ())
        if isinstance(provider, RotationSpec):
            login, source = _rotation_oncall(provider, now)
            return _Lookup((login,), source, ())
        cached = self._cache.get(provider)
        if cached is None:
            # Failures are cached too: a provider that is down stays down for this run.
            if isinstance(provider, PagerDutySpec):
                cached = self._ask_pagerduty(provider)
            else:
                cached = self._ask_opsgenie(provider)
            self._cache[provider] = cached
        return cached

    def _token(self, token_env: str) -> str | None:
        token = self._env.get(token_env, "").strip()
        return token or None

    def _ask_pagerduty(self, spec: PagerDutySpec) -> _Lookup:
        token = self._token(spec.token_env)
        if token is None:
            return _Lookup(
                (), "pagerduty", (f"{spec.token_env} is not set, so PagerDuty was not asked who is on call",)
            )
        if spec.schedule_id is not None:
            params = {"schedule_ids[]": spec.schedule_id}
            what = f"schedule {spec.schedule_id}"
        else:
            params = {"escalation_policy_ids[]": spec.escalation_policy_id or ""}
            what = f"escalation policy {spec.escalation_policy_id}"
        params |= {"earliest": "true", "include[]": "users"}
        base = (self._env.get("PAGERDUTY_API_URL") or PAGERDUTY_API).rstrip("/")
        try:
            body = _fetch_json(
                self._session,
                f"{base}/oncalls",
                params=params,
                headers={"Authorization": f"Token token={token}", "Accept": _PAGERDUTY_ACCEPT},
                provider="PagerDuty",
                token_env=spec.token_env,
                what=what,
                retry_delay=self.retry_delay,
            )
            emails, reasons = _pagerduty_emails(body, what)
        except _ProviderFailure as exc:
            return _Lookup((), "pagerduty", (str(exc),))
        if not emails and not reasons:
            reasons.append(f"PagerDuty lists nobody on call at escalation level 1 for {what}")
        return self._map(emails, "PagerDuty", "pagerduty", tuple(reasons))

    def _ask_opsgenie(self, spec: OpsgenieSpec) -> _Lookup:
        token = self._token(spec.token_env)
        if token is None:
            return _Lookup((), "opsgenie", (f"{spec.token_env} is not set, so Opsgenie was not asked who is on call",))
        base = (self._env.get("OPSGENIE_API_URL") or OPSGENIE_API[spec.region]).rstrip("/")
        what = f"schedule {spec.schedule!r}"
        try:
            body = _fetch_json(
                self._session,
                f"{base}/v2/schedules/{quote(spec.schedule, safe='')}/on-calls",
                params={"scheduleIdentifierType": "name", "flat": "true"},
                headers={"Authorization": f"GenieKey {token}"},
                provider="Opsgenie",
                token_env=spec.token_env,
                what=what,
                retry_delay=self.retry_delay,
            )
            emails = _opsgenie_emails(body)
        except _ProviderFailure as exc:
            return _Lookup((), "opsgenie", (str(exc),))
        reasons = () if emails else (f"Opsgenie lists nobody on call for {what}",)
        return self._map(emails, "Opsgenie", "opsgenie", reasons)

    def _map(self, emails: list[str], provider: str, source: str, reasons: tuple[str, ...]) -> _Lookup:
        logins = [self._people[e] for e in emails if e in self._people]
        unmapped = [e for e in emails if e not in self._people]
        if unmapped:
            one = len(unmapped) == 1
            reasons = (
                *reasons,
                (
                    f"{provider} says {_one_of(unmapped, 'and')} "
                    f"{'is' if one else 'are'} on call, but people: in liver.yml maps "
                    f"{'that email' if one else 'those emails'} to no GitHub login"
                ),
            )
        return _Lookup(tuple(logins), source, reasons)
