"""Property-based test of the two-way lifecycle (issue #3).

Random sequences of what people do on GitHub, what Security Hub reports and how much
time passes, each followed by a real ``liver sync`` against the two fakes. After every
sync three invariants must hold:

1. at most one issue per finding (issues someone tampered with are not counted);
2. a finding is SUPPRESSED only if an approver's ``labeled`` event is the latest one for
   the approval label on its issue, it is at most 180 days old and the label is still on
   the issue, or a person suppressed the finding directly in Security Hub;
3. every ACTIVE finding whose compliance is FAILED and that is not SUPPRESSED has an
   OPEN issue, except while a person's "closed as completed" waits for Security Hub's
   next evaluation (the documented verify-the-fix rule) and except findings whose issue
   body was tampered with (such issues are never acted on, by design).

The ``env`` fixture is function-scoped, so each Hypothesis example builds its own
environment with :func:`lifecycle_env`, which mirrors ``tests/conftest.py::env``.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule

from liver_gh.rules.identity import UDF_ISSUE
from tests.conftest import Env, build_env, ts
from tests.factories import control_finding, finding_key, finding_marker, keys_in

REPO = "acme/payments"
LABEL = "liver/suppress-approved"
APPROVERS = frozenset({"cto", "lead"})  # cto by login, lead through acme/security-leads
EXPIRY = timedelta(days=180)
PEOPLE = ("cto", "lead", "bob", "mallory")


@contextmanager
def lifecycle_env() -> Iterator[Env]:
    """The ``env`` fixture of tests/conftest.py as a context manager (one per example)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        pytest.MonkeyPatch.context() as monkeypatch,
        build_env(Path(tmp), monkeypatch) as env,
    ):
        yield env


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


class Lifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._stack = ExitStack()
        self.env: Env = self._stack.enter_context(lifecycle_env())
        self.fids: list[str] = []
        self.numbers: list[int] = []  # the issue liver opened for each finding
        self.tampered: set[int] = set()  # issue numbers whose identity marker a person changed
        self.person_suppressed: set[str] = set()
        self._sh_client: Any = None

    def teardown(self) -> None:
        self._stack.close()

    # ------------------------------------------------------------------ helpers

    def pick(self, i: int) -> tuple[str, int]:
        i %= len(self.fids)
        return self.fids[i], self.numbers[i]

    def issue(self, number: int) -> dict[str, Any]:
        return self.env.gh.issue(REPO, number)

    def labelled(self, number: int) -> bool:
        return LABEL in {lb["name"] for lb in self.issue(number)["labels"]}

    def sync(self) -> None:
        result = self.env.sync()
        assert result.exit_code in (0, 1), result.output
        self.check()

    # ------------------------------------------------------------------ setup

    @initialize(n=st.integers(min_value=1, max_value=3))
    def open_issues(self, n: int) -> None:
        env = self.env
        raws = [
            control_finding("S3.2", resource_id=f"arn:aws:s3:::acme-bucket-{i}", updated_at=ts(env.now))
            for i in range(n)
        ]
        env.hub.import_findings(raws)
        result = env.sync()
        assert result.exit_code == 0, result.output
        self.fids = [r["Id"] for r in raws]
        for fid in self.fids:
            key = finding_key(fid)
            (number,) = [i["number"] for i in env.issues() if key in keys_in(i["body"])]
            self.numbers.append(number)
        self.check()

    # ------------------------------------------------------------------ people on GitHub

    @rule(i=st.integers(0, 2), actor=st.sampled_from(PEOPLE))
    def label(self, i: int, actor: str) -> None:
        _, n = self.pick(i)
        self.env.gh.label_issue(REPO, n, LABEL, actor=actor)
        self.sync()

    @rule(i=st.integers(0, 2), actor=st.sampled_from(PEOPLE))
    def unlabel(self, i: int, actor: str) -> None:
        _, n = self.pick(i)
        if self.labelled(n):
            self.env.gh.unlabel_issue(REPO, n, LABEL, actor=actor)
        self.sync()

    @rule(i=st.integers(0, 2), reason=st.sampled_from(["completed", "not_planned"]), actor=st.sampled_from(PEOPLE))
    def close(self, i: int, reason: str, actor: str) -> None:
        _, n = self.pick(i)
        self.env.gh.close_issue(REPO, n, actor=actor, state_reason=reason)  # type: ignore[arg-type]
        self.sync()

    @rule(i=st.integers(0, 2), actor=st.sampled_from(PEOPLE))
    def reopen(self, i: int, actor: str) -> None:
        _, n = self.pick(i)
        self.env.gh.reopen_issue(REPO, n, actor=actor)
        self.sync()

    @rule(i=st.integers(0, 2), actor=st.sampled_from(PEOPLE))
    def reopen_and_unlabel(self, i: int, actor: str) -> None:
        """Two clicks before the next sync: withdraw an approval on an issue liver closed."""
        _, n = self.pick(i)
        self.env.gh.reopen_issue(REPO, n, actor=actor)
        if self.labelled(n):
            self.env.gh.unlabel_issue(REPO, n, LABEL, actor=actor)
        self.sync()

    @rule(i=st.integers(0, 2), actor=st.sampled_from(PEOPLE))
    def comment(self, i: int, actor: str) -> None:
        _, n = self.pick(i)
        self.env.gh.comment(REPO, n, "This bucket only serves the public price list.", actor=actor)
        self.sync()

    @rule(
        i=st.integers(0, 2), j=st.integers(0, 2), how=st.sampled_from(["append text", "replace marker", "add marker"])
    )
    def edit_body(self, i: int, j: int, how: str) -> None:
        fid, n = self.pick(i)
        other, other_n = self.pick(j)
        body = self.issue(n)["body"] or ""
        if how == "append text" or other == fid:
            body += "\n\nUpdate from the team: a fix is scheduled for next sprint."
        else:
            # Paste the other finding's identity marker, as copied from the other issue's body.
            pasted = finding_marker(other)
            assert pasted in (self.issue(other_n)["body"] or "") or other_n in self.tampered
            if how == "replace marker":
                body = body.replace(finding_marker(fid), pasted)
            else:
                body += "\n" + pasted
        if keys_in(body) != [finding_key(fid)]:
            self.tampered.add(n)
        self.env.gh.edit_body(REPO, n, body, actor="mallory")
        self.sync()

    # ------------------------------------------------------------------ Security Hub

    @rule(i=st.integers(0, 2), status=st.sampled_from(["PASSED", "FAILED"]), later=st.booleans())
    def reevaluate(self, i: int, status: str, later: bool) -> None:
        fid, _ = self.pick(i)
        if later:
            self.env.advance(hours=1)
        self.env.reimport(fid, Compliance={**self.env.finding(fid)["Compliance"], "Status": status})
        self.sync()

    @rule(i=st.integers(0, 2), state=st.sampled_from(["ARCHIVED", "ACTIVE"]), later=st.booleans())
    def record_state(self, i: int, state: str, later: bool) -> None:
        fid, _ = self.pick(i)
        if later:
            self.env.advance(hours=1)
        self.env.reimport(fid, RecordState=state)
        self.sync()

    @rule(i=st.integers(0, 2))
    def suppress_in_security_hub(self, i: int) -> None:
        fid, _ = self.pick(i)
        if self._sh_client is None:
            self._sh_client = boto3.client(
                "securityhub", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
            )
            self.env.hub.attach(self._sh_client)
        self._sh_client.batch_update_findings(
            FindingIdentifiers=[{"Id": fid, "ProductArn": self.env.finding(fid)["ProductArn"]}],
            Workflow={"Status": "SUPPRESSED"},
            Note={"Text": "Accepted by the risk committee, ticket RISK-12", "UpdatedBy": "jane.security"},
        )
        self.person_suppressed.add(fid)
        self.sync()

    # ------------------------------------------------------------------ time

    @rule(delta=st.sampled_from([timedelta(hours=1), timedelta(hours=13), timedelta(days=200)]))
    def time_passes(self, delta: timedelta) -> None:
        self.env.advance(seconds=delta.total_seconds())
        self.sync()

    # ------------------------------------------------------------------ invariants

    def check(self) -> None:
        env = self.env
        issues = env.issues()
        by_url = {i["html_url"]: i for i in issues}
        for fid, own in zip(self.fids, self.numbers, strict=True):
            key = finding_key(fid)
            f = env.finding(fid)

            # 1. At most one issue per finding.
            carrying = [i["number"] for i in issues if i["number"] not in self.tampered and key in keys_in(i["body"])]
            assert len(carrying) <= 1, f"{fid}: several issues carry its identity: {carrying}"

            link = (f.get("UserDefinedFields") or {}).get(UDF_ISSUE)
            linked = by_url.get(link) if link else None
            workflow = f["Workflow"]["Status"]
            note = f.get("Note") or {}

            # 2. SUPPRESSED only through a valid approval or a person in Security Hub.
            live = f["RecordState"] == "ACTIVE" and f["Compliance"]["Status"] == "FAILED"
            if workflow == "SUPPRESSED":
                by_person = note.get("UpdatedBy") != "liver" and fid in self.person_suppressed
                assert by_person or (linked is not None and self.approved(linked["number"])), (
                    f"{fid} is SUPPRESSED without a current approver's label on its issue: "
                    f"note={note!r}, events={self.label_events(own)}"
                )

            # 3. A live, unsuppressed problem has an open issue.
            if own in self.tampered or not live or workflow == "SUPPRESSED":
                continue
            assert linked is not None, f"{fid} is a live problem but linked to no issue ({link!r})"
            if linked["state"] == "open":
                continue
            updated = _parse(f["UpdatedAt"])
            seen = max(t for t in (_parse(linked["closed_at"]), _parse(note.get("UpdatedAt"))) if t)
            awaiting_fix_check = (
                linked["state_reason"] == "completed"
                and workflow == "RESOLVED"
                and updated is not None
                and updated <= seen
            )
            assert awaiting_fix_check, (
                f"{fid} is ACTIVE, FAILED and {workflow} but its issue #{linked['number']} is closed "
                f"({linked['state_reason']})"
            )

    def label_events(self, number: int) -> list[tuple[str, str, str]]:
        return [
            (e["event"], e["actor"]["login"], e["created_at"])
            for e in self.env.gh.events(REPO, number)
            if e["event"] in ("labeled", "unlabeled") and e["label"]["name"] == LABEL
        ]

    def approved(self, number: int) -> bool:
        """The latest 'labeled' event (in GitHub's order) is an approver's, current, and the label is on."""
        labeled = [e for e in self.label_events(number) if e[0] == "labeled"]
        if not labeled or not self.labelled(number):
            return False
        _, actor, at = labeled[-1]
        moment = _parse(at)
        assert moment is not None
        return actor.lower() in APPROVERS and self.env.now <= moment + EXPIRY


Lifecycle.TestCase.settings = settings(
    max_examples=25,
    deadline=None,
    stateful_step_count=8,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TestLifecycleProperty = Lifecycle.TestCase


# ---------------------------------------------------------------- regressions found by the machine above


def test_relabel_by_non_approver_in_the_same_second_is_no_approval() -> None:
    state = Lifecycle()
    try:
        state.open_issues(n=1)
        state.label(i=0, actor="cto")  # suppressed, closed as not planned
        state.unlabel(i=0, actor="cto")  # withdrawn: reopened, NOTIFIED
        state.label(i=0, actor="bob")  # same second: must be rejected, not taken for cto's
    finally:
        state.teardown()


def test_withdrawn_approval_unsuppresses_an_archived_finding() -> None:
    state = Lifecycle()
    try:
        state.open_issues(n=1)
        state.label(i=0, actor="cto")  # suppressed, closed as not planned
        state.record_state(i=0, state="ARCHIVED", later=False)
        state.unlabel(i=0, actor="cto")  # withdrawn: the finding must leave SUPPRESSED
    finally:
        state.teardown()
