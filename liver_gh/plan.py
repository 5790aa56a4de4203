"""Decide what to do: a pure function from the state of both systems to typed steps.

``build_plan`` only orchestrates; each decision lives in one rule module:
routing (owner, eligibility), identity (keys, verification), links (disagreements, moved
and unmapped accounts), approval, lifecycle (transitions), upkeep (owner, due date,
reminders, hand-over, paging), budget (fair share of new issues). Nothing here performs
I/O, so every rule is testable without HTTP and ``--dry-run`` is free.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from liver_gh.actions import (
    THIS_ISSUE,
    Assignee,
    FindingRef,
    IssueAction,
    IssueRef,
    NoteText,
    OpenIssue,
    Page,
    PageAction,
    Step,
    StepDetails,
    StepKind,
    UpdateFindings,
)
from liver_gh.config.model import Config, Service
from liver_gh.markdown import Markdown, code, literal, md, plain_title
from liver_gh.models import Finding, TrackedIssue, Workflow
from liver_gh.render.issue import members_section, replace_members
from liver_gh.rules import approval as ap
from liver_gh.rules import budget, lifecycle, links, routing, upkeep
from liver_gh.rules.identity import (
    Identity,
    Link,
    LinkState,
    MarkerProblem,
    identity_for,
    is_dashboard,
    read_marker,
    verify_link,
)
from liver_gh.rules.ignore import IgnoreProblem, IgnoreVerdict
from liver_gh.rules.subject import Member, Subject
from liver_gh.rules.upkeep import LIVER_LABEL, Oncall

# Renders an issue body: (subject, chosen assignee, due, notes) -> (body, follow-up comments).
Renderer = Callable[[Subject, "OpenContext"], tuple[Markdown, tuple[Markdown, ...]]]


@dataclass(frozen=True)
class OpenContext:
    assignee: Assignee
    due: datetime
    notes: tuple[Markdown, ...]
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class World:
    """Everything read from both systems (and the providers) for one run."""

    findings: Mapping[str, Finding]
    issues: Mapping[str, Sequence[TrackedIssue]]  # by repository, as configured
    services: tuple[Service, ...]  # the services this run handles (overrides applied)
    now: datetime
    creators: frozenset[str]  # lower-cased logins whose issues are liver's
    oncall: Mapping[str, Oncall] = field(default_factory=dict)
    memberships: Mapping[tuple[str, str], ap.Membership] = field(default_factory=dict)
    assignable: Mapping[tuple[str, str], bool | None] = field(default_factory=dict)
    failed_repos: frozenset[str] = frozenset()  # lower-cased; their services are skipped
    central: bool = True  # False for runs from a service repository: they never suppress
    complete: bool = True  # False when only part of Security Hub was read
    verified_gone: frozenset[str] = frozenset()  # issue URLs a direct read confirmed have no finding


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    skipped: Counter[routing.SkipReason] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    deferred: int = 0  # eligible findings left NEW because of max_new_issues
    seen: int = 0


@dataclass
class _Index:
    by_url: dict[str, TrackedIssue]
    by_repo_key: dict[tuple[str, str], list[TrackedIssue]]
    flags: dict[str, list[str]]  # issue url -> what disagrees
    quarantined: set[str]


def _index(world: World) -> _Index:
    index = _Index({}, defaultdict(list), defaultdict(list), set())
    for issues in world.issues.values():
        for issue in issues:
            marker = read_marker(issue.body)
            # Other automation may share liver's token identity: only issues with liver's
            # marker (even a broken one) or label are liver's.
            if is_dashboard(issue) or (marker.problem is MarkerProblem.MISSING and LIVER_LABEL not in issue.labels):
                continue
            index.by_url[issue.url] = issue
            if marker.identity is None:
                index.flags[issue.url].append(str(marker.problem))
                index.quarantined.add(issue.url)
                continue
            index.by_repo_key[(issue.repo.lower(), marker.identity.key)].append(issue)
    return index


class _Planner:
    def __init__(self, world: World, config: Config, render: Renderer) -> None:
        self.world, self.config, self.render = world, config, render
        self.plan = Plan()
        self.index = _index(world)
        self.subjects: dict[tuple[str, str], Subject] = {}
        self.in_scope = {s.name for s in world.services}
        # Ownership is decided against every configured service, not only this run's.
        effective = {s.name: s for s in world.services}
        self.all_services = tuple(effective.get(s.name, s) for s in config.services)
        self.service_of_repo = {s.repo.lower(): s.name for s in self.all_services}
        self.names = [s.name for s in self.all_services]
        self.unmapped_issues: dict[str, list[str]] = defaultdict(list)
        self.disputed: dict[str, list[Finding]] = defaultdict(list)

    # ------------------------------------------------------------ findings -> subjects

    def route(self, finding: Finding) -> None:
        self.plan.seen += 1
        found = routing.owner(finding, self.config, self.all_services)
        current = None
        owner_name = None
        if isinstance(found, routing.Owner):
            owner_name = found.service.name
            current = identity_for(finding, owner_name, found.service.group_by, self.config.group_by_tags)
        link = verify_link(finding, owner_name, current, self.index.by_url, self.service_of_repo, self.names)
        if link.state is LinkState.FORGED and link.issue is not None:
            self.index.flags[link.issue.url].append(link.why)
            link = Link(LinkState.UNLINKED)
        if link.state is LinkState.DISPUTED and link.issue is not None:
            self.index.flags[link.issue.url].append(link.why)
            self.index.quarantined.add(link.issue.url)
            self.disputed[link.issue.url].append(finding)
            return
        if isinstance(found, routing.SkipReason):
            self._not_owned(finding, found, link)
            return
        if found.service.name not in self.in_scope:
            self.plan.skipped[routing.SkipReason.OUT_OF_SCOPE] += 1
            return
        if found.service.repo.lower() in self.world.failed_repos:
            self.plan.skipped[routing.SkipReason.REPOSITORY_FAILED] += 1
            return
        assert current is not None
        self._join(finding, found, current, link)

    def _not_owned(self, finding: Finding, why: routing.SkipReason, link: Link) -> None:
        if link.state is LinkState.UNMAPPED and link.issue is not None:
            self.unmapped_issues[link.issue.url].append(finding.account)
            return
        self.plan.skipped[why] += 1
        if why is routing.SkipReason.UNMAPPED:
            msg = (
                f"Account {finding.account} is not mapped to any service; add it under a service's 'accounts' in "
                f"{self.config.path.name} or to prototype_accounts."
            )
            if msg not in self.plan.warnings:
                self.plan.warnings.append(msg)

    def _join(self, finding: Finding, found: routing.Owner, current: Identity, link: Link) -> None:
        if link.state is LinkState.DANGLING and not self.world.complete:
            return  # its issue was not read in this partial run: the scheduled run decides
        identity = link.identity if link.state is LinkState.REGROUPED and link.identity else current
        subject = self.subjects.setdefault(
            (found.service.name, identity.key), Subject(identity, found.service, found.environment)
        )
        subject.members.append(Member(finding, link))
        if link.state is LinkState.MOVED and link.issue is not None and link.issue not in subject.moved_from:
            subject.moved_from.append(link.issue)
        if link.state in (LinkState.CURRENT, LinkState.REGROUPED):
            return
        tracked = link.state in (LinkState.MOVED, LinkState.DANGLING)
        verdict = routing.eligibility(finding, found, self.config, self.world.now.date(), tracked=tracked)
        if isinstance(verdict, routing.SkipReason):
            if link.state is LinkState.UNLINKED:
                self.plan.skipped[verdict] += 1
            return
        subject.eligible.append(finding)
        if verdict.ignore is not None:
            subject.ignore_notes.append(verdict.ignore)

    # ------------------------------------------------------------ subjects -> issues

    def canonical(self, subject: Subject) -> TrackedIssue | None:
        """The subject's issue: the one Security Hub points at, else the oldest with its key."""
        repo = subject.service.repo.lower()
        candidates = [
            i for i in self.index.by_repo_key.get((repo, subject.key), []) if i.url not in self.index.quarantined
        ]
        pointed = Counter(m.link.issue.url for m in subject.members if m.link.issue is not None)
        if not candidates:
            return None
        chosen = max(candidates, key=lambda i: (pointed.get(i.url, 0), -i.number))
        for dup in candidates:
            if dup is not chosen:
                self.index.flags[dup.url].append(
                    f"its identity marker duplicates {chosen.ref}; only {chosen.ref} is acted on"
                )
        return chosen

    def reconcile(self, subject: Subject, issue: TrackedIssue) -> None:
        config, world = self.config, self.world
        if config.approval.label in issue.labels and issue.events is None:
            self.plan.warnings.append(f"{issue.ref}: its history could not be read, so its approval was not evaluated.")
            return
        approval = ap.approval_of(issue, subject.findings, config.approval, world.memberships, world.creators)
        oncall = world.oncall.get(subject.service.name, Oncall(()))
        ctx = lifecycle.Ctx(
            subject, issue, approval, config, world.now, world.central,
            oncall.candidates[0] if oncall.candidates else None, world.creators,
        )  # fmt: skip
        decided = lifecycle.decide(ctx)
        decision = decided[1] if decided else None
        gh = list(decision.gh) if decision else []
        up = self._upkeep(subject, issue, gh, quiet=decision is None)
        kinds = ([decision.kind] if decision else []) + up.kinds
        if not kinds:
            return
        summary = "; ".join(([decision.summary] if decision else []) + up.summary)
        self.plan.steps.append(
            Step(
                kinds[0],
                subject.service.name,
                subject.service.repo,
                f"{issue.ref}: {summary}",
                issue=IssueRef(issue.repo, issue.number, issue.url),
                gh=tuple(gh + up.gh),
                sh=decision.sh if decision else (),
                details=self._details(subject, issue.title),
            )
        )

    def _upkeep(self, subject: Subject, issue: TrackedIssue, gh: list[IssueAction], quiet: bool) -> upkeep.Upkeep:
        up = upkeep.Upkeep()
        severity = subject.severity
        is_open = upkeep.ends_open(issue, gh)
        upkeep.labels(issue, severity, up)
        if subject.identity.grouped:
            upkeep.checklist(issue, replace_members(issue.body, members_section(subject.findings)[0]), up)
        if is_open:
            oncall = self.world.oncall.get(subject.service.name, Oncall(()))
            chosen = upkeep.choose_assignee(oncall, issue.repo, self.world.assignable)
            upkeep.handover(issue, subject.service, oncall, chosen, up)
            current = oncall.candidates[0] if oncall.candidates else None
            upkeep.overdue(issue, subject.service, severity, current, self.world.now, quiet, up)
        upkeep.paging(issue, self.config, subject.service, subject.key, severity, is_open, up)
        return up

    def _details(self, subject: Subject, title: str) -> StepDetails:
        pool = subject.eligible or subject.findings
        return StepDetails(
            severity=subject.severity,
            account=pool[0].account if pool else None,
            environment=subject.environment,
            resources=tuple(sorted({r.id for f in subject.findings for r in f.resources}))[:20],
            title=title,
        )

    # ------------------------------------------------------------ opening

    def open_step(self, subject: Subject) -> Step:
        service = subject.service
        members = subject.eligible
        oncall = self.world.oncall.get(service.name, Oncall(()))
        chosen = upkeep.choose_assignee(oncall, service.repo, self.world.assignable)
        severity = max(f.severity for f in members)
        opened_at = self.world.now
        due = upkeep.due_at(opened_at, service, severity)
        notes = tuple(self._ignore_note(v) for v in subject.ignore_notes) + tuple(
            links.moved_note(i) for i in subject.moved_from
        )
        render = functools.partial(self.render, subject, OpenContext(chosen, due, notes, tuple(members)))
        title = plain_title(_title(subject, members))
        labels = (LIVER_LABEL, severity.label)
        spec = self.config.page_spec(service)
        gh: list[IssueAction] = []
        for old in subject.moved_from:
            gh += links.close_moved(old, service.name, THIS_ISSUE)
        if spec is not None and spec.covers(severity):
            gh.append(Page(THIS_ISSUE, PageAction.TRIGGER, spec, subject.key, title, severity))
        note = NoteText(f"liver notified {service.name} ({subject.environment}) in a GitHub issue:", THIS_ISSUE)
        update = UpdateFindings(
            tuple(FindingRef.of(f) for f in members), Workflow.NOTIFIED, note, subject.key, THIS_ISSUE
        )
        return Step(
            StepKind.MOVED if subject.moved_from else StepKind.OPENED,
            service.name,
            service.repo,
            f"open an issue in {service.repo} for {len(members)} finding(s): {title}",
            open=OpenIssue(
                repo=service.repo,
                key=subject.key,
                title=title,
                render=render,
                labels=labels,
                assignee=chosen,
                due=due,
                group_label=_group_label(subject.identity),
                findings=tuple(members),
                issue_type=self.config.issue_type,
            ),
            gh=tuple(gh),
            sh=(update,),
            details=StepDetails(
                severity=severity,
                account=members[0].account,
                environment=subject.environment,
                resources=tuple(sorted({r.id for f in members for r in f.resources}))[:20],
                title=title,
                labels=labels,
                page=spec is not None and spec.covers(severity),
            ),
        )

    def _ignore_note(self, verdict: IgnoreVerdict) -> Markdown:
        shown = md(" (reason: “{reason}”)", reason=verdict.reason) if verdict.reason else Markdown("")
        problem = literal(verdict.problem) if verdict.problem else Markdown("")
        if verdict.problem is IgnoreProblem.ENDED and verdict.until:
            problem = md("the ramp-up ended on {day}", day=literal(verdict.until))
        return md(
            "The resource carries the ignore tag {tag}{shown}, but it is not honoured: {problem}.",
            tag=code(self.config.ignore_tag.key),
            shown=shown,
            problem=problem,
        )

    # ------------------------------------------------------------ the rest

    def leftovers(self, seen: set[str]) -> None:
        """Issues no finding belongs to: disputed, unmapped, or (verified) gone."""
        for url, findings in sorted(self.disputed.items()):
            issue = self.index.by_url[url]
            withdrawn = links.withdraw_unverified(
                findings, issue, "; ".join(sorted(set(self.index.flags[url]))), read_marker(issue.body).key or ""
            )
            if withdrawn:
                self._add(issue, withdrawn)
        for url, accounts in sorted(self.unmapped_issues.items()):
            issue = self.index.by_url[url]
            decision = links.unmapped(issue, accounts)
            if decision:
                self._add(issue, decision)
        for url, issue in sorted(self.index.by_url.items()):
            if url in seen or url in self.index.quarantined or url in self.unmapped_issues:
                continue
            if issue.is_open and url in self.world.verified_gone and self._owned_repo(issue):
                self._add(issue, links.close_gone(issue, self.world.now))

    def _owned_repo(self, issue: TrackedIssue) -> bool:
        name = self.service_of_repo.get(issue.repo.lower())
        return name is not None and name in self.in_scope and issue.repo.lower() not in self.world.failed_repos

    def _add(self, issue: TrackedIssue, decision: lifecycle.Decision) -> None:
        name = self.service_of_repo.get(issue.repo.lower(), issue.repo)
        self.plan.steps.append(
            Step(
                decision.kind,
                name,
                issue.repo,
                f"{issue.ref}: {decision.summary}",
                issue=IssueRef(issue.repo, issue.number, issue.url),
                gh=decision.gh,
                sh=decision.sh,
            )
        )

    def close_moved(self, subject: Subject, target: IssueRef | None) -> None:
        """Close the old issues of findings whose account moved to this subject's service."""
        for old in subject.moved_from:
            gh = tuple(links.close_moved(old, subject.service.name, target))
            if gh:
                self._add(
                    old, lifecycle.Decision(StepKind.MOVED, f"its account moved to service {subject.service.name}", gh)
                )

    def mismatches(self) -> None:
        for url, whys in sorted(self.index.flags.items()):
            issue = self.index.by_url.get(url)
            if issue is not None and whys and self._owned_repo(issue):
                self._add(issue, links.flag_mismatch(issue, whys))


def _title(subject: Subject, members: Sequence[Finding]) -> str:
    first = members[0]
    label = _group_label(subject.identity)
    if label and first.control_id:
        return f"[{first.control_id}] {first.title} ({len(members)} resources in {label})"
    if first.control_id:
        return f"[{first.control_id}] {first.title}"
    return first.title


def _group_label(identity: Identity) -> str | None:
    if identity.tag:
        return f"{identity.tag[0]}={identity.tag[1]}"
    if identity.control and identity.grouped:
        return f"control {identity.control}"
    return None


def build_plan(world: World, config: Config, render: Renderer) -> Plan:
    """Turn the state of both systems into the steps that make them agree."""
    planner = _Planner(world, config, render)
    for finding in sorted(world.findings.values(), key=lambda f: f.id):
        planner.route(finding)
    seen: set[str] = set()
    to_open: list[Subject] = []
    for _, subject in sorted(planner.subjects.items()):
        issue = planner.canonical(subject)
        if issue is None:
            if subject.eligible:
                to_open.append(subject)
            else:
                planner.close_moved(subject, None)
            continue
        seen.add(issue.url)
        subject.issue = issue
        planner.reconcile(subject, issue)
        planner.close_moved(subject, IssueRef(issue.repo, issue.number, issue.url))
    planner.leftovers(seen)
    planner.mismatches()
    chosen, left = budget.share(to_open, config.max_new_issues)
    for subject in chosen:
        planner.plan.steps.append(planner.open_step(subject))
    planner.plan.deferred = sum(len(s.eligible) for s in left)
    if planner.plan.deferred:
        planner.plan.warnings.append(
            f"{planner.plan.deferred} eligible finding(s) were left NEW because max_new_issues "
            f"({config.max_new_issues}) was reached; the next run opens them, each service in turn, most severe first."
        )
    return planner.plan
