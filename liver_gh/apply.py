"""Carry out a plan through the adapters, in a crash-safe order.

For each step GitHub changes first, then Security Hub: if the run dies in between, the
next run reads GitHub's new state and the rules finish the Security Hub part. One failed
step is reported and the rest of the plan still runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from liver_gh import identity
from liver_gh.config import Config
from liver_gh.errors import LiverError
from liver_gh.explanations import Library
from liver_gh.github import BudgetExhausted, GitHubTracker
from liver_gh.paging import Pager
from liver_gh.plan import PAGED_LABEL, Assign, Comment, EditBody, Label, OpenIssue, Page, Plan, SetState, Step, comment
from liver_gh.render import render_issue
from liver_gh.report import Entry, RunReport
from liver_gh.securityhub import SecurityHub


def _assignee(
    tracker: GitHubTracker | None, repo: str, candidates: tuple[str, ...], notes_in: tuple[str, ...] = ()
) -> tuple[str | None, list[str]]:
    """The first candidate GitHub can assign, with sentences explaining any fallback."""
    notes = list(notes_in)
    if not candidates:
        return None, [*notes, "No on-call person is configured for this service, so the issue is unassigned."]
    for i, login in enumerate(candidates):
        if tracker is None or tracker.can_assign(repo, login):
            if i > 0:
                notes.append(f"{', '.join(candidates[:i])} cannot be assigned in {repo}; assigned {login} instead.")
            return login, notes
    return None, [
        *notes,
        f"None of {', '.join(candidates)} can be assigned in {repo} (not collaborators?), so the issue is "
        "unassigned. Give them access or fix the on-call configuration.",
    ]


def body_for(
    op: OpenIssue, config: Config, library: Library, now: datetime, assignee: str | None, notes: list[str]
) -> str:
    service = next(s for s in config.services if s.name == op.service)
    due = now + timedelta(days=service.sla_days.get(op.severity, 30))
    grouped = None
    if op.key.startswith("g-") or op.key.startswith("c-"):
        grouped = (
            op.title.rsplit(" in ", 1)[-1].rstrip(")")
            if op.key.startswith("g-")
            else f"control {op.findings[0].control_id}"
        )
    return render_issue(
        library,
        op.findings,
        service=op.service,
        environment=op.environment,
        key=op.key,
        assignee=assignee,
        assignee_notes=notes,
        due=due,
        approval_label=config.approval.label,
        approvers=config.approval.approvers,
        grouped=grouped,
        now=now,
        ignore_notes=op.ignore_notes,
    )


def apply_plan(
    plan: Plan,
    *,
    config: Config,
    library: Library,
    tracker: GitHubTracker | None,
    hub: SecurityHub | None,
    report: RunReport,
    now: datetime,
    pager: Pager | None = None,
) -> None:
    """Execute every step; with no tracker/hub (dry run) only describe and render."""
    report.findings_seen += plan.seen
    report.skipped.update(plan.skipped)
    report.warnings.extend(plan.warnings)
    for step in plan.steps:
        if step.kind == "unchanged" and not step.issue_actions:
            continue
        if tracker is None or hub is None:
            _describe(step, config, library, report, now)
            continue
        try:
            url, acted = _run_step(step, config, library, tracker, hub, report, now, pager)
        except BudgetExhausted as e:
            report.stopped_early = f"{e}; the rest is left for the next run."
            break
        except LiverError as e:
            report.failures.append(f"{step.summary}: {e}")
            continue
        if acted:
            report.entries.append(Entry(step.service, step.kind, step.summary, url))


def _describe(step: Step, config: Config, library: Library, report: RunReport, now: datetime) -> None:
    op = step.open_issue
    if op is not None:
        assignee, notes = _assignee(None, op.repo, op.candidates, op.oncall_notes)
        report.rendered.append((op.repo, op.title, body_for(op, config, library, now, assignee, notes)))
    report.entries.append(Entry(step.service, step.kind, step.summary, step.issue_url))


def _run_step(
    step: Step,
    config: Config,
    library: Library,
    tracker: GitHubTracker,
    hub: SecurityHub,
    report: RunReport,
    now: datetime,
    pager: Pager | None,
) -> tuple[str | None, bool]:
    url = step.issue_url
    number: int | None = None
    assigned = False
    op = step.open_issue
    if op is not None:
        tracker.ensure_labels(op.repo, op.labels)
        assignee, notes = _assignee(tracker, op.repo, op.candidates, op.oncall_notes)
        body = body_for(op, config, library, now, assignee, notes)
        issue = tracker.create_issue(op.repo, op.key, op.title, body, list(op.labels), [assignee] if assignee else [])
        url, number = issue.url, issue.number
        if report.keep_rendered:
            report.rendered.append((op.repo, op.title, body))
        if assignee is None or notes:
            report.warnings.append(f"{issue.ref}: " + " ".join(notes))
    for action in step.issue_actions:
        match action:
            case Comment(repo, n, body):
                tracker.comment(repo, n, body)
            case SetState(repo, n, state, reason):
                tracker.set_state(repo, n, state, reason)
            case Label(repo, n, name, add):
                tracker.label(repo, n, name, add)
            case EditBody(repo, n, body):
                tracker.edit_body(repo, n, body)
            case Assign(repo, n, candidates, previous, service):
                login, _ = _assignee(tracker, repo, candidates)
                if login and login not in previous:
                    assigned = True
                    tracker.assign(repo, n, login, previous)
                    before = ", ".join(previous) or "nobody"
                    tracker.comment(
                        repo,
                        n,
                        comment(f"On-call for {service} moved from {before} to @{login}, so this issue is now theirs."),
                    )
            case Page():
                _page(action, number, url or "", tracker, pager, report)
    for update in step.finding_updates:
        link = update.issue_url or url or ""
        result = hub.update(
            [(r.id, r.product_arn) for r in update.refs],
            workflow=update.workflow,
            note=update.note.replace("ISSUE_URL", link),
            udf={
                identity.UDF_TRACKED[0]: identity.UDF_TRACKED[1],
                identity.UDF_KEY: update.key,
                identity.UDF_ISSUE: link,
            },
        )
        report.failures.extend(f"Security Hub update for {link}: {f}" for f in result.failed)
    # A hand-over that found nobody assignable did nothing worth reporting.
    acted = op is not None or bool(step.finding_updates) or assigned
    acted = acted or any(not isinstance(a, Assign) for a in step.issue_actions)
    return url, acted


def _page(
    action: Page, opened: int | None, url: str, tracker: GitHubTracker, pager: Pager | None, report: RunReport
) -> None:
    """Send a page; the paged label records success, so a failure is retried next run."""
    number = action.number if action.number is not None else opened
    if pager is None or number is None:
        return
    try:
        if action.action == "trigger":
            pager.trigger(
                action.spec,
                dedup_key=action.dedup_key,
                summary=f"[{action.severity.name}] {action.summary}",
                source=action.repo,
                severity=action.severity.name,
                link=url,
                link_text=f"{action.repo}#{number}",
            )
        else:
            pager.resolve(action.spec, dedup_key=action.dedup_key)
    except LiverError as e:
        report.failures.append(f"{action.repo}#{number}: paging ({action.action}) failed, retried next run: {e}")
        return
    tracker.label(action.repo, number, PAGED_LABEL, add=action.action == "trigger")
