"""Who is on call for a service, as GitHub logins to try in order.

A service names one provider: a rotation kept in liver.yml, a PagerDuty schedule or
escalation policy, an Opsgenie schedule, or one static login. PagerDuty and Opsgenie
answer with emails, which ``people:`` maps to GitHub logins.

Resolving never raises: a provider that cannot answer must not stop findings from being
filed, so the service's fallback is used and a note says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from liver_gh.adapters.http import TIMEOUT
from liver_gh.adapters.http import session as _session
from liver_gh.config.model import (
    OncallSpec,
    OpsgenieSpec,
    PagerDutySpec,
    Provider,
    RotationSpec,
    StaticSpec,
)
from liver_gh.errors import OncallError
from liver_gh.rules.upkeep import Oncall

PAGERDUTY_API: Final = "https://api.pagerduty.com"
OPSGENIE_API: Final[Mapping[str, str]] = {"us": "https://api.opsgenie.com", "eu": "https://api.eu.opsgenie.com"}
_PAGERDUTY_ACCEPT: Final = "application/vnd.pagerduty+json;version=2"


def _zone(name: str) -> tzinfo:
    # UTC needs no time-zone database, so the default works on machines without one.
    return UTC if name == "UTC" else ZoneInfo(name)


def _one_of(names: Iterable[str], word: str = "or") -> str:
    items = list(names)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


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
) -> object:
    try:
        response = session.get(url, headers=dict(headers), params=dict(params), timeout=TIMEOUT)
    except requests.Timeout as exc:
        raise _ProviderFailure(f"{provider} did not answer within {TIMEOUT:g} s") from exc
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


def _answer(lookup: _Lookup, fallback: tuple[str, ...], team: frozenset[str]) -> Oncall:
    candidates = _dedupe((*lookup.logins, *fallback))
    first_fallback = len(_dedupe(lookup.logins))
    if lookup.logins:
        return Oncall(candidates, tuple(f"{r}." for r in lookup.reasons), team, first_fallback, lookup.source)
    reason = "; ".join(lookup.reasons) or "nobody is on call"
    tail = "using the service's fallback" if fallback else "the service has no fallback, so nobody is assigned"
    return Oncall(candidates, (f"{reason}; {tail}.",), team, 0, "fallback")


def team_of(spec: OncallSpec, people: Mapping[str, str]) -> frozenset[str]:
    """Everyone who takes turns on call for a service; hand-over moves issues only among them."""
    provider = spec.provider
    members = set(spec.fallback)
    if isinstance(provider, RotationSpec):
        members |= set(provider.members) | {o.login for o in provider.overrides}
    elif isinstance(provider, StaticSpec):
        members.add(provider.login)
    else:
        members |= set(people.values())
    return frozenset(members)


class OncallResolver:
    """Answers who is on call; asks each PagerDuty or Opsgenie schedule at most once."""

    def __init__(
        self, people: Mapping[str, str], env: Mapping[str, str], session: requests.Session | None = None
    ) -> None:
        self._people = {email.strip().lower(): login for email, login in people.items()}
        self._env = env
        self._session = session if session is not None else _session()
        self._cache: dict[PagerDutySpec | OpsgenieSpec, _Lookup] = {}

    def who(self, service: str, spec: OncallSpec | None, now: datetime) -> Oncall:
        """The logins to try for ``spec`` at ``now`` (naive means UTC). Never raises."""
        if spec is None:
            return Oncall(())
        try:
            lookup = self._lookup(spec.provider, now if now.tzinfo else now.replace(tzinfo=UTC))
        except Exception as exc:  # an answer is always owed to the caller
            lookup = _Lookup((), "fallback", (f"Could not work out who is on call ({exc})",))
        return _answer(lookup, spec.fallback, team_of(spec, self._people))

    def _lookup(self, provider: Provider, now: datetime) -> _Lookup:
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
