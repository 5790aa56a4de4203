"""Small in-memory implementations of the ports, for rule tests without HTTP.

``MemoryTracker`` is a GitHub of dicts: issues with creators, labels, events (with the
actor's numeric id), comments; people act on it through the helper methods. ``MemoryHub``
keeps findings in the Security Hub emulator's state machine (its documented workflow
transitions, filters and BatchUpdateFindings rules), called directly, without boto3.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from liver_fakes.securityhub import FakeSecurityHub
from liver_gh.adapters.asff import parse_finding
from liver_gh.adapters.securityhub import filters_for
from liver_gh.errors import FindingError, RepoUnavailable, TrackerError
from liver_gh.models import Finding, IssueComment, IssueEvent, IssueState, StateReason, TrackedIssue
from liver_gh.ports import Created, FileKind, FindingUpdate, NewIssue, Query, RepoFile, RepoInfo, UpdateOutcome
from liver_gh.rules.approval import Membership
from liver_gh.rules.identity import read_marker

LIVER = "liver-bot"


@dataclass
class _Issue:
    number: int
    title: str
    body: str
    author: str
    created_at: datetime
    labels: set[str] = field(default_factory=set)
    assignees: list[str] = field(default_factory=list)
    state: IssueState = IssueState.OPEN
    state_reason: StateReason | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None
    events: list[IssueEvent] = field(default_factory=list)
    comments: list[IssueComment] = field(default_factory=list)


@dataclass
class _Repo:
    name: str
    collaborators: set[str]
    issues: dict[int, _Issue] = field(default_factory=dict)
    files: dict[str, RepoFile] = field(default_factory=dict)
    unavailable: int | None = None  # an HTTP status every call answers with (404, 410, 403)
    renamed_to: str | None = None


class MemoryTracker:
    """The IssueTracker port over dicts."""

    def __init__(self, clock: Callable[[], datetime], creators: tuple[str, ...] = (LIVER,)) -> None:
        self.clock = clock
        self.creators = creators
        self.repos: dict[str, _Repo] = {}
        self.user_ids: dict[str, int] = {}
        self.teams: dict[str, set[str]] = {}
        self.team_answer: dict[str, Membership] = {}  # force an answer for a team (e.g. UNKNOWN)
        self.calls: list[tuple[str, str]] = []
        self._ids = itertools.count(1000)

    # ------------------------------------------------------------ setup and people

    def add_repo(self, name: str, collaborators: Sequence[str] = ()) -> None:
        self.repos[name.lower()] = _Repo(name, {c.lower() for c in collaborators} | {LIVER})

    def user(self, login: str) -> int:
        return self.user_ids.setdefault(login.lower(), next(self._ids))

    def _repo(self, repo: str) -> _Repo:
        found = self.repos.get(repo.lower())
        if found is None:
            raise RepoUnavailable(f"{repo} was not found (HTTP 404)", 404)
        if found.unavailable:
            raise RepoUnavailable(f"{repo} is unavailable (HTTP {found.unavailable})", found.unavailable)
        return found

    def issue(self, repo: str, number: int) -> _Issue:
        return self.repos[repo.lower()].issues[number]

    def _event(self, issue: _Issue, event: str, actor: str, label: str | None = None) -> None:
        now = self.clock()
        issue.events.append(IssueEvent(next(self._ids), event, actor, self.user(actor), now, label))
        issue.updated_at = now

    def label(self, repo: str, number: int, label: str, actor: str) -> None:
        issue = self.issue(repo, number)
        issue.labels.add(label)
        self._event(issue, "labeled", actor, label)

    def unlabel(self, repo: str, number: int, label: str, actor: str) -> None:
        issue = self.issue(repo, number)
        issue.labels.discard(label)
        self._event(issue, "unlabeled", actor, label)

    def close(self, repo: str, number: int, actor: str, reason: StateReason = StateReason.COMPLETED) -> None:
        issue = self.issue(repo, number)
        issue.state, issue.state_reason, issue.closed_at = IssueState.CLOSED, reason, self.clock()
        self._event(issue, "closed", actor)

    def reopen(self, repo: str, number: int, actor: str) -> None:
        issue = self.issue(repo, number)
        issue.state, issue.state_reason, issue.closed_at = IssueState.OPEN, StateReason.REOPENED, None
        self._event(issue, "reopened", actor)

    def say(self, repo: str, number: int, body: str, actor: str) -> None:
        issue = self.issue(repo, number)
        issue.comments.append(IssueComment(next(self._ids), actor, self.user(actor), body, self.clock()))
        issue.updated_at = self.clock()

    def edit(self, repo: str, number: int, body: str) -> None:
        issue = self.issue(repo, number)
        issue.body = body
        issue.updated_at = self.clock()

    def all_issues(self, repo: str) -> list[_Issue]:
        return list(self.repos[repo.lower()].issues.values())

    # ------------------------------------------------------------ the port

    def _tracked(self, repo: _Repo, issue: _Issue, history: bool = False) -> TrackedIssue:
        return TrackedIssue(
            repo=repo.renamed_to or repo.name,
            number=issue.number,
            url=f"https://github.com/{repo.renamed_to or repo.name}/issues/{issue.number}",
            title=issue.title,
            state=issue.state,
            state_reason=issue.state_reason,
            labels=frozenset(issue.labels),
            assignees=tuple(issue.assignees),
            body=issue.body,
            author=issue.author,
            created_at=issue.created_at,
            updated_at=issue.updated_at or issue.created_at,
            closed_at=issue.closed_at,
            events=tuple(issue.events) if history else None,
            comments=tuple(issue.comments) if history else None,
        )

    def repo(self, repo: str) -> RepoInfo:
        self.calls.append(("repo", repo))
        found = self._repo(repo)
        name = found.renamed_to or found.name
        return RepoInfo(name, moved=name.lower() != repo.lower())

    def list_issues(self, repo: str) -> list[TrackedIssue]:
        self.calls.append(("list_issues", repo))
        found = self._repo(repo)
        creators = {c.lower() for c in self.creators}
        return [self._tracked(found, i) for i in found.issues.values() if i.author.lower() in creators]

    def get_issue(self, repo: str, number: int) -> TrackedIssue:
        self.calls.append(("get_issue", repo))
        found = self._repo(repo)
        if number not in found.issues:
            raise TrackerError(f"{repo}#{number} not found", 404)
        return self._tracked(found, found.issues[number])

    def with_history(self, issue: TrackedIssue) -> TrackedIssue:
        self.calls.append(("with_history", issue.repo))
        found = self._repo(issue.repo)
        return self._tracked(found, found.issues[issue.number], history=True)

    def can_assign(self, repo: str, login: str) -> bool:
        self.calls.append(("can_assign", repo))
        return login.lower() in self._repo(repo).collaborators

    def membership(self, org: str, team: str, login: str) -> Membership:
        self.calls.append(("membership", f"{org}/{team}"))
        name = f"{org}/{team}".lower()
        if name in self.team_answer:
            return self.team_answer[name]
        members = self.teams.get(name)
        if members is None:
            return Membership.UNKNOWN
        return Membership.ACTIVE if login.lower() in members else Membership.NOT_MEMBER

    def read_file(self, repo: str, path: str) -> RepoFile:
        self.calls.append(("read_file", repo))
        return self._repo(repo).files.get(path, RepoFile(FileKind.MISSING))

    def ensure_labels(self, repo: str, labels: Sequence[str]) -> None:
        self._repo(repo)

    def create_issue(self, repo: str, key: str, issue: NewIssue) -> Created:
        self.calls.append(("create_issue", repo))
        found = self._repo(repo)
        number = max(found.issues, default=0) + 1
        assignees = [a for a in issue.assignees if a.lower() in found.collaborators]
        created = _Issue(number, issue.title, issue.body, LIVER, self.clock(), set(issue.labels), assignees)
        found.issues[number] = created
        return Created(self._tracked(found, created))

    def _mutate(self, name: str, repo: str, number: int) -> _Issue:
        self.calls.append((name, repo))
        return self._repo(repo).issues[number]

    def comment(self, repo: str, number: int, body: str) -> None:
        self._mutate("comment", repo, number)
        self.say(repo, number, body, LIVER)

    def set_state(self, repo: str, number: int, state: IssueState, reason: StateReason | None) -> None:
        issue = self._mutate("set_state", repo, number)
        if state is IssueState.CLOSED:
            self.close(repo, number, LIVER, reason or StateReason.COMPLETED)
        elif issue.state is IssueState.CLOSED:
            self.reopen(repo, number, LIVER)

    def add_label(self, repo: str, number: int, label: str) -> None:
        self._mutate("add_label", repo, number)
        self.label(repo, number, label, LIVER)

    def remove_label(self, repo: str, number: int, label: str) -> None:
        if label in self._mutate("remove_label", repo, number).labels:
            self.unlabel(repo, number, label, LIVER)

    def edit_body(self, repo: str, number: int, body: str) -> None:
        self._mutate("edit_body", repo, number)
        self.edit(repo, number, body)

    def assign(self, repo: str, number: int, login: str, previous: Sequence[str]) -> None:
        self._mutate("assign", repo, number).assignees = [login]

    def mutations(self) -> list[tuple[str, str]]:
        reads = {"repo", "list_issues", "get_issue", "with_history", "can_assign", "membership", "read_file"}
        return [c for c in self.calls if c[0] not in reads]


class MemoryHub:
    """The FindingSource port over the Security Hub emulator's state, without HTTP or boto3."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.fake = FakeSecurityHub(region="us-east-1", account="000000000000", now=clock)
        self.bad_findings: list[str] = []
        self.queries: list[Query] = []
        self.updates: list[FindingUpdate] = []

    def add(self, *raw: dict[str, Any]) -> None:
        self.fake.import_findings(list(raw))

    def get(self, finding_id: str) -> Finding:
        return parse_finding(self.fake.finding(finding_id))

    def raw(self, finding_id: str) -> dict[str, Any]:
        return self.fake.finding(finding_id)

    def member_update(self, finding_id: str, **params: Any) -> None:
        """BatchUpdateFindings from a member account, for its own finding (what an attacker can do)."""
        raw = self.fake.finding(finding_id)
        self.fake._batch_update({"FindingIdentifiers": [{"Id": raw["Id"], "ProductArn": raw["ProductArn"]}], **params})

    def forge_link(self, finding_id: str, fields: dict[str, str], note: str) -> None:
        """A member account copies liver's fields onto its own finding (BatchUpdateFindings)."""
        self.member_update(finding_id, UserDefinedFields=fields, Note={"Text": note, "UpdatedBy": "liver"})

    def findings(self, query: Query) -> list[Finding]:
        self.queries.append(query)
        out: dict[str, Finding] = {}
        for filters in filters_for(query):
            token = None
            while True:
                params: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
                if token:
                    params["NextToken"] = token
                page = self.fake._get_findings(params)
                for raw in page["Findings"]:
                    try:
                        out[raw["Id"]] = parse_finding(raw)
                    except FindingError as e:
                        self.bad_findings.append(str(e))
                token = page.get("NextToken")
                if not token:
                    break
        from liver_gh.adapters.securityhub import _keep

        return [f for f in out.values() if _keep(query, f)]

    def update(self, update: FindingUpdate) -> UpdateOutcome:
        self.updates.append(update)
        outcome = UpdateOutcome()
        refs = list(update.refs)
        for start in range(0, len(refs), 100):  # the API's limit, as the real adapter chunks
            params: dict[str, Any] = {
                "FindingIdentifiers": [{"Id": i, "ProductArn": p} for i, p, _ in refs[start : start + 100]],
                "Note": {"Text": update.note, "UpdatedBy": "liver"},
                "UserDefinedFields": update.fields,
            }
            if update.workflow is not None:
                params["Workflow"] = {"Status": update.workflow.value}
            response = self.fake._batch_update(params)
            outcome.processed += len(response["ProcessedFindings"])
            outcome.failed += [
                f"{u['FindingIdentifier']['Id']}: {u['ErrorCode']}" for u in response["UnprocessedFindings"]
            ]
        return outcome


def marker_key(issue: _Issue) -> str | None:
    return read_marker(issue.body).key


__all__ = ["LIVER", "MemoryHub", "MemoryHubV2", "MemoryTracker", "marker_key", "replace"]


class MemoryHubV2(MemoryHub):
    """The same emulator state, through the v2 (OCSF) operations."""

    def get(self, finding_id: str) -> Finding:
        from liver_gh.adapters.ocsf import parse_ocsf

        return parse_ocsf(self.fake.finding_v2(finding_id))

    def forge_link(self, finding_id: str, fields: dict[str, str], note: str) -> None:
        """A member account writes a link record into its own finding's Comment."""
        from liver_gh.adapters.ocsf import write_comment

        raw = self.fake.finding(finding_id)
        update = FindingUpdate([], None, note, fields)
        self.fake._batch_update_v2(
            {
                "FindingIdentifiers": [
                    {
                        "CloudAccountUid": raw["AwsAccountId"],
                        "FindingInfoUid": raw["Id"],
                        "MetadataProductUid": raw["ProductArn"],
                    }
                ],
                "Comment": write_comment(update, self.clock()),
            }
        )

    def findings(self, query: Query) -> list[Finding]:
        from liver_gh.adapters import ocsf
        from liver_gh.adapters.securityhub import _keep

        self.queries.append(query)
        out: dict[str, Finding] = {}
        for filters in ocsf.filters_for(query):
            token = None
            while True:
                params: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
                if token:
                    params["NextToken"] = token
                page = self.fake._get_findings_v2(params)
                for raw in page["Findings"]:
                    try:
                        found = ocsf.parse_ocsf(raw)
                    except FindingError as e:
                        self.bad_findings.append(str(e))
                        continue
                    out[found.id] = found
                token = page.get("NextToken")
                if not token:
                    break
        return [f for f in out.values() if _keep(query, f)]

    def update(self, update: FindingUpdate) -> UpdateOutcome:
        from liver_gh.adapters import ocsf

        self.updates.append(update)
        outcome = UpdateOutcome()
        comment = ocsf.write_comment(update, self.clock())
        refs = list(update.refs)
        for start in range(0, len(refs), 100):
            params: dict[str, Any] = {
                "FindingIdentifiers": [
                    {"CloudAccountUid": a, "FindingInfoUid": i, "MetadataProductUid": p}
                    for i, p, a in refs[start : start + 100]
                ],
                "Comment": comment,
            }
            if update.workflow is not None:
                params["StatusId"] = ocsf.STATUS_ID[update.workflow]
            response = self.fake._batch_update_v2(params)
            outcome.processed += len(response["ProcessedFindings"])
            outcome.failed += [
                f"{u.get('FindingIdentifier')}: {u['ErrorCode']}" for u in response["UnprocessedFindings"]
            ]
        return outcome
