"""Generate realistic ASFF control findings (the demo's extra data; tests use them too)."""

from __future__ import annotations

import csv
import hashlib
from functools import cache
from pathlib import Path
from typing import Any


@cache
def control_catalogue() -> dict[str, dict[str, str]]:
    from liver_gh.render.explanations import builtin_dir

    path = builtin_dir() / "_catalogue" / "controls.csv"
    with Path(path).open(encoding="utf-8") as f:
        return {row["control_id"]: row for row in csv.DictReader(f)}


def control_finding(
    control_id: str = "S3.2",
    *,
    account: str = "111111111111",
    region: str = "us-east-1",
    resource_type: str = "AwsS3Bucket",
    resource_id: str | None = None,
    severity: str | None = None,
    compliance: str = "FAILED",
    workflow: str = "NEW",
    record_state: str = "ACTIVE",
    updated_at: str = "2026-11-20T10:00:00.000Z",
    first_seen: str = "2026-11-01T10:00:00.000Z",
    tags: dict[str, str] | None = None,
    title: str | None = None,
    key: str = "",
) -> dict[str, Any]:
    """A consolidated control finding like Security Hub produces today."""
    row = control_catalogue().get(control_id, {})
    resource_id = resource_id or f"arn:aws:s3:::example-{account}-{key or 'bucket'}"
    digest = hashlib.sha256(f"{control_id}|{account}|{region}|{resource_id}".encode()).hexdigest()
    uid = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    sev = severity or row.get("severity", "HIGH")
    resource: dict[str, Any] = {
        "Type": resource_type,
        "Id": resource_id,
        "Partition": "aws",
        "Region": region,
    }
    if tags:
        resource["Tags"] = dict(tags)
    return {
        "SchemaVersion": "2018-10-08",
        "Id": f"arn:aws:securityhub:{region}:{account}:security-control/{control_id}/finding/{uid}",
        "ProductArn": f"arn:aws:securityhub:{region}::product/aws/securityhub",
        "ProductName": "Security Hub",
        "CompanyName": "AWS",
        "Region": region,
        "GeneratorId": f"security-control/{control_id}",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards"],
        "FirstObservedAt": first_seen,
        "LastObservedAt": updated_at,
        "CreatedAt": first_seen,
        "UpdatedAt": updated_at,
        "Severity": {"Label": sev, "Original": sev},
        "Title": title or row.get("title", f"{control_id} control"),
        "Description": row.get("description", "A control failed."),
        "Remediation": {
            "Recommendation": {
                "Text": "For information on how to correct this issue, consult the AWS Security Hub controls documentation.",
                "Url": f"https://docs.aws.amazon.com/console/securityhub/{control_id}/remediation",
            }
        },
        "ProductFields": {"aws/securityhub/ProductName": "Security Hub"},
        "Resources": [resource],
        "Compliance": {
            "Status": compliance,
            "SecurityControlId": control_id,
            "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}],
        },
        "WorkflowState": "NEW",
        "Workflow": {"Status": workflow},
        "RecordState": record_state,
    }
