"""A stateful, in-memory fake of the part of GitHub's REST API liver uses.

:class:`FakeGitHub` is a pure request handler (:meth:`FakeGitHub.handle`) plus
state. Two transports sit on top: :meth:`FakeGitHub.mount` plugs it into a
``responses.RequestsMock`` so PyGithub talks to it in-process, and
:meth:`FakeGitHub.serve` runs it behind a loopback HTTP server.

Fidelity is the point: objects carry every field GitHub's OpenAPI description
requires, lists paginate with GitHub's ``Link`` header (``/repositories/{id}``
URLs included), conditional requests answer 304, rate-limit headers count
down, and people acting "in the UI" (:meth:`FakeGitHub.act`) leave the same
issue events the API does. With ``validate`` on, every request and response is
checked against GitHub's OpenAPI description (see :mod:`.openapi`), and a
mismatch raises :class:`OpenAPIValidationError` rather than returning a 4xx.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from liver_fakes.openapi import NO_BODY, OpenAPISpec, OpenAPIValidationError, load_spec

if TYPE_CHECKING:
    import responses
    from requests import PreparedRequest

__all__ = [
    "DEFAULT_BASE_URL",
    "FakeActor",
    "FakeApiError",
    "FakeGitHub",
    "FakeRequest",
    "FakeResponse",
    "FaultHook",
    "OpenAPIValidationError",
]

DEFAULT_BASE_URL: Final = "https://api.github.com"
DOCS: Final = "https://docs.github.com/rest"
MAX_BODY_CHARS: Final = 65536
MAX_TITLE_CHARS: Final = 256
DEFAULT_LABEL_COLOR: Final = "ededed"
_SECONDARY_MESSAGE: Final = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from "
    "content creation. Please retry your request again later. If you reach out to GitHub "
    "Support for help, please include the request ID {request_id}."
)
# The labels GitHub puts into every new repository.
_GITHUB_DEFAULT_LABELS: Final = (
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
)
_CLOSE_REASONS: Final = ("completed", "not_planned", "duplicate")
_MUTATING: Final = frozenset({"POST", "PATCH", "PUT", "DELETE"})

_T = TypeVar("_T")


# -- transport-neutral request/response ------------------------------------


@dataclass
class FakeRequest:
    """One HTTP request, independent of how it arrived."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class FakeResponse:
    """One HTTP response. Header names are lower-case, like GitHub over HTTP/2."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


FaultHook = Callable[[FakeRequest], "FakeResponse | Literal['after'] | None"]


class FakeApiError(Exception):
    """A GitHub error response (status + GitHub's JSON error body).

    Raised inside handlers and by the "act as a person" helpers when GitHub
    would refuse the action.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        documentation_url: str = DOCS,
        errors: list[dict[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.errors = errors
        self.headers = dict(headers or {})

    @property
    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        out["documentation_url"] = self.documentation_url
        return out


def _not_found(doc: str = DOCS, message: str = "Not Found") -> FakeApiError:
    return FakeApiError(404, message, documentation_url=doc)


def _invalid(doc: str, *errors: dict[str, Any]) -> FakeApiError:
    return FakeApiError(422, "Validation Failed", documentation_url=doc, errors=list(errors))


def _bad_input(doc: str, detail: str) -> FakeApiError:
    # What GitHub says when a body fails its own schema check.
    return FakeApiError(422, f"Invalid request.\n\n{detail}", documentation_url=doc)


# -- state -------------------------------------------------------------------


@dataclass
class _User:
    login: str
    id: int
    type: str = "User"
    name: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime(2015, 1, 1, tzinfo=UTC))


@dataclass
class _Label:
    id: int
    name: str
    color: str
    description: str | None
    default: bool = False


@dataclass
class _Comment:
    id: int
    issue_number: int
    body: str
    user: str
    created_at: datetime
    updated_at: datetime


@dataclass
class _Event:
    id: int
    issue_number: int
    event: str
    actor: str
    created_at: datetime
    extra: dict[str, Any]


@dataclass
class _Issue:
    id: int
    number: int
    title: str
    body: str | None
    user: str
    created_at: datetime
    updated_at: datetime
    labels: list[int] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    state: str = "open"
    state_reason: str | None = None
    locked: bool = False
    comments: int = 0
    closed_at: datetime | None = None
    closed_by: str | None = None
    type_name: str | None = None  # the organisation issue type, if one was set


@dataclass
class _Repo:
    id: int
    owner: _User
    name: str
    private: bool
    created_at: datetime
    collaborators: set[str] = field(default_factory=set)
    labels: dict[int, _Label] = field(default_factory=dict)
    issues: dict[int, _Issue] = field(default_factory=dict)
    comments: dict[int, _Comment] = field(default_factory=dict)
    events: list[_Event] = field(default_factory=list)
    # Per-issue indexes, so listing one issue's events/comments is not O(repo).
    events_by_issue: dict[int, list[_Event]] = field(default_factory=dict)
    comments_by_issue: dict[int, dict[int, _Comment]] = field(default_factory=dict)
    contents: dict[str, str | bytes] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)  # path -> target
    next_number: int = 1
    default_branch: str = "main"
    has_issues: bool = True
    no_push: set[str] = field(default_factory=set)  # collaborators with triage only: GitHub drops their labels

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"


@dataclass
class _Team:
    id: int
    org: _User
    slug: str
    members: dict[str, str]  # lower-case login -> "member" | "maintainer"


@dataclass
class _Budget:
    used: int = 0
    reset: int = 0


@dataclass
class _Result:
    status: int
    data: Any = NO_BODY
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Ctx:
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    raw_query: str
    body: Any
    actor: _User

    def q(self, name: str, default: str = "") -> str:
        return self.query.get(name, default)

    def json_object(self, doc: str) -> dict[str, Any]:
        if self.body is NO_BODY or self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise _bad_input(doc, f"{self.body!r} is not an object.")
        return self.body


class _Unset:
    pass


_UNSET: Final = _Unset()


def _node_id(kind: str, ident: int) -> str:
    # GitHub's legacy global node id format: base64("0<len>:<Type><id>").
    return base64.b64encode(f"0{len(kind)}:{kind}{ident}".encode()).decode()


def _ts(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default


def _etag_matches(header: str, etag: str) -> bool:
    mine = etag.removeprefix("W/")
    return any(tag.strip() == "*" or tag.strip().removeprefix("W/") == mine for tag in header.split(","))


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return True
    width = len(needle)
    return any(haystack[i : i + width] == needle for i in range(len(haystack) - width + 1))


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- the fake ----------------------------------------------------------------


_Handler = Callable[["FakeGitHub", _Ctx], _Result]
_R: Final = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
_N: Final = r"(?P<number>\d+)"
_ROUTES: list[tuple[str, re.Pattern[str], str]] = []


def _route(method: str, pattern: str) -> Callable[[Callable[..., _Result]], Callable[..., _Result]]:
    def register(fn: Callable[..., _Result]) -> Callable[..., _Result]:
        _ROUTES.append((method, re.compile(f"^{pattern}$"), fn.__name__))
        return fn

    return register


class FakeGitHub:
    """In-memory GitHub. See the module docstring.

    Attributes a test may set at any time:

    * ``now``: the clock used for every timestamp, rate-limit window and the
      secondary-limit minute (default: real UTC time);
    * ``fault``: called with each request after validation; return a
      :class:`FakeResponse` to answer with it *without* doing the work, the
      string ``"after"`` to do the work and answer 502 anyway (the ambiguous
      case), or None to proceed normally;
    * ``rate_limit`` (core budget per hour, default 5000),
      ``search_rate_limit`` (per minute, default 30),
      ``secondary_limit_per_minute`` (mutations per clock minute, default off);
    * ``search_index_delay``: seconds before a new issue shows up in search.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        validate: bool | Literal["requests"] = True,
        spec_path: Path | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.base_url = base_url
        self._validate_requests = bool(validate)
        self._validate_responses = validate is True
        self._spec: OpenAPISpec | None = load_spec(spec_path) if validate else None
        self.now: Callable[[], datetime] = _utcnow
        self.fault: FaultHook | None = None
        self.rate_limit = 5000
        self.search_rate_limit = 30
        self.secondary_limit_per_minute: int | None = None
        self.search_index_delay = 0.0
        self.requests_log: list[tuple[str, str, int]] = []
        self.server_errors: list[BaseException] = []
        self._budgets: dict[str, _Budget] = {}
        self._secondary: tuple[int, int] = (0, 0)  # (clock minute, mutations in it)
        self._next_id = 1000
        self._request_seq = 0
        self._users: dict[str, _User] = {}
        self._tokens: dict[str, str] = {}
        self._repos: dict[str, _Repo] = {}
        self._repos_by_id: dict[int, _Repo] = {}
        self._renamed: dict[str, _Repo] = {}
        self._teams: dict[str, _Team] = {}
        self._installations: dict[str, set[str]] = {}  # App bot login -> the repositories it reaches
        self._issue_types: dict[str, dict[str, int]] = {}  # org -> issue type name -> id

    # -- configuration -----------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._api

    @base_url.setter
    def base_url(self, value: str) -> None:
        parts = urlsplit(value.rstrip("/"))
        self._api = value.rstrip("/")
        self._base_path = parts.path.rstrip("/")
        if parts.netloc == "api.github.com":
            self._web = "https://github.com"
        else:
            self._web = f"{parts.scheme}://{parts.netloc}"

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _clock(self) -> datetime:
        moment = self.now()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        # GitHub keeps whole seconds.
        return moment.astimezone(UTC).replace(microsecond=0)

    def _user(self, login: str, *, kind: str = "User") -> _User:
        key = login.lower()
        user = self._users.get(key)
        if user is None:
            user = _User(login=login, id=self._new_id(), type=kind)
            self._users[key] = user
        return user

    def add_user(self, login: str, token: str | None = None, *, name: str | None = None, bot: bool = False) -> None:
        """Register ``login``; requests bearing ``token`` act as this user."""
        with self._lock:
            user = self._user(login, kind="Bot" if bot else "User")
            if name is not None:
                user.name = name
            if token is not None:
                self._tokens[token] = user.login.lower()

    def add_installation(self, app_slug: str, token: str, repos: Iterable[str]) -> str:
        """A GitHub App installed on ``repos``: ``token`` is its installation token. Returns the bot login."""
        login = f"{app_slug}[bot]"
        with self._lock:
            self.add_user(login, token=token, bot=True)
            self._installations[login.lower()] = {r.lower() for r in repos}
            for full_name in repos:
                self._repo(full_name).collaborators.add(login.lower())
        return login

    def add_issue_types(self, org: str, names: Iterable[str]) -> None:
        """Turn on organisation issue types for ``org`` with these names."""
        with self._lock:
            types = self._issue_types.setdefault(org.lower(), {})
            for name in names:
                types.setdefault(name, self._new_id())

    def add_repo(
        self,
        full_name: str,
        collaborators: Iterable[str] = (),
        private: bool = False,
        *,
        default_labels: bool = True,
    ) -> None:
        """Create a repository. Collaborators are its assignable users.

        ``default_labels`` seeds the nine labels GitHub gives new repositories.
        The owner is an organization unless it was registered with add_user.
        """
        with self._lock:
            owner_login, name = full_name.split("/", 1)
            owner = self._users.get(owner_login.lower()) or self._user(owner_login, kind="Organization")
            if full_name.lower() in self._repos:
                raise ValueError(f"repository {full_name} already exists")
            repo = _Repo(id=self._new_id(), owner=owner, name=name, private=private, created_at=self._clock())
            for login in collaborators:
                repo.collaborators.add(self._user(login).login.lower())
            if default_labels:
                for label_name, color, description in _GITHUB_DEFAULT_LABELS:
                    label = _Label(self._new_id(), label_name, color, description, default=True)
                    repo.labels[label.id] = label
            self._repos[full_name.lower()] = repo
            self._repos_by_id[repo.id] = repo

    def add_collaborator(self, full_name: str, login: str) -> None:
        with self._lock:
            self._repo(full_name).collaborators.add(self._user(login).login.lower())

    def add_team(self, full_slug: str, members: Iterable[str] = (), maintainers: Iterable[str] = ()) -> None:
        """Create team ``org/slug`` (members and maintainers are logins)."""
        with self._lock:
            org_login, slug = full_slug.split("/", 1)
            org = self._users.get(org_login.lower()) or self._user(org_login, kind="Organization")
            team = self._teams.get(full_slug.lower())
            if team is None:
                team = _Team(id=self._new_id(), org=org, slug=slug, members={})
                self._teams[full_slug.lower()] = team
            for login in members:
                team.members[self._user(login).login.lower()] = "member"
            for login in maintainers:
                team.members[self._user(login).login.lower()] = "maintainer"

    def put_content(self, full_name: str, path: str, text: str | bytes) -> None:
        """Store a file on the default branch (served by GET .../contents/{path})."""
        with self._lock:
            self._repo(full_name).contents[path.strip("/")] = text

    def put_symlink(self, full_name: str, path: str, target: str) -> None:
        """A symbolic link in the repository (the contents API answers type "symlink")."""
        with self._lock:
            self._repo(full_name).symlinks[path.strip("/")] = target

    def rename_repo(self, old: str, new: str) -> None:
        """Rename or transfer a repository: the old name answers 301 for reads and 307 for writes."""
        with self._lock:
            repo = self._repo(old)
            owner_login, name = new.split("/", 1)
            repo.owner = self._users.get(owner_login.lower()) or self._user(owner_login, kind="Organization")
            repo.name = name
            self._repos[new.lower()] = repo
            self._renamed[old.lower()] = repo

    def disable_issues(self, full_name: str) -> None:
        with self._lock:
            self._repo(full_name).has_issues = False

    def without_push(self, full_name: str, login: str) -> None:
        """Give ``login`` triage access only: GitHub silently drops the labels and assignees it sets on create."""
        with self._lock:
            self._repo(full_name).no_push.add(login.lower())

    # -- inspection -----------------------------------------------------------

    def _repo(self, full_name: str) -> _Repo:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repository {full_name!r} in the fake")
        return repo

    def _issue(self, repo: _Repo, number: int) -> _Issue:
        issue = repo.issues.get(number)
        if issue is None:
            raise _not_found(f"{DOCS}/issues/issues#get-an-issue")
        return issue

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        """Every issue of the repository as GitHub renders it, by number."""
        with self._lock:
            repo = self._repo(full_name)
            return [self._issue_json(repo, repo.issues[n]) for n in sorted(repo.issues)]

    def issue(self, full_name: str, number: int) -> dict[str, Any]:
        with self._lock:
            repo = self._repo(full_name)
            return self._issue_json(repo, self._issue(repo, number))

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            repo = self._repo(full_name)
            return [self._comment_json(repo, c) for c in repo.comments_by_issue.get(number, {}).values()]

    def events(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            repo = self._repo(full_name)
            return [self._event_json(repo, e) for e in repo.events_by_issue.get(number, [])]

    def labels(self, full_name: str) -> list[dict[str, Any]]:
        with self._lock:
            repo = self._repo(full_name)
            return [self._label_json(repo, label) for label in self._sorted_labels(repo)]

    def mutations(self) -> int:
        """How many non-GET/HEAD requests were handled (any outcome)."""
        with self._lock:
            return sum(1 for method, _, _ in self.requests_log if method not in ("GET", "HEAD"))

    def rate_limit_remaining(self, resource: str = "core") -> int:
        with self._lock:
            return self._remaining(resource)

    # -- acting as a person in the web UI ---------------------------------------

    def act(self, login: str) -> FakeActor:
        """Helper whose methods act as ``login`` (no ``actor=`` needed)."""
        return FakeActor(self, login)

    def create_issue(
        self,
        full_name: str,
        title: str,
        body: str | None = None,
        *,
        labels: Sequence[str] = (),
        assignees: Sequence[str] = (),
        actor: str,
    ) -> int:
        with self._lock:
            repo = self._repo(full_name)
            issue = self._op_create_issue(repo, self._user(actor), title, body, list(labels), list(assignees), None)
            return issue.number

    def label_issue(self, full_name: str, number: int, label: str, actor: str) -> None:
        with self._lock:
            repo = self._repo(full_name)
            self._op_add_labels(repo, self._issue(repo, number), self._user(actor), [label])

    def unlabel_issue(self, full_name: str, number: int, label: str, actor: str) -> None:
        with self._lock:
            repo = self._repo(full_name)
            self._op_remove_label(repo, self._issue(repo, number), self._user(actor), label)

    def assign_issue(self, full_name: str, number: int, login: str, actor: str) -> None:
        with self._lock:
            repo = self._repo(full_name)
            issue = self._issue(repo, number)
            self._op_update_issue(repo, issue, self._user(actor), assignees=[*issue.assignees, login])

    def unassign_issue(self, full_name: str, number: int, login: str, actor: str) -> None:
        with self._lock:
            repo = self._repo(full_name)
            issue = self._issue(repo, number)
            self._op_remove_assignees(repo, issue, self._user(actor), [login])

    def close_issue(
        self,
        full_name: str,
        number: int,
        actor: str,
        state_reason: Literal["completed", "not_planned", "duplicate"] = "completed",
    ) -> None:
        with self._lock:
            repo = self._repo(full_name)
            self._op_update_issue(
                repo,
                self._issue(repo, number),
                self._user(actor),
                state="closed",
                state_reason=state_reason,
            )

    def reopen_issue(self, full_name: str, number: int, actor: str) -> None:
        with self._lock:
            repo = self._repo(full_name)
            self._op_update_issue(repo, self._issue(repo, number), self._user(actor), state="open")

    def comment(self, full_name: str, number: int, body: str, actor: str) -> int:
        with self._lock:
            repo = self._repo(full_name)
            issue = self._issue(repo, number)
            return self._op_comment(repo, issue, self._user(actor), body).id

    def edit_body(self, full_name: str, number: int, body: str, actor: str) -> None:
        with self._lock:
            repo = self._repo(full_name)
            self._op_update_issue(repo, self._issue(repo, number), self._user(actor), body=body)

    def edit_title(self, full_name: str, number: int, title: str, actor: str) -> None:
        with self._lock:
            repo = self._repo(full_name)
            self._op_update_issue(repo, self._issue(repo, number), self._user(actor), title=title)

    # -- transports --------------------------------------------------------------

    def mount(self, rsps: responses.RequestsMock) -> None:
        """Answer every request to ``base_url`` made through ``rsps``."""
        parts = urlsplit(self._api)
        default_port = {"https": ":443", "http": ":80"}.get(parts.scheme, "")
        # PyGithub spells the default port out (https://api.github.com:443/...).
        pattern = re.compile(
            f"{re.escape(parts.scheme)}://{re.escape(parts.netloc)}"
            f"(?:{re.escape(default_port)})?{re.escape(self._base_path)}(?:[/?].*)?$"
        )
        for method in ("GET", "HEAD", "POST", "PATCH", "PUT", "DELETE"):
            rsps.add_callback(method, pattern, callback=self._responses_callback, content_type=None)

    def _responses_callback(self, request: PreparedRequest) -> tuple[int, dict[str, str], bytes]:
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        response = self.handle(
            FakeRequest(
                method=request.method or "GET",
                url=request.url or "",
                headers=dict(request.headers),
                body=body if isinstance(body, bytes) else None,
            )
        )
        return response.status, response.headers, response.body

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0) -> Iterator[str]:
        """Serve over loopback HTTP in a thread; yield the base URL.

        While serving, ``base_url`` points at the server so every URL in a
        response (``url``, ``Link``...) leads back to it. Validation failures
        cannot travel over HTTP as exceptions: the client gets a 500 and the
        first failure is re-raised when the context exits.
        """
        holder: list[str] = []
        server = ThreadingHTTPServer((host, port), _make_http_handler(self, holder, latency))
        server.daemon_threads = True
        bound_host, bound_port = server.server_address[:2]
        previous = self.base_url
        holder.append(f"http://{bound_host!s}:{bound_port}")
        served = f"{holder[0]}{self._base_path}"
        self.base_url = served
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        try:
            yield served
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            self.base_url = previous
        if self.server_errors:
            raise self.server_errors[0]

    # -- request handling ------------------------------------------------------------

    def handle(self, req: FakeRequest) -> FakeResponse:
        """Handle one request: validate, authenticate, rate-limit, act, answer."""
        with self._lock:
            return self._handle(req)

    def _handle(self, req: FakeRequest) -> FakeResponse:
        method = req.method.upper()
        route_method = "GET" if method == "HEAD" else method
        parts = urlsplit(req.url)
        headers = {k.lower(): v for k, v in req.headers.items()}
        canonical = self._canonical_path(parts.path)
        log_path = canonical or parts.path
        query_pairs = parse_qsl(parts.query, keep_blank_values=True)

        raw = req.body or b""
        body: Any = NO_BODY
        bad_json: str | None = None
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError as exc:
                bad_json = str(exc)

        op = None
        if self._spec is not None and canonical is not None:
            if self._validate_requests:
                if bad_json is not None:
                    raise OpenAPIValidationError(f"{method} {canonical}: request body is not JSON ({bad_json})")
                op = self._spec.validate_request(route_method, canonical, query_pairs, body)
            else:
                found = self._spec.match(route_method, canonical)
                op = found[0] if found else None

        moved = self._moved(method, parts.path, parts.query)
        if moved is not None:
            self.requests_log.append((method, log_path, moved.status))
            return moved
        after = False
        if self.fault is not None:
            outcome = self.fault(req)
            if isinstance(outcome, FakeResponse):
                self.requests_log.append((method, log_path, outcome.status))
                return outcome
            after = outcome == "after"

        self._request_seq += 1
        request_id = f"F4KE:{self._request_seq:05X}:{self._request_seq * 7919:07X}"
        resource = "search" if (canonical or "").startswith("/search/") else "core"
        counts = canonical != "/rate_limit"
        actor, auth_error = self._authenticate(headers)
        result: _Result
        if auth_error is not None:
            result = _Result(auth_error.status, auth_error.body)
            counts = False
        elif counts and self._remaining(resource) <= 0:
            result = _Result(
                403,
                {
                    "message": f"API rate limit exceeded for user ID {actor.id}.",
                    "documentation_url": (
                        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                        "#about-the-primary-rate-limit"
                    ),
                },
            )
            counts = False
        elif method in _MUTATING and (wait := self._secondary_wait()) is not None:
            result = _Result(
                403,
                {
                    "message": _SECONDARY_MESSAGE.format(request_id=request_id),
                    "documentation_url": (
                        "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
                    ),
                },
                {"retry-after": str(wait)},
            )
        elif bad_json is not None:
            result = _Result(400, {"message": "Problems parsing JSON", "documentation_url": DOCS})
        else:
            if method in _MUTATING:
                self._count_mutation()
            try:
                result = self._dispatch(route_method, canonical, query_pairs, parts.query, body, actor)
            except FakeApiError as exc:
                result = _Result(exc.status, exc.body, exc.headers)

        payload = (
            b""
            if result.data is NO_BODY
            else json.dumps(result.data, separators=(",", ":"), ensure_ascii=False).encode()
        )
        out_headers = dict(result.headers)
        status = result.status
        if route_method == "GET" and status == 200:
            etag = 'W/"' + hashlib.sha256(payload).hexdigest()[:32] + '"'
            out_headers["etag"] = etag
            out_headers["cache-control"] = "private, max-age=60, s-maxage=60"
            condition = headers.get("if-none-match")
            if condition and _etag_matches(condition, etag):
                # Conditional hits are free on GitHub.
                status, payload, counts = 304, b"", False
                out_headers.pop("link", None)
        if counts:
            self._budget(resource).used += 1

        if op is not None and self._spec is not None and self._validate_responses:
            data = NO_BODY if status == 304 else result.data
            self._spec.validate_response(op, status, data)

        if payload:
            out_headers["content-type"] = "application/json; charset=utf-8"
        out_headers.update(self._rate_headers(resource))
        out_headers["x-github-media-type"] = "github.v3; format=json"
        out_headers["x-github-request-id"] = request_id
        out_headers["x-oauth-scopes"] = "repo, read:org"
        out_headers["date"] = format_datetime(self._clock(), usegmt=True)
        if after:
            status = 502
            payload = json.dumps({"message": "Server Error"}).encode()
            out_headers = {k: v for k, v in out_headers.items() if k.startswith("x-") or k == "date"}
            out_headers["content-type"] = "application/json; charset=utf-8"
        if method == "HEAD":
            payload = b""
        self.requests_log.append((method, log_path, status))
        return FakeResponse(status, out_headers, payload)

    def _moved(self, method: str, path: str, query: str) -> FakeResponse | None:
        """GitHub's answer for a renamed repository: 301 to /repositories/{id} for reads, 307 for writes."""
        if self._base_path and path.startswith(self._base_path):
            path = path[len(self._base_path) :]
        m = re.match(r"^/repos/([^/]+)/([^/]+)(/.*)?$", path)
        if not m:
            return None
        repo = self._renamed.get(f"{m.group(1)}/{m.group(2)}".lower())
        if repo is None or repo.full_name.lower() == f"{m.group(1)}/{m.group(2)}".lower():
            return None
        location = f"{self._api}/repositories/{repo.id}{m.group(3) or ''}" + (f"?{query}" if query else "")
        status = 301 if method in ("GET", "HEAD") else 307
        body = json.dumps({"message": "Moved Permanently", "url": location, "documentation_url": DOCS}).encode()
        return FakeResponse(status, {"location": location, "content-type": "application/json; charset=utf-8"}, body)

    def _canonical_path(self, path: str) -> str | None:
        """Strip the base path; map /repositories/{id} and /organizations/{id}/team/{id}."""
        if self._base_path:
            if path != self._base_path and not path.startswith(self._base_path + "/"):
                return None
            path = path[len(self._base_path) :]
        path = path or "/"
        m = re.match(r"^/repositories/(\d+)(/.*)?$", path)
        if m:
            repo = self._repos_by_id.get(int(m.group(1)))
            if repo is None:
                return None
            return f"/repos/{repo.owner.login}/{repo.name}{m.group(2) or ''}"
        m = re.match(r"^/organizations/(\d+)/team/(\d+)(/.*)?$", path)
        if m:
            for team in self._teams.values():
                if team.id == int(m.group(2)) and team.org.id == int(m.group(1)):
                    return f"/orgs/{team.org.login}/teams/{team.slug}{m.group(3) or ''}"
            return None
        return path

    def _authenticate(self, headers: Mapping[str, str]) -> tuple[_User, FakeApiError | None]:
        anonymous = _User(login="", id=0)
        value = headers.get("authorization", "").strip()
        if not value:
            return anonymous, FakeApiError(401, "Requires authentication")
        scheme, _, token = value.partition(" ")
        login = self._tokens.get(token.strip()) if scheme.lower() in ("token", "bearer") else None
        if login is None:
            return anonymous, FakeApiError(401, "Bad credentials")
        return self._users[login], None

    # -- rate limits ----------------------------------------------------------------

    def _budget(self, resource: str) -> _Budget:
        window = 60 if resource == "search" else 3600
        now = int(self._clock().timestamp())
        budget = self._budgets.setdefault(resource, _Budget())
        if now >= budget.reset:
            budget.used, budget.reset = 0, now + window
        return budget

    def _limit(self, resource: str) -> int:
        return self.search_rate_limit if resource == "search" else self.rate_limit

    def _remaining(self, resource: str) -> int:
        return max(0, self._limit(resource) - self._budget(resource).used)

    def _rate_headers(self, resource: str) -> dict[str, str]:
        budget = self._budget(resource)
        return {
            "x-ratelimit-limit": str(self._limit(resource)),
            "x-ratelimit-remaining": str(self._remaining(resource)),
            "x-ratelimit-reset": str(budget.reset),
            "x-ratelimit-used": str(budget.used),
            "x-ratelimit-resource": resource,
        }

    def _secondary_wait(self) -> int | None:
        limit = self.secondary_limit_per_minute
        if limit is None:
            return None
        now = self._clock().timestamp()
        minute, count = self._secondary
        if minute != int(now // 60) or count < limit:
            return None
        return max(1, math.ceil(60 - now % 60))

    def _count_mutation(self) -> None:
        minute = int(self._clock().timestamp() // 60)
        current, count = self._secondary
        self._secondary = (minute, count + 1 if current == minute else 1)

    # -- routing ----------------------------------------------------------------------

    def _dispatch(
        self,
        method: str,
        path: str | None,
        query_pairs: list[tuple[str, str]],
        raw_query: str,
        body: Any,
        actor: _User,
    ) -> _Result:
        if path is not None:
            for route_method, pattern, name in _ROUTES:
                m = pattern.match(path)
                if m and route_method == method:
                    ctx = _Ctx(
                        method=method,
                        path=path,
                        params={k: unquote(v) for k, v in m.groupdict().items()},
                        query=dict(query_pairs),
                        raw_query=raw_query,
                        body=body,
                        actor=actor,
                    )
                    handler: _Handler = getattr(type(self), name)
                    return handler(self, ctx)
        raise _not_found()

    def _page(
        self,
        ctx: _Ctx,
        items: Sequence[_T],
        render: Callable[[_T], Any],
        link_path: str,
    ) -> _Result:
        """One page of ``items`` with GitHub's Link header (only the page is rendered)."""
        per_page = _int(ctx.q("per_page", "30"), 30)
        per_page = 30 if per_page < 1 else min(per_page, 100)
        page = max(1, _int(ctx.q("page", "1"), 1))
        last = max(1, math.ceil(len(items) / per_page))
        start = (page - 1) * per_page
        data = [render(item) for item in items[start : start + per_page]]
        # Keep the client's query exactly as sent, only swap the page number.
        kept = [part for part in ctx.raw_query.split("&") if part and unquote(part.split("=", 1)[0]) != "page"]

        def url(number: int) -> str:
            return f"{self._api}{link_path}?{'&'.join([*kept, f'page={number}'])}"

        links = []
        if page > 1:
            links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
        headers = {"link": ", ".join(links)} if links else {}
        return _Result(200, data, headers)

    def _visible(self, repo: _Repo, actor: _User) -> bool:
        reach = self._installations.get(actor.login.lower())
        if reach is not None:  # an installation token sees only the repositories it was installed on
            return repo.full_name.lower() in reach
        if not repo.private:
            return True
        login = actor.login.lower()
        return (
            login == repo.owner.login.lower() or login in repo.collaborators or self._is_org_member(repo.owner, login)
        )

    def _ctx_repo(self, ctx: _Ctx) -> _Repo:
        repo = self._repos.get(f"{ctx.params['owner']}/{ctx.params['repo']}".lower())
        if repo is None or not self._visible(repo, ctx.actor):
            raise _not_found(f"{DOCS}/repos/repos#get-a-repository")
        return repo

    def _ctx_issue(self, ctx: _Ctx) -> tuple[_Repo, _Issue]:
        repo = self._issues_repo(ctx)
        return repo, self._issue(repo, int(ctx.params["number"]))

    def _issues_repo(self, ctx: _Ctx) -> _Repo:
        repo = self._ctx_repo(ctx)
        if not repo.has_issues:
            raise FakeApiError(410, "Issues are disabled for this repo", documentation_url=f"{DOCS}/issues/issues")
        return repo

    def _repo_link(self, repo: _Repo, ctx: _Ctx) -> str:
        prefix = f"/repos/{ctx.params['owner']}/{ctx.params['repo']}"
        return f"/repositories/{repo.id}{ctx.path[len(prefix) :]}"

    # -- rendering ---------------------------------------------------------------------

    def _user_json(self, user: _User) -> dict[str, Any]:
        api, login = f"{self._api}/users/{user.login}", user.login
        return {
            "login": login,
            "id": user.id,
            "node_id": _node_id(user.type if user.type != "Bot" else "Bot", user.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{user.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{self._web}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": user.type,
            "user_view_type": "public",
            "site_admin": False,
        }

    def _user_json_by_login(self, login: str | None) -> dict[str, Any] | None:
        return None if login is None else self._user_json(self._users[login.lower()])

    def _repo_api(self, repo: _Repo) -> str:
        return f"{self._api}/repos/{repo.full_name}"

    def _label_json(self, repo: _Repo, label: _Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": _node_id("Label", label.id),
            "url": f"{self._repo_api(repo)}/labels/{quote(label.name, safe='')}",
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
        }

    def _association(self, repo: _Repo, login: str) -> str:
        login = login.lower()
        if login == repo.owner.login.lower():
            return "OWNER"
        if self._is_org_member(repo.owner, login):
            return "MEMBER"
        if login in repo.collaborators:
            return "COLLABORATOR"
        return "NONE"

    def _reactions(self, url: str) -> dict[str, Any]:
        return {
            "url": f"{url}/reactions",
            "total_count": 0,
            "+1": 0,
            "-1": 0,
            "laugh": 0,
            "hooray": 0,
            "confused": 0,
            "heart": 0,
            "rocket": 0,
            "eyes": 0,
        }

    def _issue_json(self, repo: _Repo, issue: _Issue, *, listing: bool = False) -> dict[str, Any]:
        url = f"{self._repo_api(repo)}/issues/{issue.number}"
        assignees = [self._user_json(self._users[a]) for a in issue.assignees]
        out: dict[str, Any] = {
            "url": url,
            "repository_url": self._repo_api(repo),
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{self._web}/{repo.full_name}/issues/{issue.number}",
            "id": issue.id,
            "node_id": _node_id("Issue", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self._user_json_by_login(issue.user),
            "labels": [self._label_json(repo, label) for label in self._issue_labels(repo, issue)],
            "state": issue.state,
            "locked": issue.locked,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": issue.comments,
            "created_at": _ts(issue.created_at),
            "updated_at": _ts(issue.updated_at),
            "closed_at": _ts(issue.closed_at),
            "author_association": self._association(repo, issue.user),
            "active_lock_reason": None,
            "body": issue.body,
        }
        if not listing:
            # GitHub leaves closed_by out of list responses.
            out["closed_by"] = self._user_json_by_login(issue.closed_by)
        out["reactions"] = self._reactions(url)
        out["timeline_url"] = f"{url}/timeline"
        out["performed_via_github_app"] = None
        out["state_reason"] = issue.state_reason
        types = self._issue_types.get(repo.owner.login.lower())
        if types is not None:  # "only present for issues in repositories where issue types are supported"
            out["type"] = None
            if issue.type_name is not None:
                type_id = types[issue.type_name]
                out["type"] = {
                    "id": type_id,
                    "node_id": _node_id("IssueType", type_id),
                    "name": issue.type_name,
                    "description": None,
                    "color": "red",
                    "created_at": _ts(repo.created_at),
                    "updated_at": _ts(repo.created_at),
                    "is_enabled": True,
                }
        return out

    def _comment_json(self, repo: _Repo, comment: _Comment) -> dict[str, Any]:
        url = f"{self._repo_api(repo)}/issues/comments/{comment.id}"
        return {
            "url": url,
            "html_url": (f"{self._web}/{repo.full_name}/issues/{comment.issue_number}#issuecomment-{comment.id}"),
            "issue_url": f"{self._repo_api(repo)}/issues/{comment.issue_number}",
            "id": comment.id,
            "node_id": _node_id("IssueComment", comment.id),
            "user": self._user_json_by_login(comment.user),
            "created_at": _ts(comment.created_at),
            "updated_at": _ts(comment.updated_at),
            "author_association": self._association(repo, comment.user),
            "body": comment.body,
            "reactions": self._reactions(url),
            "performed_via_github_app": None,
        }

    def _event_json(self, repo: _Repo, event: _Event, *, with_issue: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": event.id,
            "node_id": _node_id("IssueEvent", event.id),
            "url": f"{self._repo_api(repo)}/issues/events/{event.id}",
            "actor": self._user_json_by_login(event.actor),
            "event": event.event,
            "commit_id": None,
            "commit_url": None,
            "created_at": _ts(event.created_at),
        }
        for key, value in event.extra.items():
            if key in ("assignee", "assigner"):
                out[key] = self._user_json_by_login(value)
            else:
                out[key] = value
        out["performed_via_github_app"] = None
        if with_issue:
            out["issue"] = self._issue_json(repo, repo.issues[event.issue_number])
        return out

    def _repo_json(self, repo: _Repo, actor: _User) -> dict[str, Any]:
        api = self._repo_api(repo)
        web = f"{self._web}/{repo.full_name}"
        host = urlsplit(self._web).netloc
        login = actor.login.lower()
        admin = login == repo.owner.login.lower()
        member = admin or login in repo.collaborators
        push = member and login not in repo.no_push
        open_issues = sum(1 for i in repo.issues.values() if i.state == "open")
        out: dict[str, Any] = {
            "id": repo.id,
            "node_id": _node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self._user_json(repo.owner),
            "html_url": web,
            "description": None,
            "fork": False,
            "url": api,
        }
        for key, suffix in (
            ("forks_url", "/forks"),
            ("keys_url", "/keys{/key_id}"),
            ("collaborators_url", "/collaborators{/collaborator}"),
            ("teams_url", "/teams"),
            ("hooks_url", "/hooks"),
            ("issue_events_url", "/issues/events{/number}"),
            ("events_url", "/events"),
            ("assignees_url", "/assignees{/user}"),
            ("branches_url", "/branches{/branch}"),
            ("tags_url", "/tags"),
            ("blobs_url", "/git/blobs{/sha}"),
            ("git_tags_url", "/git/tags{/sha}"),
            ("git_refs_url", "/git/refs{/sha}"),
            ("trees_url", "/git/trees{/sha}"),
            ("statuses_url", "/statuses/{sha}"),
            ("languages_url", "/languages"),
            ("stargazers_url", "/stargazers"),
            ("contributors_url", "/contributors"),
            ("subscribers_url", "/subscribers"),
            ("subscription_url", "/subscription"),
            ("commits_url", "/commits{/sha}"),
            ("git_commits_url", "/git/commits{/sha}"),
            ("comments_url", "/comments{/number}"),
            ("issue_comment_url", "/issues/comments{/number}"),
            ("contents_url", "/contents/{+path}"),
            ("compare_url", "/compare/{base}...{head}"),
            ("merges_url", "/merges"),
            ("archive_url", "/{archive_format}{/ref}"),
            ("downloads_url", "/downloads"),
            ("issues_url", "/issues{/number}"),
            ("pulls_url", "/pulls{/number}"),
            ("milestones_url", "/milestones{/number}"),
            ("notifications_url", "/notifications{?since,all,participating}"),
            ("labels_url", "/labels{/name}"),
            ("releases_url", "/releases{/id}"),
            ("deployments_url", "/deployments"),
        ):
            out[key] = api + suffix
        created = _ts(repo.created_at)
        out.update(
            {
                "created_at": created,
                "updated_at": created,
                "pushed_at": created,
                "git_url": f"git://{host}/{repo.full_name}.git",
                "ssh_url": f"git@{host}:{repo.full_name}.git",
                "clone_url": f"{web}.git",
                "svn_url": web,
                "homepage": None,
                "size": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "language": None,
                "has_issues": repo.has_issues,
                "has_projects": True,
                "has_downloads": True,
                "has_wiki": True,
                "has_pages": False,
                "has_discussions": False,
                "forks_count": 0,
                "mirror_url": None,
                "archived": False,
                "disabled": False,
                "open_issues_count": open_issues,
                "license": None,
                "allow_forking": True,
                "is_template": False,
                "web_commit_signoff_required": False,
                "topics": [],
                "visibility": "private" if repo.private else "public",
                "forks": 0,
                "open_issues": open_issues,
                "watchers": 0,
                "default_branch": repo.default_branch,
                "permissions": {
                    "admin": admin,
                    "maintain": admin,
                    "push": push,
                    "triage": member,
                    "pull": True,
                },
                "network_count": 0,
                "subscribers_count": 0,
            }
        )
        if repo.owner.type == "Organization":
            out["organization"] = self._user_json(repo.owner)
        return out

    # -- domain operations (shared by HTTP handlers and the UI helpers) -----------------

    def _sorted_labels(self, repo: _Repo) -> list[_Label]:
        return sorted(repo.labels.values(), key=lambda label: label.name.lower())

    def _find_label(self, repo: _Repo, name: str) -> _Label | None:
        wanted = name.strip().lower()
        for label in repo.labels.values():
            if label.name.lower() == wanted:
                return label
        return None

    def _ensure_label(self, repo: _Repo, name: str) -> _Label:
        # GitHub creates unknown labels on the fly when they are applied.
        label = self._find_label(repo, name)
        if label is None:
            label = _Label(self._new_id(), name.strip(), DEFAULT_LABEL_COLOR, None)
            repo.labels[label.id] = label
        return label

    def _issue_labels(self, repo: _Repo, issue: _Issue) -> list[_Label]:
        return [repo.labels[i] for i in issue.labels if i in repo.labels]

    def _assignable(self, repo: _Repo, login: str) -> bool:
        login = login.lower()
        if login == repo.owner.login.lower() and repo.owner.type != "Organization":
            return True
        return login in repo.collaborators

    def _is_org_member(self, org: _User, login: str) -> bool:
        return any(team.org is org and login.lower() in team.members for team in self._teams.values())

    def _record(self, repo: _Repo, issue: _Issue, event: str, actor: _User, **extra: Any) -> None:
        entry = _Event(self._new_id(), issue.number, event, actor.login, self._clock(), extra)
        repo.events.append(entry)
        repo.events_by_issue.setdefault(issue.number, []).append(entry)

    def _check_body(self, text: str | None, resource: str, doc: str) -> None:
        if text is not None and len(text) > MAX_BODY_CHARS:
            raise _invalid(
                doc,
                {
                    "resource": resource,
                    "code": "custom",
                    "field": "body",
                    "message": f"body is too long (maximum is {MAX_BODY_CHARS} characters)",
                },
            )

    def _check_title(self, title: str, doc: str) -> None:
        if len(title) > MAX_TITLE_CHARS:
            raise _invalid(
                doc,
                {
                    "resource": "Issue",
                    "code": "custom",
                    "field": "title",
                    "message": f"title is too long (maximum is {MAX_TITLE_CHARS} characters)",
                },
            )

    def _check_assignees(self, repo: _Repo, logins: Sequence[str], field_name: str, doc: str) -> None:
        bad = [login for login in logins if not self._assignable(repo, login)]
        if bad:
            raise _invalid(
                doc,
                *({"value": login, "resource": "Issue", "field": field_name, "code": "invalid"} for login in bad),
            )

    @staticmethod
    def _unique(logins: Iterable[str]) -> list[str]:
        seen: dict[str, None] = {}
        for login in logins:
            seen.setdefault(login.lower(), None)
        return list(seen)

    def _op_create_issue(
        self,
        repo: _Repo,
        actor: _User,
        title: Any,
        body: str | None,
        labels: list[str],
        assignees: list[str],
        milestone: Any,
        *,
        assignee_field: str = "assignees",
        type_name: str | None = None,
    ) -> _Issue:
        doc = f"{DOCS}/issues/issues#create-an-issue"
        types = self._issue_types.get(repo.owner.login.lower(), {})
        if type_name is not None and type_name.lower() not in {t.lower() for t in types}:
            raise _invalid(doc, {"value": type_name, "resource": "Issue", "field": "type", "code": "invalid"})
        if title is None or not str(title).strip():
            raise _invalid(doc, {"resource": "Issue", "code": "missing_field", "field": "title"})
        self._check_title(str(title), doc)
        self._check_body(body, "Issue", doc)
        if milestone is not None:
            raise _invalid(doc, {"value": milestone, "resource": "Issue", "field": "milestone", "code": "invalid"})
        self._check_assignees(repo, assignees, assignee_field, doc)
        now = self._clock()
        issue = _Issue(
            id=self._new_id(),
            number=repo.next_number,
            title=str(title),
            body=body,
            user=actor.login,
            created_at=now,
            updated_at=now,
        )
        repo.next_number += 1
        repo.issues[issue.number] = issue
        if actor.login.lower() in repo.no_push:
            # "Only users with push access can set labels for new issues. Labels are silently dropped otherwise."
            # The same is documented for assignees and the issue type.
            return issue
        if type_name is not None:
            issue.type_name = next(t for t in types if t.lower() == type_name.lower())
        self._apply_labels(repo, issue, actor, [*labels])
        self._apply_assignees(repo, issue, actor, self._unique(assignees))
        return issue

    def _apply_labels(self, repo: _Repo, issue: _Issue, actor: _User, names: list[str]) -> bool:
        """Make the issue's labels exactly ``names`` (in that order); record the diff."""
        wanted = [self._ensure_label(repo, name) for name in names if name.strip()]
        wanted_ids = list(dict.fromkeys(label.id for label in wanted))
        changed = False
        for label_id in issue.labels:
            if label_id not in wanted_ids and label_id in repo.labels:
                label = repo.labels[label_id]
                self._record(repo, issue, "unlabeled", actor, label={"name": label.name, "color": label.color})
                changed = True
        for label_id in wanted_ids:
            if label_id not in issue.labels:
                label = repo.labels[label_id]
                self._record(repo, issue, "labeled", actor, label={"name": label.name, "color": label.color})
                changed = True
        issue.labels = [i for i in issue.labels if i in wanted_ids] + [i for i in wanted_ids if i not in issue.labels]
        return changed

    def _apply_assignees(self, repo: _Repo, issue: _Issue, actor: _User, logins: list[str]) -> bool:
        """Make the assignees exactly ``logins`` (lower-case, assignable); record the diff."""
        changed = False
        for login in issue.assignees:
            if login not in logins:
                self._record(repo, issue, "unassigned", actor, assignee=login, assigner=actor.login)
                changed = True
        for login in logins:
            if login not in issue.assignees:
                self._record(repo, issue, "assigned", actor, assignee=login, assigner=actor.login)
                changed = True
        issue.assignees = [a for a in issue.assignees if a in logins] + [a for a in logins if a not in issue.assignees]
        return changed

    def _op_update_issue(
        self,
        repo: _Repo,
        issue: _Issue,
        actor: _User,
        *,
        title: Any = _UNSET,
        body: Any = _UNSET,
        state: Any = _UNSET,
        state_reason: Any = _UNSET,
        labels: list[str] | _Unset = _UNSET,
        assignees: list[str] | _Unset = _UNSET,
        milestone: Any = _UNSET,
    ) -> None:
        doc = f"{DOCS}/issues/issues#update-an-issue"
        # Validate everything first: a 422 must leave the issue untouched.
        if title is not _UNSET and title is not None and not str(title).strip():
            raise _invalid(doc, {"resource": "Issue", "code": "missing_field", "field": "title"})
        if title is not _UNSET and title is not None:
            self._check_title(str(title), doc)
        if isinstance(body, str):
            self._check_body(body, "Issue", doc)
        if milestone is not _UNSET and milestone is not None:
            raise _invalid(doc, {"value": milestone, "resource": "Issue", "field": "milestone", "code": "invalid"})
        if not isinstance(assignees, _Unset):
            self._check_assignees(repo, assignees, "assignees", doc)
        if state is not _UNSET and state not in ("open", "closed"):
            raise _invalid(doc, {"value": state, "resource": "Issue", "field": "state", "code": "invalid"})
        closing = state == "closed" and issue.state == "open"
        if state_reason is not _UNSET and state_reason not in (None, *_CLOSE_REASONS, "reopened"):
            raise _invalid(
                doc,
                {"value": state_reason, "resource": "Issue", "field": "state_reason", "code": "invalid"},
            )
        if closing and state_reason == "reopened":
            raise _invalid(
                doc,
                {"value": state_reason, "resource": "Issue", "field": "state_reason", "code": "invalid"},
            )

        changed = False
        if title is not _UNSET and title is not None and str(title) != issue.title:
            self._record(repo, issue, "renamed", actor, rename={"from": issue.title, "to": str(title)})
            issue.title = str(title)
            changed = True
        if body is not _UNSET and body != issue.body:
            issue.body = body
            changed = True
        if not isinstance(labels, _Unset):
            changed = self._apply_labels(repo, issue, actor, labels) or changed
        if not isinstance(assignees, _Unset):
            changed = self._apply_assignees(repo, issue, actor, self._unique(assignees)) or changed
        reason = None if state_reason is _UNSET else state_reason
        if closing:
            issue.state = "closed"
            issue.state_reason = reason or "completed"
            issue.closed_at = self._clock()
            issue.closed_by = actor.login
            self._record(repo, issue, "closed", actor, state_reason=issue.state_reason)
            changed = True
        elif state == "open" and issue.state == "closed":
            issue.state = "open"
            issue.state_reason = "reopened"
            issue.closed_at = None
            issue.closed_by = None
            self._record(repo, issue, "reopened", actor, state_reason=None)
            changed = True
        elif issue.state == "closed" and reason in _CLOSE_REASONS and reason != issue.state_reason:
            issue.state_reason = reason
            changed = True
        if changed:
            issue.updated_at = self._clock()

    def _op_add_labels(self, repo: _Repo, issue: _Issue, actor: _User, names: list[str]) -> None:
        current = [label.name for label in self._issue_labels(repo, issue)]
        if self._apply_labels(repo, issue, actor, current + names):
            issue.updated_at = self._clock()

    def _op_remove_label(self, repo: _Repo, issue: _Issue, actor: _User, name: str) -> None:
        label = self._find_label(repo, name)
        if label is None or label.id not in issue.labels:
            raise _not_found(f"{DOCS}/issues/labels#remove-a-label-from-an-issue", "Label does not exist")
        remaining = [x.name for x in self._issue_labels(repo, issue) if x.id != label.id]
        self._apply_labels(repo, issue, actor, remaining)
        issue.updated_at = self._clock()

    def _op_remove_assignees(self, repo: _Repo, issue: _Issue, actor: _User, logins: Iterable[str]) -> None:
        drop = {login.lower() for login in logins}
        if self._apply_assignees(repo, issue, actor, [a for a in issue.assignees if a not in drop]):
            issue.updated_at = self._clock()

    def _op_comment(self, repo: _Repo, issue: _Issue, actor: _User, body: Any) -> _Comment:
        doc = f"{DOCS}/issues/comments#create-an-issue-comment"
        if not isinstance(body, str) or not body.strip():
            raise _invalid(doc, {"resource": "IssueComment", "code": "missing_field", "field": "body"})
        self._check_body(body, "IssueComment", doc)
        now = self._clock()
        comment = _Comment(self._new_id(), issue.number, body, actor.login, now, now)
        repo.comments[comment.id] = comment
        repo.comments_by_issue.setdefault(issue.number, {})[comment.id] = comment
        issue.comments += 1
        issue.updated_at = now
        return comment

    @staticmethod
    def _names(value: Any, doc: str, field: str, key: str) -> list[str]:
        """A list of strings or of objects carrying ``key`` (labels by name, users by login)."""
        if not isinstance(value, list):
            raise _bad_input(doc, f"For 'properties/{field}', {value!r} is not an array.")
        names = []
        for item in value:
            if isinstance(item, dict) and isinstance(item.get(key), str):
                names.append(item[key])
            elif isinstance(item, str):
                names.append(item)
            else:
                raise _bad_input(doc, f"For 'items', {item!r} is not a string.")
        return names

    @classmethod
    def _label_names(cls, value: Any, doc: str) -> list[str]:
        return cls._names(value, doc, "labels", "name")

    @classmethod
    def _logins(cls, value: Any, doc: str) -> list[str]:
        return cls._names(value, doc, "assignees", "login")

    # -- handlers: meta ---------------------------------------------------------------

    @_route("GET", "/rate_limit")
    def _h_rate_limit(self, ctx: _Ctx) -> _Result:
        def entry(resource: str) -> dict[str, int]:
            budget = self._budget(resource)
            return {
                "limit": self._limit(resource),
                "used": budget.used,
                "remaining": self._remaining(resource),
                "reset": budget.reset,
            }

        core = entry("core")
        return _Result(200, {"resources": {"core": core, "search": entry("search")}, "rate": core})

    @_route("GET", "/installation/repositories")
    def _h_installation_repos(self, ctx: _Ctx) -> _Result:
        reach = self._installations.get(ctx.actor.login.lower())
        if reach is None:
            raise FakeApiError(
                403,
                "You must authenticate with an installation access token in order to list repositories for an installation.",
                documentation_url=f"{DOCS}/apps/installations#list-repositories-accessible-to-the-app-installation",
            )
        repos = [self._repos[name] for name in sorted(reach) if name in self._repos]
        return _Result(
            200,
            {
                "total_count": len(repos),
                "repository_selection": "selected",
                "repositories": [self._repo_json(r, ctx.actor) for r in repos],
            },
        )

    @_route("GET", r"/users/(?P<username>[^/]+)")
    def _h_public_user(self, ctx: _Ctx) -> _Result:
        user = self._users.get(ctx.params["username"].lower())
        if user is None or user.type == "Organization":
            raise _not_found(f"{DOCS}/users/users#get-a-user")
        created = _ts(user.created_at)
        return _Result(
            200,
            {
                **self._user_json(user),
                "user_view_type": "public",
                "name": user.name or user.login,
                "company": None,
                "blog": "",
                "location": None,
                "email": None,
                "hireable": None,
                "bio": None,
                "public_repos": 0,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": created,
                "updated_at": created,
            },
        )

    @_route("GET", "/user")
    def _h_user(self, ctx: _Ctx) -> _Result:
        user = ctx.actor
        if user.login.lower() in self._installations:
            raise FakeApiError(
                403,
                "Resource not accessible by integration",
                documentation_url=f"{DOCS}/users/users#get-the-authenticated-user",
            )
        created = _ts(user.created_at)
        owned = sum(1 for r in self._repos.values() if r.owner is user)
        return _Result(
            200,
            {
                **self._user_json(user),
                # The authenticated user's own view (selects private-user).
                "user_view_type": "private",
                "name": user.name or user.login,
                "company": "",
                "blog": "",
                "location": "",
                "email": f"{user.login}@users.noreply.github.com",
                "hireable": False,
                "bio": "",
                "twitter_username": "",
                "public_repos": owned,
                "public_gists": 0,
                "followers": 0,
                "following": 0,
                "created_at": created,
                "updated_at": created,
                "private_gists": 0,
                "total_private_repos": 0,
                "owned_private_repos": 0,
                "disk_usage": 0,
                "collaborators": 0,
                "two_factor_authentication": True,
            },
        )

    # -- handlers: repositories ---------------------------------------------------------

    @_route("GET", _R)
    def _h_repo(self, ctx: _Ctx) -> _Result:
        return _Result(200, self._repo_json(self._ctx_repo(ctx), ctx.actor))

    @_route("GET", _R + r"/assignees/(?P<assignee>[^/]+)")
    def _h_check_assignee(self, ctx: _Ctx) -> _Result:
        repo = self._ctx_repo(ctx)
        if self._assignable(repo, ctx.params["assignee"]):
            return _Result(204)
        raise _not_found(f"{DOCS}/issues/assignees#check-if-a-user-can-be-assigned")

    @_route("GET", _R + r"/collaborators/(?P<username>[^/]+)/permission")
    def _h_permission(self, ctx: _Ctx) -> _Result:
        repo = self._ctx_repo(ctx)
        user = self._users.get(ctx.params["username"].lower())
        if user is None:
            raise _not_found(f"{DOCS}/collaborators/collaborators")
        login = user.login.lower()
        if login == repo.owner.login.lower():
            permission, role = "admin", "admin"
        elif login in repo.collaborators:
            permission, role = "write", "write"
        elif repo.private:
            permission, role = "none", "none"
        else:
            permission, role = "read", "read"
        flags = {
            "admin": permission == "admin",
            "maintain": permission == "admin",
            "push": permission in ("admin", "write"),
            "triage": permission in ("admin", "write"),
            "pull": permission != "none",
        }
        collaborator = {**self._user_json(user), "permissions": flags, "role_name": role}
        return _Result(200, {"permission": permission, "role_name": role, "user": collaborator})

    @_route("GET", _R + r"/contents/(?P<path>.+)")
    def _h_contents(self, ctx: _Ctx) -> _Result:
        repo = self._ctx_repo(ctx)
        doc = f"{DOCS}/repos/contents#get-repository-content"
        ref = ctx.q("ref") or repo.default_branch
        if ref != repo.default_branch:
            raise _not_found(doc, f"No commit found for the ref {ref}")
        path = ctx.params["path"].strip("/")
        if path in repo.symlinks:
            return _Result(200, self._symlink_json(repo, path))
        if path in repo.contents:
            return _Result(200, self._content_json(repo, path, with_content=True))
        children = sorted(
            {
                f"{path}/{rest.split('/', 1)[0]}"
                for p in repo.contents
                if p.startswith(path + "/") and (rest := p[len(path) + 1 :])
            }
        )
        if not children:
            raise _not_found(doc)
        return _Result(200, [self._content_json(repo, child) for child in children])

    def _symlink_json(self, repo: _Repo, path: str) -> dict[str, Any]:
        out = self._content_json(repo, path)
        target = repo.symlinks[path]
        out.update(type="symlink", target=target, size=len(target), download_url=None)
        return out

    def _content_json(self, repo: _Repo, path: str, *, with_content: bool = False) -> dict[str, Any]:
        is_file = path in repo.contents
        raw = repo.contents.get(path, "")
        data = raw if isinstance(raw, bytes) else raw.encode()
        if is_file:
            sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        else:
            sha = hashlib.sha1(f"tree:{path}".encode(), usedforsecurity=False).hexdigest()
        api = self._repo_api(repo)
        branch = repo.default_branch
        self_url = f"{api}/contents/{quote(path)}?ref={branch}"
        git_url = f"{api}/git/{'blobs' if is_file else 'trees'}/{sha}"
        html = f"{self._web}/{repo.full_name}/{'blob' if is_file else 'tree'}/{branch}/{quote(path)}"
        out: dict[str, Any] = {
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "size": len(data),
            "url": self_url,
            "html_url": html,
            "git_url": git_url,
            "download_url": (
                f"https://raw.githubusercontent.com/{repo.full_name}/{branch}/{quote(path)}" if is_file else None
            ),
            "type": "file" if is_file else "dir",
        }
        if with_content:
            encoded = base64.b64encode(data).decode()
            # GitHub wraps base64 content at 60 characters.
            out["content"] = "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))
            out["encoding"] = "base64"
        out["_links"] = {"self": self_url, "git": git_url, "html": html}
        return out

    # -- handlers: issues ---------------------------------------------------------------

    @_route("GET", _R + "/issues")
    def _h_list_issues(self, ctx: _Ctx) -> _Result:
        repo = self._issues_repo(ctx)
        doc = f"{DOCS}/issues/issues#list-repository-issues"
        state = ctx.q("state", "open")
        wanted = [n.strip().lower() for n in ctx.q("labels").split(",") if n.strip()]
        since = None
        if ctx.q("since"):
            since = _parse_time(ctx.q("since"))
            if since is None:
                raise _invalid(doc, {"resource": "Issue", "field": "since", "code": "invalid"})
        assignee, creator = ctx.q("assignee").lower(), ctx.q("creator").lower()
        mentioned, milestone = ctx.q("mentioned").lower(), ctx.q("milestone")

        def keep(issue: _Issue) -> bool:
            if state != "all" and issue.state != state:
                return False
            if wanted:
                names = {label.name.lower() for label in self._issue_labels(repo, issue)}
                if not set(wanted) <= names:
                    return False
            if since is not None and issue.updated_at < since:
                return False
            if assignee == "none" and issue.assignees:
                return False
            if assignee == "*" and not issue.assignees:
                return False
            if assignee not in ("", "none", "*") and assignee not in issue.assignees:
                return False
            if creator and issue.user.lower() != creator:
                return False
            if mentioned and f"@{mentioned}" not in (issue.body or "").lower():
                return False
            # The fake has no milestones: only "none" (or no filter) matches.
            return milestone in ("", "none")

        sort = ctx.q("sort", "created")
        sort_keys: dict[str, Callable[[_Issue], Any]] = {
            "created": lambda i: (i.created_at, i.number),
            "updated": lambda i: (i.updated_at, i.number),
            "comments": lambda i: (i.comments, i.number),
        }
        selected = sorted(
            (i for i in repo.issues.values() if keep(i)),
            key=sort_keys.get(sort, sort_keys["created"]),
            reverse=ctx.q("direction", "desc") != "asc",
        )
        return self._page(
            ctx,
            selected,
            lambda i: self._issue_json(repo, i, listing=True),
            self._repo_link(repo, ctx),
        )

    @_route("POST", _R + "/issues")
    def _h_create_issue(self, ctx: _Ctx) -> _Result:
        repo = self._issues_repo(ctx)
        doc = f"{DOCS}/issues/issues#create-an-issue"
        data = ctx.json_object(doc)
        labels = self._label_names(data.get("labels", []), doc)
        assignees = self._logins(data.get("assignees") or [], doc)
        field_name = "assignees"
        if data.get("assignee"):
            assignees = [str(data["assignee"]), *assignees]
            field_name = "assignee" if not data.get("assignees") else field_name
        body = data.get("body")
        if body is not None and not isinstance(body, str):
            raise _bad_input(doc, f"For 'properties/body', {body!r} is not a string.")
        issue = self._op_create_issue(
            repo,
            ctx.actor,
            data.get("title"),
            body,
            labels,
            assignees,
            data.get("milestone"),
            assignee_field=field_name,
            type_name=data.get("type"),
        )
        out = self._issue_json(repo, issue)
        return _Result(201, out, {"location": out["url"]})

    @_route("GET", _R + "/issues/" + _N)
    def _h_get_issue(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        return _Result(200, self._issue_json(repo, issue))

    @_route("PATCH", _R + "/issues/" + _N)
    def _h_update_issue(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        doc = f"{DOCS}/issues/issues#update-an-issue"
        data = ctx.json_object(doc)
        kwargs: dict[str, Any] = {
            key: data[key] for key in ("title", "body", "state", "state_reason", "milestone") if key in data
        }
        if "labels" in data:
            kwargs["labels"] = self._label_names(data["labels"] or [], doc)
        if "assignees" in data or "assignee" in data:
            logins = self._logins(data.get("assignees") or [], doc)
            if data.get("assignee"):
                logins = [str(data["assignee"]), *logins]
            kwargs["assignees"] = logins
        self._op_update_issue(repo, issue, ctx.actor, **kwargs)
        return _Result(200, self._issue_json(repo, issue))

    # -- handlers: comments -------------------------------------------------------------

    @_route("GET", _R + "/issues/" + _N + "/comments")
    def _h_list_comments(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        since = _parse_time(ctx.q("since")) if ctx.q("since") else None
        selected = [
            c for c in repo.comments_by_issue.get(issue.number, {}).values() if since is None or c.updated_at >= since
        ]
        return self._page(ctx, selected, lambda c: self._comment_json(repo, c), self._repo_link(repo, ctx))

    @_route("POST", _R + "/issues/" + _N + "/comments")
    def _h_create_comment(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        data = ctx.json_object(f"{DOCS}/issues/comments#create-an-issue-comment")
        comment = self._op_comment(repo, issue, ctx.actor, data.get("body"))
        out = self._comment_json(repo, comment)
        return _Result(201, out, {"location": out["url"]})

    def _ctx_comment(self, ctx: _Ctx) -> tuple[_Repo, _Comment]:
        repo = self._ctx_repo(ctx)
        comment = repo.comments.get(int(ctx.params["comment_id"]))
        if comment is None:
            raise _not_found(f"{DOCS}/issues/comments#get-an-issue-comment")
        return repo, comment

    @_route("GET", _R + r"/issues/comments/(?P<comment_id>\d+)")
    def _h_get_comment(self, ctx: _Ctx) -> _Result:
        repo, comment = self._ctx_comment(ctx)
        return _Result(200, self._comment_json(repo, comment))

    @_route("PATCH", _R + r"/issues/comments/(?P<comment_id>\d+)")
    def _h_update_comment(self, ctx: _Ctx) -> _Result:
        repo, comment = self._ctx_comment(ctx)
        doc = f"{DOCS}/issues/comments#update-an-issue-comment"
        body = ctx.json_object(doc).get("body")
        if not isinstance(body, str) or not body.strip():
            raise _invalid(doc, {"resource": "IssueComment", "code": "missing_field", "field": "body"})
        self._check_body(body, "IssueComment", doc)
        if body != comment.body:
            comment.body = body
            comment.updated_at = self._clock()
        return _Result(200, self._comment_json(repo, comment))

    @_route("DELETE", _R + r"/issues/comments/(?P<comment_id>\d+)")
    def _h_delete_comment(self, ctx: _Ctx) -> _Result:
        repo, comment = self._ctx_comment(ctx)
        del repo.comments[comment.id]
        del repo.comments_by_issue[comment.issue_number][comment.id]
        repo.issues[comment.issue_number].comments -= 1
        return _Result(204)

    # -- handlers: labels on issues --------------------------------------------------------

    @_route("GET", _R + "/issues/" + _N + "/labels")
    def _h_issue_labels(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        return self._page(
            ctx,
            self._issue_labels(repo, issue),
            lambda label: self._label_json(repo, label),
            self._repo_link(repo, ctx),
        )

    def _labels_from_body(self, ctx: _Ctx, doc: str) -> list[str]:
        body = ctx.body
        if body is NO_BODY or body is None:
            return []
        if isinstance(body, dict):
            body = body.get("labels", [])
        if isinstance(body, str):
            body = [body]
        return self._label_names(body, doc)

    @_route("POST", _R + "/issues/" + _N + "/labels")
    def _h_add_labels(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        names = self._labels_from_body(ctx, f"{DOCS}/issues/labels#add-labels-to-an-issue")
        self._op_add_labels(repo, issue, ctx.actor, names)
        return _Result(200, [self._label_json(repo, x) for x in self._issue_labels(repo, issue)])

    @_route("PUT", _R + "/issues/" + _N + "/labels")
    def _h_set_labels(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        names = self._labels_from_body(ctx, f"{DOCS}/issues/labels#set-labels-for-an-issue")
        self._op_update_issue(repo, issue, ctx.actor, labels=names)
        return _Result(200, [self._label_json(repo, x) for x in self._issue_labels(repo, issue)])

    @_route("DELETE", _R + "/issues/" + _N + "/labels")
    def _h_clear_labels(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        self._op_update_issue(repo, issue, ctx.actor, labels=[])
        return _Result(204)

    @_route("DELETE", _R + "/issues/" + _N + r"/labels/(?P<name>[^/]+)")
    def _h_remove_label(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        self._op_remove_label(repo, issue, ctx.actor, ctx.params["name"])
        return _Result(200, [self._label_json(repo, x) for x in self._issue_labels(repo, issue)])

    # -- handlers: events and assignees -----------------------------------------------------

    @_route("GET", _R + "/issues/" + _N + "/events")
    def _h_issue_events(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        selected = repo.events_by_issue.get(issue.number, [])
        return self._page(ctx, selected, lambda e: self._event_json(repo, e), self._repo_link(repo, ctx))

    @_route("GET", _R + "/issues/events")
    def _h_repo_events(self, ctx: _Ctx) -> _Result:
        repo = self._ctx_repo(ctx)
        return self._page(
            ctx,
            list(reversed(repo.events)),
            lambda e: self._event_json(repo, e, with_issue=True),
            self._repo_link(repo, ctx),
        )

    @_route("GET", _R + r"/issues/events/(?P<event_id>\d+)")
    def _h_get_event(self, ctx: _Ctx) -> _Result:
        # Not in the trimmed description (so not validated), but PyGithub
        # fetches it to "complete" an event whose attribute it lacks, e.g.
        # IssueEvent.label on an "assigned" event.
        repo = self._ctx_repo(ctx)
        wanted = int(ctx.params["event_id"])
        for event in repo.events:
            if event.id == wanted:
                return _Result(200, self._event_json(repo, event, with_issue=True))
        raise _not_found(f"{DOCS}/issues/events#get-an-issue-event")

    @_route("POST", _R + "/issues/" + _N + "/assignees")
    def _h_add_assignees(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        doc = f"{DOCS}/issues/assignees#add-assignees-to-an-issue"
        logins = self._logins(ctx.json_object(doc).get("assignees") or [], doc)
        # GitHub silently drops users who cannot be assigned here.
        keep = [login for login in logins if self._assignable(repo, login)]
        if self._apply_assignees(repo, issue, ctx.actor, self._unique([*issue.assignees, *keep])):
            issue.updated_at = self._clock()
        return _Result(201, self._issue_json(repo, issue))

    @_route("DELETE", _R + "/issues/" + _N + "/assignees")
    def _h_remove_assignees(self, ctx: _Ctx) -> _Result:
        repo, issue = self._ctx_issue(ctx)
        doc = f"{DOCS}/issues/assignees#remove-assignees-from-an-issue"
        logins = self._logins(ctx.json_object(doc).get("assignees") or [], doc)
        self._op_remove_assignees(repo, issue, ctx.actor, logins)
        return _Result(200, self._issue_json(repo, issue))

    @_route("GET", _R + "/issues/" + _N + r"/assignees/(?P<assignee>[^/]+)")
    def _h_check_issue_assignee(self, ctx: _Ctx) -> _Result:
        repo, _issue = self._ctx_issue(ctx)
        if self._assignable(repo, ctx.params["assignee"]):
            return _Result(204)
        raise _not_found(f"{DOCS}/issues/assignees#check-if-a-user-can-be-assigned-to-a-issue")

    # -- handlers: repository labels -----------------------------------------------------

    @_route("GET", _R + "/labels")
    def _h_list_labels(self, ctx: _Ctx) -> _Result:
        repo = self._ctx_repo(ctx)
        return self._page(
            ctx,
            self._sorted_labels(repo),
            lambda label: self._label_json(repo, label),
            self._repo_link(repo, ctx),
        )

    @staticmethod
    def _check_color(color: Any, doc: str) -> str:
        if not isinstance(color, str) or not re.fullmatch(r"[0-9a-fA-F]{6}", color.lstrip("#")):
            raise _invalid(doc, {"resource": "Label", "code": "invalid", "field": "color"})
        return color.lstrip("#")

    @_route("POST", _R + "/labels")
    def _h_create_label(self, ctx: _Ctx) -> _Result:
        repo = self._ctx_repo(ctx)
        doc = f"{DOCS}/issues/labels#create-a-label"
        data = ctx.json_object(doc)
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _invalid(doc, {"resource": "Label", "code": "missing_field", "field": "name"})
        color = self._check_color(data.get("color", DEFAULT_LABEL_COLOR), doc)
        if self._find_label(repo, name) is not None:
            raise _invalid(doc, {"resource": "Label", "code": "already_exists", "field": "name"})
        label = _Label(self._new_id(), name.strip(), color, data.get("description"))
        repo.labels[label.id] = label
        out = self._label_json(repo, label)
        return _Result(201, out, {"location": out["url"]})

    def _ctx_label(self, ctx: _Ctx) -> tuple[_Repo, _Label]:
        repo = self._ctx_repo(ctx)
        label = self._find_label(repo, ctx.params["name"])
        if label is None:
            raise _not_found(f"{DOCS}/issues/labels#get-a-label")
        return repo, label

    @_route("GET", _R + r"/labels/(?P<name>[^/]+)")
    def _h_get_label(self, ctx: _Ctx) -> _Result:
        repo, label = self._ctx_label(ctx)
        return _Result(200, self._label_json(repo, label))

    @_route("PATCH", _R + r"/labels/(?P<name>[^/]+)")
    def _h_update_label(self, ctx: _Ctx) -> _Result:
        repo, label = self._ctx_label(ctx)
        doc = f"{DOCS}/issues/labels#update-a-label"
        data = ctx.json_object(doc)
        new_name = data.get("new_name")
        color = self._check_color(data["color"], doc) if "color" in data else label.color
        if isinstance(new_name, str) and new_name.strip():
            clash = self._find_label(repo, new_name)
            if clash is not None and clash is not label:
                raise _invalid(doc, {"resource": "Label", "code": "already_exists", "field": "name"})
            label.name = new_name.strip()
        label.color = color
        if "description" in data:
            label.description = data["description"]
        return _Result(200, self._label_json(repo, label))

    @_route("DELETE", _R + r"/labels/(?P<name>[^/]+)")
    def _h_delete_label(self, ctx: _Ctx) -> _Result:
        repo, label = self._ctx_label(ctx)
        del repo.labels[label.id]
        for issue in repo.issues.values():
            if label.id in issue.labels:
                issue.labels.remove(label.id)
        return _Result(204)

    # -- handlers: teams ----------------------------------------------------------------

    def _ctx_team(self, ctx: _Ctx) -> _Team:
        team = self._teams.get(f"{ctx.params['org']}/{ctx.params['team']}".lower())
        if team is None:
            raise _not_found(f"{DOCS}/teams/members")
        return team

    @_route("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<team>[^/]+)")
    def _h_team(self, ctx: _Ctx) -> _Result:
        team = self._ctx_team(ctx)
        org = team.org
        api, web = f"{self._api}/orgs/{org.login}", f"{self._web}/orgs/{org.login}"
        created = _ts(org.created_at)
        organization = {
            "login": org.login,
            "url": api,
            "id": org.id,
            "node_id": _node_id("Organization", org.id),
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{org.id}?v=4",
            "description": None,
            "html_url": f"{self._web}/{org.login}",
            "has_organization_projects": True,
            "has_repository_projects": True,
            "public_repos": 0,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "type": "Organization",
            "created_at": created,
            "updated_at": created,
            "archived_at": None,
        }
        team_api = f"{self._api}/organizations/{org.id}/team/{team.id}"
        return _Result(
            200,
            {
                "id": team.id,
                "node_id": _node_id("Team", team.id),
                "url": team_api,
                "members_url": f"{team_api}/members{{/member}}",
                "name": team.slug,
                "description": None,
                "permission": "pull",
                "html_url": f"{web}/teams/{team.slug}",
                "repositories_url": f"{team_api}/repos",
                "slug": team.slug,
                "type": "organization",
                "created_at": created,
                "updated_at": created,
                "members_count": len(team.members),
                "repos_count": 0,
                "organization": organization,
            },
        )

    @_route("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<team>[^/]+)/memberships/(?P<username>[^/]+)")
    def _h_membership(self, ctx: _Ctx) -> _Result:
        team = self._ctx_team(ctx)
        login = ctx.params["username"].lower()
        role = team.members.get(login)
        if role is None:
            raise _not_found(f"{DOCS}/teams/members#get-team-membership-for-a-user")
        url = f"{self._api}/organizations/{team.org.id}/team/{team.id}/memberships/{self._users[login].login}"
        return _Result(200, {"url": url, "role": role, "state": "active"})

    @_route("GET", r"/orgs/(?P<org>[^/]+)/teams/(?P<team>[^/]+)/members")
    def _h_team_members(self, ctx: _Ctx) -> _Result:
        team = self._ctx_team(ctx)
        role = ctx.q("role", "all")
        logins = sorted(
            (login for login, r in team.members.items() if role in ("all", r)),
            key=lambda login: self._users[login].id,
        )
        return self._page(
            ctx,
            logins,
            lambda login: self._user_json(self._users[login]),
            f"/organizations/{team.org.id}/team/{team.id}/members",
        )

    # -- handlers: search -----------------------------------------------------------------

    @_route("GET", "/search/issues")
    def _h_search_issues(self, ctx: _Ctx) -> _Result:
        doc = f"{DOCS}/search/search#search-issues-and-pull-requests"
        query = ctx.q("q")
        if not query.strip():
            raise _invalid(doc, {"resource": "Search", "field": "q", "code": "missing"})
        matcher = _SearchQuery(query)
        now = self._clock()
        lag = timedelta(seconds=self.search_index_delay)
        hits: list[tuple[_Repo, _Issue]] = []
        for repo in self._repos.values():
            if not self._visible(repo, ctx.actor) or not matcher.wants_repo(repo):
                continue
            for issue in repo.issues.values():
                if now - issue.created_at < lag:
                    continue  # not indexed yet
                if matcher.matches(self, repo, issue):
                    hits.append((repo, issue))
        sort = ctx.q("sort")
        sort_keys: dict[str, Callable[[tuple[_Repo, _Issue]], Any]] = {
            "created": lambda hit: (hit[1].created_at, hit[1].id),
            "updated": lambda hit: (hit[1].updated_at, hit[1].id),
            "comments": lambda hit: (hit[1].comments, hit[1].id),
        }
        hits.sort(
            key=sort_keys.get(sort, lambda hit: hit[1].id),
            reverse=ctx.q("order", "desc") != "asc" or sort not in sort_keys,
        )
        capped = hits[:1000]  # GitHub serves at most 1000 search results.
        page = self._page(
            ctx,
            capped,
            lambda hit: {**self._issue_json(hit[0], hit[1], listing=True), "score": 1.0},
            "/search/issues",
        )
        page.data = {
            "total_count": len(hits),
            "incomplete_results": False,
            "items": page.data,
            "search_type": "lexical",
        }
        return page


class _SearchQuery:
    """The subset of GitHub's issue search syntax the fake understands.

    Qualifiers: repo, org/user, is (issue/pr/open/closed), state, label,
    -label, no (label/assignee/milestone), author, assignee, in (title/body/
    comments), type. Anything else is a text term matched word by word,
    roughly like GitHub's tokenizer (so "foo" does not match "foobar").
    """

    _TOKEN: Final = re.compile(r'(-?)([A-Za-z_-]+):("[^"]*"|\S+)|(-?)"([^"]*)"|(\S+)')

    def __init__(self, query: str) -> None:
        self.filters: list[tuple[bool, str, str]] = []
        self.terms: list[tuple[bool, list[str]]] = []
        self.fields = {"title", "body"}
        for m in self._TOKEN.finditer(query):
            if m.group(2):
                negated, key, value = m.group(1) == "-", m.group(2).lower(), m.group(3).strip('"')
                if key == "in":
                    self.fields = {f.strip().lower() for f in value.split(",")}
                else:
                    self.filters.append((negated, key, value))
            elif m.group(5) is not None:
                self.terms.append((m.group(4) == "-", _words(m.group(5))))
            else:
                word = m.group(6)
                negated = word.startswith("-") and len(word) > 1
                self.terms.append((negated, _words(word[1:] if negated else word)))

    def wants_repo(self, repo: _Repo) -> bool:
        for negated, key, value in self.filters:
            hit: bool | None = None
            if key == "repo":
                hit = value.lower() == repo.full_name.lower()
            elif key in ("org", "user"):
                hit = value.lower() == repo.owner.login.lower()
            if hit is not None and hit == negated:
                return False
        return True

    def matches(self, fake: FakeGitHub, repo: _Repo, issue: _Issue) -> bool:
        labels = {label.name.lower() for label in fake._issue_labels(repo, issue)}
        for negated, key, value in self.filters:
            lowered = value.lower()
            hit: bool
            if key in ("repo", "org", "user"):
                continue
            if key == "is" or key == "type":
                hit = {
                    "issue": True,
                    "pr": False,
                    "pull-request": False,
                    "open": issue.state == "open",
                    "closed": issue.state == "closed",
                    "locked": issue.locked,
                    "unlocked": not issue.locked,
                }.get(lowered, False)
            elif key == "state":
                hit = issue.state == lowered
            elif key == "label":
                hit = any(part.strip() in labels for part in lowered.split(","))
            elif key == "no":
                hit = {
                    "label": not issue.labels,
                    "assignee": not issue.assignees,
                    "milestone": True,
                }.get(lowered, False)
            elif key == "author":
                hit = issue.user.lower() == lowered
            elif key == "assignee":
                hit = lowered in issue.assignees
            else:
                # Unknown qualifiers are plain text on GitHub; here that
                # text can never match, which surfaces the typo quickly.
                hit = False
            if hit == negated:
                return False
        if not self.terms:
            return True
        text: list[str] = []
        if "title" in self.fields:
            text += _words(issue.title)
        if "body" in self.fields:
            text += _words(issue.body or "")
        if "comments" in self.fields:
            for comment in repo.comments_by_issue.get(issue.number, {}).values():
                text += _words(comment.body)
        return all(_contains_run(text, words) != negated for negated, words in self.terms)


class FakeActor:
    """``fake.act(login)``: the UI helpers with ``actor`` filled in."""

    def __init__(self, fake: FakeGitHub, login: str) -> None:
        self.fake = fake
        self.login = login

    def create_issue(
        self,
        full_name: str,
        title: str,
        body: str | None = None,
        *,
        labels: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> int:
        return self.fake.create_issue(full_name, title, body, labels=labels, assignees=assignees, actor=self.login)

    def label_issue(self, full_name: str, number: int, label: str) -> None:
        self.fake.label_issue(full_name, number, label, actor=self.login)

    def unlabel_issue(self, full_name: str, number: int, label: str) -> None:
        self.fake.unlabel_issue(full_name, number, label, actor=self.login)

    def assign_issue(self, full_name: str, number: int, login: str) -> None:
        self.fake.assign_issue(full_name, number, login, actor=self.login)

    def unassign_issue(self, full_name: str, number: int, login: str) -> None:
        self.fake.unassign_issue(full_name, number, login, actor=self.login)

    def close_issue(
        self,
        full_name: str,
        number: int,
        state_reason: Literal["completed", "not_planned", "duplicate"] = "completed",
    ) -> None:
        self.fake.close_issue(full_name, number, actor=self.login, state_reason=state_reason)

    def reopen_issue(self, full_name: str, number: int) -> None:
        self.fake.reopen_issue(full_name, number, actor=self.login)

    def comment(self, full_name: str, number: int, body: str) -> int:
        return self.fake.comment(full_name, number, body, actor=self.login)

    def edit_body(self, full_name: str, number: int, body: str) -> None:
        self.fake.edit_body(full_name, number, body, actor=self.login)

    def edit_title(self, full_name: str, number: int, title: str) -> None:
        self.fake.edit_title(full_name, number, title, actor=self.login)


def _make_http_handler(fake: FakeGitHub, origin: list[str], latency: float) -> type[BaseHTTPRequestHandler]:
    # ``origin`` is filled in once the server is bound (port 0 -> real port).
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body leave in one segment, without Nagle: otherwise
        # keep-alive clients stall ~40 ms per request on delayed ACKs.
        wbufsize = -1
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            if latency:
                time.sleep(latency)  # outside the fake's lock: requests overlap
            request = FakeRequest(
                method=self.command,
                url=f"{origin[0]}{self.path}",
                headers=dict(self.headers.items()),
                body=body,
            )
            try:
                response = fake.handle(request)
            except Exception as exc:  # reported to the test when serve() exits
                fake.server_errors.append(exc)
                payload = json.dumps({"message": f"fake GitHub: {exc}"}).encode()
                response = FakeResponse(500, {"content-type": "application/json"}, payload)
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
