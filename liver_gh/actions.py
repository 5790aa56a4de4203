"""What the rules decide and ``apply`` carries out: typed steps over typed actions.

A step is everything done for one subject, GitHub first and Security Hub second, so a
run that dies in between is finished by the next run. ``THIS_ISSUE`` refers to the issue
the step opens; ``apply`` substitutes it once GitHub has answered.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from liver_gh.config.model import PageSpec
from liver_gh.markdown import Markdown
from liver_gh.models import Finding, IssueState, Severity, StateReason, Workflow


class StepKind(enum.StrEnum):
    OPENED = "opened"
    LINKED = "linked"  # findings joined an open issue and were set NOTIFIED
    SUPPRESSED = "suppressed"
    APPROVAL_PENDING = "approval pending"  # a service-scoped run saw an approval: the central run applies it
    APPROVAL_UNVERIFIED = "approval unverified"  # the approver could not be checked: nothing suppressed
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # a suppression liver made no longer stands
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"  # suppressed directly in Security Hub
    MISMATCH = "mismatch"
    MOVED = "moved"
    UNMAPPED = "unmapped"
    CHECKLIST = "checklist"
    RELABELED = "relabeled"
    REASSIGNED = "reassigned"
    OVERDUE = "overdue"
    PAGED = "paged"
    PAGE_RESOLVED = "page resolved"

    @property
    def counted_as(self) -> str:
        """The Action output this kind adds to."""
        if self in (StepKind.OPENED, StepKind.SUPPRESSED, StepKind.RESOLVED, StepKind.REJECTED):
            return self.value
        return "updated"


class ThisIssue(enum.Enum):
    """The issue opened by the same step."""

    THIS = "the issue opened in this step"


THIS_ISSUE = ThisIssue.THIS


@dataclass(frozen=True)
class IssueRef:
    repo: str
    number: int
    url: str

    @property
    def ref(self) -> str:
        return f"{self.repo}#{self.number}"


Target = IssueRef | ThisIssue


class PageAction(enum.StrEnum):
    TRIGGER = "trigger"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class Assignee:
    """Who the rules chose and why; ``login`` None means nobody could be assigned."""

    login: str | None
    fallback: bool = False
    notes: tuple[str, ...] = ()  # plain sentences; escaped where they are shown


Rendered = tuple[Markdown, tuple[Markdown, ...]]


@dataclass(frozen=True)
class OpenIssue:
    repo: str
    key: str
    title: str  # plain text (markdown.plain_title)
    # The body and the follow-up comments that list what did not fit in it. Rendered when
    # the issue is opened, not when it is planned: 5,000 bodies held at once cost ~70 MB.
    render: Callable[[], Rendered]
    labels: tuple[str, ...]
    assignee: Assignee
    due: datetime
    group_label: str | None  # e.g. "aws:autoscaling:groupName=web" for a tag group
    findings: tuple[Finding, ...]
    issue_type: str | None = None


@dataclass(frozen=True)
class Comment:
    target: Target
    body: Markdown


@dataclass(frozen=True)
class SetState:
    target: Target
    state: IssueState
    reason: StateReason | None


@dataclass(frozen=True)
class AddLabel:
    target: Target
    label: str


@dataclass(frozen=True)
class RemoveLabel:
    target: Target
    label: str


@dataclass(frozen=True)
class EditBody:
    target: Target
    body: Markdown


@dataclass(frozen=True)
class Assign:
    target: Target
    login: str
    previous: tuple[str, ...]


@dataclass(frozen=True)
class Page:
    """A PagerDuty Events API v2 trigger or resolve; on success the paged label follows."""

    target: Target
    action: PageAction
    spec: PageSpec
    dedup_key: str
    summary: str
    severity: Severity


IssueAction = Comment | SetState | AddLabel | RemoveLabel | EditBody | Assign | Page


@dataclass(frozen=True)
class NoteText:
    """A Security Hub Note; ``issue`` is appended as its URL once known (max 512 chars)."""

    text: str
    issue: Target | None = None

    def render(self, url: str | None) -> str:
        tail = f" {url}" if self.issue is not None and url else ""
        room = 512 - len(tail)
        body = self.text if len(self.text) <= room else self.text[: room - 1] + "…"
        return body + tail


@dataclass(frozen=True)
class FindingRef:
    id: str
    product_arn: str
    account: str

    @classmethod
    def of(cls, finding: Finding) -> FindingRef:
        return cls(finding.id, finding.product_arn, finding.account)


@dataclass(frozen=True)
class UpdateFindings:
    """One update for a set of findings (chunked by the adapter)."""

    refs: tuple[FindingRef, ...]
    workflow: Workflow | None
    note: NoteText
    key: str
    issue: Target
    approval: str | None = None  # the labeled event id, for a suppression; None keeps the field


@dataclass(frozen=True)
class StepDetails:
    """What a reviewer of a dry run wants to see about a step."""

    severity: Severity | None = None
    account: str | None = None
    environment: str | None = None
    resources: tuple[str, ...] = ()
    title: str | None = None
    labels: tuple[str, ...] = ()
    page: bool = False


@dataclass(frozen=True)
class Step:
    kind: StepKind
    service: str
    repo: str
    summary: str  # plain text, one line
    issue: IssueRef | None = None
    open: OpenIssue | None = None
    gh: tuple[IssueAction, ...] = ()
    sh: tuple[UpdateFindings, ...] = ()
    details: StepDetails = field(default_factory=StepDetails)

    @property
    def has_effects(self) -> bool:
        return self.open is not None or bool(self.gh) or bool(self.sh)
