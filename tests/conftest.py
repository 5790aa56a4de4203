"""Shared fixtures: the two fakes wired to the real CLI, a pinned clock, a config file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import responses
from click.testing import CliRunner, Result

from liver_fakes.github import FakeGitHub
from liver_fakes.securityhub import FakeSecurityHub
from liver_gh.adapters.securityhub import RETRIES
from liver_gh.cli import main

API = "https://api.github.com"
TOKEN = "liver-test-token"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

BASE_CONFIG = """\
version: 1
securityhub:
  region: us-east-1
approval:
  label: liver/suppress-approved
  approvers: [cto, acme/security-leads]
ignore_tag:
  key: "liver:ignore"
  honored_until: 2027-03-31
prototype_accounts: ["999999999999"]
group_by_tags: ["aws:autoscaling:groupName"]
defaults:
  min_severity: HIGH
github:
  mutations_per_minute: 100000
  mutations_per_hour: 100000
services:
  - name: payments
    repo: acme/payments
    accounts: {"111111111111": production, "222222222222": staging}
    min_severity: {production: HIGH, staging: CRITICAL}
    oncall:
      rotation: [alice, bob]
      start: 2026-11-02
  - name: search
    repo: acme/search
    accounts: {"333333333333": production}
    oncall:
      rotation: [carol]
      start: 2026-11-02
"""


@dataclass
class Env:
    gh: FakeGitHub
    hub: FakeSecurityHub
    config: Path
    clock: list[datetime]
    runner: CliRunner
    rsps: responses.RequestsMock

    @property
    def now(self) -> datetime:
        return self.clock[0]

    def advance(self, **delta: Any) -> None:
        self.clock[0] = self.clock[0] + timedelta(**delta)

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def liver(self, *args: str, env: dict[str, str] | None = None) -> Result:
        full_env = {"LIVER_NOW": self.now.isoformat(), "LIVER_CONFIG": str(self.config), **(env or {})}
        return self.runner.invoke(main, ["--debug", *args], env=full_env, catch_exceptions=False)

    def sync(self, *args: str, env: dict[str, str] | None = None) -> Result:
        return self.liver("sync", *args, env=env)

    # ---- views
    def issues(self, repo: str = "acme/payments") -> list[dict[str, Any]]:
        return self.gh.issues(repo)

    def finding(self, fid: str) -> dict[str, Any]:
        return self.hub.finding(fid)

    def note(self, fid: str) -> dict[str, Any]:
        """The finding's Note as liver wrote it: the ASFF Note, or the v2 Comment after the link record."""
        if "api: ocsf" in self.config.read_text():
            from liver_gh.adapters.ocsf import read_comment

            _, note = read_comment(self.hub.finding_v2(fid).get("comment", ""))
            assert note is not None
            return {"Text": note.text, "UpdatedBy": note.updated_by}
        return dict(self.hub.finding(fid)["Note"])

    def mutations(self, since: int = 0) -> list[tuple[str, str, int]]:
        return [r for r in self.gh.requests_log[since:] if r[0] not in ("GET", "HEAD")]

    def updates(self, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
        return [c for c in self.hub.calls[since:] if c[0] == "BatchUpdateFindings"]

    def reimport(self, fid: str, **changes: Any) -> None:
        """A provider re-evaluation: the same finding with new fields and a later UpdatedAt."""
        current = self.hub.finding(fid)
        for k, v in changes.items():
            current[k] = v
        current["UpdatedAt"] = self.now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        for k in ("Workflow", "Note", "UserDefinedFields", "WorkflowState"):
            current.pop(k, None)
        self.hub.import_findings([current])


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    with build_env(tmp_path, monkeypatch) as built:
        yield built


@contextmanager
def build_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """Both fakes wired to the real CLI; also used where one test needs several environments."""
    clock = [NOW]
    hub = FakeSecurityHub(region="us-east-1", account="000000000000", now=lambda: clock[0])
    gh = FakeGitHub(API)
    gh.now = lambda: clock[0]
    for login in ("alice", "bob", "carol", "cto", "mallory", "lead"):
        gh.add_user(login, token=f"{login}-token")
    gh.add_user("liver-bot", token=TOKEN)
    gh.add_repo("acme/payments", collaborators=["alice", "bob", "cto", "mallory", "liver-bot"])
    gh.add_repo("acme/search", collaborators=["carol", "liver-bot"])
    gh.add_team("acme/security-leads", members=["lead"])

    def client(region: str | None) -> Any:
        c = boto3.client(
            "securityhub",
            region_name=region or "us-east-1",
            config=RETRIES,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        hub.attach(c)
        return c

    monkeypatch.setattr("liver_gh.runtime.make_client", client)
    monkeypatch.setenv("LIVER_GITHUB_LOGIN", "liver-bot")
    for k in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_EVENT_PATH", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", API)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    config = tmp_path / "liver.yml"
    config.write_text(BASE_CONFIG, encoding="utf-8")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh.mount(rsps)
        yield Env(gh, hub, config, clock, CliRunner(), rsps)


def ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


Factory = Callable[..., dict[str, Any]]


# --------------------------------------------------------------------------- rules without HTTP


@dataclass
class RecordingPager:
    pages: list[tuple[str, str]]
    fail: bool = False

    def trigger(self, spec: Any, *, dedup_key: str, **_: Any) -> None:
        if self.fail:
            from liver_gh.errors import PagingError

            raise PagingError("PagerDuty's Events API could not be reached (ConnectionError)")
        self.pages.append(("trigger", dedup_key))

    def resolve(self, spec: Any, *, dedup_key: str) -> None:
        self.pages.append(("resolve", dedup_key))


@dataclass
class Mem:
    """liver sync's core (run_sync) over in-memory ports: rule tests in milliseconds."""

    config_text: str
    tracker: Any
    hub: Any
    clock: list[datetime]
    pager: RecordingPager

    @property
    def now(self) -> datetime:
        return self.clock[0]

    def advance(self, **delta: Any) -> None:
        self.clock[0] = self.clock[0] + timedelta(**delta)

    @property
    def config(self) -> Any:
        from liver_gh.config.load import parse_config

        return parse_config(self.config_text, "liver.yml")

    def sync(self, **kwargs: Any) -> Any:
        from liver_gh.adapters.oncall import OncallResolver
        from liver_gh.sync import Ports, run_sync

        config = self.config
        ports = Ports(self.tracker, self.hub, OncallResolver(config.people, {}), self.pager, self.tracker.creators)
        return run_sync(config, ports=ports, library=_library(), now=self.now, **kwargs)

    def issues(self, repo: str = "acme/payments") -> list[Any]:
        return self.tracker.all_issues(repo)

    def workflow(self, fid: str) -> str:
        return str(self.hub.raw(fid)["Workflow"]["Status"])


_LIBRARY: list[Any] = []


def _library() -> Any:
    from liver_gh.render.explanations import Library

    if not _LIBRARY:
        _LIBRARY.append(Library.load())
    return _LIBRARY[0]


@pytest.fixture(params=["asff", "ocsf"])
def mem(request: pytest.FixtureRequest) -> Mem:
    """Every rule test runs against both finding sources: the ASFF API and the OCSF (v2) one."""
    from tests.memory import MemoryHub, MemoryHubV2, MemoryTracker

    clock = [NOW]
    tracker = MemoryTracker(lambda: clock[0])
    for login in ("alice", "bob", "carol", "cto", "mallory", "lead"):
        tracker.user(login)
    tracker.add_repo("acme/payments", ["alice", "bob", "cto", "mallory"])
    tracker.add_repo("acme/search", ["carol"])
    tracker.teams["acme/security-leads"] = {"lead"}
    hub = (MemoryHubV2 if request.param == "ocsf" else MemoryHub)(lambda: clock[0])
    return Mem(BASE_CONFIG, tracker, hub, clock, RecordingPager([]))
