"""The lifecycle of an issue whose links verify: small named rules, tried in order.

``RULES`` is the order; the first rule that returns a decision wins (the README's
lifecycle table names the rule behind each row). Upkeep (labels, checklist, reminders,
hand-over, paging) is separate and applies on top, see ``upkeep.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from liver_gh.actions import (
    AddLabel,
    Comment,
    FindingRef,
    IssueAction,
    IssueRef,
    NoteText,
    RemoveLabel,
    SetState,
    StepKind,
    UpdateFindings,
)
from liver_gh.config.model import Config
from liver_gh.markdown import Markdown, code, join, literal, md, truncate
from liver_gh.models import Compliance, Finding, IssueState, RecordState, StateReason, TrackedIssue, Workflow
from liver_gh.rules import approval as ap
from liver_gh.rules.identity import NO_APPROVAL, short_digest
from liver_gh.rules.subject import Subject


@dataclass(frozen=True)
class Ctx:
    subject: Subject
    issue: TrackedIssue
    approval: ap.Approval | None
    config: Config
    now: datetime
    central: bool  # only the central run may suppress
    oncall: str | None  # the current on-call login, mentioned when work is asked of them
    creators: frozenset[str]

    @property
    def target(self) -> IssueRef:
        return IssueRef(self.issue.repo, self.issue.number, self.issue.url)

    @property
    def label(self) -> str:
        return self.config.approval.label

    @property
    def active(self) -> list[Finding]:
        return self.subject.active

    @property
    def mention(self) -> Markdown:
        return Markdown(f"@{self.oncall}, ") if self.oncall else Markdown("")


@dataclass(frozen=True)
class Decision:
    kind: StepKind
    summary: str
    gh: tuple[IssueAction, ...] = ()
    sh: tuple[UpdateFindings, ...] = ()


Rule = Callable[[Ctx], Decision | None]


# ---------------------------------------------------------------- helpers


def when(t: datetime | None) -> str:
    return t.strftime("%Y-%m-%d %H:%M UTC") if t else "an unknown time"


def stamp(t: datetime | None) -> Markdown:
    return literal(t) if t else Markdown("an unknown time")


def say(ctx: Ctx, text: Markdown) -> Comment:
    return Comment(ctx.target, text)


def reopen(ctx: Ctx, text: Markdown) -> list[IssueAction]:
    return [SetState(ctx.target, IssueState.OPEN, StateReason.REOPENED), say(ctx, text)]


def update(
    ctx: Ctx, findings: Sequence[Finding], workflow: Workflow, note: str, approval: str | None = None
) -> UpdateFindings:
    return UpdateFindings(
        tuple(FindingRef.of(f) for f in findings), workflow, NoteText(note), ctx.subject.key, ctx.target, approval
    )


def status(f: Finding) -> Markdown:
    if f.compliance:
        return md("compliance {c}", c=literal(f.compliance))
    return md("the finding ({state})", state=literal(f.record_state))


def who_may(ctx: Ctx) -> Markdown:
    names = ap.who_may(ctx.config.approval)
    return join(", ", [code(n) for n in names]) if names else Markdown("(no approver is configured)")


def _still_failing_after_close(ctx: Ctx) -> list[Finding]:
    closed_at = ctx.issue.closed_at or ctx.now
    return [
        f
        for f in ctx.active
        if f.compliance in (Compliance.FAILED, Compliance.WARNING, None)
        and f.updated_at > closed_at
        and (f.note is None or f.note.updated_at is None or f.updated_at > f.note.updated_at)
        and f.workflow is not Workflow.SUPPRESSED
    ]


def _resolution(ctx: Ctx) -> Markdown:
    members = ctx.subject.findings
    latest = max(members, key=lambda f: f.updated_at) if members else None
    if latest is None:
        return md(
            "the finding no longer exists (Security Hub deletes findings some time after they stop being updated)"
        )
    if latest.record_state is RecordState.ARCHIVED:
        return md("the finding was archived on {at}", at=stamp(latest.updated_at))
    return md(
        "compliance {c} as of {at}", c=literal(latest.compliance or Compliance.PASSED), at=stamp(latest.updated_at)
    )


def _withdraw_resolved(ctx: Ctx) -> list[UpdateFindings]:
    """Without a valid approval nothing stays SUPPRESSED by liver; a resolved finding says RESOLVED."""
    stale = [f for f in ctx.subject.findings if ap.suppressed_by_liver(f) and not f.failing]
    if not stale:
        return []
    note = f"The approval in {ctx.issue.url} is gone; Security Hub reports the finding resolved."
    return [update(ctx, stale, Workflow.RESOLVED, note, NO_APPROVAL)]


def _valid(ctx: Ctx) -> ap.Approval | None:
    a = ctx.approval
    return a if a is not None and a.verdict is ap.Verdict.APPROVED and not a.expired(ctx.now) else None


# ---------------------------------------------------------------- approvals


def reject_unauthorised_label(ctx: Ctx) -> Decision | None:
    """Someone who is not an approver added the label: remove it, say who may."""
    a = ctx.approval
    if a is None or a.verdict is not ap.Verdict.REJECTED:
        return None
    gh: list[IssueAction] = [
        RemoveLabel(ctx.target, ctx.label),
        say(
            ctx,
            md(
                "The {label} label was added by {actor}, but {reason}, so it was removed and the finding is unchanged. "
                "Only these may approve a suppression: {who}.",
                label=code(ctx.label),
                actor=code(a.actor),
                reason=a.reason,
                who=who_may(ctx),
            ),
        ),
    ]
    if not ctx.issue.is_open:
        gh.insert(0, SetState(ctx.target, IssueState.OPEN, StateReason.REOPENED))
    return Decision(StepKind.REJECTED, f"approval label added by {a.actor}, who is not an approver; removed", tuple(gh))


def hold_unverified_approval(ctx: Ctx) -> Decision | None:
    """The approver could not be checked (403, 5xx): keep the label, suppress nothing."""
    a = ctx.approval
    if a is None or a.verdict is not ap.Verdict.UNKNOWN:
        return None
    return Decision(StepKind.APPROVAL_UNVERIFIED, f"approval by {a.actor} not applied: {a.reason}")


def defer_approval_to_central_run(ctx: Ctx) -> Decision | None:
    """A service repository's own run never suppresses; the central run will."""
    a = _valid(ctx)
    if a is None or ctx.central or a.record is not None:
        return None
    if not [f for f in ctx.active if not ap.suppressed_by_liver(f)]:
        return None
    return Decision(StepKind.APPROVAL_PENDING, f"approval by {a.actor} seen; the central run applies it")


def honour_approval(ctx: Ctx) -> Decision | None:
    """An approver's label: suppress what it covers, record it on the issue, close as not planned."""
    a = _valid(ctx)
    issue = ctx.issue
    if a is None or not ctx.central or not (issue.is_open or issue.closed_as_not_planned):
        return None
    if not issue.is_open and any(f.workflow is Workflow.NEW for f in ctx.active):
        return None  # it came back: reopen_on_recurrence handles it
    covered = ap.covered(ctx.subject.identity, a, ctx.active, ctx.subject.linked_ids())
    uncovered = [f for f in ctx.active if f not in covered]
    to_suppress = [f for f in covered if not (ap.suppressed_by_liver(f) and f.udf("liver_approval") == str(a.event.id))]
    gh: list[IssueAction] = []
    if a.record is None:
        gh.append(say(ctx, _approval_comment(ctx, a, covered, uncovered)))
    if issue.is_open and not uncovered:
        gh.append(SetState(ctx.target, IssueState.CLOSED, StateReason.NOT_PLANNED))
    sh = []
    if to_suppress:
        quote = ap.justification(issue.comments, a.event.created_at, ctx.creators)
        note = (
            f"Suppressed by liver: approved by {a.actor} (GitHub id {a.event.actor_id}) on {a.event.created_at:%Y-%m-%d} "
            f"in {issue.url}. Justification: {truncate(quote, 200) or '(none written)'}"
        )
        sh.append(update(ctx, to_suppress, Workflow.SUPPRESSED, note, str(a.event.id)))
    new_uncovered = [f for f in uncovered if f.workflow is not Workflow.NOTIFIED]
    if new_uncovered:
        sh.append(update(ctx, new_uncovered, Workflow.NOTIFIED, f"liver notified {ctx.subject.service.name} in"))
    if not gh and not sh:
        return None
    return Decision(StepKind.SUPPRESSED, f"suppression approved by {a.actor}", tuple(gh), tuple(sh))


def _approval_comment(ctx: Ctx, a: ap.Approval, covered: list[Finding], uncovered: list[Finding]) -> Markdown:
    record = ap.ApprovalRecord(
        a.event.id, a.event.actor_id, a.actor, a.via, frozenset(short_digest(f.id) for f in covered)
    )
    quote = ap.justification(ctx.issue.comments, a.event.created_at, ctx.creators)
    via = (
        md("member of {team}", team=code(a.via.removeprefix("team:"))) if a.via.startswith("team:") else md("approver")
    )
    listed = join("\n", [md("- {id}", id=code(f.id)) for f in covered[:50]])
    more = md("\n- … and {n} more", n=literal(len(covered) - 50)) if len(covered) > 50 else Markdown("")
    tail = (
        md(
            "\n\n{n} resource(s) joined after the approval and are not covered; this issue stays open for them.",
            n=literal(len(uncovered)),
        )
        if uncovered
        else Markdown("")
    )
    expires = literal(a.expires_at.date())
    return md(
        "Approved by {actor} (GitHub user id {uid}, {via}) on {at}. Justification: {quote}\n\n"
        "Suppressed in Security Hub until {expires}, when the approval expires and this issue reopens for a fresh look:\n"
        "{listed}{more}{tail}\n\n{record}",
        actor=code(a.actor),
        uid=literal(a.event.actor_id),
        via=via,
        at=stamp(a.event.created_at),
        quote=md("“{q}”", q=truncate(quote, 500)) if quote else md("(none written)"),
        expires=expires,
        listed=listed,
        more=more,
        tail=tail,
        record=Markdown(record.marker()),
    )


def expire_approval(ctx: Ctx) -> Decision | None:
    """An approval older than expires_after_days: back to NOTIFIED, reopen, ask again."""
    a = ctx.approval
    if a is None or a.verdict is not ap.Verdict.APPROVED or not a.expired(ctx.now):
        return None
    if not ctx.central:
        return None
    gh: list[IssueAction] = [RemoveLabel(ctx.target, ctx.label)]
    if not ctx.issue.is_open:
        gh.append(SetState(ctx.target, IssueState.OPEN, StateReason.REOPENED))
    gh.append(
        say(
            ctx,
            md(
                "The approval by {actor} from {at} has expired after {days} days, so the finding is back to NOTIFIED. "
                "{mention}please fix it, or write a new justification and ask an approver to add {label} again.",
                actor=code(a.actor),
                at=literal(a.event.created_at.date()),
                days=literal(ctx.config.approval.expires_after_days),
                mention=ctx.mention,
                label=code(ctx.label),
            ),
        )
    )
    back = [f for f in ctx.active if f.workflow is not Workflow.NOTIFIED]
    sh = [update(ctx, back, Workflow.NOTIFIED, f"Approval expired; tracked again in {ctx.issue.url}", NO_APPROVAL)]
    return Decision(
        StepKind.EXPIRED,
        "approval expired; reopened",
        tuple(gh),
        tuple(sh if back else []) + tuple(_withdraw_resolved(ctx)),
    )


# ---------------------------------------------------------------- Security Hub's side


def close_when_resolved_in_security_hub(ctx: Ctx) -> Decision | None:
    """Security Hub reports PASSED, archived, or (verified) deleted: close as completed."""
    if ctx.active:
        return None
    if not ctx.issue.is_open:
        withdrawn = _withdraw_resolved(ctx)
        return (
            Decision(StepKind.RESOLVED, "the resolved finding is no longer SUPPRESSED", (), tuple(withdrawn))
            if withdrawn
            else None
        )
    what = _resolution(ctx)
    gh = (
        say(ctx, md("Security Hub reports this as resolved: {what}. Closing.", what=what)),
        SetState(ctx.target, IssueState.CLOSED, StateReason.COMPLETED),
    )
    gone = [f for f in ctx.subject.findings if f.workflow is not Workflow.RESOLVED]
    note = f"Resolved; issue closed by liver: {ctx.issue.url}"
    sh = (update(ctx, gone, Workflow.RESOLVED, note, NO_APPROVAL),) if gone else ()
    return Decision(StepKind.RESOLVED, "resolved in Security Hub; closed", gh, sh)


def close_when_suppressed_directly(ctx: Ctx) -> Decision | None:
    """Someone suppressed every finding in Security Hub themselves: close as not planned, quote them."""
    active = ctx.active
    if not active or not all(ap.suppressed_by_person(f) for f in active) or not ctx.issue.is_open:
        return None
    n = active[0].note
    said = md("“{text}” ({by})", text=truncate(n.text, 300), by=n.updated_by) if n and n.text else md("no note")
    gh = (
        say(
            ctx,
            md(
                "Someone suppressed this finding directly in Security Hub. Their note: {said}. Closing as not planned.",
                said=said,
            ),
        ),
        SetState(ctx.target, IssueState.CLOSED, StateReason.NOT_PLANNED),
    )
    return Decision(StepKind.CLOSED, "suppressed directly in Security Hub; closed as not planned", gh)


# ---------------------------------------------------------------- open issues


def withdraw_when_approval_gone(ctx: Ctx) -> Decision | None:
    """The issue is open, liver had suppressed findings, and no valid approval stands: NOTIFIED again."""
    if not ctx.issue.is_open or _valid(ctx) is not None:
        return None
    suppressed = [f for f in ctx.active if ap.suppressed_by_liver(f)]
    if not suppressed:
        return None
    gh = (
        say(
            ctx,
            md(
                "The approval was withdrawn (the {label} label is gone or the issue was reopened), so the finding is back "
                "to NOTIFIED. {mention}please fix it, or explain again why no action is needed and ask an approver.",
                label=code(ctx.label),
                mention=ctx.mention,
            ),
        ),
    )
    sh = (
        update(
            ctx, suppressed, Workflow.NOTIFIED, f"Approval withdrawn; tracked again in {ctx.issue.url}", NO_APPROVAL
        ),
    )
    return Decision(StepKind.WITHDRAWN, "approval withdrawn; back to NOTIFIED", gh, sh)


def link_new_members(ctx: Ctx) -> Decision | None:
    """Findings that belong to an open issue but are not NOTIFIED, or whose link record is missing
    (new group members, a reopen, fields a member account cleared, a switch of API)."""
    if not ctx.issue.is_open:
        return None
    unlinked = {m.finding.id for m in ctx.subject.members if not m.linked_to(ctx.issue)}
    stale = [
        f
        for f in ctx.active
        if (f.workflow is not Workflow.NOTIFIED or f.id in unlinked) and not ap.suppressed_by_person(f)
    ]
    if not stale:
        return None
    note = f"liver notified {ctx.subject.service.name} in {ctx.issue.url}"
    return Decision(
        StepKind.LINKED,
        f"linked {len(stale)} finding(s) to the open issue",
        (),
        (update(ctx, stale, Workflow.NOTIFIED, note),),
    )


# ---------------------------------------------------------------- closed issues


def reopen_on_recurrence(ctx: Ctx) -> Decision | None:
    """Security Hub reset a finding to NEW after the issue was closed: reopen the same issue."""
    if ctx.issue.is_open:
        return None
    recurred = [f for f in ctx.active if f.workflow is Workflow.NEW]
    if not recurred:
        return None
    f = recurred[0]
    gh = reopen(
        ctx,
        md(
            "This came back: Security Hub reports {status} again as of {at}. {mention}please take another look.",
            status=status(f),
            at=stamp(f.updated_at),
            mention=ctx.mention,
        ),
    )
    sh = (update(ctx, recurred, Workflow.NOTIFIED, f"Recurred; reopened {ctx.issue.url}", NO_APPROVAL),)
    return Decision(StepKind.REOPENED, "the finding came back; reopened", tuple(gh), sh)


def withdraw_when_label_removed(ctx: Ctx) -> Decision | None:
    """Closed as not planned under an approval whose label is gone: reopen, NOTIFIED again."""
    if not ctx.issue.closed_as_not_planned or _valid(ctx) is not None:
        return None
    suppressed = [f for f in ctx.active if ap.suppressed_by_liver(f)]
    if not suppressed:
        return None
    gh = reopen(
        ctx,
        md(
            "The {label} label was removed, so the suppression is withdrawn and the finding is back to NOTIFIED. "
            "{mention}please fix it or ask an approver again.",
            label=code(ctx.label),
            mention=ctx.mention,
        ),
    )
    sh = (
        update(ctx, suppressed, Workflow.NOTIFIED, f"Approval removed; tracked again in {ctx.issue.url}", NO_APPROVAL),
    )
    return Decision(StepKind.WITHDRAWN, "approval removed; reopened", tuple(gh), sh)


def reopen_unapproved_not_planned(ctx: Ctx) -> Decision | None:
    """Closed as not planned without an approval: suppression needs an approver, so reopen."""
    if not ctx.issue.closed_as_not_planned or _valid(ctx) is not None:
        return None
    if not [f for f in ctx.active if not ap.suppressed_by_person(f)]:
        return None
    gh = reopen(
        ctx,
        md(
            "This issue was closed as not planned without an approval. Suppressing a finding needs an approver's label: "
            "explain in a comment why no action is needed, then ask one of {who} to add {label}.",
            who=who_may(ctx),
            label=code(ctx.label),
        ),
    )
    return Decision(StepKind.REOPENED, "closed as not planned without approval; reopened", tuple(gh))


def reopen_when_fix_not_detected(ctx: Ctx) -> Decision | None:
    """Closed as completed, but Security Hub re-checked after the close and still fails."""
    if ctx.issue.state is not IssueState.CLOSED or ctx.issue.closed_as_not_planned:
        return None
    failing = _still_failing_after_close(ctx)
    if not failing:
        return None
    f = failing[0]
    gh = reopen(
        ctx,
        md(
            "The fix was not detected: Security Hub still reports {status} as of {at}. "
            "{mention}please check the fix (see 'How to verify' above).",
            status=status(f),
            at=stamp(f.updated_at),
            mention=ctx.mention,
        ),
    )
    sh = (update(ctx, failing, Workflow.NOTIFIED, f"Fix not detected; reopened {ctx.issue.url}", NO_APPROVAL),)
    return Decision(StepKind.REOPENED, "fix not detected; reopened", tuple(gh), sh)


def resolve_on_close(ctx: Ctx) -> Decision | None:
    """Closed as completed by a developer: mark the findings RESOLVED (verified on the next check)."""
    if ctx.issue.state is not IssueState.CLOSED or ctx.issue.closed_as_not_planned:
        return None
    unresolved = [f for f in ctx.active if f.workflow not in (Workflow.RESOLVED, Workflow.SUPPRESSED)]
    if not unresolved:
        return None
    by = closer(ctx.issue) or "someone"
    note = f"Fixed according to {by}, who closed {ctx.issue.url}. liver reopens it if Security Hub still reports the problem."
    return Decision(
        StepKind.RESOLVED,
        f"closed as completed by {by}; findings marked RESOLVED",
        (),
        (update(ctx, unresolved, Workflow.RESOLVED, note),),
    )


def closer(issue: TrackedIssue) -> str | None:
    closes = [e for e in issue.events or () if e.event == "closed"]
    return max(closes, key=lambda e: e.created_at).actor if closes else None


RULES: tuple[Rule, ...] = (
    reject_unauthorised_label,
    hold_unverified_approval,
    defer_approval_to_central_run,
    honour_approval,
    expire_approval,
    close_when_resolved_in_security_hub,
    close_when_suppressed_directly,
    withdraw_when_approval_gone,
    link_new_members,
    reopen_on_recurrence,
    withdraw_when_label_removed,
    reopen_unapproved_not_planned,
    reopen_when_fix_not_detected,
    resolve_on_close,
)


def decide(ctx: Ctx) -> tuple[Rule, Decision] | None:
    """The first rule in RULES that applies, and its decision."""
    for rule in RULES:
        decision = rule(ctx)
        if decision is not None:
            return rule, decision
    return None


def needs_history(issue: TrackedIssue, members: Sequence[Finding], label: str) -> bool:
    """Whether the rules need this issue's events and comments (fetched only when so)."""
    if label in issue.labels:
        return True
    if issue.is_open:
        return False
    active = [f for f in members if f.failing]
    if issue.closed_as_not_planned:
        return any(f.workflow is not Workflow.SUPPRESSED for f in active)
    return any(f.workflow not in (Workflow.RESOLVED, Workflow.NEW) for f in active)


__all__ = ["RULES", "AddLabel", "Ctx", "Decision", "Rule", "decide", "needs_history"]
