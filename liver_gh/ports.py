"""The four things liver talks to, as Protocols. ``apply`` and ``sync`` use only these.

Real adapters live in ``liver_gh.adapters``; the tests use small in-memory ones
(``tests/memory.py``) for the rules and the HTTP emulators for the adapters.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from liver_gh.config.model import OncallSpec, PageSpec
from liver_gh.models import Finding, IssueState, Severity, StateReason, TrackedIssue, Workflow
from liver_gh.rules.approval import Membership
from liver_gh.rules.upkeep import Oncall

# ---------------------------------------------------------------- findings


@dataclass(frozen=True)
class NewFindings:
    """Findings that may need a new issue: ACTIVE, NEW, at or above a severity."""

    min_severity: Severity
    products_include: tuple[str, ...] = ()
    products_exclude: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tracked:
    """Every finding liver linked to an issue, in any state."""


@dataclass(frozen=True)
class ByIds:
    ids: tuple[str, ...]


@dataclass(frozen=True)
class ByControl:
    """Active findings of one control in some accounts, optionally with one resource tag."""

    control: str
    accounts: tuple[str, ...]
    tag: tuple[str, str] | None = None


@dataclass(frozen=True)
class LinkedTo:
    """Findings whose UserDefinedFields name this issue (whatever their key)."""

    issue_url: str


Query = NewFindings | Tracked | ByIds | ByControl | LinkedTo


@dataclass(frozen=True)
class FindingUpdate:
    refs: Sequence[tuple[str, str, str]]  # (finding id, product ARN, account id)
    workflow: Workflow | None
    note: str
    fields: dict[str, str]  # liver's UserDefinedFields


@dataclass
class UpdateOutcome:
    processed: int = 0
    failed: list[str] = field(default_factory=list)  # one sentence per finding that was not updated


class FindingSource(Protocol):
    bad_findings: list[str]

    def findings(self, query: Query) -> list[Finding]: ...

    def update(self, update: FindingUpdate) -> UpdateOutcome: ...


# ---------------------------------------------------------------- issues


@dataclass(frozen=True)
class NewIssue:
    title: str
    body: str
    labels: tuple[str, ...]
    assignees: tuple[str, ...]
    issue_type: str | None = None


@dataclass(frozen=True)
class Created:
    issue: TrackedIssue
    missing: tuple[str, ...] = ()  # what GitHub dropped and liver could not put back, as sentences


@dataclass(frozen=True)
class RepoInfo:
    full_name: str  # the current name (a moved repository answers with its new one)
    moved: bool = False
    push: bool | None = None  # whether the token can push (GitHub keeps labels and assignees); None: not said


class FileKind(enum.StrEnum):
    FILE = "file"
    MISSING = "missing"
    NOT_A_FILE = "not a regular file"  # a symlink, a folder or a submodule


@dataclass(frozen=True)
class RepoFile:
    kind: FileKind
    content: bytes = b""


class IssueTracker(Protocol):
    def repo(self, repo: str) -> RepoInfo: ...

    def list_issues(self, repo: str) -> list[TrackedIssue]: ...

    def get_issue(self, repo: str, number: int) -> TrackedIssue: ...

    def with_history(self, issue: TrackedIssue) -> TrackedIssue: ...

    def can_assign(self, repo: str, login: str) -> bool: ...

    def membership(self, org: str, team: str, login: str) -> Membership: ...

    def read_file(self, repo: str, path: str) -> RepoFile: ...

    def ensure_labels(self, repo: str, labels: Sequence[str]) -> None: ...

    def create_issue(self, repo: str, key: str, issue: NewIssue) -> Created: ...

    def comment(self, repo: str, number: int, body: str) -> None: ...

    def set_state(self, repo: str, number: int, state: IssueState, reason: StateReason | None) -> None: ...

    def add_label(self, repo: str, number: int, label: str) -> None: ...

    def remove_label(self, repo: str, number: int, label: str) -> None: ...

    def edit_body(self, repo: str, number: int, body: str) -> None: ...

    def assign(self, repo: str, number: int, login: str, previous: Sequence[str]) -> None: ...


# ---------------------------------------------------------------- people


class OncallProvider(Protocol):
    def who(self, service: str, spec: OncallSpec | None, now: datetime) -> Oncall: ...


class Pager(Protocol):
    def trigger(
        self,
        spec: PageSpec,
        *,
        dedup_key: str,
        summary: str,
        source: str,
        severity: Severity,
        link: str,
        link_text: str,
    ) -> None: ...

    def resolve(self, spec: PageSpec, *, dedup_key: str) -> None: ...
