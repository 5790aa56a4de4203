"""GitHub at its edges, over real loopback HTTP (real sockets, real sleeps, PyGithub's transport).

The emulator is served with FakeGitHub.serve(); `responses` is not involved, so rate-limit
waits, redirects and retries happen as they would against api.github.com. Every request
is still checked against GitHub's OpenAPI description.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from liver_fakes.github import FakeGitHub, FakeRequest, FakeResponse
from liver_fakes.securityhub import FakeSecurityHub
from liver_gh.adapters.github import GitHubTracker, first_line
from liver_gh.adapters.securityhub import RETRIES
from liver_gh.cli import main
from liver_gh.errors import TrackerError
from liver_gh.ports import NewIssue
from tests.conftest import BASE_CONFIG, TOKEN, ts
from tests.factories import control_finding


@dataclass
class Wire:
    gh: FakeGitHub
    hub: FakeSecurityHub
    api: str
    config: Path
    now: datetime

    def sync(self, *args: str, env: dict[str, str] | None = None) -> Result:
        full = {
            "LIVER_NOW": self.now.isoformat(),
            "LIVER_CONFIG": str(self.config),
            "GITHUB_API_URL": self.api,
            **(env or {}),
        }
        return CliRunner().invoke(main, ["--debug", "sync", *args], env=full, catch_exceptions=False)

    def tracker(self, max_wait: float = 120) -> GitHubTracker:
        return GitHubTracker.connect(
            TOKEN, self.api, creators=("liver-bot",), per_minute=100000, per_hour=100000, max_wait=max_wait
        )


@contextmanager
def wire(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str = BASE_CONFIG) -> Iterator[Wire]:
    now = datetime.now(UTC).replace(microsecond=0)  # real time: rate-limit resets are real epochs
    hub = FakeSecurityHub(region="us-east-1", account="000000000000", now=lambda: now)
    gh = FakeGitHub()
    gh.now = lambda: now
    for login in ("alice", "bob", "carol", "cto"):
        gh.add_user(login)
    gh.add_user("liver-bot", token=TOKEN)
    gh.add_repo("acme/payments", collaborators=["alice", "bob", "cto", "liver-bot"])
    gh.add_repo("acme/search", collaborators=["carol", "liver-bot"])
    gh.add_team("acme/security-leads", members=["cto"])

    def client(region: str | None) -> Any:
        c = boto3.client(
            "securityhub", region_name="us-east-1", config=RETRIES, aws_access_key_id="t", aws_secret_access_key="t"
        )
        hub.attach(c)
        return c

    monkeypatch.setattr("liver_gh.runtime.make_client", client)
    for k in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_EVENT_PATH"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("LIVER_GITHUB_LOGIN", "liver-bot")
    path = tmp_path / "liver.yml"
    path.write_text(config, encoding="utf-8")
    with gh.serve() as api:
        yield Wire(gh, hub, api, path, now)


def finding(w: Wire, name: str, account: str = "111111111111") -> dict[str, Any]:
    return control_finding("S3.2", account=account, resource_id=f"arn:aws:s3:::{name}", updated_at=ts(w.now))


# --------------------------------------------------------------------------- 1. bounded waiting


def test_a_rate_limit_an_hour_away_stops_the_run_within_the_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = BASE_CONFIG.replace("github:\n", "github:\n  max_wait_seconds: 3\n", 1)
    with wire(tmp_path, monkeypatch, config) as w:
        w.hub.import_findings([finding(w, "acme-a")])
        w.gh.rate_limit = 2  # the core budget is used up after two requests; it resets at the top of the hour
        started = time.monotonic()
        result = w.sync()
        elapsed = time.monotonic() - started
    assert elapsed < 3 + 10, f"the run took {elapsed:.0f} s"
    assert result.exit_code == 0 or result.exit_code == 1
    assert "Stopped early" in result.output and "rate limit" in result.output


def test_a_short_retry_after_is_waited_out_really(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with wire(tmp_path, monkeypatch) as w:
        answered: list[int] = []

        def once(req: FakeRequest) -> FakeResponse | None:
            if req.method == "GET" and "/issues" in req.url and not answered:
                answered.append(1)
                return FakeResponse(
                    429, {"retry-after": "1", "content-type": "application/json"}, b'{"message": "slow down"}'
                )
            return None

        w.gh.fault = once
        w.hub.import_findings([finding(w, "acme-a")])
        started = time.monotonic()
        result = w.sync()
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started >= 1.0  # the wait was real
        assert len(w.gh.issues("acme/payments")) == 1


# --------------------------------------------------------------------------- 2. moved repositories


def test_a_renamed_repository_is_followed_with_its_query_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with wire(tmp_path, monkeypatch) as w:
        raw = finding(w, "acme-a")
        w.hub.import_findings([raw])
        assert w.sync().exit_code == 0
        (issue,) = w.gh.issues("acme/payments")
        w.gh.close_issue("acme/payments", issue["number"], actor="bob", state_reason="completed")
        w.gh.rename_repo("acme/payments", "acme/payments-api")
        result = w.sync()
        assert result.exit_code == 0, result.output
        assert "acme/payments moved to acme/payments-api" in result.output
        # The closed issue was found (state=all kept), so no duplicate was opened.
        assert len(w.gh.issues("acme/payments-api")) == 1
        writes = [r for r in w.gh.requests_log if r[0] != "GET"]
        assert all(status < 300 for _, _, status in writes), writes


def test_a_redirect_to_a_write_is_never_taken_for_success(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with wire(tmp_path, monkeypatch) as w:
        w.gh.rename_repo("acme/payments", "acme/payments-api")
        tracker = w.tracker()
        with pytest.raises(TrackerError, match="moved"):
            tracker.create_issue("acme/payments", "f-x", NewIssue("t", "b", ("liver",), ()))
        assert w.gh.issues("acme/payments-api") == []


# --------------------------------------------------------------------------- 3. what GitHub silently drops


def test_dropped_labels_and_assignee_are_put_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with wire(tmp_path, monkeypatch) as w:
        w.gh.without_push("acme/payments", "liver-bot")
        w.hub.import_findings([finding(w, "acme-a")])
        result = w.sync()
        assert result.exit_code == 0, result.output
        (issue,) = w.gh.issues("acme/payments")
        assert {lb["name"] for lb in issue["labels"]} >= {"liver", "severity:critical"}
        assert len(issue["assignees"]) == 1  # the on-call person, put back


# --------------------------------------------------------------------------- 5/6. isolation and honest errors


def test_issues_disabled_in_one_repository_fails_only_that_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with wire(tmp_path, monkeypatch) as w:
        w.gh.disable_issues("acme/search")
        w.hub.import_findings([finding(w, "acme-a"), finding(w, "search-a", account="333333333333")])
        result = w.sync()
        assert result.exit_code == 1
        assert len(w.gh.issues("acme/payments")) == 1
        assert (
            "issues are disabled in acme/search" in result.output
            and "enable them or remove the service" in result.output
        )
        assert "Traceback" not in result.output


def test_an_html_error_page_is_reported_by_its_first_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with wire(tmp_path, monkeypatch) as w:
        page = (
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1>"
            + b"x" * 5000
            + b"</body></html>"
        )

        def broken(req: FakeRequest) -> FakeResponse | None:
            if req.method == "POST" and req.url.endswith("/comments"):
                return FakeResponse(422, {"content-type": "text/html"}, page)
            return None

        w.hub.import_findings([finding(w, "acme-a")])
        w.sync()
        (issue,) = w.gh.issues("acme/payments")
        w.gh.label_issue("acme/payments", issue["number"], "liver/suppress-approved", actor="bob")
        w.gh.fault = broken
        result = w.sync()
        assert result.exit_code == 1
        failures = [line for line in result.output.splitlines() if "HTTP 422" in line]
        assert failures and all(len(line) < 600 and "<" not in line for line in failures), failures


def test_first_line_keeps_github_words_and_drops_markup() -> None:
    assert (
        first_line({"message": "Validation Failed", "errors": [{"code": "invalid", "field": "x"}]})
        == "Validation Failed (invalid)"
    )
    assert first_line("<html><body><h1>Bad Gateway</h1>\n<p>more</p></body></html>") == "Bad Gateway"


# --------------------------------------------------------------------------- repository files


@pytest.mark.parametrize(
    ("put", "expected"),
    [
        ("symlink", "is not a regular file"),
        (b"min_severity: \xff\xfe\n", "is not UTF-8"),
        (b"# " + b"x" * 70_000 + b"\n", "the limit is 65536 bytes"),
    ],
)
def test_hostile_override_files_never_stop_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, put: object, expected: str
) -> None:
    config = BASE_CONFIG.replace("github:\n", "repo_overrides: [min_severity]\ngithub:\n", 1)
    with wire(tmp_path, monkeypatch, config) as w:
        if put == "symlink":
            w.gh.put_symlink("acme/payments", ".github/liver.yml", "/etc/passwd")
        else:
            assert isinstance(put, bytes)
            w.gh.put_content("acme/payments", ".github/liver.yml", put)
        w.hub.import_findings([finding(w, "acme-a")])
        result = w.sync()
        assert result.exit_code == 0, result.output
        assert expected in result.output and "central values" in result.output
        assert len(w.gh.issues("acme/payments")) == 1
