"""FakeSecurityHub behaves like Security Hub as botocore sees it (no network).

Every test talks to the fake through a real boto3 client, so botocore's own request
validation, serialization, retry handler and response parser are in the loop. The whole
module runs under moto's ``mock_aws`` so a request the fake did not answer can never
reach AWS.
"""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from liver_fakes.securityhub import (
    ContractViolation,
    FakeNotImplementedError,
    FakeSecurityHub,
    InvalidFindingError,
)
from tests.factories import ASFF_DIR

NOW = datetime(2023, 6, 1, 12, 0, 0, tzinfo=UTC)
# The one sample that BatchImportFindings would reject: the published doc sample has
# Severity.Normalized as the string "40" and a Normalized inside FindingProviderFields.
INVALID_SAMPLE = "securityhub-consolidated-cloudtrail2-failed.json"


def load_samples() -> dict[str, dict[str, Any]]:
    """Each real sample by file name; the GetFindings response contributes its Findings."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(ASFF_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if "Findings" in data:
            for i, finding in enumerate(data["Findings"]):
                out[f"{path.name}#{i}"] = finding
        else:
            out[path.name] = data
    return out


SAMPLES = load_samples()
VALID = {name: f for name, f in SAMPLES.items() if name != INVALID_SAMPLE}
# get-findings-response.json holds the same IAM.6 finding as its own file.
UNIQUE_IDS = {(f["ProductArn"], f["Id"]) for f in VALID.values()}


ASG_NAME = "eks-eks01-testers-20230322111111111100000001-10c38473-1b1c-e880-202d-e076e43e6ece"


def sample(name: str) -> dict[str, Any]:
    return copy.deepcopy(SAMPLES[name])


def ident(finding: dict[str, Any]) -> dict[str, str]:
    return {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}


def make_client(**kwargs: Any) -> Any:
    return boto3.client(
        "securityhub",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        **kwargs,
    )


@pytest.fixture(autouse=True)
def _no_aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def fake() -> FakeSecurityHub:
    return FakeSecurityHub(now=lambda: NOW)


@pytest.fixture
def client(fake: FakeSecurityHub) -> Any:
    c = make_client()
    fake.attach(c)
    return c


@pytest.fixture
def loaded(fake: FakeSecurityHub) -> FakeSecurityHub:
    fake.import_findings(list(VALID.values()))
    return fake


def ids_of(response: dict[str, Any]) -> set[str]:
    return {f["Id"] for f in response["Findings"]}


def ids_by_name(*names: str) -> set[str]:
    return {SAMPLES[n]["Id"] for n in names}


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# --------------------------------------------------------------------------- samples


def test_every_valid_real_sample_imports_and_reads_back(loaded: FakeSecurityHub, client: Any) -> None:
    assert len(VALID) >= 22
    stored = {(f["ProductArn"], f["Id"]) for f in loaded.all()}
    assert stored == UNIQUE_IDS
    response = client.get_findings()
    assert {(f["ProductArn"], f["Id"]) for f in response["Findings"]} == UNIQUE_IDS
    assert "NextToken" not in response
    for finding in response["Findings"]:
        # Security Hub fills these itself when a provider leaves them out.
        assert finding["ProductName"]
        assert finding["CompanyName"]
        assert finding["Region"]
        assert finding["Workflow"]["Status"] in {"NEW", "NOTIFIED", "RESOLVED"}
        assert finding["ProcessedAt"] == "2023-06-01T12:00:00.000Z"


def test_sample_values_survive_import(loaded: FakeSecurityHub) -> None:
    original = SAMPLES["securityhub-cis120-1.3-iamuser-passed-notified.json"]
    stored = loaded.finding(original["Id"])
    for key in ("Title", "Severity", "Compliance", "Resources", "UpdatedAt", "CreatedAt"):
        assert stored[key] == original[key]
    # An imported snapshot keeps the workflow it was exported with.
    assert stored["Workflow"] == {"Status": "NOTIFIED"}
    assert stored["ProductName"] == "Security Hub"  # from aws/securityhub/ProductName


def test_import_rejects_what_the_model_rejects(fake: FakeSecurityHub) -> None:
    with pytest.raises(InvalidFindingError) as exc:
        fake.import_findings([sample(INVALID_SAMPLE), sample("prowler-rds-minor-version-upgrade-passed.json")])
    assert any("Severity.Normalized" in p for p in exc.value.problems)
    assert fake.all() == []  # nothing imported from a rejected batch


def test_import_rejects_bad_timestamps(fake: FakeSecurityHub) -> None:
    finding = sample("securityhub-fsbp-cloudtrail2-failed.json")
    finding["UpdatedAt"] = "2021-09-28 16:10:00"
    with pytest.raises(InvalidFindingError, match="UpdatedAt"):
        fake.import_findings([finding])


def test_severity_label_is_derived_from_normalized(fake: FakeSecurityHub) -> None:
    finding = sample("securityhub-fsbp-cloudtrail2-failed.json")
    finding["Severity"] = {"Normalized": 75}
    del finding["FindingProviderFields"]
    fake.import_findings([finding])
    stored = fake.finding(finding["Id"])
    assert stored["Severity"] == {"Normalized": 75, "Label": "HIGH"}
    assert stored["FindingProviderFields"]["Types"] == finding["Types"]


# --------------------------------------------------------------------------- filters


def test_equals_values_on_one_field_are_ored(loaded: FakeSecurityHub, client: Any) -> None:
    response = client.get_findings(
        Filters={
            "SeverityLabel": [
                {"Value": "CRITICAL", "Comparison": "EQUALS"},
                {"Value": "HIGH", "Comparison": "EQUALS"},
            ]
        }
    )
    expected = {f["Id"] for f in VALID.values() if f["Severity"]["Label"] in {"CRITICAL", "HIGH"}}
    assert expected
    assert ids_of(response) == expected


def test_different_fields_are_anded(loaded: FakeSecurityHub, client: Any) -> None:
    response = client.get_findings(
        Filters={
            "ProductName": [{"Value": "Security Hub", "Comparison": "EQUALS"}],
            "ComplianceStatus": [{"Value": "PASSED", "Comparison": "EQUALS"}],
        }
    )
    assert ids_of(response) == ids_by_name(
        "securityhub-cis120-1.3-iamuser-passed-notified.json",
        "securityhub-pcidss-autoscaling1-passed-resolved.json",
    )


def test_not_equals_values_are_anded(loaded: FakeSecurityHub, client: Any) -> None:
    response = client.get_findings(
        Filters={
            "SeverityLabel": [
                {"Value": "MEDIUM", "Comparison": "NOT_EQUALS"},
                {"Value": "LOW", "Comparison": "NOT_EQUALS"},
            ]
        }
    )
    expected = {f["Id"] for f in VALID.values() if f["Severity"]["Label"] not in {"MEDIUM", "LOW"}}
    assert ids_of(response) == expected
    assert {f["Severity"]["Label"] for f in response["Findings"]} <= {
        "INFORMATIONAL",
        "HIGH",
        "CRITICAL",
    }


def test_prefix_then_exclusions_like_the_documented_example(loaded: FakeSecurityHub, client: Any) -> None:
    response = client.get_findings(
        Filters={
            "ResourceType": [
                {"Value": "AwsIam", "Comparison": "PREFIX"},
                {"Value": "AwsEc2", "Comparison": "PREFIX"},
                {"Value": "AwsIamAccessKey", "Comparison": "NOT_EQUALS"},
            ]
        }
    )
    assert ids_of(response) == ids_by_name(
        "securityhub-cis120-1.3-iamuser-passed-notified.json",
        "guardduty-ec2-ssh-bruteforce-tagged-instance.json",
        "inspector-classic-network-reachability.json",
        "inspector-ec2-cve-kernel-amazonlinux2.json",
        "inspector-ec2-package-vuln-asg-instance.json",
    )


def test_prefix_on_generator_and_values_are_case_sensitive(loaded: FakeSecurityHub, client: Any) -> None:
    consolidated = client.get_findings(
        Filters={"GeneratorId": [{"Value": "security-control/", "Comparison": "PREFIX"}]}
    )
    assert ids_of(consolidated) == ids_by_name(
        "securityhub-consolidated-iam6-root-hardware-mfa-failed.json",
        "securityhub-consolidated-eks1-public-endpoint-failed.json",
    )
    lower = client.get_findings(Filters={"ProductName": [{"Value": "security hub", "Comparison": "EQUALS"}]})
    assert lower["Findings"] == []


def test_contains_and_prefix_not_equals(loaded: FakeSecurityHub, client: Any) -> None:
    cloudtrail = client.get_findings(Filters={"Title": [{"Value": "CloudTrail", "Comparison": "CONTAINS"}]})
    assert ids_of(cloudtrail) == {f["Id"] for f in VALID.values() if "CloudTrail" in f["Title"]}
    not_us = client.get_findings(Filters={"Region": [{"Value": "us-", "Comparison": "PREFIX_NOT_EQUALS"}]})
    assert {f["Region"] for f in not_us["Findings"]} == {"eu-central-1", "eu-west-1"}


@pytest.mark.parametrize(
    "comparisons",
    [
        ["EQUALS", "NOT_EQUALS"],
        ["EQUALS", "PREFIX_NOT_EQUALS"],
        ["CONTAINS", "EQUALS"],
        ["NOT_CONTAINS", "NOT_EQUALS"],
        ["CONTAINS_WORD"],
    ],
)
def test_documented_invalid_combinations_are_rejected(
    loaded: FakeSecurityHub, client: Any, comparisons: list[str]
) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_findings(Filters={"Title": [{"Value": "CloudTrail", "Comparison": c} for c in comparisons]})
    assert error_code(exc) == "InvalidInputException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_date_filter_start_end_is_inclusive_and_honours_offsets(loaded: FakeSecurityHub, client: Any) -> None:
    response = client.get_findings(
        Filters={
            "UpdatedAt": [
                # 2022-01-01T00:00:00Z written with an offset, as the API allows.
                {"Start": "2022-01-01T02:00:00+02:00", "End": "2022-12-22T22:24:52.409Z"}
            ]
        }
    )
    assert ids_of(response) == ids_by_name(
        "config-s3-bucket-public-access-noncompliant.json",  # 2022-04-19
        "prowler-rds-minor-version-upgrade-passed.json",  # 2022-12-01
        "securityhub-controltower-cloudtrail2-failed.json",  # 2022-11-17
        "securityhub-cis140-3.7-cloudtrail-encryption-failed.json",  # 2022-12-22, == End
    )


def test_date_range_counts_days_back_from_now(loaded: FakeSecurityHub, client: Any) -> None:
    within = client.get_findings(Filters={"UpdatedAt": [{"DateRange": {"Value": 30, "Unit": "DAYS"}}]})
    # NOW is 2023-06-01T12:00Z: IAM.6 (2023-05-31) and EKS.1 (2023-05-30) are recent.
    assert ids_of(within) == ids_by_name(
        "securityhub-consolidated-iam6-root-hardware-mfa-failed.json",
        "securityhub-consolidated-eks1-public-endpoint-failed.json",
    )
    older = client.get_findings(
        Filters={"UpdatedAt": [{"DateRange": {"Value": 30, "Unit": "DAYS", "Comparison": "OLDER_THAN"}}]}
    )
    cutoff = datetime(2023, 5, 2, 12, 0, 0, tzinfo=UTC)
    assert ids_of(older) == {f["Id"] for f in VALID.values() if datetime.fromisoformat(f["UpdatedAt"]) < cutoff}
    # Findings updated after NOW (some samples are) are in neither range.
    assert not ids_of(within) & ids_of(older)


def test_map_filter_on_resource_tags(loaded: FakeSecurityHub, client: Any) -> None:
    kubectl = client.get_findings(
        Filters={"ResourceTags": [{"Key": "Name", "Value": "kubectl", "Comparison": "EQUALS"}]}
    )
    assert ids_of(kubectl) == ids_by_name(
        "guardduty-ec2-ssh-bruteforce-tagged-instance.json",
        "inspector-classic-network-reachability.json",
    )
    asg = client.get_findings(
        Filters={
            "ResourceTags": [
                {"Key": "aws:autoscaling:groupName", "Value": "nope", "Comparison": "EQUALS"},
                {
                    "Key": "aws:autoscaling:groupName",
                    "Value": ASG_NAME,
                    "Comparison": "EQUALS",
                },
            ]
        }
    )
    assert ids_of(asg) == ids_by_name("inspector-ec2-package-vuln-asg-instance.json")
    case = client.get_findings(Filters={"ResourceTags": [{"Key": "Name", "Value": "KUBECTL", "Comparison": "EQUALS"}]})
    assert case["Findings"] == []


def test_map_contains_is_only_for_automation_rules(loaded: FakeSecurityHub, client: Any) -> None:
    with pytest.raises(ClientError) as exc:
        client.get_findings(Filters={"ResourceTags": [{"Key": "Name", "Value": "kub", "Comparison": "CONTAINS"}]})
    assert error_code(exc) == "InvalidInputException"


def test_number_and_product_fields_filters(loaded: FakeSecurityHub, client: Any) -> None:
    severe = client.get_findings(Filters={"SeverityNormalized": [{"Gte": 70}]})
    assert ids_of(severe) == {f["Id"] for f in VALID.values() if f["Severity"].get("Normalized", 0) >= 70}
    control = client.get_findings(
        Filters={"ProductFields": [{"Key": "ControlId", "Value": "CloudTrail.2", "Comparison": "EQUALS"}]}
    )
    assert ids_of(control) == ids_by_name(
        "securityhub-fsbp-cloudtrail2-failed.json",
        "securityhub-nist80053-cloudtrail2-failed.json",
    )


def test_unmapped_filter_key_fails_loudly(loaded: FakeSecurityHub, client: Any) -> None:
    with pytest.raises(FakeNotImplementedError, match="ResourceOwnerAccountId"):
        client.get_findings(Filters={"ResourceOwnerAccountId": [{"Value": "1", "Comparison": "EQUALS"}]})
    with pytest.raises(FakeNotImplementedError, match="Keyword"):
        client.get_findings(Filters={"Keyword": [{"Value": "x"}]})


def test_too_many_filter_attributes_are_rejected(loaded: FakeSecurityHub, client: Any) -> None:
    names = [
        "Id",
        "Title",
        "Region",
        "AwsAccountId",
        "GeneratorId",
        "ProductArn",
        "ProductName",
        "CompanyName",
        "RecordState",
        "WorkflowStatus",
        "SeverityLabel",
    ]
    with pytest.raises(ClientError) as exc:
        client.get_findings(Filters={n: [{"Value": "x", "Comparison": "NOT_EQUALS"}] for n in names})
    assert error_code(exc) == "InvalidInputException"


# --------------------------------------------------------------------------- paging


def test_paging_two_at_a_time_visits_every_finding_once(loaded: FakeSecurityHub, client: Any) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        response = client.get_findings(**kwargs)
        pages += 1
        assert len(response["Findings"]) <= 2
        seen += [f["Id"] for f in response["Findings"]]
        token = response.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(i for _, i in UNIQUE_IDS)
    assert pages == (len(UNIQUE_IDS) + 1) // 2
    assert [name for name, _ in loaded.calls] == ["GetFindings"] * pages


def test_boto3_paginator_works(loaded: FakeSecurityHub, client: Any) -> None:
    pages = client.get_paginator("get_findings").paginate(PaginationConfig={"PageSize": 5})
    assert sum(len(p["Findings"]) for p in pages) == len(UNIQUE_IDS)


def test_paging_survives_updates_to_the_filtered_field(loaded: FakeSecurityHub, client: Any) -> None:
    """liver pages through NEW findings and marks them NOTIFIED as it goes."""
    new = {"WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}]}
    expected = ids_of(client.get_findings(Filters=new))
    seen: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {"Filters": new, "MaxResults": 3}
        if token:
            kwargs["NextToken"] = token
        page = client.get_findings(**kwargs)
        seen += [f["Id"] for f in page["Findings"]]
        client.batch_update_findings(
            FindingIdentifiers=[ident(f) for f in page["Findings"]],
            Workflow={"Status": "NOTIFIED"},
        )
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sorted(expected)


def test_bad_next_token_is_rejected(loaded: FakeSecurityHub, client: Any) -> None:
    first = client.get_findings(MaxResults=1)
    for token in ("garbage", first["NextToken"]):
        with pytest.raises(ClientError) as exc:
            # The second token belongs to another query (no filter vs a filter).
            client.get_findings(
                NextToken=token,
                Filters={"RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]},
            )
        assert error_code(exc) == "InvalidInputException"


def test_max_results_above_100_is_rejected_by_the_service(loaded: FakeSecurityHub, client: Any) -> None:
    # botocore checks only the model's min client-side; the max is the service's job.
    with pytest.raises(ClientError) as exc:
        client.get_findings(MaxResults=101)
    assert error_code(exc) == "InvalidInputException"
    with pytest.raises(ParamValidationError):
        client.get_findings(MaxResults=0)


def test_sort_criteria(loaded: FakeSecurityHub, client: Any) -> None:
    response = client.get_findings(SortCriteria=[{"Field": "SeverityNormalized", "SortOrder": "desc"}])
    values = [f["Severity"].get("Normalized") for f in response["Findings"]]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True)
    assert values[: len(present)] == present  # findings without a value come last
    by_time = client.get_findings(SortCriteria=[{"Field": "UpdatedAt", "SortOrder": "asc"}])
    oldest = SAMPLES["securityhub-cis120-1.6-warning-with-note.json"]
    assert by_time["Findings"][0]["Id"] == oldest["Id"]


# --------------------------------------------------------------------------- BatchUpdateFindings


def test_batch_update_note_workflow_and_user_defined_fields(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    before = loaded.finding(target["Id"])
    response = client.batch_update_findings(
        FindingIdentifiers=[ident(target)],
        Note={"Text": "Tracked in acme/payments#12", "UpdatedBy": "liver"},
        Workflow={"Status": "NOTIFIED"},
        UserDefinedFields={"liver/issue": "acme/payments#12"},
    )
    assert response["ProcessedFindings"] == [ident(target)]
    assert response["UnprocessedFindings"] == []
    client.batch_update_findings(FindingIdentifiers=[ident(target)], UserDefinedFields={"liver/team": "payments"})
    after = loaded.finding(target["Id"])
    assert after["Note"] == {
        "Text": "Tracked in acme/payments#12",
        "UpdatedBy": "liver",
        "UpdatedAt": "2023-06-01T12:00:00.000Z",
    }
    assert after["Workflow"] == {"Status": "NOTIFIED"}
    assert after["UserDefinedFields"] == {
        "liver/issue": "acme/payments#12",
        "liver/team": "payments",
    }
    # "BatchUpdateFindings does not change the UpdatedAt field for the finding."
    assert after["UpdatedAt"] == before["UpdatedAt"]
    notified = client.get_findings(
        Filters={
            "WorkflowStatus": [{"Value": "NOTIFIED", "Comparison": "EQUALS"}],
            "UserDefinedFields": [{"Key": "liver/team", "Value": "payments", "Comparison": "EQUALS"}],
        }
    )
    assert ids_of(notified) == {target["Id"]}


def test_batch_update_severity_and_verification(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    client.batch_update_findings(
        FindingIdentifiers=[ident(target)],
        Severity={"Label": "CRITICAL"},
        VerificationState="TRUE_POSITIVE",
        Confidence=80,
        Criticality=90,
        Types=["Effects/Data Exposure"],
    )
    after = loaded.finding(target["Id"])
    assert after["Severity"]["Label"] == "CRITICAL"
    assert after["Severity"]["Normalized"] == 90
    assert after["VerificationState"] == "TRUE_POSITIVE"
    assert (after["Confidence"], after["Criticality"]) == (80, 90)
    assert after["Types"] == ["Effects/Data Exposure"]


def test_more_than_100_identifiers_are_rejected(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    many = [{"Id": f"{target['Id']}-{i}", "ProductArn": target["ProductArn"]} for i in range(101)]
    # The model has no max for FindingIdentifiers (botocore checks only min), so this
    # is the service's documented 100 limit answering with InvalidInputException.
    with pytest.raises(ClientError) as exc:
        client.batch_update_findings(FindingIdentifiers=many, Workflow={"Status": "NOTIFIED"})
    assert error_code(exc) == "InvalidInputException"
    assert loaded.calls[-1][0] == "BatchUpdateFindings"


def test_botocore_validates_requests_before_they_are_sent(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    with pytest.raises(ParamValidationError):
        client.batch_update_findings(FindingIdentifiers=[ident(target)], Note={"Text": "x"})
    with pytest.raises(ParamValidationError):
        client.batch_update_findings(FindingIdentifiers=[ident(target)], Confidence=-1)
    with pytest.raises(ParamValidationError):
        client.batch_update_findings(FindingIdentifiers=[{"Id": target["Id"]}])
    assert loaded.calls == []  # none of them reached the fake
    with pytest.raises(ClientError) as exc:  # max is checked by the service
        client.batch_update_findings(FindingIdentifiers=[ident(target)], Confidence=101)
    assert error_code(exc) == "InvalidInputException"


def test_unknown_duplicate_and_invalid_findings_are_unprocessed(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    other = SAMPLES["securityhub-pcidss-cloudtrail1-failed.json"]
    missing = {"Id": "does-not-exist", "ProductArn": target["ProductArn"]}
    response = client.batch_update_findings(
        FindingIdentifiers=[ident(target), missing, ident(other), ident(other)],
        Workflow={"Status": "RESOLVED"},
    )
    assert response["ProcessedFindings"] == [ident(target)]
    errors = {
        (u["FindingIdentifier"]["Id"], u["ErrorCode"], u["ErrorMessage"]) for u in response["UnprocessedFindings"]
    }
    assert errors == {
        ("does-not-exist", "FindingNotFound", "Finding Not Found"),
        (other["Id"], "DuplicatedFindingIdentifier", "Finding Identifier is duplicated"),
    }
    too_long = client.batch_update_findings(
        FindingIdentifiers=[ident(other)], Note={"Text": "x" * 513, "UpdatedBy": "liver"}
    )
    assert too_long["UnprocessedFindings"][0]["ErrorCode"] == "InvalidInput"
    assert "Note" not in loaded.finding(other["Id"])


def test_unprocessed_hook_forces_failures(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    loaded.unprocessed = lambda identifier: (
        ("ConcurrentUpdateError", "Concurrent finding updates detected") if identifier["Id"] == target["Id"] else None
    )
    response = client.batch_update_findings(FindingIdentifiers=[ident(target)], Workflow={"Status": "NOTIFIED"})
    assert response["ProcessedFindings"] == []
    assert response["UnprocessedFindings"][0]["ErrorCode"] == "ConcurrentUpdateError"
    assert loaded.finding(target["Id"])["Workflow"]["Status"] == "NEW"


# --------------------------------------------------------------------------- provider updates


def control(compliance: str = "FAILED", record: str = "ACTIVE", at: str = "2023-01-01T00:00:00Z") -> dict[str, Any]:
    """A real FSBP control finding with the fields the transitions look at replaced."""
    finding = sample("securityhub-fsbp-cloudtrail2-failed.json")
    finding["Compliance"]["Status"] = compliance
    finding["RecordState"] = record
    finding["UpdatedAt"] = at
    del finding["Workflow"]
    return finding


def config_finding(compliance: str, at: str) -> dict[str, Any]:
    finding = sample("config-s3-bucket-public-access-noncompliant.json")
    finding["Compliance"]["Status"] = compliance
    finding["UpdatedAt"] = at
    return finding


def set_workflow(client: Any, finding: dict[str, Any], status: str) -> None:
    response = client.batch_update_findings(FindingIdentifiers=[ident(finding)], Workflow={"Status": status})
    assert response["ProcessedFindings"] == [ident(finding)]


def workflow(fake: FakeSecurityHub, finding: dict[str, Any]) -> str:
    return str(fake.finding(finding["Id"])["Workflow"]["Status"])


def test_new_finding_starts_new(fake: FakeSecurityHub, client: Any) -> None:
    response = client.batch_import_findings(Findings=[control()])
    assert (response["SuccessCount"], response["FailedCount"]) == (1, 0)
    assert workflow(fake, control()) == "NEW"


@pytest.mark.parametrize("status", ["NOTIFIED", "RESOLVED"])
def test_archived_to_active_resets_to_new(fake: FakeSecurityHub, client: Any, status: str) -> None:
    fake.import_findings([config_finding("FAILED", "2023-01-01T00:00:00Z")])
    archived = config_finding("FAILED", "2023-01-02T00:00:00Z")
    archived["RecordState"] = "ARCHIVED"
    fake.import_findings([archived])
    set_workflow(client, archived, status)
    fake.import_findings([config_finding("FAILED", "2023-01-03T00:00:00Z")])
    assert workflow(fake, archived) == "NEW"


@pytest.mark.parametrize("status", ["NOTIFIED", "RESOLVED"])
@pytest.mark.parametrize("regressed", ["FAILED", "WARNING", "NOT_AVAILABLE"])
def test_compliance_leaving_passed_resets_to_new(
    fake: FakeSecurityHub, client: Any, status: str, regressed: str
) -> None:
    fake.import_findings([config_finding("PASSED", "2023-01-01T00:00:00Z")])
    finding = config_finding(regressed, "2023-01-02T00:00:00Z")
    set_workflow(client, finding, status)
    # Over the wire this time: BatchImportFindings from the provider.
    client.batch_import_findings(Findings=[finding])
    assert workflow(fake, finding) == "NEW"


@pytest.mark.parametrize("trigger", ["reactivated", "regressed", "passed"])
def test_suppressed_never_changes_automatically(fake: FakeSecurityHub, client: Any, trigger: str) -> None:
    start = control(
        "FAILED" if trigger == "passed" else "PASSED",
        "ARCHIVED" if trigger == "reactivated" else "ACTIVE",
    )
    fake.import_findings([start])
    set_workflow(client, start, "SUPPRESSED")
    update = control(
        {"reactivated": "PASSED", "regressed": "FAILED", "passed": "PASSED"}[trigger],
        "ACTIVE",
        "2023-01-02T00:00:00Z",
    )
    fake.import_findings([update])
    assert workflow(fake, update) == "SUPPRESSED"


def test_control_finding_passing_becomes_resolved(fake: FakeSecurityHub, client: Any) -> None:
    fake.import_findings([control("FAILED")])
    set_workflow(client, control(), "NOTIFIED")
    fake.import_findings([control("PASSED", at="2023-01-02T00:00:00Z")])
    assert workflow(fake, control()) == "RESOLVED"
    # ...and failing again reopens it.
    fake.import_findings([control("FAILED", at="2023-01-03T00:00:00Z")])
    assert workflow(fake, control()) == "NEW"


def test_non_control_finding_passing_keeps_its_workflow(fake: FakeSecurityHub, client: Any) -> None:
    fake.import_findings([config_finding("FAILED", "2023-01-01T00:00:00Z")])
    set_workflow(client, config_finding("FAILED", "x"), "NOTIFIED")
    fake.import_findings([config_finding("PASSED", "2023-01-02T00:00:00Z")])
    assert workflow(fake, config_finding("PASSED", "x")) == "NOTIFIED"


def test_new_stays_new_when_reactivated(fake: FakeSecurityHub) -> None:
    fake.import_findings([control(record="ARCHIVED")])
    fake.import_findings([control(at="2023-01-02T00:00:00Z")])
    assert workflow(fake, control()) == "NEW"


def test_provider_cannot_overwrite_customer_fields(fake: FakeSecurityHub, client: Any) -> None:
    fake.import_findings([control()])
    client.batch_update_findings(
        FindingIdentifiers=[ident(control())],
        Note={"Text": "ours", "UpdatedBy": "liver"},
        UserDefinedFields={"liver/issue": "1"},
        VerificationState="TRUE_POSITIVE",
        Workflow={"Status": "NOTIFIED"},
        Severity={"Label": "LOW"},
    )
    update = control(at="2023-01-02T00:00:00Z")
    update["Title"] = "New title from the provider"
    update["Note"] = {"Text": "theirs", "UpdatedBy": "them", "UpdatedAt": "2023-01-02T00:00:00Z"}
    update["UserDefinedFields"] = {"provider": "x"}
    update["VerificationState"] = "FALSE_POSITIVE"
    update["Workflow"] = {"Status": "SUPPRESSED"}
    update["FindingProviderFields"]["Severity"] = {"Label": "CRITICAL", "Original": "CRITICAL"}
    client.batch_import_findings(Findings=[update])
    stored = fake.finding(update["Id"])
    assert stored["Title"] == "New title from the provider"
    assert stored["UpdatedAt"] == "2023-01-02T00:00:00Z"
    assert stored["Note"]["Text"] == "ours"
    assert stored["UserDefinedFields"] == {"liver/issue": "1"}
    assert stored["VerificationState"] == "TRUE_POSITIVE"
    assert stored["Workflow"] == {"Status": "NOTIFIED"}
    # Severity was set by the customer, so the provider only updates its own copy.
    assert stored["Severity"]["Label"] == "LOW"
    assert stored["FindingProviderFields"]["Severity"]["Label"] == "CRITICAL"


def test_provider_severity_flows_while_customer_left_it_alone(fake: FakeSecurityHub) -> None:
    fake.import_findings([control()])
    update = control(at="2023-01-02T00:00:00Z")
    update["FindingProviderFields"]["Severity"] = {"Label": "HIGH", "Original": "HIGH"}
    fake.import_findings([update])
    assert fake.finding(update["Id"])["Severity"]["Label"] == "HIGH"


def test_older_provider_update_is_ignored(fake: FakeSecurityHub) -> None:
    fake.import_findings([control(at="2023-01-02T00:00:00Z")])
    stale = control("PASSED", at="2023-01-01T00:00:00Z")
    fake.import_findings([stale])
    stored = fake.finding(stale["Id"])
    assert stored["Compliance"]["Status"] == "FAILED"
    assert stored["UpdatedAt"] == "2023-01-02T00:00:00Z"


def test_update_with_the_same_updated_at_applies(fake: FakeSecurityHub) -> None:
    # The guide only says an *earlier* UpdatedAt is ignored.
    fake.import_findings([control()])
    fake.import_findings([control("PASSED")])
    assert fake.finding(control()["Id"])["Compliance"]["Status"] == "PASSED"


def test_delete_simulates_retention(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    loaded.delete(target["Id"])
    with pytest.raises(KeyError):
        loaded.finding(target["Id"])
    response = client.batch_update_findings(FindingIdentifiers=[ident(target)], Workflow={"Status": "RESOLVED"})
    assert response["UnprocessedFindings"][0]["ErrorCode"] == "FindingNotFound"


# --------------------------------------------------------------------------- faults, wire


def test_throttling_is_retried_then_raised(loaded: FakeSecurityHub) -> None:
    throttled = make_client(config=Config(retries={"max_attempts": 1}))
    loaded.attach(throttled)
    loaded.fault = lambda operation, params: "ThrottlingException"
    with pytest.raises(ClientError) as exc:
        throttled.get_findings()
    assert error_code(exc) == "ThrottlingException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    # botocore's retry handler recognised the throttle and tried once more.
    assert exc.value.response["ResponseMetadata"]["RetryAttempts"] == 1
    assert [name for name, _ in loaded.calls] == ["GetFindings", "GetFindings"]


def test_a_throttle_then_success_is_transparent(loaded: FakeSecurityHub) -> None:
    retrying = make_client(config=Config(retries={"max_attempts": 3, "mode": "standard"}))
    loaded.attach(retrying)
    failures = iter(["ThrottlingException"])
    loaded.fault = lambda operation, params: next(failures, None)
    response = retrying.get_findings(MaxResults=1)
    assert len(response["Findings"]) == 1
    assert response["ResponseMetadata"]["RetryAttempts"] == 1


@pytest.mark.parametrize(
    ("code", "status"),
    [("LimitExceededException", 429), ("InternalException", 500), ("InvalidAccessException", 401)],
)
def test_fault_codes_get_their_modeled_status(loaded: FakeSecurityHub, code: str, status: int) -> None:
    loaded.fault = lambda operation, params: code if operation == "BatchUpdateFindings" else None
    status_got, headers, body = loaded.handle("PATCH", "/findings/batchupdate", b"{}")
    assert status_got == status
    assert headers["x-amzn-ErrorType"] == code
    assert json.loads(body)["__type"] == code


def test_unknown_and_unemulated_operations_fail(loaded: FakeSecurityHub, client: Any) -> None:
    status, headers, _ = loaded.handle("POST", "/no/such/thing", b"{}")
    assert status == 404
    assert headers["x-amzn-ErrorType"] == "UnknownOperationException"
    with pytest.raises(FakeNotImplementedError, match="DescribeHub"):
        client.describe_hub()


def test_responses_are_validated_against_the_model(loaded: FakeSecurityHub, client: Any) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    loaded._lookup(target["Id"], None).finding["Severity"]["Label"] = "SEVERE"
    with pytest.raises(ContractViolation, match="SEVERE"):
        client.get_findings()


def test_requests_do_not_leak_to_moto(loaded: FakeSecurityHub, client: Any) -> None:
    client.batch_import_findings(Findings=[control()])
    plain = make_client()  # answered by moto's own securityhub backend
    assert plain.get_findings()["Findings"] == []


def test_serve_over_loopback(loaded: FakeSecurityHub, monkeypatch: pytest.MonkeyPatch) -> None:
    target = SAMPLES["securityhub-fsbp-cloudtrail2-failed.json"]
    with loaded.serve(latency=0.001) as url:
        assert url.startswith("http://127.0.0.1:")
        remote = make_client(endpoint_url=url)
        response = remote.get_findings(Filters={"Id": [{"Value": target["Id"], "Comparison": "EQUALS"}]})
        assert ids_of(response) == {target["Id"]}
        updated = remote.batch_update_findings(FindingIdentifiers=[ident(target)], Workflow={"Status": "NOTIFIED"})
        assert updated["ProcessedFindings"] == [ident(target)]
        monkeypatch.setenv("AWS_ENDPOINT_URL_SECURITYHUB", url)
        from_env = make_client()
        assert len(from_env.get_findings(MaxResults=5)["Findings"]) == 5
        with pytest.raises(ClientError) as exc:
            from_env.describe_hub()
        assert error_code(exc) == "NotImplementedByFake"
        request = urllib.request.Request(f"{url}/nowhere", data=b"{}", method="POST")
        with pytest.raises(urllib.error.HTTPError) as http_error:
            urllib.request.urlopen(request, timeout=5)
        assert http_error.value.code == 404
    assert loaded.finding(target["Id"])["Workflow"]["Status"] == "NOTIFIED"
    assert len(loaded.server_errors) == 1
    assert isinstance(loaded.server_errors[0], FakeNotImplementedError)
