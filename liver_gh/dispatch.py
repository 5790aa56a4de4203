"""Dispatch mode: one finding, within a minute of Security Hub reporting it.

An EventBridge rule on "Security Hub Findings - Imported" calls GitHub's
``POST /repos/{owner}/{repo}/dispatches`` through an API destination; the central
workflow runs ``liver sync --event`` with that ``repository_dispatch`` payload. The payload
is only a pointer: liver reads the named findings from Security Hub (one GetFindings by
Id), then decides exactly as a scheduled run would, reading only the issue each finding
links to (its recorded link, or a group member's), so a dispatch costs a handful of
requests. Ids that do not exist, findings no service is notified about, and events caused
by liver's own updates cost that one read and nothing more.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from liver_gh.config.model import Config, Service
from liver_gh.errors import ConfigError, LiverError
from liver_gh.models import Finding, TrackedIssue
from liver_gh.ports import ByIds
from liver_gh.report.run import RunReport
from liver_gh.rules import reads, routing
from liver_gh.rules.identity import UDF_ISSUE, identity_for

FINDING_EVENT = "security-hub-finding"
ISSUE_EVENT = "liver-issue"  # a service repository forwarding an issue event to the central run
MAX_IDS = 100
_ID = re.compile(r"[^\s]{1,512}")
_ISSUE_URL = re.compile(r"/([A-Za-z0-9-]{1,39})/([A-Za-z0-9._-]{1,100})/issues/(\d{1,9})$")


def finding_ids(payload: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The finding ids a ``security-hub-finding`` dispatch names; None for any other event."""
    if payload.get("action") != FINDING_EVENT:
        return None
    client = payload.get("client_payload")
    if not isinstance(client, dict):
        raise ConfigError(
            ["the dispatch payload has no client_payload object; see docs/deploy for the input transformer."]
        )
    ids = client.get("finding_ids", [client["finding_id"]] if "finding_id" in client else [])
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and _ID.fullmatch(i) for i in ids):
        raise ConfigError(["client_payload must name finding_id (a string) or finding_ids (a list of strings)."])
    if len(ids) > MAX_IDS:
        raise ConfigError([f"client_payload names {len(ids)} findings; at most {MAX_IDS} per dispatch."])
    return tuple(dict.fromkeys(ids))


def forwarded_issue(payload: Mapping[str, Any]) -> str | None:
    """OWNER/REPO#N of a ``liver-issue`` dispatch forwarded from a service repository."""
    if payload.get("action") != ISSUE_EVENT:
        return None
    client = payload.get("client_payload")
    issue = client.get("issue") if isinstance(client, dict) else None
    if not isinstance(issue, str):
        raise ConfigError(["a liver-issue dispatch needs client_payload.issue, like acme/payments#12."])
    return issue


def echo_of_liver(finding: Finding) -> bool:
    """The event was caused by liver's own update: its Note is liver's and nothing changed since."""
    note = finding.note
    return (
        note is not None
        and note.updated_by == "liver"
        and note.updated_at is not None
        and note.updated_at >= finding.updated_at
    )


def issue_of_url(url: str, config: Config) -> tuple[str, int] | None:
    """The configured repository and number an issue URL names, or None for anything else."""
    m = _ISSUE_URL.search(url)
    if not m:
        return None
    service = config.service_by_repo(f"{m.group(1)}/{m.group(2)}")
    return (service.repo, int(m.group(3))) if service else None


def gather(
    ids: tuple[str, ...],
    config: Config,
    ports: Any,
    report: RunReport,
    now: datetime,
    overrides: Callable[[tuple[Service, ...]], tuple[Service, ...]],
) -> tuple[tuple[Service, ...], dict[str, list[TrackedIssue]], dict[str, Finding]] | None:
    found = {f.id: f for f in ports.hub.findings(ByIds(ids))}
    missing = [i for i in ids if i not in found]
    if missing:
        report.warn(f"{len(missing)} dispatched finding(s) do not exist in Security Hub; nothing to do for them.")
    findings: dict[str, Finding] = {}
    issues: dict[str, list[TrackedIssue]] = {}
    services: dict[str, Service] = {}
    for finding in found.values():
        service = _worth_it(finding, config, report, now)
        if service is None:
            continue
        services[service.name] = service
        members = _members(finding, service, config, ports)
        findings.update({m.id: m for m in members})
        for url in {m.udf(UDF_ISSUE) for m in members if m.udf(UDF_ISSUE)}:
            _read_issue(url or "", config, ports, issues, report)
    if not services:
        return None
    return overrides(tuple(services.values())), issues, findings


def _worth_it(finding: Finding, config: Config, report: RunReport, now: datetime) -> Service | None:
    """The owning service, or None (counted) when the dispatch is a no-op."""
    owner = routing.owner(finding, config, config.services)
    if isinstance(owner, routing.SkipReason):
        report.skipped[owner] += 1
        return None
    if echo_of_liver(finding):
        report.warn("a dispatched finding was last changed by liver itself; nothing to do.")
        return None
    if finding.udf(UDF_ISSUE) is None:
        verdict = routing.eligibility(finding, owner, config, now.date())
        if isinstance(verdict, routing.SkipReason):
            report.skipped[verdict] += 1
            return None
    return owner.service


def _members(finding: Finding, service: Service, config: Config, ports: Any) -> list[Finding]:
    """The finding, and for a group the other members (one more read) to find the group's issue."""
    identity = identity_for(finding, service.name, service.group_by, config.group_by_tags)
    if not identity.grouped:
        return [finding]
    return [finding, *(f for f in ports.hub.findings(reads.query_for(identity, service)) if f.id != finding.id)]


def _read_issue(url: str, config: Config, ports: Any, issues: dict[str, list[TrackedIssue]], report: RunReport) -> None:
    where = issue_of_url(url, config)
    if where is None:
        return  # not a configured repository: the link cannot verify, the rules say so
    repo, number = where
    if any(i.number == number for i in issues.get(repo, [])):
        return
    try:
        issues.setdefault(repo, []).append(ports.tracker.get_issue(repo, number))
    except LiverError as e:
        report.fail(f"{repo}#{number}: {e}")
