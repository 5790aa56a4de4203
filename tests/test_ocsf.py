"""The OCSF (v2) finding source: parsing, the requests it sends, and migrating from ASFF."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from liver_fakes.securityhub import FakeSecurityHub
from liver_gh.adapters.ocsf import SecurityHubV2, filters_for, parse_ocsf, read_comment, write_comment
from liver_gh.adapters.securityhub import RETRIES
from liver_gh.models import Compliance, Severity, Workflow
from liver_gh.ports import ByControl, ByIds, FindingUpdate, LinkedTo, NewFindings, Tracked
from liver_gh.rules.identity import UDF_ISSUE, UDF_KEY
from tests.conftest import NOW, Mem, RecordingPager, ts
from tests.factories import control_finding

SAMPLES = Path(__file__).parent.parent / "liver_fakes" / "data" / "ocsf"


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"))


def test_ocsf_samples_parse_into_the_same_finding_model() -> None:
    s3 = parse_ocsf(sample("compliance-s3-public-read-failed.json"))
    assert s3.id.endswith("security-control/S3.2/finding/2d8e3f7a-aaaa-bbbb-cccc-0123456789ab")
    assert (s3.control_id, s3.severity, s3.compliance, s3.workflow) == (
        "S3.2",
        Severity.CRITICAL,
        Compliance.FAILED,
        Workflow.NEW,
    )
    assert s3.account == "111111111111" and s3.resources[0].id == "arn:aws:s3:::acme-payments-exports"
    ec2 = parse_ocsf(sample("compliance-ec2-imdsv2-asg-in-progress.json"))
    assert ec2.workflow is Workflow.NOTIFIED
    assert ec2.resources[0].tag("aws:autoscaling:groupName") == "checkout-web"
    assert ec2.udf(UDF_ISSUE) == "https://github.com/acme/payments/issues/7" and (ec2.udf(UDF_KEY) or "").startswith(
        "g-"
    )
    assert ec2.note is not None and ec2.note.updated_by == "liver"
    guardduty = parse_ocsf(sample("detection-guardduty-ssh-bruteforce.json"))
    assert guardduty.control_id is None and guardduty.compliance is None and guardduty.product_name == "GuardDuty"


def test_the_comment_carries_the_link_within_512_characters() -> None:
    update = FindingUpdate(
        [], Workflow.NOTIFIED, "x" * 600, {UDF_KEY: "f-" + "a" * 40, UDF_ISSUE: "https://github.com/acme/p/issues/1"}
    )
    comment = write_comment(update, NOW)
    assert len(comment) <= 512
    fields, note = read_comment(comment)
    assert dict(fields)[UDF_KEY] == "f-" + "a" * 40 and note is not None and note.updated_by == "liver"
    assert read_comment("Accepted by the risk committee")[1].updated_by == "someone"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "query",
    [
        NewFindings(Severity.HIGH, products_exclude=tuple(f"P{i}" for i in range(20)), regions=("us-east-1",)),
        Tracked(),
        LinkedTo("https://github.com/acme/payments/issues/1"),
        ByIds(tuple(f"id-{i}" for i in range(45))),
        ByControl("EC2.8", tuple(f"{i:012d}" for i in range(30)), ("aws:autoscaling:groupName", "web")),
    ],
)
def test_every_v2_query_is_valid_for_botocore_and_the_emulator(query: Any) -> None:
    hub = FakeSecurityHub()
    client = boto3.client(
        "securityhub", region_name="us-east-1", config=RETRIES, aws_access_key_id="t", aws_secret_access_key="t"
    )
    hub.attach(client)
    for filters in filters_for(query):
        assert len(filters["CompositeFilters"]) <= 10
        client.get_findings_v2(Filters=filters, MaxResults=100)  # botocore validates; the emulator enforces limits


def test_the_v2_adapter_reads_and_writes_through_boto3() -> None:
    hub = FakeSecurityHub(now=lambda: NOW)
    raw = control_finding("S3.2", updated_at=ts(NOW))
    hub.import_findings([raw])
    client = boto3.client(
        "securityhub", region_name="us-east-1", config=RETRIES, aws_access_key_id="t", aws_secret_access_key="t"
    )
    hub.attach(client)
    source = SecurityHubV2(client, now=lambda: NOW)
    (found,) = source.findings(NewFindings(Severity.HIGH))
    assert found.id == raw["Id"]
    fields = {"liver": "v1", UDF_KEY: "f-" + "0" * 40, UDF_ISSUE: "https://github.com/acme/payments/issues/1"}
    outcome = source.update(
        FindingUpdate([(found.id, found.product_arn, found.account)], Workflow.NOTIFIED, "note", fields)
    )
    assert outcome.failed == [] and outcome.processed == 1
    assert hub.finding(raw["Id"])["Workflow"]["Status"] == "NOTIFIED"
    (tracked,) = source.findings(Tracked())
    assert tracked.udf(UDF_ISSUE) == fields[UDF_ISSUE]


def test_migrating_from_asff_to_ocsf_opens_no_duplicate() -> None:
    from tests.conftest import BASE_CONFIG
    from tests.memory import MemoryHub, MemoryHubV2, MemoryTracker

    clock = [NOW]
    tracker = MemoryTracker(lambda: clock[0])
    tracker.add_repo("acme/payments", ["alice", "bob"])
    tracker.add_repo("acme/search", ["carol"])
    asff = MemoryHub(lambda: clock[0])
    raws = [control_finding("S3.2", resource_id=f"arn:aws:s3:::b{i}", updated_at=ts(NOW)) for i in range(3)]
    asff.add(*raws)
    Mem(BASE_CONFIG, tracker, asff, clock, RecordingPager([])).sync()
    assert len(tracker.all_issues("acme/payments")) == 3
    v2 = MemoryHubV2(lambda: clock[0])
    v2.fake = asff.fake  # the same findings, now read through GetFindingsV2
    mem = Mem(
        BASE_CONFIG.replace("  region: us-east-1\n", "  region: us-east-1\n  api: ocsf\n"),
        tracker,
        v2,
        clock,
        RecordingPager([]),
    )
    clock[0] = NOW.replace(hour=13)
    report = mem.sync()
    assert report.counts["opened"] == 0, report.text()
    assert len(tracker.all_issues("acme/payments")) == 3
    assert all(v2.get(r["Id"]).udf(UDF_ISSUE) for r in raws)  # the link is now in each Comment
    clock[0] = NOW.replace(hour=14)
    before, queries = len(tracker.mutations()), len(v2.queries)
    mem.sync()
    assert len(tracker.mutations()) == before
    assert len(v2.queries) - queries == 2  # steady state: new findings and tracked ones, nothing else
