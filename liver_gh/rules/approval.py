"""When an approval label is consent to suppress, and what it covers.

Only the central config grants authority. The label itself proves nothing: the latest
``labeled`` event says who added it (GitHub records the actor's numeric id, which no
repository writer can forge). An approval is bound when liver honours it: a liver
comment records the event, the approver's id and login, how they qualified (their login,
or membership of an approver team as checked then) and the findings it covered, and each
suppressed finding records the event id in Security Hub. A standing approval needs both
records to agree, so neither a repository writer nor a member account can forge one alone.
Leaving an approver team later does not revoke it; expiry does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from liver_gh.config.model import ApprovalPolicy
from liver_gh.models import Finding, IssueComment, IssueEvent, TrackedIssue, Workflow
from liver_gh.rules.identity import UDF_APPROVAL, Identity, KeyKind, short_digest

_RECORD = re.compile(
    r"<!-- liver:approval v1 event=(\d{1,20}) actor_id=(\d{1,20}) actor=([A-Za-z0-9\[\]-]{1,60}) "
    r"via=([A-Za-z0-9/._:\[\]-]{1,140}) covers=([0-9a-f,]{0,60000}) -->"
)


class Membership(enum.StrEnum):
    ACTIVE = "active"
    NOT_MEMBER = "not a member"
    UNKNOWN = "unknown"  # 403, 5xx, or a 404 for a team the token cannot see


class Verdict(enum.StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ApprovalRecord:
    event_id: int
    actor_id: int
    actor: str
    via: str  # the approver's login, or "team:org/slug"
    covers: frozenset[str]  # short digests of the covered finding ids

    def marker(self) -> str:
        covers = ",".join(sorted(self.covers))
        return (
            f"<!-- liver:approval v1 event={self.event_id} actor_id={self.actor_id} actor={self.actor} "
            f"via={self.via} covers={covers} -->"
        )


@dataclass(frozen=True)
class Approval:
    event: IssueEvent
    verdict: Verdict
    via: str
    reason: str  # why REJECTED or UNKNOWN, as a clause
    record: ApprovalRecord | None  # the binding record, when this approval was honoured before
    expires_at: datetime

    def expired(self, now: datetime) -> bool:
        return now > self.expires_at

    @property
    def actor(self) -> str:
        return self.event.actor


def latest_label_event(issue: TrackedIssue, label: str) -> IssueEvent | None:
    """The latest 'labeled' event for the approval label; ties go to the later-listed event."""
    if issue.events is None:
        return None
    labeled = [(e.created_at, i, e) for i, e in enumerate(issue.events) if e.event == "labeled" and e.label == label]
    return max(labeled, key=lambda t: (t[0], t[1]))[2] if labeled else None


def records(issue: TrackedIssue, creators: frozenset[str]) -> dict[int, ApprovalRecord]:
    """Approval records in liver's own comments, by event id."""
    out: dict[int, ApprovalRecord] = {}
    for comment in issue.comments or ():
        if comment.author.lower() not in creators:
            continue
        for m in _RECORD.finditer(comment.body):
            covers = frozenset(c for c in m.group(5).split(",") if c)
            out[int(m.group(1))] = ApprovalRecord(int(m.group(1)), int(m.group(2)), m.group(3), m.group(4), covers)
    return out


def authority(
    event: IssueEvent, policy: ApprovalPolicy, memberships: Mapping[tuple[str, str], Membership]
) -> tuple[Verdict, str, str]:
    """Whether the actor of ``event`` may approve now: verdict, how they qualify, why not."""
    login = event.actor.lower()
    for approver in policy.logins:
        if approver.user_id is not None and approver.user_id == event.actor_id:
            return Verdict.APPROVED, approver.login, ""  # the same account, even after a rename
    for approver in policy.logins:
        if approver.login.lower() == login:
            if approver.user_id is not None:
                return (
                    Verdict.REJECTED,
                    "",
                    f"the login {event.actor} now belongs to another GitHub account (id {event.actor_id}) "
                    f"than the configured approver (id {approver.user_id})",
                )
            return Verdict.APPROVED, approver.login, ""
    unknown = []
    for team in policy.teams:
        state = memberships.get((team.name.lower(), login), Membership.UNKNOWN)
        if state is Membership.ACTIVE:
            return Verdict.APPROVED, f"team:{team.name}", ""
        if state is Membership.UNKNOWN:
            unknown.append(team.name)
    if unknown:
        return (
            Verdict.UNKNOWN,
            "",
            f"liver could not check whether {event.actor} belongs to {', '.join(unknown)} "
            "(the token may lack members: read)",
        )
    return Verdict.REJECTED, "", f"{event.actor} is not an approver"


def approval_of(
    issue: TrackedIssue,
    members: Sequence[Finding],
    policy: ApprovalPolicy,
    memberships: Mapping[tuple[str, str], Membership],
    creators: frozenset[str],
) -> Approval | None:
    """The approval behind the label on ``issue``, or None when the label is absent."""
    if policy.label not in issue.labels:
        return None
    event = latest_label_event(issue, policy.label)
    if event is None:
        return None
    expires = event.created_at + timedelta(days=policy.expires_after_days)
    record = records(issue, creators).get(event.id)
    agreed = any(f.udf(UDF_APPROVAL) == str(event.id) for f in members)
    if record is not None and record.actor_id == event.actor_id and agreed:
        return Approval(event, Verdict.APPROVED, record.via, "", record, expires)
    verdict, via, reason = authority(event, policy, memberships)
    return Approval(
        event, verdict, via, reason, record if record and record.actor_id == event.actor_id else None, expires
    )


def covered(
    identity: Identity, approval: Approval, members: Iterable[Finding], linked: frozenset[str]
) -> list[Finding]:
    """The findings an approval covers: those on the issue when it was given.

    One finding's issue: that finding. A tag group: every member with the group's key (the
    group is the decision). One issue per control: the findings the record lists, or, for a
    fresh approval, those already linked to the issue.
    """
    if identity.kind is not KeyKind.CONTROL:
        return list(members)
    if approval.record is not None and approval.record.covers:
        return [f for f in members if short_digest(f.id) in approval.record.covers]
    return [f for f in members if f.id in linked]


def justification(comments: Sequence[IssueComment] | None, before: datetime, creators: frozenset[str]) -> str:
    """The last comment written by a person (not liver) before the approval."""
    human = [c for c in comments or () if c.author.lower() not in creators and c.created_at <= before]
    return " ".join(human[-1].body.split()) if human else ""


def suppressed_by_liver(finding: Finding) -> bool:
    return finding.workflow is Workflow.SUPPRESSED and finding.note is not None and finding.note.updated_by == "liver"


def suppressed_by_person(finding: Finding) -> bool:
    return finding.workflow is Workflow.SUPPRESSED and not suppressed_by_liver(finding)


def who_may(policy: ApprovalPolicy) -> list[str]:
    return policy.names()
