"""Crash safety and faults (issue #6): killed at any request, the next run converges.

A run is killed just before its k-th request to either API, for every k, and then run
again without faults. The end state must equal a fault-free run's: no duplicate issue,
no finding left NEW while its issue is open, no lost update.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from liver_fakes.github import FakeRequest, FakeResponse
from liver_gh.rules import identity
from tests.conftest import Env, ts
from tests.factories import control_finding, keys_in

REPO = "acme/payments"
LABEL = "liver/suppress-approved"


class Crash(BaseException):
    """Stands for the process being killed: nothing in liver catches it."""


def scenario(env: Env) -> Callable[[], None]:
    """Seed state, run a first sync, make changes; return the sync under test."""
    asg = {"aws:autoscaling:groupName": "web"}
    findings = [
        control_finding("S3.2", resource_id="arn:aws:s3:::a", updated_at=ts(env.now), key="a"),
        control_finding("S3.3", resource_id="arn:aws:s3:::b", updated_at=ts(env.now), key="b"),
        *[
            control_finding(
                "EC2.8",
                resource_type="AwsEc2Instance",
                tags=asg,
                updated_at=ts(env.now),
                resource_id=f"arn:aws:ec2:us-east-1:111111111111:instance/i-{n}",
            )
            for n in range(2)
        ],
    ]
    env.hub.import_findings(findings[:2])
    assert env.sync().exit_code == 0
    issues = {i["title"][:6]: i["number"] for i in env.issues()}
    env.advance(hours=1)
    env.gh.comment(REPO, issues["[S3.2]"], "Public price list, nothing else.", actor="bob")
    env.gh.label_issue(REPO, issues["[S3.2]"], LABEL, actor="cto")
    env.gh.close_issue(REPO, issues["[S3.3]"], actor="bob", state_reason="completed")
    env.hub.import_findings(findings[2:])  # a new group: one more issue to open
    return lambda: None


def state(env: Env) -> dict[str, Any]:
    issues = sorted(
        (
            tuple(keys_in(i["body"])),
            i["state"],
            i["state_reason"] or "",
            tuple(sorted(lb["name"] for lb in i["labels"])),
            tuple(a["login"] for a in i["assignees"]),
        )
        for i in env.issues()
    )
    findings = sorted(
        (f["Id"], f["Workflow"]["Status"], (f.get("UserDefinedFields") or {}).get(identity.UDF_KEY, ""))
        for f in env.hub.all()
    )
    return {"issues": issues, "findings": findings}


def count_requests(env: Env) -> int:
    return len(env.gh.requests_log) + len(env.hub.calls)


def crash_at(env: Env, k: int) -> None:
    seen = [0]

    def tick() -> None:
        seen[0] += 1
        if seen[0] == k:
            raise Crash

    def gh_fault(_: FakeRequest) -> FakeResponse | None:
        tick()
        return None

    def sh_fault(_op: str, _params: dict[str, Any]) -> str | None:
        tick()
        return None

    env.gh.fault, env.hub.fault = gh_fault, sh_fault


def converge(env: Env, runs: int = 2) -> None:
    env.gh.fault = env.hub.fault = None
    for _ in range(runs):
        env.sync()


def test_fault_free_reference_is_stable(env: Env) -> None:
    scenario(env)
    assert env.sync().exit_code == 0
    first = state(env)
    mark = len(env.gh.requests_log)
    env.sync()
    assert state(env) == first and env.mutations(mark) == []


def _reference(env_factory: Callable[[], Env]) -> tuple[dict[str, Any], int]:
    env = env_factory()
    scenario(env)
    before = count_requests(env)
    env.sync()
    return state(env), count_requests(env) - before


@pytest.fixture
def fresh_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Callable[[], Env]:
    """Build independent environments inside one test (the env fixture is one per test)."""
    import contextlib

    from tests import conftest

    stack = contextlib.ExitStack()

    def make() -> Env:
        return stack.enter_context(conftest.build_env(tmp_path_factory.mktemp("crash"), monkeypatch))

    yield make  # type: ignore[misc]
    stack.close()


def test_killed_at_every_request_the_next_run_converges(fresh_env: Callable[[], Env]) -> None:
    reference, total = _reference(fresh_env)
    assert total > 10
    for k in range(1, total + 1):
        env = fresh_env()
        scenario(env)
        crash_at(env, k)
        with pytest.raises(Crash):
            env.sync()
        converge(env)
        got = state(env)
        assert got == reference, f"killed before request {k} of {total}: {got} != {reference}"
        keys = [key for key, *_ in got["issues"]]
        assert len(keys) == len(set(keys)), f"duplicate issue after crash at {k}"


def test_faults_converge_within_three_runs(fresh_env: Callable[[], Env]) -> None:
    reference, _ = _reference(fresh_env)
    for seed in range(5):
        rng = random.Random(seed)
        env = fresh_env()
        scenario(env)

        def gh_fault(req: FakeRequest, rng: random.Random = rng) -> FakeResponse | str | None:
            roll = rng.random()
            if roll < 0.05:
                return "after"  # the server did the work, the client saw a 502
            if roll < 0.10:
                return FakeResponse(502, {"content-type": "application/json"}, b'{"message": "Server Error"}')
            if roll < 0.13 and req.method != "GET":
                return FakeResponse(
                    403,
                    {"content-type": "application/json", "retry-after": "0"},
                    b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",'
                    b' "documentation_url": "https://docs.github.com/rest"}',
                )
            return None

        env.gh.fault = gh_fault  # type: ignore[assignment]
        env.hub.fault = lambda op, params, rng=rng: "ThrottlingException" if rng.random() < 0.2 else None
        for _ in range(3):
            env.sync()
            if state(env) == reference:
                break
        env.gh.fault = env.hub.fault = None
        assert state(env) == reference, f"seed {seed} did not converge in three runs"


def _limited(status: int, headers: dict[str, str]) -> FakeResponse:
    body = (
        b'{"message": "You have exceeded a secondary rate limit.", "documentation_url": "https://docs.github.com/rest"}'
    )
    return FakeResponse(status, {"content-type": "application/json", **headers}, body)


def test_secondary_limit_on_create_is_waited_out_and_never_duplicates(env: Env) -> None:
    env.hub.import_findings([control_finding("S3.2", resource_id="arn:aws:s3:::a", updated_at=ts(env.now))])
    hits = [0]

    def fault(req: FakeRequest) -> FakeResponse | None:
        if req.method == "POST" and req.url.endswith("/issues") and hits[0] < 1:
            hits[0] += 1
            return _limited(403, {"retry-after": "0"})
        return None

    env.gh.fault = fault
    result = env.sync()
    assert result.exit_code == 0, result.output
    assert hits[0] == 1 and len(env.issues()) == 1


def test_exhausted_primary_limit_stops_cleanly_and_says_so(env: Env) -> None:
    env.hub.import_findings([control_finding("S3.2", resource_id="arn:aws:s3:::a", updated_at=ts(env.now))])

    def fault(req: FakeRequest) -> FakeResponse | None:
        if req.method == "POST":
            reset = str(int(env.now.timestamp()) + 10_000_000_000)
            return _limited(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})
        return None

    env.gh.fault = fault
    result = env.sync()
    assert "Stopped early" in result.output and "rate limit" in result.output
    assert env.issues() == []
    env.gh.fault = None
    assert env.sync().exit_code == 0 and len(env.issues()) == 1
