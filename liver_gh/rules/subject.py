"""A subject: what one issue tracks (a finding, a tag group or a control) and its findings."""

from __future__ import annotations

from dataclasses import dataclass, field

from liver_gh.config.model import Service
from liver_gh.models import Finding, Severity, TrackedIssue
from liver_gh.rules.identity import Identity, Link, LinkState
from liver_gh.rules.ignore import IgnoreVerdict


@dataclass(frozen=True)
class Member:
    finding: Finding
    link: Link

    def linked_to(self, issue: TrackedIssue) -> bool:
        """Whether Security Hub already records this finding as tracked by ``issue``."""
        return self.link.issue is issue and self.link.state in (LinkState.CURRENT, LinkState.REGROUPED)


@dataclass
class Subject:
    identity: Identity
    service: Service
    environment: str
    members: list[Member] = field(default_factory=list)
    eligible: list[Finding] = field(default_factory=list)  # members that deserve an issue if none exists
    ignore_notes: list[IgnoreVerdict] = field(default_factory=list)  # ignore tags present but not honoured
    issue: TrackedIssue | None = None
    moved_from: list[TrackedIssue] = field(default_factory=list)  # other services' issues its findings leave

    @property
    def key(self) -> str:
        return self.identity.key

    @property
    def findings(self) -> list[Finding]:
        return [m.finding for m in self.members]

    @property
    def active(self) -> list[Finding]:
        return [m.finding for m in self.members if m.finding.failing]

    @property
    def severity(self) -> Severity:
        pool = self.active or self.findings
        return max((f.severity for f in pool), default=Severity.INFORMATIONAL)

    def linked_ids(self) -> frozenset[str]:
        issue = self.issue
        return frozenset(m.finding.id for m in self.members if issue is not None and m.linked_to(issue))
