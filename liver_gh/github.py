"""GitHub adapter: reads liver issues and writes through PyGithub.

The retry policy is explicit: reads and idempotent writes are retried with jittered
backoff; a request that creates something (an issue, a comment) is never re-sent
blindly — after an ambiguous failure the issue is looked up by its identity first.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import github
from github import Auth, Github, GithubException, GithubRetry
from github.Issue import Issue
from github.Repository import Repository

from liver_gh import identity
from liver_gh.errors import TrackerError
from liver_gh.models import IssueComment, IssueEvent, TrackedIssue

LIVER_LABEL = "liver"
LABEL_COLORS = {
    "liver": ("5319e7", "Tracked by liver: a Security Hub finding this service owns."),
    "severity:critical": ("b60205", "Security Hub severity CRITICAL"),
    "severity:high": ("d93f0b", "Security Hub severity HIGH"),
    "severity:medium": ("fbca04", "Security Hub severity MEDIUM"),
    "severity:low": ("0e8a16", "Security Hub severity LOW"),
    "severity:informational": ("c5def5", "Security Hub severity INFORMATIONAL"),
    "liver:mismatch": ("000000", "liver will not act: the issue and Security Hub disagree"),
    "liver:overdue": ("e99695", "Past its due date"),
    "liver:paged": ("b60205", "liver paged the on-call person for this finding"),
}
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})


def make_retry(total: int = 5) -> GithubRetry:
    """PyGithub's retry, minus POST: a re-sent create after a 5xx can duplicate an issue."""
    return GithubRetry(
        total=total,
        backoff_factor=0.5,
        backoff_jitter=0.5,
        status_forcelist=[500, 502, 503, 504],
        allowed_methods=IDEMPOTENT,
        secondary_rate_wait=60,
    )


class Pacer:
    """Spaces mutating requests to stay under GitHub's content-creation limits."""

    def __init__(
        self,
        per_minute: int,
        per_hour: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = 60.0 / per_minute
        self.per_hour = per_hour
        self.clock, self.sleep = clock, sleep
        self.last: float | None = None
        self.count = 0

    @property
    def exhausted(self) -> bool:
        return self.count >= self.per_hour

    def wait(self) -> None:
        if self.exhausted:
            raise BudgetExhausted(f"the hourly budget of {self.per_hour} mutating GitHub requests is used up")
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            self.sleep(self.interval - (now - self.last))
        self.last = self.clock()
        self.count += 1


class BudgetExhausted(TrackerError):
    """Stop opening or changing issues for this run; the next run goes on."""


RATE_LIMIT_RETRIES = 2
MAX_RATE_LIMIT_WAIT = 120.0


def rate_limit_wait(e: GithubException) -> float | None:
    """Seconds to wait when ``e`` is a primary or secondary rate limit (403/429), else None."""
    if e.status not in (403, 429):
        return None
    headers = {k.lower(): v for k, v in (e.headers or {}).items()}
    if "retry-after" in headers:
        try:
            return max(0.0, float(headers["retry-after"]))
        except ValueError:
            return 60.0
    if headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(headers.get("x-ratelimit-reset", "0")) - time.time())
        except ValueError:
            return None
    message = str(e.data.get("message", "")) if isinstance(e.data, dict) else ""
    return 60.0 if "secondary rate limit" in message.lower() else None


def _ts(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class GitHubTracker:
    """Everything liver does on GitHub, behind a small interface."""

    gh: Github
    pacer: Pacer
    requests: int = 0
    _labels: dict[str, set[str]] = field(default_factory=dict)
    _assignable: dict[tuple[str, str], bool] = field(default_factory=dict)
    _teams: dict[tuple[str, str], bool] = field(default_factory=dict)

    @classmethod
    def connect(cls, token: str, base_url: str, per_minute: int = 80, per_hour: int = 500) -> GitHubTracker:
        # PyGithub's own spacing (0.25 s per request, 1 s per write) is replaced by Pacer,
        # which paces only mutations, and its retry by make_retry(), which never re-sends POST.
        gh = Github(
            auth=Auth.Token(token),
            base_url=base_url,
            per_page=100,
            retry=make_retry(),
            seconds_between_requests=None,
            seconds_between_writes=None,
            lazy=True,
            user_agent="liver-gh",
        )
        return cls(gh, Pacer(per_minute, per_hour))

    def _repo(self, repo: str) -> Repository:
        return self.gh.get_repo(repo)

    def _issue(self, repo: str, number: int) -> Issue:
        return self._repo(repo).get_issue(number)

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                return fn()
            except GithubException as e:
                wait = rate_limit_wait(e)
                if wait is None:
                    message = e.data.get("message") if isinstance(e.data, dict) else e.data
                    raise TrackerError(f"GitHub refused to {what}: HTTP {e.status} {message}") from e
                # A rate-limited request was not carried out, so sending it again is safe,
                # even a create; a long wait means the budget is gone for this run.
                if wait > MAX_RATE_LIMIT_WAIT or attempt == RATE_LIMIT_RETRIES:
                    raise BudgetExhausted(f"GitHub's rate limit was reached while trying to {what}") from e
                self.pacer.sleep(wait)
            except OSError as e:
                raise TrackerError(f"GitHub could not be reached to {what}: {e}") from e
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------ reads

    def list_issues(self, repo: str) -> list[TrackedIssue]:
        """Every liver issue of a repository, open and closed: one request per 100 issues."""

        def read() -> list[TrackedIssue]:
            out = []
            for issue in self._repo(repo).get_issues(state="all", labels=[LIVER_LABEL]):
                # GitHub lists pull requests as issues; reading .pull_request would cost a
                # request per issue when it is absent, so look at the URL instead.
                if "/pull/" in issue.html_url:
                    continue
                out.append(to_tracked(repo, issue))
            return out

        return list(self._call(f"list the liver issues of {repo}", read))

    def get_issue(self, repo: str, number: int) -> TrackedIssue:
        def read() -> TrackedIssue:
            return to_tracked(repo, self._repo(repo).get_issue(number))

        return self._call(f"read {repo}#{number}", read)  # type: ignore[no-any-return]

    def with_details(self, issue: TrackedIssue) -> TrackedIssue:
        """The issue plus its events and comments (two more requests, only when rules need them)."""

        def read() -> TrackedIssue:
            gh_issue = self._issue(issue.repo, issue.number)
            events = tuple(
                IssueEvent(
                    event=e.event,
                    actor=e.actor.login if e.actor else "ghost",
                    created_at=_ts(e.created_at) or datetime.now(UTC),
                    # Attributes only: raw_data would fetch each event again.
                    label=e.label.name if e.event in ("labeled", "unlabeled") and e.label else None,
                )
                for e in gh_issue.get_events()
            )
            comments = tuple(
                IssueComment(
                    author=c.user.login if c.user else "ghost",
                    body=c.body or "",
                    created_at=_ts(c.created_at) or datetime.now(UTC),
                    by_liver=(c.body or "").startswith(identity.COMMENT_MARKER),
                )
                for c in gh_issue.get_comments()
            )
            return TrackedIssue(**{**issue.__dict__, "events": events, "comments": comments})

        return self._call(f"read the history of {issue.ref}", read)  # type: ignore[no-any-return]

    def can_assign(self, repo: str, login: str) -> bool:
        key = (repo.lower(), login.lower())
        if key not in self._assignable:
            self._assignable[key] = bool(
                self._call(
                    f"check whether {login} can be assigned in {repo}", lambda: self._repo(repo).has_in_assignees(login)
                )
            )
        return self._assignable[key]

    def in_team(self, team: str, login: str) -> bool:
        """Whether ``login`` is an active member of ``org/team-slug``."""
        key = (team.lower(), login.lower())
        if key not in self._teams:
            org, slug = team.split("/", 1)

            def read() -> bool:
                try:
                    _, data = self.gh.requester.requestJsonAndCheck(
                        "GET", f"/orgs/{org}/teams/{slug}/memberships/{login}"
                    )
                except github.UnknownObjectException:
                    return False
                return isinstance(data, dict) and data.get("state") == "active"

            self._teams[key] = bool(self._call(f"check {login}'s membership of {team}", read))
        return self._teams[key]

    def read_file(self, repo: str, path: str) -> str | None:
        def read() -> str | None:
            try:
                content = self._repo(repo).get_contents(path)
            except github.UnknownObjectException:
                return None
            if isinstance(content, list):
                return None
            return content.decoded_content.decode("utf-8")

        return self._call(f"read {path} in {repo}", read)  # type: ignore[no-any-return]

    # ------------------------------------------------------------ writes

    def ensure_labels(self, repo: str, labels: Iterable[str]) -> None:
        """Create liver's labels once per repository (listing them costs one request)."""
        if repo not in self._labels:
            self._labels[repo] = set(
                self._call(f"list the labels of {repo}", lambda: [lb.name for lb in self._repo(repo).get_labels()])
            )
        for name in labels:
            if name in self._labels[repo]:
                continue
            color, description = LABEL_COLORS.get(name, ("ededed", "liver"))
            self.pacer.wait()
            try:
                self._call(
                    f"create label {name!r} in {repo}",
                    functools.partial(self._repo(repo).create_label, name, color, description),
                )
            except BudgetExhausted:
                raise
            except TrackerError as e:
                cause = e.__cause__
                if not (isinstance(cause, GithubException) and cause.status == 422):  # 422: it exists already
                    raise
            self._labels[repo].add(name)

    def create_issue(
        self, repo: str, key: str, title: str, body: str, labels: list[str], assignees: list[str]
    ) -> TrackedIssue:
        """Open an issue; after an ambiguous failure, find it by identity instead of re-sending."""
        self.pacer.wait()
        try:
            # _call retries only rate-limited attempts (never carried out); other errors come back here.
            created = self._call(
                f"open an issue in {repo}",
                lambda: self._repo(repo).create_issue(title=title[:256], body=body, labels=labels, assignees=assignees),
            )
            return to_tracked(repo, created)
        except BudgetExhausted:
            raise
        except TrackerError as te:
            e = te.__cause__
            if not isinstance(e, GithubException | OSError):
                raise
            if isinstance(e, GithubException) and e.status is not None and e.status < 500:
                message = e.data.get("message") if isinstance(e.data, dict) else e.data
                raise TrackerError(f"GitHub refused to open an issue in {repo}: HTTP {e.status} {message}") from e
            ambiguous: Exception = e
        found = self.find_by_key(repo, key)
        if found is not None:
            return found
        raise TrackerError(
            f"opening an issue in {repo} failed ({ambiguous}) and no issue with its identity exists; the next run tries again."
        )

    def find_by_key(self, repo: str, key: str) -> TrackedIssue | None:
        for issue in self.list_issues(repo):
            if key in issue.keys:
                return issue
        return None

    def comment(self, repo: str, number: int, body: str) -> None:
        self.pacer.wait()
        self._call(f"comment on {repo}#{number}", lambda: self._issue(repo, number).create_comment(body))

    def set_state(self, repo: str, number: int, state: str, reason: str | None) -> None:
        self.pacer.wait()
        kwargs: dict[str, Any] = {"state": state}
        if reason:
            kwargs["state_reason"] = reason
        self._call(f"set {repo}#{number} {state}", lambda: self._issue(repo, number).edit(**kwargs))

    def label(self, repo: str, number: int, name: str, add: bool) -> None:
        if add:
            self.ensure_labels(repo, [name])
        self.pacer.wait()

        def run() -> None:
            issue = self._issue(repo, number)
            if add:
                issue.add_to_labels(name)
                return
            # PyGithub leaves '/' unencoded in the label path (liver/suppress-approved would
            # hit the wrong URL), so build the request ourselves.
            with contextlib.suppress(github.UnknownObjectException):  # already gone: goal reached
                self.gh.requester.requestJsonAndCheck("DELETE", f"{issue.url}/labels/{quote(name, safe='')}")

        self._call(f"{'add' if add else 'remove'} label {name!r} on {repo}#{number}", run)

    def assign(self, repo: str, number: int, login: str, previous: tuple[str, ...]) -> None:
        """Replace the assignees with ``login`` (one PATCH)."""
        self.pacer.wait()
        self._call(f"assign {login} to {repo}#{number}", lambda: self._issue(repo, number).edit(assignees=[login]))

    def edit_body(self, repo: str, number: int, body: str) -> None:
        self.pacer.wait()
        self._call(f"edit {repo}#{number}", lambda: self._issue(repo, number).edit(body=body))


def to_tracked(repo: str, issue: Issue) -> TrackedIssue:
    body = issue.body or ""
    return TrackedIssue(
        repo=repo,
        number=issue.number,
        url=issue.html_url,
        title=issue.title,
        state=issue.state,
        state_reason=issue.state_reason,
        labels=frozenset(lb.name for lb in issue.labels),
        assignees=tuple(a.login for a in issue.assignees),
        body=body,
        keys=tuple(identity.keys_in(body)),
        created_at=_ts(issue.created_at) or datetime.now(UTC),
        updated_at=_ts(issue.updated_at) or datetime.now(UTC),
        closed_at=_ts(issue.closed_at),
    )
