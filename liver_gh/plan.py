"""Decide what to do: a pure function of (findings, issues, config, now) to actions.

Nothing here performs I/O, so every rule is unit-testable and ``--dry-run`` is free.
``apply.py`` carries the actions out in a crash-safe order.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from liver_gh import identity
from liver_gh.config import Config, Service
from liver_gh.escape import plain_title
from liver_gh.models import Finding, IssueComment, RecordState, Severity, TrackedIssue, Workflow
from liver_gh.paging import PageSpec

LIVER = "liver"
NOTE_LIMIT = 512
MISMATCH_LABEL = "liver:mismatch"
OVERDUE_LABEL = "liver:overdue"
PAGED_LABEL = "liver:paged"


# ---------------------------------------------------------------- actions


@dataclass(frozen=True)
class FindingRef:
    id: str
    product_arn: str


@dataclass(frozen=True)
class OpenIssue:
    service: str
    repo: str
    key: str
    title: str
    findings: tuple[Finding, ...]
    severity: Severity
    environment: str
    candidates: tuple[str, ...]  # on-call login first, then fallbacks
    oncall_notes: tuple[str, ...]
    labels: tuple[str, ...]
    ignore_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class UpdateFindings:
    """One BatchUpdateFindings payload for a set of findings (chunked by apply)."""

    refs: tuple[FindingRef, ...]
    workflow: Workflow | None
    note: str
    key: str
    issue_url: str | None  # None: the URL of the issue opened just before (OpenIssue)


@dataclass(frozen=True)
class Comment:
    repo: str
    number: int
    body: str


@dataclass(frozen=True)
class SetState:
    repo: str
    number: int
    state: str  # open or closed
    state_reason: str | None  # completed, not_planned, reopened


@dataclass(frozen=True)
class Label:
    repo: str
    number: int
    label: str
    add: bool


@dataclass(frozen=True)
class EditBody:
    repo: str
    number: int
    body: str


@dataclass(frozen=True)
class Assign:
    repo: str
    number: int
    candidates: tuple[str, ...]  # the first one GitHub can assign wins
    previous: tuple[str, ...]
    service: str


@dataclass(frozen=True)
class Page:
    """A PagerDuty Events API v2 trigger or resolve; on success the paged label follows."""

    repo: str
    number: int | None  # None: the issue opened in the same step
    action: str  # trigger or resolve
    spec: PageSpec
    dedup_key: str
    summary: str
    severity: Severity


IssueAction = Comment | SetState | Label | EditBody | Assign | Page


@dataclass(frozen=True)
class Step:
    """Everything to do for one subject, in order: GitHub first, then Security Hub.

    If a run dies between the two, the next run sees GitHub's new state and finishes
    the Security Hub part: every rule below is written to converge from there.
    """

    service: str
    kind: str  # opened, notified, suppressed, rejected, resolved, reopened, closed, mismatch, ...
    summary: str
    open_issue: OpenIssue | None = None
    issue_actions: tuple[IssueAction, ...] = ()
    finding_updates: tuple[UpdateFindings, ...] = ()
    issue_url: str | None = None


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    deferred: int = 0  # eligible findings left NEW because of max_new_issues
    seen: int = 0


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Oncall:
    candidates: tuple[str, ...]
    notes: tuple[str, ...] = ()
    team: frozenset[str] = frozenset()  # everyone who takes turns: hand-over only moves issues among them


@dataclass(frozen=True)
class World:
    findings: Mapping[str, Finding]
    issues: Mapping[str, Sequence[TrackedIssue]]  # by repo
    approvers: frozenset[str]  # logins allowed to approve (teams already expanded)
    oncall: Mapping[str, Oncall]  # by service name
    now: datetime
    services: tuple[Service, ...] | None = None  # effective services (after repo overrides)
    complete: bool = True  # False when only part of Security Hub was read (one-issue mode)


# ---------------------------------------------------------------- subjects


@dataclass
class Subject:
    key: str
    service: Service
    environment: str
    members: list[Finding] = field(default_factory=list)
    group_label: str | None = None  # "aws:autoscaling:groupName=web" for tag groups
    control: str | None = None


def subject_key(finding: Finding, service: Service, config: Config) -> tuple[str, str | None]:
    """The identity a finding's issue has: its own, its tag group's, or its control's."""
    if finding.control_id:
        if service.group_by == "control":
            return identity.control_key(service.repo, finding.control_id), f"control {finding.control_id}"
        for tag in config.group_by_tags:
            for resource in finding.resources:
                value = resource.tag(tag)
                if value:
                    return (
                        identity.group_key(service.repo, finding.control_id, tag, value),
                        f"{tag}={value}",
                    )
    return identity.finding_key(finding.id), None


# ---------------------------------------------------------------- helpers


def is_active(f: Finding) -> bool:
    """Still a problem according to Security Hub."""
    return f.record_state is RecordState.ACTIVE and f.compliance not in ("PASSED", "NOT_AVAILABLE")


def suppressed_by_person(f: Finding) -> bool:
    return f.workflow is Workflow.SUPPRESSED and (f.note is None or f.note.updated_by != LIVER)


def suppressed_by_liver(f: Finding) -> bool:
    return f.workflow is Workflow.SUPPRESSED and f.note is not None and f.note.updated_by == LIVER


def refs(findings: Sequence[Finding]) -> tuple[FindingRef, ...]:
    return tuple(FindingRef(f.id, f.product_arn) for f in findings)


def note(text: str) -> str:
    return text if len(text) <= NOTE_LIMIT else text[: NOTE_LIMIT - 1] + "…"


def comment(text: str) -> str:
    return f"{identity.COMMENT_MARKER}\n{text}"


def _when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "an unknown time"


def severity_of(members: Sequence[Finding]) -> Severity:
    return max((f.severity for f in members), default=Severity.INFORMATIONAL)


_UNTIL = re.compile(r";\s*until=(\d{4}-\d{2}-\d{2})\s*$")


@dataclass(frozen=True)
class IgnoreVerdict:
    honoured: bool
    reason: str  # the tag's reason without the until= part
    until: date | None
    problem: str | None  # why a tag that is present is not honoured


def ignore_verdict(finding: Finding, service: Service, config: Config, today: date) -> IgnoreVerdict | None:
    """Whether the ignore tag on *every* resource lets this finding be skipped."""
    values = [r.tag(config.ignore_tag.key) for r in finding.resources]
    present = [v for v in values if v is not None]
    if not present:
        return None
    end = service.honored_until or config.ignore_tag.honored_until
    reason_text = present[0]
    m = _UNTIL.search(reason_text)
    own_end: date | None = None
    if m:
        try:
            own_end = date.fromisoformat(m.group(1))
        except ValueError:
            own_end = None
        reason_text = reason_text[: m.start()]
    reason_text = reason_text.strip()
    if own_end and (end is None or own_end < end):
        end = own_end
    if len(present) < len(values):
        return IgnoreVerdict(False, reason_text, end, "only some of the finding's resources carry the tag")
    if any(not (v or "").split(";")[0].strip() for v in present):
        return IgnoreVerdict(False, "", end, "the tag was found without a reason")
    if end is None:
        return IgnoreVerdict(False, reason_text, end, "no ramp-up end date (honored_until) is configured")
    if today > end:
        return IgnoreVerdict(False, reason_text, end, f"the ramp-up ended on {end.isoformat()}")
    return IgnoreVerdict(True, reason_text, end, None)


# ---------------------------------------------------------------- approval


@dataclass(frozen=True)
class Approval:
    actor: str
    at: datetime
    valid: bool
    expired: bool


def latest_approval(
    issue: TrackedIssue, label: str, approvers: frozenset[str], now: datetime, days: int
) -> Approval | None:
    """The latest 'labeled' event for the approval label; presence alone proves nothing."""
    if issue.events is None:
        return None
    labeled = [e for e in issue.events if e.event == "labeled" and e.label == label]
    if not labeled:
        return None
    # GitHub's timestamps have whole seconds; events come oldest first, so ties go to the later one.
    last = max(enumerate(labeled), key=lambda pair: (pair[1].created_at, pair[0]))[1]
    valid = last.actor.lower() in approvers
    return Approval(last.actor, last.created_at, valid, valid and now > last.created_at + timedelta(days=days))


def justification(comments: Sequence[IssueComment] | None, before: datetime) -> str:
    """The last comment before the approval written by a person (not liver)."""
    if not comments:
        return ""
    human = [c for c in comments if not c.by_liver and c.created_at <= before]
    if not human:
        return ""
    return " ".join(human[-1].body.split())


def closer(issue: TrackedIssue) -> str | None:
    if not issue.events:
        return None
    closes = [e for e in issue.events if e.event == "closed"]
    return max(closes, key=lambda e: e.created_at).actor if closes else None


def needs_details(issue: TrackedIssue, members: Sequence[Finding], config: Config) -> bool:
    """Whether the rules need this issue's events and comments (fetched only when so)."""
    if config.approval.label in issue.labels:
        return True
    if issue.is_open:
        return False
    active = [f for f in members if is_active(f)]
    if issue.state_reason in ("not_planned", "duplicate"):
        return any(f.workflow is not Workflow.SUPPRESSED for f in active)
    return any(f.workflow not in (Workflow.RESOLVED, Workflow.NEW) for f in active)


# ---------------------------------------------------------------- planning


def _route(
    finding: Finding, config: Config, services: Sequence[Service], plan: Plan, today: date
) -> tuple[Service, str] | None:
    """Which service owns a NEW finding, or None with the skip reason counted."""
    if finding.account in config.prototype_accounts:
        plan.skipped["prototype account"] += 1
        return None
    owner = next(((s, s.accounts[finding.account]) for s in services if finding.account in s.accounts), None)
    if owner is None:
        plan.skipped["unmapped account"] += 1
        msg = f"Account {finding.account} is not mapped to any service; add it under a service's 'accounts' in {config.path.name} or to prototype_accounts."
        if msg not in plan.warnings:
            plan.warnings.append(msg)
        return None
    service, env = owner
    why = config.filters.allows(finding.product_name, finding.control_id, finding.region)
    why = why or service.filters.allows(finding.product_name, finding.control_id, finding.region)
    if why:
        plan.skipped[why] += 1
        return None
    return service, env


def _issue_index(world: World) -> tuple[dict[str, list[TrackedIssue]], list[TrackedIssue]]:
    by_key: dict[str, list[TrackedIssue]] = defaultdict(list)
    unkeyed: list[TrackedIssue] = []
    for issues in world.issues.values():
        for issue in issues:
            if issue.key:
                by_key[issue.key].append(issue)
            else:
                unkeyed.append(issue)
    return by_key, unkeyed


def build_plan(world: World, config: Config) -> Plan:
    """Turn the state of both systems into the steps that make them agree."""
    plan = Plan()
    services = world.services or config.services
    today = world.now.date()
    subjects: dict[str, Subject] = {}
    new_eligible: dict[str, list[Finding]] = defaultdict(list)
    ignore_notes: dict[str, list[str]] = defaultdict(list)

    for finding in sorted(world.findings.values(), key=lambda f: f.id):
        plan.seen += 1
        linked_key = finding.udf(identity.UDF_KEY)
        routed = _route(finding, config, services, plan, today) if not linked_key else None
        if linked_key:
            owner = next(
                ((s, s.accounts.get(finding.account, "")) for s in services if finding.account in s.accounts), None
            )
            if owner is None:
                plan.skipped["tracked finding of an account no longer mapped"] += 1
                continue
            service, env = owner
            key = linked_key
            group_label = None
        elif routed is None:
            continue
        else:
            service, env = routed
            key, group_label = subject_key(finding, service, config)
        subject = subjects.setdefault(
            key, Subject(key, service, env, group_label=group_label, control=finding.control_id)
        )
        subject.members.append(finding)
        if linked_key:
            continue
        # A NEW, unlinked finding: is it worth an issue?
        if not (finding.workflow is Workflow.NEW and is_active(finding)):
            plan.skipped["not active or already handled"] += 1
            continue
        if finding.severity < service.threshold(env, config.default_min_severity):
            plan.skipped["below minimum severity"] += 1
            continue
        verdict = ignore_verdict(finding, service, config, today)
        if verdict is not None and verdict.honoured:
            plan.skipped["ignore tag"] += 1
            continue
        if verdict is not None:
            tag = config.ignore_tag.key
            shown = f" (reason: “{verdict.reason}”)" if verdict.reason else ""
            ignore_notes[key].append(
                f"The resource carries the ignore tag `{tag}`{shown}, but it is not honoured: {verdict.problem}."
            )
        new_eligible[key].append(finding)

    by_key, unkeyed = _issue_index(world)
    _flag_unkeyed(world, unkeyed, plan)

    # Subjects that already have an issue: keep both sides in agreement.
    opened: list[Subject] = []
    for key, subject in sorted(subjects.items()):
        issues = by_key.get(key, [])
        issue = _canonical(issues, subject.members)
        if issue is None:
            if new_eligible.get(key):
                opened.append(subject)
            continue
        if issue.repo.lower() != subject.service.repo.lower():
            plan.skipped["issue lives in another repository"] += 1
            continue
        for dup in issues:
            if dup is not issue:
                _mismatch(
                    plan,
                    subject.service,
                    dup,
                    f"its identity marker duplicates {issue.ref}; only {issue.ref} is acted on",
                )
        bad = [f for f in subject.members if f.udf(identity.UDF_ISSUE) not in (None, issue.url)]
        if bad:
            _mismatch(
                plan,
                subject.service,
                issue,
                f"Security Hub links finding {bad[0].id} to {bad[0].udf(identity.UDF_ISSUE)}, not to this issue",
            )
            continue
        step = _reconcile(subject, issue, world, config)
        if step is not None:
            plan.steps.append(step)
        extra = _upkeep(subject, issue, world, config, step)
        if extra is not None:
            plan.steps.append(extra)

    # Issues whose findings Security Hub no longer has at all (deleted after retention).
    repos = {s.repo.lower(): s for s in services}
    for key, issues in sorted(by_key.items()):
        if key in subjects:
            continue
        for issue in issues:
            repo_owner = repos.get(issue.repo.lower())
            if repo_owner is None or not issue.is_open or not world.complete:
                continue
            plan.steps.append(
                Step(
                    repo_owner.name,
                    "resolved",
                    f"{issue.ref}: the finding no longer exists in Security Hub; closed",
                    issue_actions=(
                        _say(
                            issue,
                            "Security Hub no longer has this finding (it deletes findings some time after they stop "
                            f"being updated), as of {_when(world.now)}. Closing as completed.",
                        ),
                        SetState(issue.repo, issue.number, "closed", "completed"),
                    ),
                    issue_url=issue.url,
                )
            )

    # Subjects without an issue: open one, most severe first, then oldest.
    opened.sort(
        key=lambda s: (-severity_of(new_eligible[s.key]), min(_first_seen(f) for f in new_eligible[s.key]), s.key)
    )
    budget = config.max_new_issues
    for subject in opened:
        members = new_eligible[subject.key]
        if budget <= 0:
            plan.deferred += len(members)
            continue
        budget -= 1
        plan.steps.append(_open_step(subject, members, world, config, tuple(ignore_notes.get(subject.key, ()))))
    if plan.deferred:
        plan.warnings.append(
            f"{plan.deferred} eligible finding(s) were left NEW because max_new_issues ({config.max_new_issues}) was reached; the next run opens them, most severe first."
        )
    return plan


def _first_seen(f: Finding) -> datetime:
    return f.first_seen or f.updated_at


def _canonical(issues: Sequence[TrackedIssue], members: Sequence[Finding]) -> TrackedIssue | None:
    """The issue Security Hub points at, else the oldest one carrying the key."""
    if not issues:
        return None
    urls = {f.udf(identity.UDF_ISSUE) for f in members}
    for issue in issues:
        if issue.url in urls:
            return issue
    return min(issues, key=lambda i: i.number)


def _flag_unkeyed(world: World, unkeyed: Sequence[TrackedIssue], plan: Plan) -> None:
    """A liver issue that lost its marker while Security Hub still points at it was edited."""
    pointed = {f.udf(identity.UDF_ISSUE): f for f in world.findings.values() if f.udf(identity.UDF_ISSUE)}
    services = {s.repo.lower(): s for s in (world.services or ())}
    for issue in unkeyed:
        finding = pointed.get(issue.url)
        if finding is None and len(set(issue.keys)) <= 1:
            continue
        service = services.get(issue.repo.lower())
        why = (
            "its body carries more than one identity marker"
            if len(set(issue.keys)) > 1
            else f"its identity marker is missing or changed while Security Hub links finding {finding.id if finding else '?'} to it"
        )
        _mismatch(plan, service, issue, why)


def _mismatch(plan: Plan, service: Service | None, issue: TrackedIssue, why: str) -> None:
    name = service.name if service else issue.repo
    summary = f"{issue.ref}: not acted on because {why}."
    actions: tuple[IssueAction, ...] = ()
    if MISMATCH_LABEL not in issue.labels:
        actions = (
            Label(issue.repo, issue.number, MISMATCH_LABEL, add=True),
            _say(
                issue,
                f"liver will not act on this issue: {why}. Security Hub and this issue must "
                "agree on which finding it tracks, so that editing an issue cannot suppress a "
                "different finding. Ask the security team to restore the original issue body, "
                f"then remove the `{MISMATCH_LABEL}` label.",
            ),
        )
    plan.steps.append(Step(name, "mismatch", summary, issue_actions=actions, issue_url=issue.url))


def _open_step(subject: Subject, members: list[Finding], world: World, config: Config, notes: tuple[str, ...]) -> Step:
    service = subject.service
    oncall = world.oncall.get(service.name, Oncall(()))
    first = members[0]
    if subject.group_label and len(members) >= 1 and first.control_id:
        title = f"[{first.control_id}] {first.title} ({len(members)} resources in {subject.group_label})"
    elif first.control_id:
        title = f"[{first.control_id}] {first.title}"
    else:
        title = first.title
    title = plain_title(title)
    sev = severity_of(members)
    open_issue = OpenIssue(
        service=service.name,
        repo=service.repo,
        key=subject.key,
        title=title,
        findings=tuple(members),
        severity=sev,
        environment=subject.environment,
        candidates=oncall.candidates,
        oncall_notes=oncall.notes,
        labels=(LIVER, sev.label),
        ignore_notes=notes,
    )
    update = UpdateFindings(
        refs(members),
        Workflow.NOTIFIED,
        note(f"liver notified {service.name} ({subject.environment}) in a GitHub issue: ISSUE_URL"),
        subject.key,
        None,
    )
    spec = page_spec(service, config)
    page = (
        (Page(service.repo, None, "trigger", spec, subject.key, title, sev),)
        if spec is not None and spec.covers(sev)
        else ()
    )
    return Step(
        service.name,
        "opened",
        f"open an issue in {service.repo} for {len(members)} finding(s): {title}",
        open_issue=open_issue,
        issue_actions=page,
        finding_updates=(update,),
    )


def _unsuppress_inactive(members: Sequence[Finding], issue: TrackedIssue, key: str) -> list[UpdateFindings]:
    """Without a valid approval nothing stays SUPPRESSED by liver; a resolved finding says RESOLVED."""
    stale = [f for f in members if suppressed_by_liver(f) and not is_active(f)]
    if not stale:
        return []
    text = note(f"The approval in {issue.url} is gone; Security Hub reports the finding resolved.")
    return [UpdateFindings(refs(stale), Workflow.RESOLVED, text, key, issue.url)]


def _say(issue: TrackedIssue, text: str) -> Comment:
    return Comment(issue.repo, issue.number, comment(text))


def _reopen(issue: TrackedIssue, text: str) -> list[IssueAction]:
    return [SetState(issue.repo, issue.number, "open", "reopened"), _say(issue, text)]


def _notify(members: Sequence[Finding], issue: TrackedIssue, key: str, text: str) -> UpdateFindings:
    return UpdateFindings(refs(members), Workflow.NOTIFIED, note(text), key, issue.url)


def _reconcile(subject: Subject, issue: TrackedIssue, world: World, config: Config) -> Step | None:
    """The lifecycle rules for a subject that has an issue (see README, 'Lifecycle')."""
    from liver_gh.render import members_section, replace_members  # pure; avoids an import cycle

    service, key, label = subject.service, subject.key, config.approval.label
    members = subject.members
    active = [f for f in members if is_active(f)]
    name = service.name
    ref = issue.ref

    def step(kind: str, summary: str, gh: Sequence[IssueAction] = (), sh: Sequence[UpdateFindings] = ()) -> Step:
        return Step(
            name, kind, f"{ref}: {summary}", issue_actions=tuple(gh), finding_updates=tuple(sh), issue_url=issue.url
        )

    approval = (
        latest_approval(issue, label, world.approvers, world.now, config.approval.expires_after_days)
        if label in issue.labels
        else None
    )
    who_may = ", ".join(config.approval.approvers) or "(no approver is configured)"

    # Group issues keep a checklist of their resources in sync, whatever else happens.
    body_edit: list[IssueAction] = []
    if key.startswith(("g-", "c-")):
        section = members_section(members, world.now)
        new_body = replace_members(issue.body, section)
        if new_body != issue.body:
            body_edit.append(EditBody(issue.repo, issue.number, new_body))

    if label in issue.labels and approval is not None and not approval.valid:
        gh: list[IssueAction] = [
            Label(issue.repo, issue.number, label, add=False),
            _say(
                issue,
                f"The `{label}` label was added by {approval.actor}, who is not an approver, so it was removed and "
                f"the finding is unchanged. Only these may approve a suppression: {who_may}.",
            ),
        ]
        if not issue.is_open:
            gh.insert(0, SetState(issue.repo, issue.number, "open", "reopened"))
        return step(
            "rejected", f"approval label added by {approval.actor}, who is not an approver; removed", [*body_edit, *gh]
        )

    if (
        approval is not None
        and approval.valid
        and not approval.expired
        and (issue.is_open or issue.state_reason in ("not_planned", "duplicate"))
    ):
        recurred = [f for f in active if f.workflow is Workflow.NEW and not issue.is_open]
        if not recurred:
            quote = justification(issue.comments, approval.at)
            to_suppress = [f for f in active if f.workflow is not Workflow.SUPPRESSED or not suppressed_by_liver(f)]
            sh_note = note(
                f"Suppressed by liver: approved by {approval.actor} on {approval.at:%Y-%m-%d} in {issue.url}. "
                f"Justification: {quote[:200] or '(none written)'}"
            )
            gh = []
            if issue.is_open:
                gh = [
                    _say(
                        issue,
                        f"Approved by {approval.actor} on {_when(approval.at)}. The finding is now SUPPRESSED in "
                        f"Security Hub until {approval.at + timedelta(days=config.approval.expires_after_days):%Y-%m-%d}, "
                        "when the approval expires and this issue reopens for a fresh look.",
                    ),
                    SetState(issue.repo, issue.number, "closed", "not_planned"),
                ]
            if not gh and not to_suppress:
                return step("unchanged", "approved", body_edit) if body_edit else None
            updates = (
                [UpdateFindings(refs(to_suppress), Workflow.SUPPRESSED, sh_note, key, issue.url)] if to_suppress else []
            )
            return step("suppressed", f"suppression approved by {approval.actor}", [*body_edit, *gh], updates)

    if approval is not None and approval.valid and approval.expired:
        gh = [Label(issue.repo, issue.number, label, add=False)]
        if not issue.is_open:
            gh.append(SetState(issue.repo, issue.number, "open", "reopened"))
        gh.append(
            _say(
                issue,
                f"The approval by {approval.actor} from {approval.at:%Y-%m-%d} has expired after "
                f"{config.approval.expires_after_days} days, so the finding is back to NOTIFIED. "
                f"{_mention(world, service)}please fix it, or write a new justification and ask an approver to add `{label}` again.",
            )
        )
        back = [f for f in active if f.workflow is not Workflow.NOTIFIED]
        updates = [_notify(back, issue, key, f"Approval expired; tracked again in {issue.url}")] if back else []
        return step(
            "expired",
            "approval expired; reopened",
            [*body_edit, *gh],
            updates + _unsuppress_inactive(members, issue, key),
        )

    # No valid approval from here on.
    if not active:
        gone = [f for f in members if f.workflow is not Workflow.RESOLVED]
        if issue.is_open:
            what = _resolution(members, subject)
            gh = [
                *body_edit,
                Comment(issue.repo, issue.number, comment(f"Security Hub reports this as resolved: {what}. Closing.")),
                SetState(issue.repo, issue.number, "closed", "completed"),
            ]
            sh = (
                [
                    UpdateFindings(
                        refs(gone),
                        Workflow.RESOLVED,
                        note(f"Resolved; issue closed by liver: {issue.url}"),
                        key,
                        issue.url,
                    )
                ]
                if gone
                else []
            )
            return step("resolved", f"resolved in Security Hub ({what}); closed", gh, sh)
        withdrawn = _unsuppress_inactive(members, issue, key)
        if withdrawn:
            return step("resolved", "approval gone; the resolved finding is no longer SUPPRESSED", body_edit, withdrawn)
        return step("unchanged", "checklist updated", body_edit) if body_edit else None

    liver_suppressed = [f for f in active if suppressed_by_liver(f)]
    person_suppressed = [f for f in active if suppressed_by_person(f)]
    if person_suppressed and len(person_suppressed) == len(active):
        if issue.is_open:
            n = person_suppressed[0].note
            said = f"“{n.text[:300]}” ({n.updated_by})" if n and n.text else "no note"
            gh = [
                _say(
                    issue,
                    f"Someone suppressed this finding directly in Security Hub. Their note: {said}. Closing as not planned.",
                ),
                SetState(issue.repo, issue.number, "closed", "not_planned"),
            ]
            return step("closed", "suppressed directly in Security Hub; closed as not planned", [*body_edit, *gh])
        return step("unchanged", "checklist updated", body_edit) if body_edit else None

    if issue.is_open:
        if liver_suppressed:
            gh = [
                *body_edit,
                _say(
                    issue,
                    f"The approval was withdrawn (the `{label}` label is gone or the issue was reopened), so the finding is back to "
                    f"NOTIFIED. {_mention(world, service)}please fix it, or explain again why no action is needed and ask an approver.",
                ),
            ]
            return step(
                "unsuppressed",
                "approval withdrawn; back to NOTIFIED",
                gh,
                [_notify(liver_suppressed, issue, key, f"Approval withdrawn; tracked again in {issue.url}")],
            )
        stale = [f for f in active if f.workflow is not Workflow.NOTIFIED and not suppressed_by_person(f)]
        if stale:
            return step(
                "notified",
                f"linked {len(stale)} finding(s) to the open issue",
                body_edit,
                [_notify(stale, issue, key, f"liver notified {service.name} in {issue.url}")],
            )
        return step("unchanged", "checklist updated", body_edit) if body_edit else None

    # The issue is closed while Security Hub still reports a problem.
    recurred = [f for f in active if f.workflow is Workflow.NEW]
    if recurred:
        f = recurred[0]
        gh = [
            *body_edit,
            *_reopen(
                issue,
                f"This came back: Security Hub reports {_status(f)} again as of {_when(f.updated_at)}. "
                f"{_mention(world, service)}please take another look.",
            ),
        ]
        return step(
            "reopened",
            "the finding came back; reopened",
            gh,
            [_notify(recurred, issue, key, f"Recurred; reopened {issue.url}")],
        )

    if issue.state_reason in ("not_planned", "duplicate"):
        if liver_suppressed:
            gh = [
                *body_edit,
                *_reopen(
                    issue,
                    f"The `{label}` label was removed, so the suppression is withdrawn and the finding is back to NOTIFIED. "
                    f"{_mention(world, service)}please fix it or ask an approver again.",
                ),
            ]
            return step(
                "unsuppressed",
                "approval removed; reopened",
                gh,
                [_notify(liver_suppressed, issue, key, f"Approval removed; tracked again in {issue.url}")],
            )
        open_again = [f for f in active if not suppressed_by_person(f)]
        if open_again:
            gh = [
                *body_edit,
                *_reopen(
                    issue,
                    "This issue was closed as not planned without an approval. Suppressing a finding needs an approver's "
                    f"label: explain in a comment why no action is needed, then ask one of {who_may} to add `{label}`.",
                ),
            ]
            return step("reopened", "closed as not planned without approval; reopened", gh)
        return step("unchanged", "checklist updated", body_edit) if body_edit else None

    # Closed as completed.
    closed_at = issue.closed_at or world.now
    still_failing = [
        f
        for f in active
        if f.compliance in ("FAILED", "WARNING", None)
        and f.updated_at > closed_at
        and (f.note is None or f.note.updated_at is None or f.updated_at > f.note.updated_at)
        and f.workflow is not Workflow.SUPPRESSED
    ]
    if still_failing:
        f = still_failing[0]
        gh = [
            *body_edit,
            *_reopen(
                issue,
                f"The fix was not detected: Security Hub still reports {_status(f)} as of {_when(f.updated_at)}. "
                f"{_mention(world, service)}please check the fix (see 'How to verify' above).",
            ),
        ]
        return step(
            "reopened",
            "fix not detected; reopened",
            gh,
            [_notify(still_failing, issue, key, f"Fix not detected; reopened {issue.url}")],
        )
    unresolved = [f for f in active if f.workflow not in (Workflow.RESOLVED, Workflow.SUPPRESSED)]
    if unresolved:
        by = closer(issue) or "someone"
        return step(
            "resolved",
            f"closed as completed by {by}; findings marked RESOLVED",
            body_edit,
            [
                UpdateFindings(
                    refs(unresolved),
                    Workflow.RESOLVED,
                    note(
                        f"Fixed according to {by}, who closed {issue.url}. liver reopens it if Security Hub still reports the problem."
                    ),
                    key,
                    issue.url,
                )
            ],
        )
    return step("unchanged", "checklist updated", body_edit) if body_edit else None


def _mention(world: World, service: Service) -> str:
    oncall = world.oncall.get(service.name)
    return f"@{oncall.candidates[0]}, " if oncall and oncall.candidates else ""


def _status(f: Finding) -> str:
    return f"compliance {f.compliance}" if f.compliance else f"the finding ({f.record_state.value})"


def _resolution(members: Sequence[Finding], subject: Subject) -> str:
    latest = max(members, key=lambda f: f.updated_at) if members else None
    if latest is None:
        return "the finding no longer exists (Security Hub deletes findings after its retention period)"
    if latest.record_state is RecordState.ARCHIVED:
        return f"the finding was archived on {_when(latest.updated_at)}"
    return f"compliance {latest.compliance or 'PASSED'} as of {_when(latest.updated_at)}"


# ---------------------------------------------------------------- upkeep: due dates, hand-over, paging


def page_spec(service: Service, config: Config) -> PageSpec | None:
    return service.page or config.page


def due_at(issue: TrackedIssue, service: Service, severity: Severity) -> datetime:
    """Due dates are derived, not stored: opened + the service's SLA for the severity."""
    return issue.created_at + timedelta(days=service.sla_days.get(severity, 30))


def _ends_open(issue: TrackedIssue, step: Step | None) -> bool:
    state = issue.state
    for action in step.issue_actions if step else ():
        if isinstance(action, SetState):
            state = action.state
    return state == "open"


def _upkeep(subject: Subject, issue: TrackedIssue, world: World, config: Config, step: Step | None) -> Step | None:
    """What an issue needs besides the lifecycle: reminders, a new owner, a page."""
    service, members = subject.service, subject.members
    spec = page_spec(service, config)
    actions: list[IssueAction] = []
    kinds: list[str] = []
    if not _ends_open(issue, step):
        if spec is not None and PAGED_LABEL in issue.labels:
            actions.append(
                Page(issue.repo, issue.number, "resolve", spec, subject.key, issue.title, severity_of(members))
            )
            kinds.append("page resolved")
        return _upkeep_step(service, issue, actions, kinds)
    if step is not None and step.kind == "mismatch":
        return None
    severity = severity_of([f for f in members if is_active(f)] or members)
    oncall = world.oncall.get(service.name, Oncall(()))
    current = oncall.candidates[0] if oncall.candidates else None

    # Hand-over: move the issue from a previous on-call person to the current one. If a
    # fallback already holds it (the current person cannot be assigned), leave it there.
    if service.reassign_on_handover and current and not set(issue.assignees) & set(oncall.candidates):
        team = oncall.team | set(oncall.candidates)
        if not issue.assignees or set(issue.assignees) <= team:
            actions.append(Assign(issue.repo, issue.number, oncall.candidates, issue.assignees, service.name))
            kinds.append(f"reassigned to {current}")

    # Overdue: one label and one reminder, then at most one more every remind_every days.
    due = due_at(issue, service, severity)
    every = timedelta(days=service.remind_every(severity))
    # A run that already commented (reopen, withdrawal, ...) does not add a reminder too;
    # any activity on the issue restarts the reminder clock (updated_at), so no extra reads.
    quiet = step is None or step.kind == "unchanged"
    if quiet and world.now > due and (OVERDUE_LABEL not in issue.labels or world.now - issue.updated_at >= every):
        people = [f"@{current}"] if current else []
        people += [f"@{e}" for e in service.escalation]
        actions.append(Label(issue.repo, issue.number, OVERDUE_LABEL, add=True))
        actions.append(
            _say(
                issue,
                f"This {severity.name} finding was due on {due:%Y-%m-%d} and is still open. "
                f"{' '.join(people) + ': ' if people else ''}please fix it, or explain why no action is needed and ask an approver.",
            )
        )
        kinds.append(f"overdue since {due:%Y-%m-%d}")

    # Paging: once per finding at or above the page threshold; failures retry next run.
    if spec is not None and spec.covers(severity) and PAGED_LABEL not in issue.labels:
        actions.append(Page(issue.repo, issue.number, "trigger", spec, subject.key, issue.title, severity))
        kinds.append("paged")
    return _upkeep_step(service, issue, actions, kinds)


def _upkeep_step(service: Service, issue: TrackedIssue, actions: list[IssueAction], kinds: list[str]) -> Step | None:
    if not actions:
        return None
    kind = "overdue" if any(k.startswith("overdue") for k in kinds) else "upkeep"
    return Step(
        service.name, kind, f"{issue.ref}: {'; '.join(kinds)}", issue_actions=tuple(actions), issue_url=issue.url
    )
