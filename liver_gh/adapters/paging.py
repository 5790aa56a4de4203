"""Pages the on-call developer through PagerDuty's Events API v2 for the worst findings.

One finding is one alert: its dedup_key ties the trigger to the later resolve. A failed
page raises PagingError; the caller records it and tries again on the next run, which is
safe because PagerDuty folds repeated triggers with one dedup_key into one alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Final

import requests

from liver_gh.adapters.http import TIMEOUT, session
from liver_gh.config.model import PageSpec
from liver_gh.errors import PagingError
from liver_gh.models import Severity

__all__ = ["EVENTS_SEVERITY", "Pager", "events_severity"]

EVENTS_API: Final = "https://events.pagerduty.com"
SUMMARY_LIMIT: Final = 1024  # payload.summary's documented maximum
DEDUP_LIMIT: Final = 255  # dedup_key's documented maximum
CLIENT: Final = "liver-gh"

EVENTS_SEVERITY: Final[Mapping[Severity, str]] = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
    Severity.INFORMATIONAL: "info",
}
_EVENTS_LEVELS: Final = frozenset(EVENTS_SEVERITY.values())


def events_severity(severity: Severity | str) -> str:
    """The Events API severity for a Security Hub one; Events API names pass through."""
    if isinstance(severity, str) and severity.strip().lower() in _EVENTS_LEVELS:
        return severity.strip().lower()
    try:
        level = severity if isinstance(severity, Severity) else Severity.parse(severity)
    except ValueError as exc:
        raise PagingError(f"Cannot page with severity {severity!r}: {exc}.") from exc
    return EVENTS_SEVERITY[level]


def _dedup_key(key: str) -> str:
    if not key.strip():
        raise PagingError("Cannot page without a dedup key; this is a bug in liver.")
    if len(key) <= DEDUP_LIMIT:
        return key
    # Deterministic, so a resolve for a long key reaches the alert its trigger opened.
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: DEDUP_LIMIT - len(digest) - 1]}:{digest}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_detail(response: requests.Response) -> str:
    """PagerDuty's own words about a rejected event, if it sent any."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [str(body[k]) for k in ("status", "message") if isinstance(body.get(k), str)]
    errors = body.get("errors")
    if isinstance(errors, list):
        parts.extend(str(e) for e in errors)
    return ": " + "; ".join(parts) if parts else ""


class Pager:
    """Sends trigger and resolve events to PagerDuty's Events API v2."""

    def __init__(self, env: Mapping[str, str], http: requests.Session | None = None) -> None:
        self._env = env
        self._session = http if http is not None else session()
        base = (env.get("PAGERDUTY_EVENTS_URL") or EVENTS_API).rstrip("/")
        self._url = f"{base}/v2/enqueue"

    def trigger(
        self,
        spec: PageSpec,
        *,
        dedup_key: str,
        summary: str,
        source: str,
        severity: Severity,
        link: str,
        link_text: str,
    ) -> None:
        """Open (or re-trigger) the alert for ``dedup_key``; raises PagingError on failure."""
        event: dict[str, object] = {
            "routing_key": self._routing_key(spec),
            "event_action": "trigger",
            "dedup_key": _dedup_key(dedup_key),
            "payload": {
                "summary": _clip(summary.strip() or f"Security Hub finding {dedup_key}", SUMMARY_LIMIT),
                "source": source.strip() or CLIENT,
                "severity": events_severity(severity),
            },
            "client": CLIENT,
        }
        if link:
            event["links"] = [{"href": link, "text": link_text} if link_text else {"href": link}]
        self._send(event, spec, "trigger")

    def resolve(self, spec: PageSpec, *, dedup_key: str) -> None:
        """Resolve the alert for ``dedup_key``; raises PagingError on failure."""
        event: dict[str, object] = {
            "routing_key": self._routing_key(spec),
            "event_action": "resolve",
            "dedup_key": _dedup_key(dedup_key),
        }
        self._send(event, spec, "resolve")

    def _routing_key(self, spec: PageSpec) -> str:
        key = self._env.get(spec.routing_key_env, "").strip()
        if not key:
            raise PagingError(
                f"{spec.routing_key_env} is not set, so nobody was paged; set it to the "
                "integration key of the service's Events API v2 integration in PagerDuty."
            )
        return key

    def _send(self, event: dict[str, object], spec: PageSpec, action: str) -> None:
        # Never put the routing key in a message: it lets anyone page the team.
        try:
            response = self._session.post(self._url, json=event, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise PagingError(
                f"PagerDuty's Events API could not be reached to {action} a page "
                f"({type(exc).__name__}); liver will try again next run."
            ) from exc
        status = response.status_code
        if 200 <= status < 300:  # the API answers 202 Accepted
            return
        detail = _error_detail(response)
        if status == 400:
            raise PagingError(
                f"PagerDuty rejected the {action} event (HTTP 400{detail}); check that "
                f"{spec.routing_key_env} holds an Events API v2 integration key."
            )
        if status == 429:
            raise PagingError(f"PagerDuty is rate-limiting events (HTTP 429); liver will {action} the page next run.")
        raise PagingError(
            f"PagerDuty's Events API answered HTTP {status}{detail} to the {action} event; "
            "liver will try again next run."
        )
