"""The variables an explanation template sees, each escaped for where it may be used.

``resource.*``, ``account``, ``region`` and ``partition`` are *code-safe*: they are the
finding's own value when it looks like an AWS identifier, otherwise an obvious
placeholder, so they can go straight into shell, Terraform and CloudFormation snippets.
``finding.*`` values are *prose-safe*: escaped Markdown for sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liver_gh.markdown import code as code_span
from liver_gh.markdown import code_value
from liver_gh.markdown import text as md_inline
from liver_gh.models import Finding, Resource
from liver_gh.render import catalogue


@dataclass(frozen=True)
class ControlVars:
    """What the controls catalogue says of the finding's control (empty when it is not in it)."""

    title: str
    description: str
    config_rule: str  # code-safe
    schedule: str


@dataclass(frozen=True)
class ResourceVars:
    id: str  # the resource id as Security Hub reports it (usually an ARN)
    arn: str  # the ARN, or a placeholder when the id is not an ARN
    name: str  # the short name: bucket name, instance id, function name, ...
    type: str  # ASFF resource type, e.g. AwsS3Bucket
    region: str
    account: str
    partition: str
    tag_summary: str  # prose-safe "key=value, ..." of the resource's tags
    tf_name: str  # a Terraform resource label made from the name, e.g. acme_exports
    cfn_name: str  # a CloudFormation logical id made from the name, e.g. AcmeExports


@dataclass(frozen=True)
class PackageVars:
    name: str
    installed: str
    fixed_in: str
    remediation: str  # prose-safe
    manager: str


@dataclass(frozen=True)
class VulnVars:
    id: str  # code-safe CVE/GHSA id
    fix_available: str
    exploit_available: str
    url: str  # prose-safe URL text
    packages: tuple[PackageVars, ...]
    related: tuple[str, ...]


@dataclass(frozen=True)
class FindingVars:
    id: str  # code span
    title: str
    description: str
    product_name: str
    severity: str
    generator_id: str
    first_seen: str
    updated_at: str
    types: tuple[str, ...]
    type_name: str  # the last part of the first finding type, e.g. UnauthorizedAccess:EC2-SSHBruteForce
    remediation_text: str
    remediation_url: str
    compliance: str
    vulnerabilities: tuple[VulnVars, ...]
    product_fields: dict[str, str]  # prose-safe values, by ProductFields key


def short_name(resource_id: str) -> str:
    """The last meaningful part of an ARN: a bucket, instance, function or key name."""
    if not resource_id.startswith("arn:"):
        return resource_id
    rest = resource_id.split(":", 5)[-1]
    # arn:aws:lambda:r:a:function:name has ':' separators; most others use '/'.
    for sep in ("/", ":"):
        if sep in rest:
            rest = rest.split(sep, 1)[1] if rest.split(sep, 1)[0] in _TYPE_PREFIXES else rest
    return re.split(r"[/:]", rest)[-1] if rest else resource_id


_TYPE_PREFIXES = {
    "function",
    "instance",
    "cluster",
    "db",
    "snapshot",
    "key",
    "trail",
    "repository",
    "domain",
    "security-group",
    "user",
    "role",
    "policy",
    "project",
    "distribution",
    "accesspoint",
    "document",
    "rep",
    "notebook-instance",
    "task-definition",
    "service",
    "cluster-snapshot",
    "volume",
    "launch-template",
    "transit-gateway",
    "topic",
}


def _account_of(resource: Resource, default: str) -> str:
    # Some real ARNs have an empty partition field, which shifts positions: look for the
    # 12-digit part instead of trusting an index.
    return next((p for p in resource.id.split(":") if re.fullmatch(r"\d{12}", p)), default)


def resource_vars(resource: Resource, finding_account: str) -> ResourceVars:
    name = short_name(resource.id)
    arn = resource.id if resource.id.startswith("arn:") else "RESOURCE_ARN"
    return ResourceVars(
        id=code_value(resource.id, "RESOURCE_ID"),
        arn=code_value(arn, "RESOURCE_ARN"),
        name=code_value(name, "RESOURCE_NAME"),
        type=code_value(resource.type, "RESOURCE_TYPE"),
        region=code_value(resource.region, "REGION"),
        account=code_value(_account_of(resource, finding_account), "ACCOUNT_ID"),
        partition=code_value(resource.partition, "aws"),
        tag_summary=md_inline(", ".join(f"{k}={v}" for k, v in resource.tags), 500),
        tf_name=tf_label(name),
        cfn_name=cfn_logical_id(name),
    )


def tf_label(name: str) -> str:
    """A valid Terraform resource label from a resource name (letters, digits, underscores)."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    label = "_".join(words)[:60] or "resource"
    return label if label[0].isalpha() else f"r_{label}"


def cfn_logical_id(name: str) -> str:
    """A valid CloudFormation logical id from a resource name (alphanumeric, at most 255)."""
    words = re.findall(r"[A-Za-z0-9]+", name)
    logical = "".join(w[:1].upper() + w[1:] for w in words)[:60] or "Resource"
    return logical if logical[0].isalpha() else f"R{logical}"


def _vuln_vars(finding: Finding) -> tuple[VulnVars, ...]:
    return tuple(
        VulnVars(
            id=code_value(v.id, "VULNERABILITY_ID"),
            fix_available=md_inline(v.fix_available or "unknown"),
            exploit_available=md_inline(v.exploit_available or "unknown"),
            url=md_inline(v.vendor_url or ""),
            packages=tuple(
                PackageVars(
                    name=code_value(p.name, "PACKAGE"),
                    installed=code_value(p.version, "INSTALLED_VERSION"),
                    fixed_in=code_value(p.fixed_in or "", "no fixed version published"),
                    remediation=md_inline(p.remediation or ""),
                    manager=md_inline(p.package_manager or ""),
                )
                for p in v.packages
            ),
            related=tuple(code_value(r, "ID") for r in v.related),
        )
        for v in finding.vulnerabilities
    )


def explanation_context(finding: Finding, root: Path | None = None) -> dict[str, Any]:
    """Build the template variables for ``finding`` (see the module docstring)."""
    resources = tuple(resource_vars(r, finding.account) for r in finding.resources)
    first_type = finding.types[0] if finding.types else ""
    fvars = FindingVars(
        id=code_span(finding.id),
        title=md_inline(finding.title, 300),
        description=md_inline(finding.description, 2000),
        product_name=md_inline(finding.product_name),
        severity=finding.severity.name,
        generator_id=md_inline(finding.generator_id, 300),
        first_seen=finding.first_seen.strftime("%Y-%m-%d %H:%M UTC") if finding.first_seen else "unknown",
        updated_at=finding.updated_at.strftime("%Y-%m-%d %H:%M UTC"),
        types=tuple(md_inline(t, 200) for t in finding.types),
        type_name=md_inline(first_type.rsplit("/", 1)[-1], 200),
        remediation_text=md_inline(finding.remediation_text, 2000),
        remediation_url=md_inline(finding.remediation_url, 500),
        compliance=finding.compliance.value if finding.compliance else "",
        vulnerabilities=_vuln_vars(finding),
        product_fields={k: md_inline(v, 300) for k, v in finding.product_fields},
    )
    control = catalogue.load(root).get((finding.control_id or "").lower()) if root is not None else None
    return {
        "control": ControlVars(
            title=md_inline(control.title, 300) if control else "",
            description=md_inline(control.description, 2000) if control else "",
            config_rule=code_value(control.config_rule, "") if control and control.config_rule else "",
            schedule=control.schedule if control else "",
        ),
        "control_id": code_value(finding.control_id, "CONTROL_ID") if finding.control_id else "",
        "account": code_value(finding.account, "ACCOUNT_ID"),
        "region": code_value(finding.region, "REGION"),
        "partition": resources[0].partition,
        "resource": resources[0],
        "resources": resources,
        "finding": fvars,
    }
