"""Carry out a plan through the ports, in a crash-safe order, and report honestly.

For each step GitHub changes first, then Security Hub: if the run dies in between, the
next run reads GitHub's new state and the rules finish the Security Hub part. A failed
step is reported with what failed and the rest of the plan still runs; a repository that
cannot be used is skipped for the rest of the run; a rate limit past its cap stops the
run cleanly and lists what was not done.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from liver_gh.actions import (
    AddLabel,
    Assign,
    Comment,
    EditBody,
    IssueAction,
    IssueRef,
    Page,
    PageAction,
    RemoveLabel,
    SetState,
    Step,
    Target,
    ThisIssue,
    UpdateFindings,
)
from liver_gh.errors import AuthError, LiverError, OncallError, RepoUnavailable, StopRun
from liver_gh.ports import FindingSource, FindingUpdate, IssueTracker, NewIssue, Pager
from liver_gh.report.run import Entry, RunReport, Status
from liver_gh.rules.identity import UDF_APPROVAL, UDF_ISSUE, UDF_KEY, UDF_TRACKED
from liver_gh.rules.upkeep import PAGED_LABEL

Progress = Callable[[str, list[Entry]], None]


@dataclass
class _Run:
    tracker: IssueTracker
    hub: FindingSource
    pager: Pager | None
    report: RunReport
    opened: IssueRef | None = None
    errors: list[str] = field(default_factory=list)

    def resolve(self, target: Target) -> IssueRef:
        if isinstance(target, ThisIssue):
            if self.opened is None:
                raise LiverError("an action refers to the issue of its step, which was not opened")
            return self.opened
        return target


def apply_plan(
    steps: list[Step],
    *,
    tracker: IssueTracker | None,
    hub: FindingSource | None,
    pager: Pager | None,
    report: RunReport,
    progress: Progress | None = None,
    services: Sequence[str] = (),
) -> None:
    """Execute every step; with no tracker or hub (dry run) only record the plan.

    Progress is reported per service as it finishes, also for ``services`` with nothing to do.
    """
    by_service: dict[str, list[Step]] = {name: [] for name in services}
    for step in steps:
        by_service.setdefault(step.service, []).append(step)
    failed_repos: dict[str, str] = {}
    stopped = False
    for service, service_steps in by_service.items():
        entries: list[Entry] = []
        for step in service_steps:
            entry = _one(step, tracker, hub, pager, report, failed_repos, stopped)
            stopped = stopped or (entry.status is Status.NOT_DONE and report.stopped_early is not None)
            entries.append(entry)
            report.entries.append(entry)
        if progress is not None:
            progress(service, entries)


def _one(
    step: Step,
    tracker: IssueTracker | None,
    hub: FindingSource | None,
    pager: Pager | None,
    report: RunReport,
    failed_repos: dict[str, str],
    stopped: bool,
) -> Entry:
    if tracker is None or hub is None:
        if step.open is not None and report.keep_rendered:
            report.rendered.append((step.open.repo, step.open.title, step.open.render()[0]))
        return Entry(step, Status.PLANNED, step.issue.url if step.issue else None)
    if not step.has_effects:
        return Entry(step, Status.DONE, step.issue.url if step.issue else None)
    if stopped:
        return Entry(step, Status.NOT_DONE, errors=["the run stopped before this step"])
    repo = step.repo.lower()
    if repo in failed_repos:
        return Entry(step, Status.NOT_DONE, errors=[f"skipped: {failed_repos[repo]}"])
    run = _Run(tracker, hub, pager, report)
    try:
        _execute(step, run)
    except StopRun as e:
        report.stopped_early = f"{e}; the rest is left for the next run."
        return Entry(step, Status.NOT_DONE, errors=[str(e)])
    except AuthError:
        raise  # a refused token fails every step alike: stop, exit 2
    except RepoUnavailable as e:
        failed_repos[repo] = str(e)
        run.errors.append(str(e))
    except LiverError as e:
        run.errors.append(str(e))
    url = run.opened.url if run.opened else (step.issue.url if step.issue else None)
    return Entry(step, Status.FAILED if run.errors else Status.DONE, url, run.errors)


def _execute(step: Step, run: _Run) -> None:
    op = step.open
    if op is not None:
        run.tracker.ensure_labels(op.repo, op.labels)
        assignees = (op.assignee.login,) if op.assignee.login else ()
        body, follow_ups = op.render()
        created = run.tracker.create_issue(
            op.repo, op.key, NewIssue(op.title, body, op.labels, assignees, op.issue_type)
        )
        run.opened = IssueRef(op.repo, created.issue.number, created.issue.url)
        for missing in created.missing:
            run.report.warn(f"{op.repo}: {missing}")
        for note in op.assignee.notes:
            run.report.warn(f"{step.service}: {note}")
        if run.report.keep_rendered:
            run.report.rendered.append((op.repo, op.title, body))
        for follow_up in follow_ups:
            run.tracker.comment(op.repo, created.issue.number, follow_up)
    for action in step.gh:
        _issue_action(action, step, run)
    for update in step.sh:
        _finding_update(update, run)


def _issue_action(action: IssueAction, step: Step, run: _Run) -> None:
    if isinstance(action, Page):
        _page(action, step, run)
        return
    target = run.resolve(action.target)
    t = run.tracker
    match action:
        case Comment(_, body):
            t.comment(target.repo, target.number, body)
        case SetState(_, state, reason):
            t.set_state(target.repo, target.number, state, reason)
        case AddLabel(_, label):
            t.add_label(target.repo, target.number, label)
        case RemoveLabel(_, label):
            t.remove_label(target.repo, target.number, label)
        case EditBody(_, body):
            t.edit_body(target.repo, target.number, body)
        case Assign(_, login, previous):
            t.assign(target.repo, target.number, login, previous)


def _page(action: Page, step: Step, run: _Run) -> None:
    """Send a page; the paged label records success, so a failure is retried next run."""
    if run.pager is None:
        return
    target = run.resolve(action.target)
    try:
        if action.action is PageAction.TRIGGER:
            run.pager.trigger(
                action.spec,
                dedup_key=action.dedup_key,
                summary=f"[{action.severity.name}] {action.summary}",
                source=target.repo,
                severity=action.severity,
                link=target.url,
                link_text=target.ref,
            )
        else:
            run.pager.resolve(action.spec, dedup_key=action.dedup_key)
    except OncallError as e:
        # The rest of the step (the Security Hub update) still happens; the page is retried next run.
        run.errors.append(f"paging ({action.action.value}) failed, retried next run: {e}")
        return
    if action.action is PageAction.TRIGGER:
        run.tracker.add_label(target.repo, target.number, PAGED_LABEL)
    else:
        run.tracker.remove_label(target.repo, target.number, PAGED_LABEL)


def _finding_update(update: UpdateFindings, run: _Run) -> None:
    if not update.refs:
        return
    issue = run.resolve(update.issue)
    fields = {UDF_TRACKED[0]: UDF_TRACKED[1], UDF_KEY: update.key, UDF_ISSUE: issue.url}
    if update.approval is not None:
        fields[UDF_APPROVAL] = update.approval
    outcome = run.hub.update(
        FindingUpdate(
            refs=[(r.id, r.product_arn, r.account) for r in update.refs],
            workflow=update.workflow,
            note=update.note.render(issue.url),
            fields=fields,
        )
    )
    run.errors.extend(f"Security Hub update for {issue.ref}: {f}" for f in outcome.failed)
