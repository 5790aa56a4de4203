"""What an issue needs besides its lifecycle: who owns it, when it is due, reminders,
hand-over, paging, and its labels and checklist kept right.

Due dates are derived, not stored: the issue's opening time plus the service's SLA for
its severity (``due_at`` is the one place that computes them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from liver_gh.actions import (
    AddLabel,
    Assign,
    Assignee,
    Comment,
    EditBody,
    IssueAction,
    IssueRef,
    Page,
    PageAction,
    SetState,
    StepKind,
)
from liver_gh.config.model import Config, Service
from liver_gh.markdown import Markdown, code, join, literal, md
from liver_gh.models import IssueState, Severity, TrackedIssue

LIVER_LABEL = "liver"
MISMATCH_LABEL = "liver:mismatch"
OVERDUE_LABEL = "liver:overdue"
PAGED_LABEL = "liver:paged"
UNMAPPED_LABEL = "liver:unmapped"


@dataclass(frozen=True)
class Oncall:
    """Who to assign, in order, and why; ``team`` is everyone who takes turns."""

    candidates: tuple[str, ...]
    notes: tuple[str, ...] = ()  # provider problems, as sentences (untrusted text inside)
    team: frozenset[str] = frozenset()
    fallback_from: int | None = None  # index of the first fallback login in candidates
    source: str = ""  # rotation, override, static, pagerduty, opsgenie or fallback


@dataclass(frozen=True)
class Upkeep:
    kinds: list[StepKind] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    gh: list[IssueAction] = field(default_factory=list)


def due_at(opened: datetime, service: Service, severity: Severity) -> datetime:
    return opened + timedelta(days=service.sla_days.get(severity, 30))


def choose_assignee(oncall: Oncall, repo: str, assignable: Mapping[tuple[str, str], bool | None]) -> Assignee:
    """The first candidate GitHub can assign, with sentences saying why when it is not the first."""
    notes = list(oncall.notes)
    if not oncall.candidates:
        return Assignee(
            None, False, (*notes, "No on-call person is configured for this service, so the issue is unassigned.")
        )
    for i, login in enumerate(oncall.candidates):
        if assignable.get((repo.lower(), login.lower()), True) is False:
            continue
        fallback = oncall.fallback_from is not None and i >= oncall.fallback_from
        if i > 0:
            notes.append(f"{', '.join(oncall.candidates[:i])} cannot be assigned in {repo}; assigned {login} instead.")
        return Assignee(login, fallback, tuple(notes))
    notes.append(
        f"None of {', '.join(oncall.candidates)} can be assigned in {repo} (not collaborators?), so the issue is "
        "unassigned. Give them access or fix the on-call configuration."
    )
    return Assignee(None, False, tuple(notes))


def ends_open(issue: TrackedIssue, actions: list[IssueAction]) -> bool:
    state = issue.state
    for action in actions:
        if isinstance(action, SetState):
            state = action.state
    return state is IssueState.OPEN


def labels(issue: TrackedIssue, severity: Severity, up: Upkeep) -> None:
    """Put back the liver and severity labels if someone removed them."""
    target = IssueRef(issue.repo, issue.number, issue.url)
    missing = [lb for lb in (LIVER_LABEL, severity.label) if lb not in issue.labels]
    if missing:
        up.gh.extend(AddLabel(target, lb) for lb in missing)
        up.kinds.append(StepKind.RELABELED)
        up.summary.append(f"labels {', '.join(missing)} put back")


def checklist(issue: TrackedIssue, new_body: Markdown | None, up: Upkeep) -> None:
    if new_body is not None and new_body != issue.body:
        up.gh.append(EditBody(IssueRef(issue.repo, issue.number, issue.url), new_body))
        up.kinds.append(StepKind.CHECKLIST)
        up.summary.append("checklist updated")


def handover(issue: TrackedIssue, service: Service, oncall: Oncall, chosen: Assignee, up: Upkeep) -> None:
    """Move the issue from a previous on-call person to the current one, once.

    Issues someone assigned to a person outside the rotation are left alone; if a fallback
    already holds it (the current person cannot be assigned), it stays there.
    """
    if not service.reassign_on_handover or chosen.login is None:
        return
    if {a.lower() for a in issue.assignees} & {c.lower() for c in oncall.candidates}:
        return
    team = {t.lower() for t in oncall.team | set(oncall.candidates)}
    if issue.assignees and not {a.lower() for a in issue.assignees} <= team:
        return
    target = IssueRef(issue.repo, issue.number, issue.url)
    before = join(", ", [code(a) for a in issue.assignees]) or Markdown("nobody")
    up.gh.append(Assign(target, chosen.login, issue.assignees))
    up.gh.append(
        Comment(
            target,
            md(
                "On-call for {service} moved from {before} to @{login}, so this issue is now theirs.",
                service=service.name,
                before=before,
                login=Markdown(chosen.login),
            ),
        )
    )
    up.kinds.append(StepKind.REASSIGNED)
    up.summary.append(f"reassigned to {chosen.login}")


def overdue(
    issue: TrackedIssue,
    service: Service,
    severity: Severity,
    current: str | None,
    now: datetime,
    quiet: bool,
    up: Upkeep,
) -> None:
    """One label and one reminder once due; then at most one more every remind_every days."""
    due = due_at(issue.created_at, service, severity)
    every = timedelta(days=service.remind_every(severity))
    # Any activity on the issue restarts the reminder clock (updated_at), so no extra reads;
    # a run that already commented (reopen, withdrawal, ...) does not add a reminder too.
    if not quiet or now <= due or (OVERDUE_LABEL in issue.labels and now - issue.updated_at < every):
        return
    people = [f"@{current}"] if current else []
    people += [f"@{e}" for e in service.escalation]
    target = IssueRef(issue.repo, issue.number, issue.url)
    up.gh.append(AddLabel(target, OVERDUE_LABEL))
    up.gh.append(
        Comment(
            target,
            md(
                "This {severity} finding was due on {due} and is still open. {people}please fix it, or explain why no "
                "action is needed and ask an approver.",
                severity=literal(severity),
                due=literal(due.date()),
                people=Markdown(" ".join(people) + ": ") if people else Markdown(""),
            ),
        )
    )
    up.kinds.append(StepKind.OVERDUE)
    up.summary.append(f"overdue since {due:%Y-%m-%d}")


def paging(
    issue: TrackedIssue, config: Config, service: Service, key: str, severity: Severity, is_open: bool, up: Upkeep
) -> None:
    """Page once per finding at or above the page threshold; resolve when closed. Failures retry next run."""
    spec = config.page_spec(service)
    if spec is None:
        return
    target = IssueRef(issue.repo, issue.number, issue.url)
    if not is_open and PAGED_LABEL in issue.labels:
        up.gh.append(Page(target, PageAction.RESOLVE, spec, key, issue.title, severity))
        up.kinds.append(StepKind.PAGE_RESOLVED)
        up.summary.append("page resolved")
    elif is_open and spec.covers(severity) and PAGED_LABEL not in issue.labels:
        up.gh.append(Page(target, PageAction.TRIGGER, spec, key, issue.title, severity))
        up.kinds.append(StepKind.PAGED)
        up.summary.append("paged")
