"""ASFF parsing: every real sample parses; malformed findings raise FindingError."""

from __future__ import annotations

import pytest

from liver_gh.adapters.asff import parse_finding
from liver_gh.errors import FindingError
from liver_gh.models import RecordState, Severity, Workflow
from tests.factories import control_finding, real_samples

SAMPLES = real_samples()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_real_sample_parses(name: str) -> None:
    finding = parse_finding(SAMPLES[name])
    assert finding.id and finding.account and finding.resources
    assert finding.updated_at.tzinfo is not None


def test_control_ids_for_each_format() -> None:
    by_name = {n: parse_finding(f) for n, f in SAMPLES.items()}
    assert by_name["securityhub-consolidated-eks1-public-endpoint-failed.json"].control_id == "EKS.1"
    assert by_name["securityhub-fsbp-cloudtrail2-failed.json"].control_id == "CloudTrail.2"
    assert by_name["securityhub-fsbp-autoscaling1-asg-failed.json"].control_id == "AutoScaling.1"
    assert by_name["securityhub-cis120-1.6-warning-with-note.json"].control_id == "CIS.1.6"
    assert by_name["guardduty-ec2-ssh-bruteforce-tagged-instance.json"].control_id is None
    assert by_name["guardduty-ec2-ssh-bruteforce-tagged-instance.json"].product_name == "GuardDuty"
    inspector = by_name["inspector-ec2-package-vuln-asg-instance.json"]
    assert inspector.vulnerabilities[0].packages[0].fixed_in == "0:1.14.2-0"
    assert inspector.resources[0].tag("aws:autoscaling:groupName")
    cis = by_name["securityhub-cis120-1.6-warning-with-note.json"]
    assert cis.note is not None and cis.note.updated_by == "update_text"
    assert cis.compliance == "WARNING"


def test_fields_of_a_consolidated_finding() -> None:
    f = parse_finding(control_finding("S3.2", severity="CRITICAL", workflow="NOTIFIED", record_state="ARCHIVED"))
    assert f.severity is Severity.CRITICAL
    assert f.workflow is Workflow.NOTIFIED
    assert f.record_state is RecordState.ARCHIVED
    assert f.remediation_url.endswith("/S3.2/remediation")
    assert f.standards == ("standards/aws-foundational-security-best-practices/v/1.0.0",)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.pop("Id"), "Id is missing"),
        (lambda f: f.pop("AwsAccountId"), "AwsAccountId is missing"),
        (lambda f: f.update(Resources=[]), "Resources is missing"),
        (lambda f: f.update(UpdatedAt="yesterday"), "UpdatedAt"),
        (lambda f: f.update(Severity={"Label": "SEVERE"}), "unknown severity"),
    ],
)
def test_malformed_findings_name_the_problem(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    raw = control_finding("S3.2")
    mutate(raw)
    with pytest.raises(FindingError, match=message):
        parse_finding(raw)


def test_severity_from_normalized_when_label_missing() -> None:
    raw = control_finding("S3.2")
    raw["Severity"] = {"Normalized": 75}
    assert parse_finding(raw).severity is Severity.HIGH
