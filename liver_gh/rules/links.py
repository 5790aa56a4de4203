"""What liver does when a link does not verify, an account moved, or an account left.

- A disagreement flags the issue once (``liver:mismatch`` and one comment naming what
  disagrees), is listed in every run's summary, and liver decides nothing on that link.
  A suppression liver made under a link that no longer verifies is withdrawn.
- An account that moved to another service: its findings follow to an issue in the new
  service's repository; the old issue is closed pointing to it.
- An account no longer mapped: its issues stay open with one comment saying so, and are
  never closed as if the finding were gone.
- An issue whose findings a direct read confirmed are gone from Security Hub is closed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from liver_gh.actions import (
    AddLabel,
    Comment,
    FindingRef,
    IssueAction,
    IssueRef,
    NoteText,
    SetState,
    StepKind,
    Target,
    ThisIssue,
    UpdateFindings,
)
from liver_gh.markdown import Markdown, code, join, literal, md
from liver_gh.models import Finding, IssueState, StateReason, TrackedIssue, Workflow
from liver_gh.rules.approval import suppressed_by_liver
from liver_gh.rules.identity import NO_APPROVAL
from liver_gh.rules.lifecycle import Decision
from liver_gh.rules.upkeep import MISMATCH_LABEL, UNMAPPED_LABEL


def ref(issue: TrackedIssue) -> IssueRef:
    return IssueRef(issue.repo, issue.number, issue.url)


def flag_mismatch(issue: TrackedIssue, whys: Sequence[str]) -> Decision:
    """Label and explain once; the summary lists it on every run until it is fixed."""
    reasons = sorted(set(whys))
    gh: tuple[IssueAction, ...] = ()
    if MISMATCH_LABEL not in issue.labels:
        listed = join("\n", [md("- {why}", why=w) for w in reasons])
        gh = (
            AddLabel(ref(issue), MISMATCH_LABEL),
            Comment(
                ref(issue),
                md(
                    "liver will not act on this issue's link to Security Hub, because:\n{listed}\n\n"
                    "The issue and Security Hub must agree on which finding it tracks, so that editing one of them "
                    "cannot suppress or close a different finding. Ask the security team to restore the original "
                    "issue body (or the finding's fields), then remove the {label} label.",
                    listed=listed,
                    label=code(MISMATCH_LABEL),
                ),
            ),
        )
    return Decision(StepKind.MISMATCH, f"not acted on because {'; '.join(reasons)}", gh)


def withdraw_unverified(findings: Sequence[Finding], issue: TrackedIssue, why: str, key: str) -> Decision | None:
    """A suppression liver made stands only while its link verifies."""
    stale = [f for f in findings if suppressed_by_liver(f)]
    if not stale:
        return None
    note = NoteText(f"liver withdrew its suppression: the link to {issue.url} no longer verifies ({why}).")
    sh = (
        UpdateFindings(tuple(FindingRef.of(f) for f in stale), Workflow.NOTIFIED, note, key, ref(issue), NO_APPROVAL),
    )
    return Decision(
        StepKind.WITHDRAWN, f"suppression of {len(stale)} finding(s) withdrawn: the link no longer verifies", (), sh
    )


def close_moved(old: TrackedIssue, new_service: str, new_issue: Target | None) -> list[IssueAction]:
    """Close an issue whose account moved, pointing to where its findings are tracked now."""
    if not old.is_open:
        return []
    if new_issue is None:
        where = md("It opens no issue there: the finding is below that service's minimum severity.")
    elif isinstance(new_issue, ThisIssue):
        where = md("It is tracked in the issue liver opened there just now (linked below).")
    else:
        where = md("It is tracked in {url}.", url=Markdown(new_issue.url))
    return [
        Comment(
            ref(old),
            md(
                "The finding's account now belongs to service {service} in liver.yml, so its issue moved. {where}",
                service=code(new_service),
                where=where,
            ),
        ),
        SetState(ref(old), IssueState.CLOSED, StateReason.NOT_PLANNED),
    ]


def moved_note(old: TrackedIssue) -> Markdown:
    return md("This finding was tracked in {url} until its account moved to this service.", url=Markdown(old.url))


def unmapped(issue: TrackedIssue, accounts: Sequence[str]) -> Decision | None:
    """Leave the issue open; say once that its account is no longer mapped."""
    if UNMAPPED_LABEL in issue.labels or not issue.is_open:
        return None
    gh = (
        AddLabel(ref(issue), UNMAPPED_LABEL),
        Comment(
            ref(issue),
            md(
                "Account(s) {accounts} are no longer mapped to any service in liver.yml, so liver stops updating this "
                "issue. The finding still exists in Security Hub; map the account to a service again, or close this "
                "issue yourself once the finding is handled.",
                accounts=join(", ", [code(a) for a in sorted(set(accounts))]),
            ),
        ),
    )
    return Decision(StepKind.UNMAPPED, "its account is no longer mapped to a service; left open", gh)


def close_gone(issue: TrackedIssue, now: datetime) -> Decision:
    gh = (
        Comment(
            ref(issue),
            md(
                "Security Hub no longer has this finding (it deletes findings some time after they stop being updated); "
                "a direct lookup confirmed it as of {at}. Closing as completed.",
                at=literal(now),
            ),
        ),
        SetState(ref(issue), IssueState.CLOSED, StateReason.COMPLETED),
    )
    return Decision(StepKind.RESOLVED, "the finding no longer exists in Security Hub; closed", gh)


__all__ = ["close_gone", "close_moved", "flag_mismatch", "moved_note", "unmapped", "withdraw_unverified"]
