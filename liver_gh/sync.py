"""One sync: read both systems, plan, apply. The CLI and the demo both call this."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from liver_gh import identity
from liver_gh.apply import apply_plan
from liver_gh.config import OVERRIDE_PATH, Config, Service, apply_repo_override
from liver_gh.errors import ConfigError, LiverError
from liver_gh.explanations import Library
from liver_gh.github import GitHubTracker
from liver_gh.models import Finding, TrackedIssue
from liver_gh.oncall import OncallResolver, RotationSpec, StaticSpec
from liver_gh.paging import Pager
from liver_gh.plan import Oncall, World, build_plan, latest_approval, needs_details
from liver_gh.report import RunReport
from liver_gh.securityhub import SecurityHub, new_findings_filter, tracked_filter

_ISSUE_REF = re.compile(r"^([A-Za-z0-9-]+/[A-Za-z0-9._-]+)#(\d+)$")


@dataclass(frozen=True)
class Scope:
    """Which services a run handles: all, one repository's, or one shard of them."""

    repo: str | None = None
    shard: tuple[int, int] | None = None  # (index starting at 1, count)

    def select(self, services: tuple[Service, ...]) -> tuple[Service, ...]:
        chosen = services
        if self.repo:
            chosen = tuple(s for s in chosen if s.repo.lower() == self.repo.lower())
        if self.shard:
            i, n = self.shard
            # Hash, not position: adding a service must not move every other one.
            chosen = tuple(s for s in chosen if int(hashlib.sha256(s.name.encode()).hexdigest(), 16) % n == i - 1)
        return chosen

    @property
    def partial(self) -> bool:
        return bool(self.repo or self.shard)


def parse_issue_ref(text: str) -> tuple[str, int]:
    m = _ISSUE_REF.match(text.strip())
    if not m:
        raise ConfigError([f"--issue {text!r}: write it as OWNER/REPO#NUMBER, e.g. acme/payments#12."])
    return m.group(1), int(m.group(2))


def _oncall(services: tuple[Service, ...], config: Config, env: Mapping[str, str], now: datetime) -> dict[str, Oncall]:
    resolver = OncallResolver(config.people, env)
    out = {}
    for s in services:
        if s.oncall is None:
            out[s.name] = Oncall(())
            continue
        answer = resolver.who(s.oncall, now)
        out[s.name] = Oncall(answer.candidates, answer.notes, _team(s, config))
    return out


def _team(service: Service, config: Config) -> frozenset[str]:
    """Everyone who takes turns on call for a service; hand-over moves issues only among them."""
    assert service.oncall is not None
    provider = service.oncall.provider
    members = set(service.oncall.fallback)
    if isinstance(provider, RotationSpec):
        members |= set(provider.members) | {o.login for o in provider.overrides}
    elif isinstance(provider, StaticSpec):
        members.add(provider.login)
    else:
        members |= set(config.people.values())
    return frozenset(members)


def _approvers(config: Config, tracker: GitHubTracker, issues: list[TrackedIssue], now: datetime) -> frozenset[str]:
    """Approver logins, plus any labeller confirmed as a member of an approver team."""
    allowed = {a.lower() for a in config.approval.logins}
    for issue in issues:
        if issue.events is None:
            continue
        last = latest_approval(issue, config.approval.label, frozenset(), now, config.approval.expires_after_days)
        if last is None or last.actor.lower() in allowed:
            continue
        if any(tracker.in_team(team, last.actor) for team in config.approval.teams):
            allowed.add(last.actor.lower())
    return frozenset(allowed)


def _with_overrides(
    config: Config, services: tuple[Service, ...], tracker: GitHubTracker, report: RunReport
) -> tuple[Service, ...]:
    """Each repository's own .github/liver.yml, where the central config allows it."""
    if not config.repo_overrides:
        return services
    out = []
    for service in services:
        try:
            text = tracker.read_file(service.repo, OVERRIDE_PATH)
        except LiverError as e:
            report.warnings.append(f"{service.repo}: {OVERRIDE_PATH} could not be read ({e}); central values used.")
            text = None
        if text is None:
            out.append(service)
            continue
        updated, problems = apply_repo_override(service, text, config.repo_overrides)
        report.warnings.extend(problems)
        out.append(updated)
    return tuple(out)


def run_sync(
    config: Config,
    *,
    tracker: GitHubTracker,
    hub: SecurityHub,
    library: Library,
    now: datetime,
    env: Mapping[str, str],
    dry_run: bool = False,
    scope: Scope = Scope(),
    issue_ref: str | None = None,
    keep_rendered: bool = False,
) -> RunReport:
    report = RunReport(dry_run=dry_run, keep_rendered=keep_rendered)
    services = scope.select(config.services)
    if scope.partial and not services:
        report.warnings.append(f"No configured service matches {scope.repo or scope.shard}; nothing to do.")
        return report
    findings: dict[str, Finding] = {}
    only_issue: TrackedIssue | None = None
    issues: dict[str, list[TrackedIssue]] = {}

    if issue_ref:
        repo, number = parse_issue_ref(issue_ref)
        service = config.service_by_repo(repo)
        if service is None:
            report.warnings.append(f"{repo} is not the repository of any configured service; nothing to do.")
            return report
        services = (service,)
        only_issue = tracker.get_issue(repo, number)
        if "liver" not in only_issue.labels or only_issue.key is None:
            report.warnings.append(
                f"{only_issue.ref} is not a liver issue (no liver label or identity); nothing to do."
            )
            return report
        for f in hub.findings(tracked_filter(only_issue.key)):
            findings[f.id] = f
        issues[repo] = [only_issue]
    else:
        accounts = {a for s in services for a in s.accounts}
        lowest = min([config.default_min_severity, *[v for s in services for v in s.min_severity.values()]])
        new_filter = new_findings_filter(
            lowest,
            products=config.filters.products_include,
            exclude_products=config.filters.products_exclude,
            regions=config.filters.regions,
        )
        for f in hub.findings(new_filter) + hub.findings(tracked_filter()):
            if scope.partial and f.account not in accounts:
                continue
            findings[f.id] = f
        for s in services:
            issues.setdefault(s.repo, [])
            issues[s.repo] = tracker.list_issues(s.repo)

    # Fetch events and comments only for the issues whose rules need them.
    by_key: dict[str, list[Finding]] = {}
    for f in findings.values():
        k = f.udf(identity.UDF_KEY)
        if k:
            by_key.setdefault(k, []).append(f)
    detailed: list[TrackedIssue] = []
    for repo_issues in issues.values():
        for i, issue in enumerate(repo_issues):
            if issue.key and needs_details(issue, by_key.get(issue.key, []), config):
                try:
                    repo_issues[i] = tracker.with_details(issue)
                    detailed.append(repo_issues[i])
                except LiverError as e:
                    report.failures.append(f"{issue.ref}: {e}")
    report.failures.extend(f"malformed finding skipped: {b}" for b in hub.bad_findings)

    services = _with_overrides(config, services, tracker, report)
    world = World(
        findings=findings,
        issues=issues,
        approvers=_approvers(config, tracker, detailed, now),
        oncall=_oncall(services, config, env, now),
        now=now,
        services=services,
        complete=only_issue is None,
    )
    plan = build_plan(world, config)
    if only_issue is not None:
        plan.steps = [s for s in plan.steps if s.issue_url == only_issue.url]
    apply_plan(
        plan,
        config=config,
        library=library,
        tracker=None if dry_run else tracker,
        hub=None if dry_run else hub,
        report=report,
        now=now,
        pager=Pager(env),
    )
    return report


__all__ = ["Scope", "parse_issue_ref", "replace", "run_sync"]
