"""One sync: read both systems through the ports, plan, apply. The CLI and the demo call this.

Each repository fails alone: a repository that cannot be read is listed with what to do,
its service is skipped, and every other service is still synced.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

from liver_gh import dispatch
from liver_gh.actions import Step
from liver_gh.apply import Progress, apply_plan
from liver_gh.config.model import OVERRIDE_PATH, Config, Service
from liver_gh.config.override import apply_override
from liver_gh.errors import AuthError, ConfigError, LiverError, RepoUnavailable, StopRun
from liver_gh.markdown import Markdown
from liver_gh.models import Finding, TrackedIssue
from liver_gh.plan import OpenContext, Renderer, World, build_plan
from liver_gh.ports import (
    FileKind,
    FindingSource,
    IssueTracker,
    LinkedTo,
    NewFindings,
    OncallProvider,
    Pager,
    Query,
    Tracked,
)
from liver_gh.render.explanations import Library
from liver_gh.render.issue import BodyInput, render_issue
from liver_gh.report import dashboard, status
from liver_gh.report.run import RunReport, Status
from liver_gh.rules import reads
from liver_gh.rules.approval import Membership
from liver_gh.rules.identity import read_marker
from liver_gh.rules.subject import Subject
from liver_gh.rules.upkeep import Oncall

T = TypeVar("T")
_ISSUE_REF = re.compile(r"^([A-Za-z0-9-]+/[A-Za-z0-9._-]+)#(\d+)$")


class Authority(enum.StrEnum):
    CENTRAL = "central"  # the security team's run: may suppress on an approver's label
    SERVICE = "service"  # a service repository's own run: never suppresses


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


def parse_issue_ref(text: str) -> tuple[str, int]:
    m = _ISSUE_REF.match(text.strip())
    if not m:
        raise ConfigError([f"--issue {text!r}: write it as OWNER/REPO#NUMBER, e.g. acme/payments#12."])
    return m.group(1), int(m.group(2))


@dataclass
class Ports:
    tracker: IssueTracker
    hub: FindingSource
    oncall: OncallProvider
    pager: Pager | None
    creators: tuple[str, ...]


@dataclass
class _Reads:
    config: Config
    ports: Ports
    report: RunReport
    now: datetime
    failed: set[str]

    def isolated(self, repo: str, what: Callable[[], T]) -> T | None:
        """Run one repository's read; on failure list it, skip the repository, go on."""
        try:
            return what()
        except (StopRun, AuthError):  # the run cannot go on; AuthError exits 2
            raise
        except RepoUnavailable as e:
            self.report.fail(str(e))
            self.failed.add(repo.lower())
        except LiverError as e:
            self.report.fail(f"{repo}: {e}")
            self.failed.add(repo.lower())
        return None

    def resolve_repos(self, services: tuple[Service, ...]) -> tuple[Service, ...]:
        out = []
        for s in services:
            info = self.isolated(s.repo, functools.partial(self.ports.tracker.repo, s.repo))
            if info is not None and info.moved:
                self.report.warn(
                    f"{s.repo} moved to {info.full_name}: change the service's repo in {self.config.path.name}."
                )
                s = replace(s, repo=info.full_name)
            out.append(s)
        return tuple(out)

    def overrides(self, services: tuple[Service, ...]) -> tuple[Service, ...]:
        if not self.config.repo_overrides:
            return services
        out = []
        for s in services:
            found = self.isolated(s.repo, functools.partial(self.ports.tracker.read_file, s.repo, OVERRIDE_PATH))
            if found is not None and found.kind is FileKind.NOT_A_FILE:
                self.report.warn(
                    f"{s.repo}:{OVERRIDE_PATH} is not a regular file (a symlink or folder); central values used."
                )
            if found is not None and found.kind is FileKind.FILE:
                s, problems = apply_override(s, found.content, self.config)
                for p in problems:
                    self.report.warn(p)
            out.append(s)
        return tuple(out)

    def issues(self, services: tuple[Service, ...]) -> dict[str, list[TrackedIssue]]:
        out: dict[str, list[TrackedIssue]] = {}
        for s in services:
            if s.repo.lower() in self.failed:
                continue
            listed = self.isolated(s.repo, functools.partial(self.ports.tracker.list_issues, s.repo))
            if listed is not None:
                out[s.repo] = listed
        return out

    def histories(self, issues: dict[str, list[TrackedIssue]], findings: Mapping[str, Finding]) -> None:
        by_url = reads.pointing(findings.values())
        for repo, listed in issues.items():
            for i, issue in enumerate(listed):
                if issue in reads.histories([issue], by_url, self.config.approval.label):
                    full = self.isolated(repo, functools.partial(self.ports.tracker.with_history, issue))
                    if full is not None:
                        listed[i] = full

    def memberships(
        self, issues: dict[str, list[TrackedIssue]], findings: Mapping[str, Finding], creators: frozenset[str]
    ) -> dict[tuple[str, str], Membership]:
        by_url = reads.pointing(findings.values())
        checks = reads.memberships([i for v in issues.values() for i in v], by_url, self.config.approval, creators)
        out = {}
        for org, team, login in sorted(checks):
            out[(f"{org}/{team}".lower(), login.lower())] = self.ports.tracker.membership(org, team, login)
        return out

    def assignable(self, g: _Gathered, oncall: Mapping[str, Oncall]) -> dict[tuple[str, str], bool | None]:
        out: dict[tuple[str, str], bool | None] = {}
        usable = [s for s in g.services if s.repo.lower() not in self.failed]
        for repo, candidates in reads.assignees(
            usable, oncall, g.findings.values(), g.issues, self.config, self.now.date()
        ):
            for login in candidates:
                ok = self.isolated(repo, functools.partial(self.ports.tracker.can_assign, repo, login))
                out[(repo.lower(), login.lower())] = bool(ok) if ok is not None else None
                if ok:
                    break
        return out

    def findings(self, queries: Sequence[Query]) -> dict[str, Finding]:
        out: dict[str, Finding] = {}
        for query in queries:
            for f in self.ports.hub.findings(query):
                out[f.id] = f
        return out


def _renderer(library: Library, config: Config, now: datetime) -> Renderer:
    def render(subject: Subject, ctx: OpenContext) -> tuple[Markdown, tuple[Markdown, ...]]:
        label = None
        if subject.identity.tag:
            label = f"{subject.identity.tag[0]}={subject.identity.tag[1]}"
        elif subject.identity.grouped:
            label = f"control {subject.identity.control}"
        body = BodyInput(
            identity=subject.identity,
            service=subject.service.name,
            environment=subject.environment,
            findings=ctx.findings,
            assignee=ctx.assignee,
            due=ctx.due,
            approval_label=config.approval.label,
            approvers=config.approval.names(),
            group_label=label,
            now=now,
            notes=ctx.notes,
        )
        return render_issue(library, body)

    return render


@dataclass(frozen=True)
class Everything:
    """A scheduled run: every finding liver may act on, every issue of the chosen services."""


@dataclass(frozen=True)
class OneIssue:
    """Event mode: one issue, and only the findings that could belong to it."""

    ref: str


@dataclass(frozen=True)
class Dispatched:
    """Dispatch mode: findings named by an EventBridge event, and only their issues."""

    finding_ids: tuple[str, ...]


Target = Everything | OneIssue | Dispatched


@dataclass
class _Gathered:
    services: tuple[Service, ...]
    issues: dict[str, list[TrackedIssue]]
    findings: dict[str, Finding]


def run_sync(
    config: Config,
    *,
    ports: Ports,
    library: Library,
    now: datetime,
    dry_run: bool = False,
    scope: Scope = Scope(),
    authority: Authority = Authority.CENTRAL,
    target: Target = Everything(),
    keep_rendered: bool = False,
    progress: Progress | None = None,
) -> RunReport:
    report = RunReport(dry_run=dry_run, keep_rendered=keep_rendered)
    services = scope.select(config.services)
    if not services:
        report.warn(f"No configured service matches {scope.repo or scope.shard}; nothing to do.")
        return report
    r = _Reads(config, ports, report, now, set())
    try:
        gathered = _gather(target, services, r)
        world = _world(gathered, r, authority, complete=isinstance(target, Everything)) if gathered else None
    except StopRun as e:
        report.stopped_early = f"{e}; nothing was changed, the next run tries again."
        return report
    for bad in ports.hub.bad_findings:
        report.fail(f"malformed finding skipped: {bad}")
    if world is None or gathered is None:
        return report
    plan = build_plan(world, config, _renderer(library, config, now))
    report.findings_seen += plan.seen
    report.skipped.update(plan.skipped)
    for w in plan.warnings:
        report.warn(w)
    steps = plan.steps if isinstance(target, Everything) else _concerning(plan.steps, gathered)
    apply_plan(
        steps,
        tracker=None if dry_run else ports.tracker,
        hub=None if dry_run else ports.hub,
        pager=ports.pager,
        report=report,
        progress=progress if isinstance(target, Everything) else None,
        services=[s.name for s in gathered.services],
    )
    if isinstance(target, Everything) and authority is Authority.CENTRAL and not (scope.repo or scope.shard):
        _dashboard(config, gathered, r, dry_run)
    return report


def _dashboard(config: Config, g: _Gathered, r: _Reads, dry_run: bool) -> None:
    """The status report for the job summary and, when configured, the dashboard issue."""
    changed = {e.step.repo for e in r.report.entries if e.status is Status.DONE and e.step.has_effects}
    issues = dict(g.issues)
    for repo in changed & set(issues):  # only repositories this run changed are read again
        fresh = r.isolated(repo, functools.partial(r.ports.tracker.list_issues, repo))
        if fresh is not None:
            issues[repo] = fresh
    doc = status.status(config, issues, r.now)
    r.report.status_markdown = status.to_markdown(doc)
    if config.dashboard_repo is None or dry_run:
        return
    try:
        done = dashboard.publish(r.ports.tracker, config.dashboard_repo, r.report.status_markdown)
    except StopRun:
        return
    except LiverError as e:
        r.report.fail(f"{config.dashboard_repo}: the dashboard issue could not be updated: {e}")
        return
    if done:
        r.report.notes.append(done)


def _gather(target: Target, services: tuple[Service, ...], r: _Reads) -> _Gathered | None:
    if isinstance(target, OneIssue):
        return _one_issue(target.ref, r)
    if isinstance(target, Dispatched):
        found = dispatch.gather(target.finding_ids, r.config, r.ports, r.report, r.now, r.overrides)
        return _Gathered(*found) if found else None
    services = r.overrides(r.resolve_repos(services))
    return _Gathered(services, r.issues(services), r.findings(_queries(r.config, services)))


def _world(g: _Gathered, r: _Reads, authority: Authority, complete: bool) -> World:
    """Everything else the rules need, read only where they need it."""
    ports, now = r.ports, r.now
    creators = frozenset(c.lower() for c in ports.creators)
    r.histories(g.issues, g.findings)
    memberships = r.memberships(g.issues, g.findings, creators)
    oncall = {s.name: ports.oncall.who(s.name, s.oncall, now) for s in g.services}
    for name, answer in oncall.items():
        for note in answer.notes:  # once per service, not once per issue
            r.report.warn(f"{name}: {note}")
    assignable = r.assignable(g, oncall)
    verified_gone = set()
    listed = [i for v in g.issues.values() for i in v]
    for url, query in reads.gone_checks(listed, g.findings.values(), r.config, g.services).items():
        extra = r.findings([query])
        g.findings.update(extra)
        if not extra:
            verified_gone.add(url)
    return World(
        findings=g.findings,
        issues=g.issues,
        services=g.services,
        now=now,
        creators=creators,
        oncall=oncall,
        memberships=memberships,
        assignable=assignable,
        failed_repos=frozenset(r.failed),
        central=authority is Authority.CENTRAL,
        complete=complete,
        verified_gone=frozenset(verified_gone) if complete else frozenset(),
    )


def _concerning(steps: list[Step], g: _Gathered) -> list[Step]:
    """In event and dispatch mode, only the steps about what was read for the event."""
    urls = {i.url for v in g.issues.values() for i in v}
    ids = set(g.findings)
    return [
        s
        for s in steps
        if (s.issue is not None and s.issue.url in urls)
        or (s.open is not None and {f.id for f in s.open.findings} & ids)
    ]


def _queries(config: Config, services: Sequence[Service]) -> list[Query]:
    lowest = min([config.default_min_severity, *[v for s in services for v in s.min_severity.values()]])
    new = NewFindings(
        lowest,
        products_include=config.filters.products_include,
        products_exclude=config.filters.products_exclude,
        regions=config.filters.regions,
    )
    return [new, Tracked()]


def _one_issue(issue_ref: str, r: _Reads) -> _Gathered | None:
    repo, number = parse_issue_ref(issue_ref)
    service = r.config.service_by_repo(repo)
    if service is None:
        r.report.warn(f"{repo} is not the repository of any configured service; nothing to do.")
        return None
    issue = r.ports.tracker.get_issue(repo, number)
    marker = read_marker(issue.body)
    if issue.author.lower() not in {c.lower() for c in r.ports.creators} or marker.identity is None:
        r.report.warn(f"{issue.ref} was not opened by liver or has no valid identity; nothing to do.")
        return None
    services = r.overrides((service,))
    queries: list[Query] = [reads.query_for(marker.identity, services[0]), LinkedTo(issue.url)]
    return _Gathered(services, {repo: [issue]}, r.findings(queries))
