"""Parse AWS Security Finding Format (ASFF) dicts into ``Finding`` objects.

This is the only module that reads raw ASFF. It accepts every shape Security Hub has
produced: consolidated control findings, the older standard-specific ones, and findings
from integrated products that carry no control at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from liver_gh.errors import FindingError
from liver_gh.models import (
    AccountId,
    Compliance,
    Finding,
    FindingId,
    Note,
    RecordState,
    Resource,
    Severity,
    Vulnerability,
    VulnerablePackage,
    Workflow,
)

# Product ARNs look like arn:aws:securityhub:us-east-1::product/aws/guardduty.
_PRODUCT_NAMES = {
    "securityhub": "Security Hub",
    "guardduty": "GuardDuty",
    "inspector": "Inspector",
    "access-analyzer": "IAM Access Analyzer",
    "macie": "Macie",
    "config": "Config",
    "health": "Health",
    "firewall-manager": "Firewall Manager",
    "ssm-patch-manager": "Systems Manager Patch Manager",
}
_NORMALIZED_THRESHOLDS = ((90, Severity.CRITICAL), (70, Severity.HIGH), (40, Severity.MEDIUM), (1, Severity.LOW))


def parse_time(value: object) -> datetime | None:
    """Parse an ASFF timestamp (ISO 8601, 'Z' or offset); naive times are taken as UTC."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _str(raw: Mapping[str, Any], key: str, default: str = "") -> str:
    value = raw.get(key, default)
    return value if isinstance(value, str) else default


def _dict(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


def product_name(raw: Mapping[str, Any]) -> str:
    name = _str(raw, "ProductName")
    if name:
        return name
    arn = _str(raw, "ProductArn")
    m = re.search(r":product/[^/]+/([^/]+)$", arn)
    if m:
        return _PRODUCT_NAMES.get(m.group(1), m.group(1))
    return arn or "Unknown product"


def control_id(raw: Mapping[str, Any]) -> str | None:
    """The control id, preferring the consolidated (cross-standard) one.

    Consolidated findings carry Compliance.SecurityControlId and a GeneratorId of
    ``security-control/<id>``; older standard-specific findings put it in ProductFields
    (ControlId, or RuleId for CIS 1.2.0). Findings of other products have none.
    """
    compliance = _dict(raw, "Compliance")
    sc = compliance.get("SecurityControlId")
    if isinstance(sc, str) and sc:
        return sc
    generator = _str(raw, "GeneratorId")
    if generator.startswith("security-control/"):
        return generator.removeprefix("security-control/")
    fields = _dict(raw, "ProductFields")
    if product_name(raw) in ("Security Hub",) or "StandardsArn" in fields or "StandardsGuideArn" in fields:
        cid = fields.get("ControlId")
        if isinstance(cid, str) and cid:
            return cid
        rule = fields.get("RuleId")
        if isinstance(rule, str) and rule:
            return f"CIS.{rule}"
    return None


def severity(raw: Mapping[str, Any]) -> Severity:
    sev = _dict(raw, "Severity")
    label = sev.get("Label")
    if isinstance(label, str) and label:
        try:
            return Severity.parse(label)
        except ValueError as e:
            raise FindingError(f"Severity.Label: {e}") from None
    normalized = sev.get("Normalized")
    try:
        score = int(float(normalized)) if normalized is not None else None
    except (TypeError, ValueError):
        score = None
    if score is None:
        raise FindingError("Severity has neither Label nor Normalized; the finding cannot be ranked.")
    for threshold, level in _NORMALIZED_THRESHOLDS:
        if score >= threshold:
            return level
    return Severity.INFORMATIONAL


def _resources(raw: Mapping[str, Any], default_region: str) -> tuple[Resource, ...]:
    items = raw.get("Resources")
    if not isinstance(items, list) or not items:
        raise FindingError("Resources is missing or empty; ASFF requires at least one resource.")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("Id"), str):
            raise FindingError(f"Resources[{i}] has no Id.")
        tags_raw = item.get("Tags")
        tags = tuple((str(k), str(v)) for k, v in sorted(tags_raw.items())) if isinstance(tags_raw, Mapping) else ()
        out.append(
            Resource(
                type=_str(item, "Type", "Other"),
                id=item["Id"],
                region=_str(item, "Region", default_region),
                partition=_str(item, "Partition", "aws"),
                tags=tags,
            )
        )
    return tuple(out)


def _vulnerabilities(raw: Mapping[str, Any]) -> tuple[Vulnerability, ...]:
    items = raw.get("Vulnerabilities")
    if not isinstance(items, list):
        return ()
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        packages = tuple(
            VulnerablePackage(
                name=_str(p, "Name"),
                version=_str(p, "Version"),
                fixed_in=_str(p, "FixedInVersion") or None,
                remediation=_str(p, "Remediation") or None,
                package_manager=_str(p, "PackageManager") or None,
            )
            for p in item.get("VulnerablePackages") or []
            if isinstance(p, Mapping)
        )
        related = item.get("RelatedVulnerabilities")
        out.append(
            Vulnerability(
                id=_str(item, "Id"),
                packages=packages,
                fix_available=_str(item, "FixAvailable") or None,
                exploit_available=_str(item, "ExploitAvailable") or None,
                vendor_url=_str(_dict(item, "Vendor"), "Url") or None,
                related=tuple(r for r in related if isinstance(r, str)) if isinstance(related, list) else (),
            )
        )
    return tuple(out)


def _compliance(value: str) -> Compliance | None:
    try:
        return Compliance(value) if value else None
    except ValueError:
        return Compliance.WARNING  # an unknown status is treated as still needing attention


def _pairs(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        return ()
    return tuple((str(k), str(v)) for k, v in sorted(value.items()))


def parse_finding(raw: object) -> Finding:
    """Parse one ASFF finding; raise ``FindingError`` naming what is wrong."""
    if not isinstance(raw, Mapping):
        raise FindingError("a finding must be a JSON object.")
    fid = raw.get("Id")
    if not isinstance(fid, str) or not fid:
        raise FindingError("Id is missing.")
    try:
        account = _str(raw, "AwsAccountId")
        if not account:
            raise FindingError("AwsAccountId is missing.")
        first_resource_region = next(
            (
                r["Region"]
                for r in raw.get("Resources") or []
                if isinstance(r, Mapping) and isinstance(r.get("Region"), str) and r["Region"]
            ),
            "",
        )
        region = _str(raw, "Region") or first_resource_region or _region_from_arn(fid)
        updated = parse_time(raw.get("UpdatedAt"))
        if updated is None:
            raise FindingError("UpdatedAt is missing or not an ISO 8601 time.")
        compliance = _dict(raw, "Compliance")
        workflow_raw = _str(_dict(raw, "Workflow"), "Status") or _str(raw, "WorkflowState") or "NEW"
        try:
            workflow = Workflow(workflow_raw)
        except ValueError:
            # The deprecated WorkflowState had values like ASSIGNED/IN_PROGRESS/DEFERRED.
            workflow = Workflow.NEW
        record = _str(raw, "RecordState", "ACTIVE")
        note_raw = _dict(raw, "Note")
        note = (
            Note(
                text=_str(note_raw, "Text"),
                updated_by=_str(note_raw, "UpdatedBy"),
                updated_at=parse_time(note_raw.get("UpdatedAt")),
            )
            if note_raw
            else None
        )
        recommendation = _dict(_dict(raw, "Remediation"), "Recommendation")
        standards = tuple(
            _str(s, "StandardsId")
            for s in compliance.get("AssociatedStandards") or []
            if isinstance(s, Mapping) and _str(s, "StandardsId")
        )
        if not standards:
            arn = _str(_dict(raw, "ProductFields"), "StandardsArn")
            standards = (arn,) if arn else ()
        return Finding(
            id=FindingId(fid),
            product_arn=_str(raw, "ProductArn"),
            product_name=product_name(raw),
            generator_id=_str(raw, "GeneratorId"),
            control_id=control_id(raw),
            title=_str(raw, "Title") or "(untitled finding)",
            description=_str(raw, "Description"),
            severity=severity(raw),
            account=AccountId(account),
            region=region,
            resources=_resources(raw, region),
            compliance=_compliance(_str(compliance, "Status")),
            record_state=RecordState(record) if record in ("ACTIVE", "ARCHIVED") else RecordState.ACTIVE,
            workflow=workflow,
            remediation_text=_str(recommendation, "Text"),
            remediation_url=_str(recommendation, "Url"),
            first_seen=parse_time(raw.get("FirstObservedAt")) or parse_time(raw.get("CreatedAt")),
            updated_at=updated,
            types=tuple(t for t in raw.get("Types") or [] if isinstance(t, str)),
            note=note,
            user_defined=_pairs(raw.get("UserDefinedFields")),
            standards=standards,
            product_fields=_pairs(raw.get("ProductFields")),
            vulnerabilities=_vulnerabilities(raw),
        )
    except FindingError as e:
        raise FindingError(f"finding {fid}: {e}") from None


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _region_from_arn(arn: str) -> str:
    # Some real ARNs have an empty partition (arn:aws::guardduty:us-east-1:...), so the
    # Region is found by its shape, not by position.
    return next((p for p in arn.split(":")[2:6] if _REGION.match(p)), "us-east-1")
