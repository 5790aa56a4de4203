"""GitHub adapter: every request liver makes, through PyGithub's authenticated requester.

Behaviour at GitHub's edges, in one place:
- Waiting is bounded for every method: rate limits (403/429 with ``Retry-After`` or
  ``X-RateLimit-Remaining: 0``) are waited out up to ``max_wait`` seconds; past that the
  run stops cleanly (``StopRun``). 5xx answers to idempotent methods are retried by
  urllib3 with backoff; a POST is never re-sent blindly: after an ambiguous failure the
  issue is looked up by its identity first.
- Redirects never count as success: a moved repository is resolved once (``repo()``), and
  a 3xx answer to anything else is an error naming what to change.
- One repository failing (404, 410, 403) raises ``RepoUnavailable`` for that repository
  alone; the caller goes on with the others.
- What GitHub silently drops on create (labels, assignees, the issue type, for tokens
  without push access) is checked and put back, or reported with the permission to grant.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import requests
from github import Auth, Github
from urllib3.util.retry import Retry

from liver_gh.errors import AuthError, RepoUnavailable, StopRun, TrackerError
from liver_gh.models import IssueComment, IssueEvent, IssueState, StateReason, TrackedIssue
from liver_gh.ports import Created, FileKind, NewIssue, RepoFile, RepoInfo
from liver_gh.rules.approval import Membership
from liver_gh.rules.identity import read_marker

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
    "liver:unmapped": ("bfd4f2", "The finding's account is no longer mapped to a service"),
}
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"})
MAX_FILE_BYTES = 64 * 1024
RATE_LIMIT_ATTEMPTS = 3
_TAGS = re.compile(r"<[^>]*>")


def make_retry(total: int = 4) -> Retry:
    """5xx on idempotent methods only; rate limits are this module's own business."""
    return Retry(
        total=total,
        connect=total,
        read=False,
        status=total,
        backoff_factor=0.5,
        backoff_jitter=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=IDEMPOTENT,
        respect_retry_after_header=False,  # an uncapped Retry-After sleep is exactly the hang to avoid
        raise_on_status=False,
        raise_on_redirect=False,
        redirect=0,
    )


def first_line(data: object, limit: int = 200) -> str:
    """GitHub's own words about an error: one line, no HTML."""
    if isinstance(data, dict):
        text = str(data.get("message") or "")
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            detail = errors[0].get("message") or errors[0].get("code")
            if detail:
                text = f"{text} ({detail})"
    else:
        text = _TAGS.sub(" ", str(data or ""))
    line = " ".join(text.strip().splitlines()[0].split()) if text.strip() else "no message"
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    data: Any


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

    def wait(self) -> None:
        if self.count >= self.per_hour:
            raise StopRun(f"the hourly budget of {self.per_hour} mutating GitHub requests is used up")
        now = self.clock()
        if self.last is not None and now - self.last < self.interval:
            self.sleep(self.interval - (now - self.last))
        self.last = self.clock()
        self.count += 1


def rate_limit_wait(resp: Response, now: float) -> float | None:
    """Seconds GitHub asks to wait (primary or secondary rate limit), or None."""
    if resp.status not in (403, 429):
        return None
    headers = resp.headers
    if "retry-after" in headers:
        try:
            return max(0.0, float(headers["retry-after"]))
        except ValueError:
            return 60.0
    if headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(headers.get("x-ratelimit-reset", "0")) - now)
        except ValueError:
            return 60.0
    message = str(resp.data.get("message", "")) if isinstance(resp.data, dict) else ""
    if "rate limit" in message.lower():
        return 60.0
    return None


def _ts(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _state_reason(value: object) -> StateReason | None:
    try:
        return StateReason(str(value)) if value else None
    except ValueError:
        return None


def to_tracked(repo: str, data: dict[str, Any]) -> TrackedIssue:
    return TrackedIssue(
        repo=repo,
        number=int(data["number"]),
        url=str(data["html_url"]),
        title=str(data.get("title") or ""),
        state=IssueState.OPEN if data.get("state") == "open" else IssueState.CLOSED,
        state_reason=_state_reason(data.get("state_reason")),
        labels=frozenset(str(lb["name"]) for lb in data.get("labels") or [] if isinstance(lb, dict)),
        assignees=tuple(str(a["login"]) for a in data.get("assignees") or [] if isinstance(a, dict)),
        body=str(data.get("body") or ""),
        author=str((data.get("user") or {}).get("login") or "ghost"),
        created_at=_ts(data.get("created_at")) or datetime.now(UTC),
        updated_at=_ts(data.get("updated_at")) or datetime.now(UTC),
        closed_at=_ts(data.get("closed_at")),
    )


@dataclass
class GitHubTracker:
    """Everything liver does on GitHub, behind the IssueTracker port."""

    gh: Github
    pacer: Pacer
    creators: tuple[str, ...]
    max_wait: float = 120.0
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0
    _labels: dict[str, set[str]] = field(default_factory=dict)
    _assignable: dict[tuple[str, str], bool] = field(default_factory=dict)
    _teams: dict[tuple[str, str], bool] = field(default_factory=dict)
    _memberships: dict[tuple[str, str, str], Membership] = field(default_factory=dict)
    dropped_types: set[str] = field(default_factory=set)

    @classmethod
    def connect(
        cls, token: str, base_url: str, *, creators: tuple[str, ...] = (), per_minute: int = 80, per_hour: int = 500,
        max_wait: float = 120.0,
    ) -> GitHubTracker:  # fmt: skip
        gh = Github(
            auth=Auth.Token(token),
            base_url=base_url,
            per_page=100,
            retry=make_retry(),
            seconds_between_requests=None,
            seconds_between_writes=None,
            timeout=30,
            lazy=True,
            user_agent="liver-gh",
        )
        return cls(gh, Pacer(per_minute, per_hour), creators, max_wait)

    # ------------------------------------------------------------ transport

    def _send(self, verb: str, url: str, params: dict[str, Any] | None = None, body: Any = None) -> Response:
        for attempt in range(RATE_LIMIT_ATTEMPTS):
            self.requests += 1
            try:
                status, headers, raw = self.gh.requester.requestJson(verb, url, parameters=params, input=body)
            except (requests.RequestException, OSError) as e:
                raise TrackerError(f"GitHub could not be reached ({type(e).__name__})") from e
            except RuntimeError as e:  # PyGithub's answer to a redirect to another host or scheme
                raise TrackerError(f"GitHub redirected {verb} {url} elsewhere ({e}); check GITHUB_API_URL") from e
            headers = {k.lower(): v for k, v in headers.items()}
            try:
                data = json.loads(raw) if raw else None
            except ValueError:
                data = raw
            resp = Response(status, headers, data)
            wait = rate_limit_wait(resp, time.time())
            if wait is None:
                return resp
            # A rate-limited request was not carried out, so sending it again is safe (even a POST).
            if wait > self.max_wait or attempt == RATE_LIMIT_ATTEMPTS - 1:
                raise StopRun(
                    f"GitHub's rate limit was reached ({verb} {url}); it resets in {wait:.0f} s, more than the "
                    f"{self.max_wait:.0f} s liver waits"
                )
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _ok(self, resp: Response, what: str, repo: str | None = None) -> Any:
        status = resp.status
        if 200 <= status < 300:
            return resp.data
        message = first_line(resp.data)
        if status == 401:
            raise AuthError([f"GitHub refused the token (HTTP 401 {message}); set GITHUB_TOKEN to a valid token."])
        if 300 <= status < 400:
            raise TrackerError(
                f"GitHub answered {status} (moved) to {what}; the repository was renamed or transferred: "
                "update its name in liver.yml",
                status,
            )
        if repo is not None and status in (403, 404, 410):
            raise RepoUnavailable(_repo_advice(repo, what, status, message), status)
        raise TrackerError(f"GitHub refused to {what}: HTTP {status} {message}", status)

    def _call(self, verb: str, url: str, what: str, repo: str | None = None, **kw: Any) -> Any:
        return self._ok(self._send(verb, url, kw.get("params"), kw.get("body")), what, repo)

    def _write(self, verb: str, url: str, what: str, repo: str, body: Any = None) -> Any:
        self.pacer.wait()
        return self._call(verb, url, what, repo, body=body)

    def _pages(self, url: str, params: dict[str, Any], what: str, repo: str | None = None) -> Iterator[Any]:
        next_url: str | None = url
        query: dict[str, Any] | None = {**params, "per_page": 100}
        while next_url:
            resp = self._send("GET", next_url, query)
            data = self._ok(resp, what, repo)
            yield from data if isinstance(data, list) else []
            next_url = _next_link(resp.headers.get("link", ""))
            query = None  # the next link carries the query itself

    # ------------------------------------------------------------ reads

    def repo(self, repo: str) -> RepoInfo:
        data = self._call("GET", f"/repos/{repo}", f"read {repo}", repo)
        full_name = str(data.get("full_name") or repo)
        if data.get("has_issues") is False:
            raise RepoUnavailable(f"issues are disabled in {full_name}: enable them or remove the service", 410)
        perms = data.get("permissions")
        push = bool(perms.get("push")) if isinstance(perms, dict) else None
        return RepoInfo(full_name, moved=full_name.lower() != repo.lower(), push=push)

    def list_issues(self, repo: str) -> list[TrackedIssue]:
        """Every issue liver created in a repository, open and closed: by creator, not by label."""
        out: dict[int, TrackedIssue] = {}
        for creator in self.creators:
            params = {"state": "all", "creator": creator, "sort": "created", "direction": "asc"}
            for item in self._pages(f"/repos/{repo}/issues", params, f"list liver's issues in {repo}", repo):
                if not isinstance(item, dict) or "pull_request" in item:
                    continue
                if str((item.get("user") or {}).get("login", "")).lower() not in {c.lower() for c in self.creators}:
                    continue
                out[int(item["number"])] = to_tracked(repo, item)
        return [out[n] for n in sorted(out)]

    def get_issue(self, repo: str, number: int) -> TrackedIssue:
        return to_tracked(repo, self._call("GET", f"/repos/{repo}/issues/{number}", f"read {repo}#{number}", repo))

    def with_history(self, issue: TrackedIssue) -> TrackedIssue:
        base = f"/repos/{issue.repo}/issues/{issue.number}"
        events = tuple(
            IssueEvent(
                id=int(e.get("id") or 0),
                event=str(e.get("event")),
                actor=str((e.get("actor") or {}).get("login") or "ghost"),
                actor_id=int((e.get("actor") or {}).get("id") or 0),
                created_at=_ts(e.get("created_at")) or datetime.now(UTC),
                label=str((e.get("label") or {}).get("name")) if e.get("label") else None,
            )
            for e in self._pages(f"{base}/events", {}, f"read the history of {issue.ref}", issue.repo)
        )
        comments = tuple(
            IssueComment(
                id=int(c.get("id") or 0),
                author=str((c.get("user") or {}).get("login") or "ghost"),
                author_id=int((c.get("user") or {}).get("id") or 0),
                body=str(c.get("body") or ""),
                created_at=_ts(c.get("created_at")) or datetime.now(UTC),
            )
            for c in self._pages(f"{base}/comments", {}, f"read the comments of {issue.ref}", issue.repo)
        )
        return TrackedIssue(**{**issue.__dict__, "events": events, "comments": comments})

    def can_assign(self, repo: str, login: str) -> bool:
        key = (repo.lower(), login.lower())
        if key not in self._assignable:
            resp = self._send("GET", f"/repos/{repo}/assignees/{quote(login, safe='')}")
            if resp.status == 404:
                self._assignable[key] = False
            else:
                self._ok(resp, f"check whether {login} can be assigned in {repo}", repo)
                self._assignable[key] = True
        return self._assignable[key]

    def membership(self, org: str, team: str, login: str) -> Membership:
        """Whether ``login`` is an active member of ``org/team``; UNKNOWN when GitHub cannot say."""
        key = (org.lower(), team.lower(), login.lower())
        if key not in self._memberships:
            self._memberships[key] = self._membership(org, team, login)
        return self._memberships[key]

    def _membership(self, org: str, team: str, login: str) -> Membership:
        url = f"/orgs/{quote(org, safe='')}/teams/{quote(team, safe='')}/memberships/{quote(login, safe='')}"
        try:
            resp = self._send("GET", url)
        except TrackerError:
            return Membership.UNKNOWN
        if resp.status == 200 and isinstance(resp.data, dict):
            return Membership.ACTIVE if resp.data.get("state") == "active" else Membership.NOT_MEMBER
        if resp.status == 404 and self.team_visible(org, team):
            return Membership.NOT_MEMBER  # GitHub answers 404 for non-members of a team it shows us
        return Membership.UNKNOWN

    def team_visible(self, org: str, team: str) -> bool:
        """Whether the token can see the team (a GITHUB_TOKEN cannot: it has no members permission)."""
        key = (org.lower(), team.lower())
        if key not in self._teams:
            try:
                resp = self._send("GET", f"/orgs/{quote(org, safe='')}/teams/{quote(team, safe='')}")
            except TrackerError:
                return False
            self._teams[key] = resp.status == 200
        return self._teams[key]

    def read_file(self, repo: str, path: str) -> RepoFile:
        resp = self._send("GET", f"/repos/{repo}/contents/{path}")
        if resp.status == 404:
            return RepoFile(FileKind.MISSING)
        data = self._ok(resp, f"read {path} in {repo}", repo)
        if not isinstance(data, dict) or data.get("type") != "file":
            return RepoFile(FileKind.NOT_A_FILE)
        size = int(data.get("size") or 0)
        if size > MAX_FILE_BYTES or data.get("encoding") != "base64":
            return RepoFile(FileKind.FILE, b"\0" * min(size, MAX_FILE_BYTES + 1))
        try:
            return RepoFile(FileKind.FILE, base64.b64decode(str(data.get("content") or ""), validate=False))
        except ValueError:
            return RepoFile(FileKind.NOT_A_FILE)

    def whoami(self) -> str | None:
        """The token's login, when GitHub tells (user tokens do; App installation tokens do not)."""
        resp = self._send("GET", "/user")
        if resp.status == 401:
            self._ok(resp, "read the token's user")
        return str(resp.data.get("login")) if resp.status == 200 and isinstance(resp.data, dict) else None

    def user_id(self, login: str) -> int | None:
        """The numeric id GitHub gives ``login`` now, or None if there is no such user."""
        resp = self._send("GET", f"/users/{quote(login, safe='')}")
        data = resp.data if resp.status == 200 and isinstance(resp.data, dict) else {}
        value = data.get("id")
        return value if isinstance(value, int) else None

    def installation_repos(self) -> list[str] | None:
        """The repositories an App installation token reaches; None for any other kind of token."""
        url: str | None = "/installation/repositories"
        query: dict[str, Any] | None = {"per_page": 100}
        found: list[str] = []
        while url:
            resp = self._send("GET", url, query)
            if resp.status == 401:
                self._ok(resp, "list the installation's repositories")
            if resp.status != 200 or not isinstance(resp.data, dict):
                return None  # a user token: GitHub answers 403 here
            found += [str(r.get("full_name")) for r in resp.data.get("repositories") or [] if isinstance(r, dict)]
            url, query = _next_link(resp.headers.get("link", "")), None
        return found

    # ------------------------------------------------------------ writes

    def ensure_labels(self, repo: str, labels: Sequence[str]) -> None:
        """Create liver's labels once per repository (listing them costs one request per 100)."""
        if repo not in self._labels:
            self._labels[repo] = {
                str(lb.get("name"))
                for lb in self._pages(f"/repos/{repo}/labels", {}, f"list the labels of {repo}", repo)
            }
        for name in labels:
            if name in self._labels[repo]:
                continue
            color, description = LABEL_COLORS.get(name, ("ededed", "liver"))
            self.pacer.wait()
            resp = self._send(
                "POST", f"/repos/{repo}/labels", body={"name": name, "color": color, "description": description}
            )
            if resp.status != 422:  # 422: it exists already
                self._ok(resp, f"create label {name!r} in {repo}", repo)
            self._labels[repo].add(name)

    def create_issue(self, repo: str, key: str, issue: NewIssue) -> Created:
        """Open an issue; after an ambiguous failure, find it by identity instead of re-sending."""
        body: dict[str, Any] = {
            "title": issue.title[:256],
            "body": issue.body,
            "labels": list(issue.labels),
            "assignees": list(issue.assignees),
        }
        if issue.issue_type and issue.issue_type not in self.dropped_types:
            body["type"] = issue.issue_type
        self.pacer.wait()
        try:
            resp = self._send("POST", f"/repos/{repo}/issues", body=body)
        except StopRun:
            raise
        except TrackerError as e:
            return self._recover(repo, key, str(e))
        if resp.status == 422 and "type" in body:
            self.dropped_types.add(str(body.pop("type")))
            resp = self._send("POST", f"/repos/{repo}/issues", body=body)
        if resp.status >= 500:
            return self._recover(repo, key, f"HTTP {resp.status}")
        data = self._ok(resp, f"open an issue in {repo}", repo)
        created = to_tracked(repo, data)
        return Created(created, tuple(self._verify(repo, created, issue, data)))

    def _recover(self, repo: str, key: str, why: str) -> Created:
        for found in self.list_issues(repo):
            if read_marker(found.body).key == key:
                return Created(found)
        raise TrackerError(
            f"opening an issue in {repo} failed ({why}) and no issue with its identity exists; the next run tries again."
        )

    def _verify(self, repo: str, created: TrackedIssue, wanted: NewIssue, data: dict[str, Any]) -> list[str]:
        """Put back what GitHub silently dropped; return what is still missing, as sentences."""
        missing: list[str] = []
        lost_labels = [lb for lb in wanted.labels if lb not in created.labels]
        if lost_labels:
            try:
                self.add_labels(repo, created.number, lost_labels)
            except TrackerError:
                missing.append(
                    f"GitHub dropped the labels {', '.join(lost_labels)} on {created.ref} and liver could not add them: "
                    "give the token push access (a GitHub App: Issues read & write) on the repository"
                )
        lost_people = [a for a in wanted.assignees if a.lower() not in {x.lower() for x in created.assignees}]
        if lost_people:
            try:
                self._write(
                    "POST",
                    f"/repos/{repo}/issues/{created.number}/assignees",
                    f"assign {created.ref}",
                    repo,
                    {"assignees": lost_people},
                )
            except TrackerError:
                missing.append(
                    f"GitHub dropped the assignee {', '.join(lost_people)} on {created.ref}: give the token push access"
                )
        if wanted.issue_type and wanted.issue_type in self.dropped_types:
            missing.append(f"the organisation has no issue type {wanted.issue_type!r}; issues are opened without one")
        elif wanted.issue_type and not data.get("type"):
            self.dropped_types.add(wanted.issue_type)
            missing.append(
                f"GitHub dropped the issue type {wanted.issue_type!r}: it needs push access and organisation issue types"
            )
        return missing

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        self.ensure_labels(repo, labels)
        self._write(
            "POST", f"/repos/{repo}/issues/{number}/labels", f"label {repo}#{number}", repo, {"labels": list(labels)}
        )

    def comment(self, repo: str, number: int, body: str) -> None:
        self._write(
            "POST", f"/repos/{repo}/issues/{number}/comments", f"comment on {repo}#{number}", repo, {"body": body}
        )

    def set_state(self, repo: str, number: int, state: IssueState, reason: StateReason | None) -> None:
        body: dict[str, Any] = {"state": state.value}
        if reason is not None:
            body["state_reason"] = reason.value
        self._write("PATCH", f"/repos/{repo}/issues/{number}", f"set {repo}#{number} {state.value}", repo, body)

    def add_label(self, repo: str, number: int, label: str) -> None:
        self.add_labels(repo, number, [label])

    def remove_label(self, repo: str, number: int, label: str) -> None:
        self.pacer.wait()
        resp = self._send("DELETE", f"/repos/{repo}/issues/{number}/labels/{quote(label, safe='')}")
        if resp.status != 404:  # already gone: goal reached
            self._ok(resp, f"remove label {label!r} from {repo}#{number}", repo)

    def assign(self, repo: str, number: int, login: str, previous: Sequence[str]) -> None:
        """Replace the assignees with ``login`` (one PATCH)."""
        self._write(
            "PATCH",
            f"/repos/{repo}/issues/{number}",
            f"assign {login} to {repo}#{number}",
            repo,
            {"assignees": [login]},
        )

    def edit_body(self, repo: str, number: int, body: str) -> None:
        self._write("PATCH", f"/repos/{repo}/issues/{number}", f"edit {repo}#{number}", repo, {"body": body})


def _next_link(header: str) -> str | None:
    for part in header.split(","):
        m = re.match(r'\s*<([^>]+)>\s*;\s*rel="next"', part)
        if m:
            return m.group(1)
    return None


def _repo_advice(repo: str, what: str, status: int, message: str) -> str:
    if status == 410:
        return f"issues are disabled in {repo} (HTTP 410, trying to {what}): enable them or remove the service from liver.yml"
    if status == 404:
        return (
            f"{repo} was not found or the token cannot see it (HTTP 404, trying to {what}): check the name in liver.yml "
            "and that the token (or the GitHub App installation) includes this repository"
        )
    return f"the token may not {what} (HTTP 403 {message}): grant Issues read & write on {repo}"
