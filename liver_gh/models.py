"""The domain objects every module past an adapter works with.

They are frozen: parsed once at the boundary, never mutated afterwards. Nothing here
knows about ASFF, OCSF, PyGithub or HTTP.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import NewType

FindingId = NewType("FindingId", str)
AccountId = NewType("AccountId", str)


class Severity(enum.IntEnum):
    """Security Hub's severity labels, ordered so that comparisons mean 'at least'."""

    INFORMATIONAL = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.strip().upper()]
        except KeyError:
            names = ", ".join(s.name for s in cls)
            raise ValueError(f"unknown severity {value!r}; use one of {names}") from None

    def at_or_above(self) -> list[Severity]:
        return [s for s in Severity if s >= self]

    @property
    def label(self) -> str:
        """The GitHub label for this severity, e.g. ``severity:high``."""
        return f"severity:{self.name.lower()}"

    @classmethod
    def from_label(cls, label: str) -> Severity | None:
        if not label.startswith("severity:"):
            return None
        try:
            return cls[label.removeprefix("severity:").upper()]
        except KeyError:
            return None


class Workflow(enum.StrEnum):
    NEW = "NEW"
    NOTIFIED = "NOTIFIED"
    RESOLVED = "RESOLVED"
    SUPPRESSED = "SUPPRESSED"


class RecordState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    ARCHIVED = "ARCHIVED"


class Compliance(enum.StrEnum):
    PASSED = "PASSED"
    FAILED = "FAILED"
    WARNING = "WARNING"
    NOT_AVAILABLE = "NOT_AVAILABLE"


class IssueState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class StateReason(enum.StrEnum):
    COMPLETED = "completed"
    NOT_PLANNED = "not_planned"
    DUPLICATE = "duplicate"
    REOPENED = "reopened"


@dataclass(frozen=True)
class Resource:
    type: str
    id: str
    region: str
    partition: str = "aws"
    tags: tuple[tuple[str, str], ...] = ()

    def tag(self, key: str) -> str | None:
        for k, v in self.tags:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class Note:
    text: str
    updated_by: str
    updated_at: datetime | None


@dataclass(frozen=True)
class VulnerablePackage:
    name: str
    version: str
    fixed_in: str | None
    remediation: str | None
    package_manager: str | None


@dataclass(frozen=True)
class Vulnerability:
    id: str
    packages: tuple[VulnerablePackage, ...]
    fix_available: str | None
    exploit_available: str | None
    vendor_url: str | None
    related: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    id: FindingId
    product_arn: str
    product_name: str
    generator_id: str
    control_id: str | None
    title: str
    description: str
    severity: Severity
    account: AccountId
    region: str
    resources: tuple[Resource, ...]
    compliance: Compliance | None  # None for findings that are not control checks
    record_state: RecordState
    workflow: Workflow
    remediation_text: str
    remediation_url: str
    first_seen: datetime | None
    updated_at: datetime
    types: tuple[str, ...] = ()
    note: Note | None = None
    user_defined: tuple[tuple[str, str], ...] = ()
    standards: tuple[str, ...] = ()
    product_fields: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    vulnerabilities: tuple[Vulnerability, ...] = ()

    @property
    def failing(self) -> bool:
        """True while Security Hub still describes a problem worth an issue."""
        return self.record_state is RecordState.ACTIVE and self.compliance not in (
            Compliance.PASSED,
            Compliance.NOT_AVAILABLE,
        )

    def udf(self, key: str) -> str | None:
        for k, v in self.user_defined:
            if k == key:
                return v
        return None

    def product_field(self, key: str) -> str | None:
        for k, v in self.product_fields:
            if k == key:
                return v
        return None


@dataclass(frozen=True)
class IssueEvent:
    id: int
    event: str  # labeled, unlabeled, closed, reopened, assigned, ...
    actor: str
    actor_id: int
    created_at: datetime
    label: str | None = None


@dataclass(frozen=True)
class IssueComment:
    id: int
    author: str
    author_id: int
    body: str
    created_at: datetime


@dataclass(frozen=True)
class TrackedIssue:
    """An issue liver created, as read from GitHub: only what the rules need."""

    repo: str
    number: int
    url: str  # html_url, what people click and what Security Hub records
    title: str
    state: IssueState
    state_reason: StateReason | None
    labels: frozenset[str]
    assignees: tuple[str, ...]
    body: str
    author: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    events: tuple[IssueEvent, ...] | None = None  # None: not fetched
    comments: tuple[IssueComment, ...] | None = None

    @property
    def ref(self) -> str:
        return f"{self.repo}#{self.number}"

    @property
    def is_open(self) -> bool:
        return self.state is IssueState.OPEN

    @property
    def closed_as_not_planned(self) -> bool:
        return self.state is IssueState.CLOSED and self.state_reason in (
            StateReason.NOT_PLANNED,
            StateReason.DUPLICATE,
        )

    @property
    def severity(self) -> Severity | None:
        """From the severity label (the one liver set; a person may have changed it)."""
        found = [s for s in (Severity.from_label(lb) for lb in self.labels) if s is not None]
        return max(found) if found else None
