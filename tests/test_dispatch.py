"""Dispatch mode: one finding from an EventBridge event, handled with a handful of requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liver_gh.dispatch import finding_ids
from liver_gh.errors import ConfigError
from liver_gh.sync import Dispatched
from tests.conftest import Env, Mem, ts
from tests.factories import control_finding

ASG = "aws:autoscaling:groupName"


def bucket(mem: Mem, name: str, **kw: Any) -> dict[str, Any]:
    return control_finding("S3.2", resource_id=f"arn:aws:s3:::{name}", updated_at=ts(mem.now), **kw)


def dispatch(mem: Mem, *ids: str) -> Any:
    before_gh, before_sh = len(mem.tracker.calls), len(mem.hub.queries) + len(mem.hub.updates)
    report = mem.sync(target=Dispatched(tuple(ids)))
    gh = mem.tracker.calls[before_gh:]
    sh = len(mem.hub.queries) + len(mem.hub.updates) - before_sh
    return report, gh, sh


def test_one_dispatched_finding_opens_one_issue_with_a_handful_of_requests(mem: Mem) -> None:
    raw = bucket(mem, "acme-exports")
    mem.hub.add(raw)
    report, gh, sh = dispatch(mem, raw["Id"])
    assert report.counts["opened"] == 1, report.text()
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    assert [c[0] for c in gh] == ["can_assign", "create_issue"]  # no listing of any repository
    assert sh == 2  # one GetFindings by Id, one BatchUpdateFindings


def test_a_dispatch_for_a_handled_finding_writes_nothing(mem: Mem) -> None:
    raw = bucket(mem, "acme-exports")
    mem.hub.add(raw)
    mem.sync()
    # Security Hub publishes an event for liver's own BatchUpdateFindings too.
    report, gh, sh = dispatch(mem, raw["Id"])
    assert gh == [] and sh == 1
    assert report.counts["opened"] == 0 and report.failed == 0


@pytest.mark.parametrize("case", ["unknown", "below minimum", "prototype"])
def test_no_op_dispatches_cost_one_read(mem: Mem, case: str) -> None:
    if case == "unknown":
        ids = ("arn:aws:securityhub:us-east-1:111111111111:security-control/S3.2/finding/nope",)
    else:
        raw = (
            bucket(mem, "acme-x", severity="LOW")
            if case == "below minimum"
            else bucket(mem, "acme-y", account="999999999999")
        )
        mem.hub.add(raw)
        ids = (raw["Id"],)
    _, gh, sh = dispatch(mem, *ids)
    assert gh == [] and sh == 1
    assert mem.issues() == []


def test_two_dispatches_for_one_finding_open_one_issue(mem: Mem) -> None:
    raw = bucket(mem, "acme-exports")
    mem.hub.add(raw)
    dispatch(mem, raw["Id"])
    mem.advance(seconds=30)
    dispatch(mem, raw["Id"])  # the workflow's concurrency group runs them one after the other
    assert len(mem.issues()) == 1


def test_a_dispatched_group_member_joins_the_groups_issue(mem: Mem) -> None:
    first = control_finding(
        "EC2.8",
        resource_type="AwsEc2Instance",
        resource_id="arn:aws:ec2:us-east-1:111111111111:instance/i-1",
        tags={ASG: "web"},
        updated_at=ts(mem.now),
    )
    mem.hub.add(first)
    mem.sync()
    later = control_finding(
        "EC2.8",
        resource_type="AwsEc2Instance",
        resource_id="arn:aws:ec2:us-east-1:111111111111:instance/i-2",
        tags={ASG: "web"},
        updated_at=ts(mem.now),
    )
    mem.hub.add(later)
    mem.advance(minutes=1)
    report, gh, _ = dispatch(mem, later["Id"])
    assert len(mem.issues()) == 1, report.text()
    assert mem.workflow(later["Id"]) == "NOTIFIED"
    assert "list_issues" not in {c[0] for c in gh}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"action": "security-hub-finding", "client_payload": {"finding_id": "arn:x"}}, ("arn:x",)),
        ({"action": "security-hub-finding", "client_payload": {"finding_ids": ["a", "b", "a"]}}, ("a", "b")),
        ({"action": "something-else", "client_payload": {}}, None),
    ],
)
def test_dispatch_payloads(payload: dict[str, Any], expected: tuple[str, ...] | None) -> None:
    assert finding_ids(payload) == expected


@pytest.mark.parametrize(
    "client",
    [
        None,
        {},
        {"finding_ids": "x"},
        {"finding_ids": [1]},
        {"finding_ids": ["x" * 600]},
        {"finding_ids": [f"i{n}" for n in range(101)]},
    ],
)
def test_malformed_dispatch_payloads_are_refused(client: object) -> None:
    with pytest.raises(ConfigError):
        finding_ids({"action": "security-hub-finding", "client_payload": client})


def test_dispatch_through_the_cli(env: Env, tmp_path: Path) -> None:
    raw = control_finding("S3.2", resource_id="arn:aws:s3:::acme-exports", updated_at=ts(env.now))
    env.hub.import_findings([raw])
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "security-hub-finding",
                "client_payload": {"finding_id": raw["Id"], "product_arn": raw["ProductArn"]},
            }
        )
    )
    mark = len(env.gh.requests_log)
    result = env.sync("--event", str(event))
    assert result.exit_code == 0, result.output
    assert len(env.issues()) == 1
    requests = env.gh.requests_log[mark:]
    assert len(requests) <= 5, requests
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"action": "security-hub-finding"}))
    result = env.sync("--event", str(bad))
    assert result.exit_code == 2 and "client_payload" in result.output
