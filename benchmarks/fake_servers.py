"""The fakes of the scale benchmark, served over loopback HTTP in their own process.

Run by ``benchmarks/run.py``; not meant to be started by hand. It builds the estate
(``estate.build_estate`` with the same parameters as the runner), loads the findings
into ``FakeSecurityHub`` and the repositories into ``FakeGitHub``, serves both on
127.0.0.1 with the given latency added to every request, and prints one JSON line with
the URLs. It then answers commands on stdin, one per line, with one JSON line each:

* ``stats``: what happened since the previous ``stats`` (requests by route, Security
  Hub calls, time the fakes spent handling them) and the current state (findings that
  liver's two GetFindings filters match, liver's issues per repository: those its
  login created);
* ``quit``: stop serving and exit.

Keeping the fakes out of liver's process means liver's peak RSS is measured alone.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any, TypeVar

from estate import BOT_LOGIN, BOT_TOKEN, Estate, build_estate

from liver_fakes.findings import control_finding
from liver_fakes.github import FakeGitHub
from liver_fakes.securityhub import FakeSecurityHub, _compile_filters
from liver_gh.adapters.securityhub import filters_for
from liver_gh.models import Severity
from liver_gh.ports import NewFindings, Query, Tracked

_F = TypeVar("_F", bound=Callable[..., Any])
_MUTATING = frozenset({"POST", "PATCH", "PUT", "DELETE"})
IMPORT_CHUNK = 1000


class Timer:
    """Wall time spent inside a fake's ``handle`` (the fake's own processing cost)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._lock = threading.Lock()

    def wrap(self, fn: _F) -> _F:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.seconds += time.perf_counter() - start

        return timed  # type: ignore[return-value]

    def take(self) -> float:
        with self._lock:
            value, self.seconds = self.seconds, 0.0
        return value


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def load_securityhub(estate: Estate, now: datetime) -> FakeSecurityHub:
    # Response validation re-parses every page through botocore; off for speed (the
    # test suite runs the fake with it on).
    hub = FakeSecurityHub(region="us-east-1", account="000000000000", validate_responses=False)
    batch: list[dict[str, Any]] = []
    for n, spec in enumerate(estate.findings):
        batch.append(
            control_finding(
                spec.control,
                account=spec.account,
                region=spec.region,
                resource_type=spec.resource_type,
                resource_id=spec.resource_id,
                severity=spec.severity,
                compliance=spec.compliance,
                workflow=spec.workflow,
                record_state=spec.record_state,
                updated_at=_iso(now - timedelta(hours=1 + n % 48)),
                first_seen=_iso(now - timedelta(days=1 + n % 90)),
                tags=dict(spec.tags) or None,
            )
        )
        if len(batch) == IMPORT_CHUNK:
            hub.import_findings(batch)
            batch = []
    if batch:
        hub.import_findings(batch)
    return hub


def load_github(estate: Estate) -> FakeGitHub:
    gh = FakeGitHub(validate="requests")
    gh.rate_limit = 10**9  # liver's pacing is what is measured, not the fake's budget
    gh.add_user(BOT_LOGIN, token=BOT_TOKEN, bot=True)
    for login in estate.logins:
        gh.add_user(login)
    for s in estate.services:
        gh.add_repo(s.repo, collaborators=s.collaborators)
    return gh


_ROUTE_RULES = (
    (re.compile(r"^/repos/[^/]+/[^/]+"), "/repos/{owner}/{repo}"),
    (re.compile(r"/issues/\d+"), "/issues/{number}"),
    (re.compile(r"/assignees/[^/]+$"), "/assignees/{login}"),
    (re.compile(r"/labels/[^/]+$"), "/labels/{name}"),
)


def route(method: str, path: str) -> str:
    for pattern, replacement in _ROUTE_RULES:
        path = pattern.sub(replacement, path)
    return f"{method} {path}"


class Stats:
    def __init__(self, estate: Estate, gh: FakeGitHub, hub: FakeSecurityHub) -> None:
        self.estate, self.gh, self.hub = estate, gh, hub
        self.gh_timer, self.hub_timer = Timer(), Timer()
        # The HTTP handlers call fake.handle(...): an instance attribute takes precedence.
        gh.handle = self.gh_timer.wrap(gh.handle)  # type: ignore[method-assign]
        hub.handle = self.hub_timer.wrap(hub.handle)  # type: ignore[method-assign]
        self.gh_seen = 0
        self.hub_seen = 0

    def snapshot(self) -> dict[str, Any]:
        gh_log = self.gh.requests_log[self.gh_seen :]
        calls = self.hub.calls[self.hub_seen :]
        self.gh_seen += len(gh_log)
        self.hub_seen += len(calls)
        by_route = Counter(route(method, path) for method, path, _ in gh_log)
        statuses = Counter(str(status) for _, _, status in gh_log)
        payloads: dict[str, int] = {}
        for op, params in calls:
            if op == "BatchUpdateFindings":
                key = json.dumps({k: v for k, v in params.items() if k != "FindingIdentifiers"}, sort_keys=True)
                payloads[key] = payloads.get(key, 0) + len(params["FindingIdentifiers"])
        ops = Counter(op for op, _ in calls)
        return {
            "github": {
                "requests": len(gh_log),
                "mutating": sum(1 for method, _, _ in gh_log if method in _MUTATING),
                "by_route": dict(by_route.most_common()),
                "statuses": dict(statuses.most_common()),
                "handle_seconds": round(self.gh_timer.take(), 3),
            },
            "securityhub": {
                "GetFindings": ops["GetFindings"],
                "BatchUpdateFindings": ops["BatchUpdateFindings"],
                "update_payloads": len(payloads),
                "updated_identifiers": sum(payloads.values()),
                "payload_chunks": sum(math.ceil(n / 100) for n in payloads.values()),
                "handle_seconds": round(self.hub_timer.take(), 3),
            },
            "state": self.state(),
            "server_errors": [repr(e) for e in (*self.gh.server_errors, *self.hub.server_errors)][:5],
        }

    def state(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        # Exactly the filters liver sends (its lowest threshold here is HIGH; no product or
        # Region filters in the benchmark config), built by liver's own adapter and
        # evaluated by the fake's own filter code, so the GetFindings bounds use the true
        # counts.
        new = _matcher(NewFindings(Severity.HIGH), now)
        tracked = _matcher(Tracked(), now)
        n_new = n_tracked = 0
        workflows: Counter[str] = Counter()
        with self.hub._lock:
            for stored in self.hub._findings.values():
                finding = stored.finding
                workflows[finding["Workflow"]["Status"]] += 1
                n_new += new(finding)
                n_tracked += tracked(finding)
        issues: dict[str, int] = {}
        open_by_repo: dict[str, int] = {}
        for s in self.estate.services:
            # liver's issues are the ones its login created (it lists them by creator), not
            # the ones carrying a label anybody can add.
            listed = [i for i in self.gh.issues(s.repo) if str(i["user"]["login"]).lower() == BOT_LOGIN.lower()]
            issues[s.repo] = len(listed)
            open_by_repo[s.repo] = sum(1 for i in listed if i["state"] == "open")
        return {
            "new_filter_matches": n_new,
            "tracked_matches": n_tracked,
            "workflow": dict(workflows.most_common()),
            "issues_by_repo": issues,
            "open_by_repo": open_by_repo,
            "issues_total": sum(issues.values()),
            "open_issues": sum(open_by_repo.values()),
        }


def _matcher(query: Query, now: datetime) -> Callable[[dict[str, Any]], bool]:
    """Whether a stored finding matches any of the GetFindings filters liver sends for ``query``."""
    compiled = [_compile_filters(f, now) for f in filters_for(query)]
    return lambda finding: any(all(p(finding) for p in predicates) for predicates in compiled)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--findings", type=int, required=True)
    parser.add_argument("--repos", type=int, required=True)
    parser.add_argument("--issues", type=int, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--unassignable-every", type=int, default=10)
    parser.add_argument("--orphan-every", type=int, default=0)
    args = parser.parse_args()

    # FakeSecurityHub.serve's handler writes headers and body as two segments with Nagle
    # on, so each response waits for the client's delayed ACK (~40 ms on Linux). Real
    # endpoints do not; FakeGitHub's handler already sets TCP_NODELAY. This process only
    # serves the fakes, so switch Nagle off for every handler in it.
    BaseHTTPRequestHandler.disable_nagle_algorithm = True

    started = time.perf_counter()
    estate = build_estate(args.findings, args.repos, args.issues, args.seed, args.unassignable_every, args.orphan_every)
    hub = load_securityhub(estate, datetime.now(UTC))
    gh = load_github(estate)
    stats = Stats(estate, gh, hub)
    with ExitStack() as stack:
        gh_url = stack.enter_context(gh.serve(host="127.0.0.1", latency=args.latency))
        hub_url = stack.enter_context(hub.serve(host="127.0.0.1", latency=args.latency))
        ready = {
            "github": gh_url,
            "securityhub": hub_url,
            "token": BOT_TOKEN,
            "setup_seconds": round(time.perf_counter() - started, 2),
        }
        print(json.dumps(ready), flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print(json.dumps(stats.snapshot()), flush=True)
            elif command == "quit":
                break
            elif command:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
