"""Quality checks for every explanation template: control templates and product fallbacks.

Templates are discovered the way ``Library.load()`` finds them (every ``*.md`` under the
built-in folder except READMEs), but each file is parsed on its own, so one broken template
fails its own tests instead of hiding all the others. New templates are picked up on the
next run without touching this file.

Each template is rendered with StrictUndefined against findings that look like the real
thing (``tests.factories.control_finding`` for controls; the real ASFF samples and generated
variants for product fallbacks), and the rendered snippets are checked:

* ```bash: every command parses with shlex, starts with ``aws``, and names a service,
  operation and flags that exist in botocore's service models (with the few AWS CLI renames
  and CLI-only commands and flags listed below, each checked against the AWS CLI);
* ```hcl: parses with python-hcl2;
* ```yaml with ``AWSTemplateFormatVersion``: passes cfn-lint (one run over all templates).
"""

from __future__ import annotations

import copy
import fnmatch
import json
import re
import shlex
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.exceptions
import botocore.session
import hcl2
import pytest
import yaml
from botocore import xform_name

from liver_gh.adapters.asff import parse_finding
from liver_gh.render import catalogue
from liver_gh.render.context import explanation_context
from liver_gh.render.explanations import (
    FIX_SUBSECTIONS,
    REQUIRED_SECTIONS,
    Explanation,
    Library,
    builtin_dir,
    parse_template,
    split_sections,
)
from tests.factories import control_finding, real_samples

ACCOUNT = "111111111111"
REGION = "us-east-1"
MAX_RENDERED_CHARS = 20_000
SCHEDULES = {"change-triggered", "periodic", "change-triggered and periodic"}
# Every fenced block is checked by language; an unlabelled or other block would escape the checks.
CODE_LANGUAGES = {"bash", "hcl", "yaml", "json", "text"}
PRODUCT_TEMPLATES = {
    "product:guardduty": "GuardDuty",
    "product:inspector": "Inspector",
    "product:access-analyzer": "IAM Access Analyzer",
    "product:macie": "Macie",
    "product:generic": "generic",
}

# A realistic resource id per ASFF resource type, as Security Hub reports it.
RESOURCE_IDS: dict[str, str] = {
    "AwsAccount": f"AWS::::Account:{ACCOUNT}",
    "AwsCertificateManagerCertificate": (
        f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/12345678-90ab-cdef-1234-567890abcdef"
    ),
    "AwsAutoScalingAutoScalingGroup": (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:autoScalingGroup:"
        "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d:autoScalingGroupName/example-asg"
    ),
    "AwsAutoScalingLaunchConfiguration": (
        f"arn:aws:autoscaling:{REGION}:{ACCOUNT}:launchConfiguration:"
        "0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d:launchConfigurationName/example-lc"
    ),
    "AwsCloudFrontDistribution": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE1ABCDE",
    "AwsCloudTrailTrail": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/example-trail",
    "AwsCodeBuildProject": f"arn:aws:codebuild:{REGION}:{ACCOUNT}:project/example-project",
    "AwsDmsReplicationInstance": f"arn:aws:dms:{REGION}:{ACCOUNT}:rep:EXAMPLEREPLICATIONINSTANCE1",
    "AwsDocumentDbClusterSnapshot": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:example-docdb-snapshot",
    "AwsRdsDbClusterSnapshot": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:example-cluster-snapshot",
    "AwsRdsDbSnapshot": f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:example-db-snapshot",
    "AwsRdsDbInstance": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:example-db",
    "AwsRdsDbCluster": f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:example-db-cluster",
    "AwsEc2Instance": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0",
    "AwsEc2LaunchTemplate": f"arn:aws:ec2:{REGION}:{ACCOUNT}:launch-template/lt-0123456789abcdef0",
    "AwsEc2SecurityGroup": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0123456789abcdef0",
    "AwsEc2Snapshot": f"arn:aws:ec2:{REGION}::snapshot/snap-0123456789abcdef0",
    "AwsEc2TransitGateway": f"arn:aws:ec2:{REGION}:{ACCOUNT}:transit-gateway/tgw-0123456789abcdef0",
    "AwsEc2Volume": f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/vol-0123456789abcdef0",
    "AwsEc2Vpc": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0123456789abcdef0",
    "AwsEcrRepository": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/example-repo",
    "AwsEcsCluster": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/example-cluster",
    "AwsEcsService": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/example-cluster/example-service",
    "AwsEcsTaskDefinition": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/example-task:3",
    "AwsEksCluster": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/example-cluster",
    "AwsElastiCacheCacheCluster": f"arn:aws:elasticache:{REGION}:{ACCOUNT}:cluster:example-cache",
    "AwsElastiCacheReplicationGroup": f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:example-rg",
    "AwsElasticBeanstalkEnvironment": (
        f"arn:aws:elasticbeanstalk:{REGION}:{ACCOUNT}:environment/example-app/example-env"
    ),
    "AwsElasticsearchDomain": f"arn:aws:es:{REGION}:{ACCOUNT}:domain/example-domain",
    "AwsOpenSearchServiceDomain": f"arn:aws:es:{REGION}:{ACCOUNT}:domain/example-domain",
    "AwsEmrCluster": f"arn:aws:elasticmapreduce:{REGION}:{ACCOUNT}:cluster/j-EXAMPLE12345AB",
    "AwsGuardDutyDetector": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/12abc34d567e8fa901bc2d34e56789f0",
    "AwsIamAccessKey": "AWS::IAM::AccessKey:AKIAIOSFODNN7EXAMPLE",
    "AwsIamPolicy": f"arn:aws:iam::{ACCOUNT}:policy/example-policy",
    "AwsIamRole": f"arn:aws:iam::{ACCOUNT}:role/example-role",
    "AwsIamUser": f"arn:aws:iam::{ACCOUNT}:user/example-user",
    "AwsKmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "AwsLambdaFunction": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:example-function",
    "AwsRedshiftCluster": f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:example-cluster",
    "AwsS3AccessPoint": f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/example-access-point",
    "AwsS3Bucket": f"arn:aws:s3:::example-bucket-{ACCOUNT}",
    "AwsS3Object": f"arn:aws:s3:::example-bucket-{ACCOUNT}/reports/2026/export.csv",
    "AwsSageMakerNotebookInstance": (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:notebook-instance/example-notebook"),
    "AwsSnsTopic": f"arn:aws:sns:{REGION}:{ACCOUNT}:example-topic",
    "AwsSqsQueue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:example-queue",
    "AwsSecretsManagerSecret": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:example-secret-AbCdEf",
    "AwsSsmDocument": f"arn:aws:ssm:{REGION}:{ACCOUNT}:document/example-document",
    "AwsSsmPatchCompliance": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0123456789abcdef0",
}


def resource_id_for(resource_type: str) -> str:
    return RESOURCE_IDS.get(resource_type, f"arn:aws:example:{REGION}:{ACCOUNT}:resource/example-resource")


# --------------------------------------------------------------------------- discovery


def _template_paths() -> list[Path]:
    root = builtin_dir()
    return sorted(
        p for p in root.rglob("*.md") if p.name.upper() != "README.MD" and p.relative_to(root).parts[0] != "_partials"
    )


@cache
def parsed(path: Path) -> tuple[Explanation | None, tuple[str, ...]]:
    item, problems = parse_template(path, path.read_text(encoding="utf-8"))
    return item, tuple(problems)


def _rel(path: Path) -> str:
    return path.relative_to(builtin_dir()).as_posix()


TEMPLATE_PATHS = _template_paths()
VALID = [e for e in (parsed(p)[0] for p in TEMPLATE_PATHS) if e is not None]
CONTROLS = [e for e in VALID if e.kind == "control"]
PRODUCTS = [e for e in VALID if e.kind == "product"]
LIBRARY = Library.load()
ROOT = builtin_dir()


# --------------------------------------------------------------------------- findings


def _sample_products() -> dict[str, str]:
    return {name: parse_finding(raw).product_name for name, raw in real_samples().items()}


def _with(raw: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    out.update(changes)
    return out


def _resource(resource_type: str, resource_id: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "Type": resource_type,
        "Id": resource_id or resource_id_for(resource_type),
        "Partition": "aws",
        "Region": REGION,
        **extra,
    }


def _guardduty_variants() -> Iterator[tuple[str, dict[str, Any]]]:
    base = real_samples()["guardduty-ec2-ssh-bruteforce-tagged-instance.json"]
    key = _resource("AwsIamAccessKey")
    temp_key = _resource("AwsIamAccessKey", "AWS::IAM::AccessKey:ASIAIOSFODNN7EXAMPLE")
    ec2 = _resource("AwsEc2Instance")
    bucket = _resource("AwsS3Bucket")
    eks = _resource("AwsEksCluster")
    cases = [
        ("recon-iamuser", "TTPs/Discovery/Recon:IAMUser-MaliciousIPCaller", key),
        ("recon-ec2-portprobe", "TTPs/Discovery/Recon:EC2-PortProbeUnprotectedPort", ec2),
        ("cryptocurrency-ec2", "TTPs/Command and Control/CryptoCurrency:EC2-BitcoinTool.B!DNS", ec2),
        ("backdoor-ec2", "TTPs/Command and Control/Backdoor:EC2-C&CActivity.B!DNS", ec2),
        ("backdoor-ec2-old-format", "Software and Configuration Checks/Backdoor:EC2.C&CActivity.B", ec2),
        ("trojan-ec2", "TTPs/Command and Control/Trojan:EC2-DNSDataExfiltration", ec2),
        ("exfiltration-s3", "Effects/Data Exfiltration/Exfiltration:S3-AnomalousBehavior", bucket),
        ("root-credential", "Unusual Behaviors/User/Policy:IAMUser-RootCredentialUsage", key),
        ("pentest-iamuser", "TTPs/Discovery/PenTest:IAMUser-KaliLinux", key),
        ("persistence-temp-key", "TTPs/Persistence/Persistence:IAMUser-AnomalousBehavior", temp_key),
        ("discovery-s3", "TTPs/Discovery/Discovery:S3-MaliciousIPCaller", bucket),
        ("impact-ec2", "Effects/Resource Consumption/Impact:EC2-WinRMBruteForce", ec2),
        ("credential-access", "TTPs/Credential Access/CredentialAccess:IAMUser-AnomalousBehavior", key),
        ("privesc", "TTPs/Privilege Escalation/PrivilegeEscalation:IAMUser-AnomalousBehavior", key),
        ("stealth", "TTPs/Defense Evasion/Stealth:IAMUser-CloudTrailLoggingDisabled", key),
        (
            "unauthorized-iamuser",
            "TTPs/Initial Access/UnauthorizedAccess:IAMUser-InstanceCredentialExfiltration.OutsideAWS",
            temp_key,
        ),
        ("kubernetes", "TTPs/Execution/Execution:Kubernetes-ExecInKubeSystemPod", eks),
        ("unknown-family", "TTPs/Something New/NewFamily:Lambda-Whatever", _resource("AwsLambdaFunction")),
    ]
    for name, finding_type, resource in cases:
        yield f"guardduty-{name}", _with(base, Types=[finding_type], Resources=[resource])
    yield "guardduty-no-types", _with(base, Types=[])
    yield "guardduty-no-product-fields", _with(base, ProductFields={})


def _inspector_variants() -> Iterator[tuple[str, dict[str, Any]]]:
    samples = real_samples()
    ecr = samples["inspector-ecr-image-package-vuln.json"]
    ec2 = samples["inspector-ec2-cve-kernel-amazonlinux2.json"]
    yield "inspector-v2-no-vulnerabilities", {k: v for k, v in ec2.items() if k != "Vulnerabilities"}
    vulns = copy.deepcopy(ecr["Vulnerabilities"])
    vulns[0]["VulnerablePackages"] = [
        {"Name": "openssl", "Version": "1.1.1n", "PackageManager": "OS"},
        {
            "Name": "requests",
            "Version": "2.25.0",
            "PackageManager": "PYTHONPKG",
            "FixedInVersion": "2.31.0",
            "Remediation": "pip install --upgrade requests",
        },
    ]
    vulns.append({"Id": "CVE-2024-0001", "VulnerablePackages": [], "FixAvailable": "NO"})
    yield "inspector-ecr-no-fix-multiple", _with(ecr, Vulnerabilities=vulns)
    yield (
        "inspector-lambda",
        _with(
            ecr,
            Resources=[_resource("AwsLambdaFunction")],
            Vulnerabilities=[
                {
                    "Id": "CVE-2023-32681",
                    "VulnerablePackages": [
                        {
                            "Name": "requests",
                            "Version": "2.28.0",
                            "PackageManager": "PYTHONPKG",
                            "FixedInVersion": "2.31.0",
                            "Remediation": "Upgrade requests to 2.31.0",
                        }
                    ],
                    "FixAvailable": "YES",
                    "ExploitAvailable": "YES",
                }
            ],
        ),
    )
    yield (
        "inspector-ec2-asg-no-tags",
        _with(
            samples["inspector-ec2-package-vuln-asg-instance.json"],
            Resources=[_resource("AwsEc2Instance")],
        ),
    )
    classic = samples["inspector-classic-network-reachability.json"]
    yield "inspector-classic-no-product-fields", _with(classic, ProductFields={})


def _access_analyzer_variants() -> Iterator[tuple[str, dict[str, Any]]]:
    base = real_samples()["access-analyzer-s3-bucket-cross-account.json"]
    for resource_type in (
        "AwsIamRole",
        "AwsKmsKey",
        "AwsLambdaFunction",
        "AwsSqsQueue",
        "AwsSecretsManagerSecret",
        "AwsSnsTopic",
        "AwsEc2Snapshot",
        "AwsRdsDbSnapshot",
        "AwsEcrRepository",
        "AwsIamUser",
    ):
        yield (
            f"access-analyzer-{resource_type}",
            _with(
                base,
                Title=f"{resource_type} allows public access",
                Description=f"{resource_type} allows public access from AWS *",
                Resources=[_resource(resource_type)],
            ),
        )
    yield (
        "access-analyzer-unused-access",
        _with(
            base,
            Types=["Software and Configuration Checks/AWS Security Best Practices/Unused IAM Role"],
            Title="Unused IAM role",
            Resources=[_resource("AwsIamRole")],
        ),
    )


def _macie_variants() -> Iterator[tuple[str, dict[str, Any]]]:
    base = real_samples()["access-analyzer-s3-bucket-cross-account.json"]
    macie = _with(
        base,
        Id=f"arn:aws:macie2:{REGION}:{ACCOUNT}:finding/0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        ProductArn=f"arn:aws:securityhub:{REGION}::product/aws/macie",
        ProductName="Macie",
        GeneratorId="aws/macie",
        Region=REGION,
        AwsAccountId=ACCOUNT,
        Remediation={},
        ProductFields={"aws/securityhub/ProductName": "Macie"},
    )
    bucket = _resource("AwsS3Bucket")
    obj = _resource("AwsS3Object")
    yield (
        "macie-sensitive-personal",
        _with(
            macie,
            Types=["Sensitive Data Identifications/PII/SensitiveData:S3Object-Personal"],
            Title="The S3 object contains personal information.",
            Description="The object contains personal information such as names and addresses.",
            Resources=[bucket, obj],
        ),
    )
    yield (
        "macie-sensitive-credentials-object-only",
        _with(
            macie,
            Types=["Sensitive Data Identifications/Passwords/SensitiveData:S3Object-Credentials"],
            Title="The S3 object contains credentials data.",
            Resources=[obj],
        ),
    )
    yield (
        "macie-policy-public",
        _with(
            macie,
            Types=["Effects/Data Exposure/Policy:IAMUser-S3BucketPublic"],
            Title="The S3 bucket is publicly accessible.",
            Resources=[bucket],
        ),
    )
    for policy in (
        "S3BlockPublicAccessDisabled",
        "S3BucketEncryptionDisabled",
        "S3BucketSharedExternally",
        "S3BucketReplicatedExternally",
    ):
        yield (
            f"macie-policy-{policy}",
            _with(
                macie,
                Types=[f"Software and Configuration Checks/AWS Security Best Practices/Policy:IAMUser-{policy}"],
                Title=f"Macie policy finding {policy}",
                Resources=[bucket],
            ),
        )
    yield "macie-no-types", _with(macie, Types=[], Resources=[bucket])


def _empty_remediation(raw: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in raw.items() if k != "Remediation"}
    out["Description"] = ""
    return out


def _product_cases(expl: Explanation) -> list[tuple[str, dict[str, Any]]]:
    samples = real_samples()
    products = _sample_products()
    product = expl.key.removeprefix("product:")
    if product == "generic":
        own = list(samples.items())
    else:
        own = [(n, raw) for n, raw in samples.items() if products[n].lower() == product]
    generated: list[tuple[str, dict[str, Any]]] = []
    if product == "guardduty":
        generated = list(_guardduty_variants())
    elif product == "inspector":
        generated = list(_inspector_variants())
    elif product == "access-analyzer":
        generated = list(_access_analyzer_variants())
    elif product == "macie":
        generated = list(_macie_variants())
    elif product == "generic":
        prowler = samples["prowler-rds-minor-version-upgrade-passed.json"]
        generated = [("generic-empty-prowler", _empty_remediation(prowler))]
    cases = own + generated
    if not cases:  # an organisation product nobody has a sample for
        cases = [("generic-control", control_finding("S3.2"))]
    cases += [(f"{name}-empty-remediation", _empty_remediation(raw)) for name, raw in cases[:3]]
    return cases


def _control_cases(expl: Explanation) -> list[tuple[str, dict[str, Any]]]:
    # The first resource type is the main case; every other listed type must render too.
    types = list(expl.resource_types) or ["AwsAccount"]
    cases = [
        (
            "factory" if i == 0 else f"factory-{rtype}",
            control_finding(
                expl.key, account=ACCOUNT, region=REGION, resource_type=rtype, resource_id=resource_id_for(rtype)
            ),
        )
        for i, rtype in enumerate(types)
    ]
    # Real samples of the same control (e.g. IAM.6, EKS.1) must render too.
    for name, raw in real_samples().items():
        if (parse_finding(raw).control_id or "").lower() == expl.key.lower():
            cases.append((name, raw))
    return cases


def _render_cases() -> list[tuple[str, Explanation, dict[str, Any]]]:
    out = []
    for expl in VALID:
        cases = _control_cases(expl) if expl.kind == "control" else _product_cases(expl)
        out += [(f"{_rel(expl.path)}::{name}", expl, raw) for name, raw in cases]
    return out


RENDER_CASES = _render_cases()
CASE_IDS = [c[0] for c in RENDER_CASES]
CASES_BY_ID = {c[0]: c for c in RENDER_CASES}


@cache
def rendered(case_id: str) -> str:
    _, expl, raw = CASES_BY_ID[case_id]
    return LIBRARY.render(expl, explanation_context(parse_finding(raw), ROOT))


# --------------------------------------------------------------------------- markdown helpers

_FENCE = re.compile(r"^([ \t]*)```([\w+-]*)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)


def code_blocks(text: str, lang: str | None = None) -> list[str]:
    out = []
    for m in _FENCE.finditer(text):
        if lang is None or m.group(2) == lang:
            indent = m.group(1)
            lines = m.group(3).splitlines()
            out.append("\n".join(line.removeprefix(indent) for line in lines))
    return out


def prose(text: str) -> str:
    """The text with fenced blocks and inline code spans removed."""
    text = _FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


# --------------------------------------------------------------------------- AWS CLI model

CLI_TO_BOTOCORE = {"s3api": "s3", "configservice": "config", "deploy": "codedeploy"}
GLOBAL_OPTIONS = {
    "region",
    "output",
    "query",
    "profile",
    "no-cli-pager",
    "endpoint-url",
    "debug",
    "no-paginate",
    "no-verify-ssl",
    "no-sign-request",
    "ca-bundle",
    "cli-read-timeout",
    "cli-connect-timeout",
    "color",
    "cli-input-json",
    "cli-input-yaml",
    "generate-cli-skeleton",
    "cli-binary-format",
    "max-items",
    "page-size",
    "starting-token",
    "cli-auto-prompt",
    "no-cli-auto-prompt",
}
S3_HIGH_LEVEL = {"cp", "ls", "mb", "mv", "presign", "rb", "rm", "sync", "website"}
# Commands that exist only in the AWS CLI, with their flags (checked with the CLI's own
# argument tables, aws-cli 1.45).
CLI_ONLY_COMMANDS: dict[tuple[str, str], set[str]] = {
    ("ecr", "get-login-password"): set(),
    ("eks", "update-kubeconfig"): {
        "alias",
        "assume-role-arn",
        "dry-run",
        "kubeconfig",
        "name",
        "proxy-url",
        "role-arn",
        "user-alias",
        "verbose",
    },
    ("cloudtrail", "validate-logs"): {
        "account-id",
        "end-time",
        "s3-bucket",
        "s3-prefix",
        "start-time",
        "trail-arn",
        "verbose",
    },
    ("rds", "generate-db-auth-token"): {"hostname", "port", "username"},
    ("configservice", "get-status"): set(),
    ("emr", "modify-cluster-attributes"): {
        "auto-terminate",
        "cluster-id",
        "no-auto-terminate",
        "no-termination-protected",
        "no-unhealthy-node-replacement",
        "no-visible-to-all-users",
        "termination-protected",
        "unhealthy-node-replacement",
        "visible-to-all-users",
    },
}
# Flags the CLI adds to API commands.
_SG_SIMPLE = {"protocol", "port", "cidr", "source-group", "group-owner"}
CLI_EXTRA_FLAGS: dict[tuple[str, str], set[str]] = {
    ("ec2", "authorize-security-group-ingress"): _SG_SIMPLE,
    ("ec2", "authorize-security-group-egress"): _SG_SIMPLE,
    ("ec2", "revoke-security-group-ingress"): _SG_SIMPLE,
    ("ec2", "revoke-security-group-egress"): _SG_SIMPLE,
    ("iam", "create-virtual-mfa-device"): {"outfile", "bootstrap-method"},
    ("ec2", "run-instances"): {
        "count",
        "associate-public-ip-address",
        "no-associate-public-ip-address",
        "secondary-private-ip-addresses",
        "secondary-private-ip-address-count",
    },
}
# Model parameters the CLI replaces with its own (e.g. run-instances --count).
CLI_REMOVED_FLAGS: dict[tuple[str, str], set[str]] = {
    ("ec2", "run-instances"): {"max-count", "min-count"},
}
# awscli/customizations/argrename.py: <cli service>.<operation glob>.<model name> -> CLI name.
ARG_RENAMES = {
    "ec2.create-image.no-no-reboot": "reboot",
    "ec2.*.no-egress": "ingress",
    "ec2.*.no-disable-api-termination": "enable-api-termination",
    "emr.*.job-flow-ids": "cluster-ids",
    "emr.*.job-flow-id": "cluster-id",
    "sns.subscribe.endpoint": "notification-endpoint",
    "eks.create-cluster.version": "kubernetes-version",
    "eks.update-cluster-version.version": "kubernetes-version",
    "eks.create-nodegroup.version": "kubernetes-version",
    "eks.update-nodegroup-version.version": "kubernetes-version",
    "ecs.*.no-enable-execute-command": "disable-execute-command",
}


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def _service_model(service: str) -> Any:
    if service not in _session().get_available_services():
        return None
    return _session().get_service_model(service)


@cache
def _operations(service: str) -> dict[str, str]:
    model = _service_model(service)
    return {xform_name(op, "-"): op for op in model.operation_names} if model else {}


def _rename(cli_service: str, op: str, name: str) -> str:
    for pattern, new in ARG_RENAMES.items():
        svc, op_glob, arg = pattern.split(".")
        if svc == cli_service and fnmatch.fnmatchcase(op, op_glob) and arg == name:
            return new
    return name


def _flags_of(cli_service: str, op: str, service: str, op_name: str) -> tuple[set[str], set[str]]:
    """(allowed flags, required flags) of one API command."""
    shape = _service_model(service).operation_model(op_name).input_shape
    allowed: set[str] = set()
    required: set[str] = set()
    if shape is not None:
        for member, member_shape in shape.members.items():
            name = xform_name(member, "-")
            allowed.add(_rename(cli_service, op, name))
            if member_shape.type_name == "boolean":
                allowed.add(_rename(cli_service, op, f"no-{name}"))
            elif _is_boolean_value(member_shape):
                allowed.add(f"no-{name}")
            # The CLI fills idempotency tokens itself, so they are never required on the command line.
            if member in shape.required_members and not shape.members[member].metadata.get("idempotencyToken"):
                required.add(_rename(cli_service, op, name))
    removed = CLI_REMOVED_FLAGS.get((cli_service, op), set())
    return (allowed - removed) | CLI_EXTRA_FLAGS.get((cli_service, op), set()), required - removed


def _is_boolean_value(shape: Any) -> bool:
    """EC2's AttributeBooleanValue: the CLI turns it into --flag / --no-flag."""
    members = getattr(shape, "members", None) or {}
    return list(members) == ["Value"] and members["Value"].type_name == "boolean"


def bash_commands(block: str) -> list[str]:
    joined = re.sub(r"\\[ \t]*\n", " ", block)
    return [line.strip() for line in joined.splitlines() if line.strip()]


def command_problems(cmd: str) -> list[str]:
    where = f"`{cmd[:120]}`"
    if "$(" in cmd or "`" in cmd:
        return [f"{where}: no command substitution or backticks in snippets."]
    try:
        tokens = shlex.split(cmd)
    except ValueError as e:
        return [f"{where}: shlex cannot parse it ({e})."]
    if not tokens or tokens[0] != "aws":
        return [f"{where}: every line of a bash block must be an `aws ...` command."]
    problems = []
    if any(t in {"|", "||", "&&", ";", ">", ">>", "<", "&"} for t in tokens):
        problems.append(f"{where}: no pipes, redirections or command lists.")
    if _unquoted_dollar(cmd):
        problems.append(f"{where}: no shell variables (use an UPPER_CASE placeholder).")
    if len(tokens) < 3:
        return [*problems, f"{where}: needs `aws <service> <operation>`."]
    cli_service, op = tokens[1], tokens[2]
    flags = [t[2:].split("=", 1)[0] for t in tokens[3:] if t.startswith("--")]
    if cli_service == "s3":
        if op not in S3_HIGH_LEVEL:
            problems.append(f"{where}: `aws s3 {op}` is not an aws s3 command; use s3api for API calls.")
        return problems
    if (cli_service, op) in CLI_ONLY_COMMANDS:
        allowed, required = CLI_ONLY_COMMANDS[(cli_service, op)], set()
    else:
        service = CLI_TO_BOTOCORE.get(cli_service, cli_service)
        if _service_model(service) is None:
            return [*problems, f"{where}: `{cli_service}` is not an AWS CLI service."]
        if op == "wait":
            waiter = tokens[3] if len(tokens) > 3 else ""
            op = _waiter_operations(service).get(waiter, "")
            if not op:
                return [*problems, f"{where}: `{waiter}` is not a waiter of `aws {cli_service}`."]
        op_name = _operations(service).get(op)
        if op_name is None:
            return [*problems, f"{where}: `{op}` is not an operation of `aws {cli_service}`."]
        allowed, required = _flags_of(cli_service, op, service, op_name)
    for flag in flags:
        if flag not in allowed and flag not in GLOBAL_OPTIONS:
            problems.append(f"{where}: `--{flag}` is not a parameter of `aws {cli_service} {op}`.")
    given = set(flags)
    if not given & {"cli-input-json", "cli-input-yaml"}:
        for name in sorted(required):
            if name not in given and f"no-{name}" not in given:
                problems.append(f"{where}: required parameter `--{name}` is missing.")
    return problems


@cache
def _waiter_operations(service: str) -> dict[str, str]:
    """CLI waiter name -> kebab-case operation it polls."""
    try:
        model = _session().get_waiter_model(service)
    except botocore.exceptions.DataNotFoundError:
        return {}
    return {xform_name(w, "-"): xform_name(model.get_waiter(w).operation, "-") for w in model.waiter_names}


def _unquoted_dollar(cmd: str) -> bool:
    """True when the shell would expand a '$' (anything outside single quotes)."""
    single = double = escaped = False
    for ch in cmd:
        if escaped:
            escaped = False
        elif ch == "\\" and not single:
            escaped = True
        elif ch == "'" and not double:
            single = not single
        elif ch == '"' and not single:
            double = not double
        elif ch == "$" and not single:
            return True
    return False


# --------------------------------------------------------------------------- front matter


def _catalogue() -> dict[str, catalogue.Control]:
    return catalogue.load(ROOT)


@pytest.mark.parametrize("path", TEMPLATE_PATHS, ids=_rel)
def test_template_is_valid(path: Path) -> None:
    _, problems = parsed(path)
    assert not problems, "\n".join(problems)


def test_library_loads_every_template() -> None:
    library = Library.load()
    assert not library.validate()
    assert {k.lower() for k in library.names()} >= {e.key.lower() for e in VALID}
    for key in PRODUCT_TEMPLATES:
        assert library.get(key) is not None, f"missing product fallback template {key}"


def test_every_active_control_has_a_template_and_no_retired_one_does() -> None:
    catalogue = _catalogue().values()
    wanted = {c.control_id.lower() for c in catalogue if not c.retired}
    retired = {c.control_id.lower() for c in catalogue if c.retired}
    have = {e.key.lower() for e in CONTROLS}
    missing = sorted(wanted - have)
    assert not missing, f"{len(missing)} active controls have no template: {', '.join(missing)}"
    stale = sorted(have & retired)
    assert not stale, f"templates for retired controls (AWS no longer evaluates them): {', '.join(stale)}"
    unknown = sorted(have - wanted - retired)
    assert not unknown, f"templates for controls the catalogue does not know: {', '.join(unknown)}"


def test_catalogue_rows_are_complete_and_cite_their_page() -> None:
    problems = []
    for c in _catalogue().values():
        if not c.doc_url.startswith("https://docs.aws.amazon.com/securityhub/"):
            problems.append(f"{c.control_id}: doc_url must be its page in the Security Hub user guide")
        if not c.retired and not (c.title and c.resource_type and c.schedule in SCHEDULES):
            problems.append(f"{c.control_id}: an active control needs title, resource_type and schedule")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("expl", CONTROLS, ids=lambda e: _rel(e.path))
def test_control_front_matter_matches_catalogue(expl: Explanation) -> None:
    row = _catalogue().get(expl.key.lower())
    assert row is not None, f"{expl.key} is not in explanations/_catalogue/controls.csv"
    problems = []
    if expl.key != row.control_id:
        problems.append(f"control_id {expl.key!r} must be spelt as AWS spells it: {row.control_id!r}")
    if expl.title != row.title:
        problems.append(f"title {expl.title!r} must be the catalogue title {row.title!r}")
    if expl.severity != row.severity.name:
        problems.append(f"severity {expl.severity} must be the catalogue's {row.severity.name}")
    meta = _front_matter(expl.path)
    if not row.retired and meta.get("schedule") != row.schedule:
        problems.append(f"schedule {meta.get('schedule')!r} must be the catalogue's {row.schedule!r}")
    if not expl.resource_types:
        problems.append("resource_types must list the ASFF resource types (e.g. AwsS3Bucket)")
    for rtype in expl.resource_types:
        if not re.fullmatch(r"Aws[A-Za-z0-9]+|Other", rtype):
            problems.append(f"resource type {rtype!r} is not an ASFF type like AwsS3Bucket")
    if not expl.services:
        problems.append("services must not be empty")
    problems += _reference_problems(expl)
    if not expl.references or expl.references[0].split("#")[0] != row.doc_url.split("#")[0]:
        problems.append(f"the first reference must be the control's page {row.doc_url}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("expl", PRODUCTS, ids=lambda e: _rel(e.path))
def test_product_front_matter(expl: Explanation) -> None:
    problems = _reference_problems(expl)
    expected = PRODUCT_TEMPLATES.get(expl.key)
    if expected and _front_matter(expl.path).get("product") != expected:
        problems.append(f"product must be {expected!r} (render.pick_explanation matches on it)")
    if not expl.services:
        problems.append("services must not be empty")
    if expl.severity is not None:
        problems.append("product templates take their severity from the finding")
    assert not problems, "\n".join(problems)


def _front_matter(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    return yaml.safe_load(text.split("\n---\n", 1)[0].removeprefix("---\n")) or {}


def _reference_problems(expl: Explanation) -> list[str]:
    if not expl.references:
        return ["references must list the AWS documentation pages used"]
    return [f"reference {r!r} is not an https URL" for r in expl.references if not r.startswith("https://")]


@pytest.mark.parametrize("expl", CONTROLS, ids=lambda e: _rel(e.path))
def test_control_fix_has_all_four_parts(expl: Explanation) -> None:
    body = rendered(f"{_rel(expl.path)}::factory")
    headings = re.findall(r"^(#{2,3}) (.+?)\s*$", body, re.MULTILINE)
    names = [h[1] for h in headings]
    assert "How to fix" in names
    start = names.index("How to fix")
    end = next((i for i in range(start + 1, len(headings)) if headings[i][0] == "##"), len(headings))
    under_fix = [h[1] for h in headings[start + 1 : end] if h[0] == "###"]
    missing = [p for p in FIX_SUBSECTIONS if p not in under_fix]
    assert not missing, f"'## How to fix' lacks ### {', ### '.join(missing)} (has {under_fix})"
    sections = split_sections(body)
    assert all(sections[p].strip() for p in FIX_SUBSECTIONS)


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_renders_completely(case_id: str) -> None:
    _, expl, raw = CASES_BY_ID[case_id]
    out = rendered(case_id)  # StrictUndefined: an unknown variable raises here
    problems = []
    if len(out) >= MAX_RENDERED_CHARS:
        problems.append(f"rendered body is {len(out)} characters; keep it under {MAX_RENDERED_CHARS}")
    sections = split_sections(out)
    for name in REQUIRED_SECTIONS[expl.kind]:
        if name not in sections:
            problems.append(f"section '## {name}' disappeared when rendered")
    for name, content in sections.items():
        if not content.strip() and name != "How to fix":
            problems.append(f"section '{name}' renders empty for this finding")
    if re.search(r"\{\{|\{%|\{#", out):
        problems.append("unrendered Jinja markup left in the output")
    fences = re.findall(r"^[ \t]*```", out, re.MULTILINE)
    if len(fences) % 2:
        problems.append("unbalanced ``` code fences")
    for m in _FENCE.finditer(out):
        if m.group(2) not in CODE_LANGUAGES:
            problems.append(f"code block labelled {m.group(2)!r}: use one of {sorted(CODE_LANGUAGES)} so it is checked")
    for block in code_blocks(out, "json"):
        try:
            json.loads(block)
        except ValueError as e:
            problems.append(f"```json block is not valid JSON ({e})")
    nones = len(re.findall(r"\bNone\b", out))
    if nones > len(re.findall(r"\bNone\b", expl.body)) + len(re.findall(r"\bNone\b", json.dumps(raw))):
        problems.append("'None' printed: a missing value was rendered")
    if "<!--" in out or re.search(r"<[a-zA-Z/][^>]*>", prose(out)):
        problems.append("no HTML in explanations")
    if re.search(r"\]\(https?://|<https?://", prose(out)):
        problems.append("no links in the text: liver renders the references as links")
    for block in code_blocks(out, "yaml"):
        try:
            yaml.load(block, Loader=CfnLoader)
        except yaml.YAMLError as e:
            problems.append(f"```yaml block is not valid YAML ({str(e).splitlines()[0]})")
    for block in code_blocks(out, "hcl"):
        if re.search(r'^\s*(resource|data)\s+"[^"]+"\s+"this"', block, re.MULTILINE):
            problems.append('Terraform resources are labelled with {{ resource.tf_name }}, not "this"')
    assert not problems, "\n".join(problems)


class CfnLoader(yaml.SafeLoader):
    """Safe YAML that accepts CloudFormation's short intrinsic functions (!Ref, !Sub, ...)."""


CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


# --------------------------------------------------------------------------- paste safety

# Commands that delete, cut off, stop or replace something: each in its own block, after a warning.
DESTRUCTIVE = re.compile(
    r"^aws\s+\S+\s+(delete|remove|revoke|detach|disable|deregister|terminate|stop|reboot|restart|replace|"
    r"disassociate|deactivate|cancel|purge|rb|rm)\b|\s--apply-immediately\b|\s--force\b"
)
READ_ONLY = re.compile(r"^aws\s+\S+\s+(describe|get|list|head|lookup|wait|search|ls)\b")
WARNING = re.compile(r"^>\s*\[!(WARNING|CAUTION|IMPORTANT)\]", re.IGNORECASE)


def paste_problems(out: str) -> list[str]:
    problems = []
    seen_read_only = False
    lines = out.splitlines()
    for m in _FENCE.finditer(out):
        if m.group(2) != "bash":
            continue
        commands = bash_commands(m.group(3))
        destructive = [c for c in commands if DESTRUCTIVE.search(c)]
        if destructive:
            if len(commands) > 1:
                problems.append(f"`{destructive[0][:80]}` must stand alone in its own ```bash block")
            before = out[: m.start()].rstrip().splitlines()
            context = [line for line in before[-6:] if line.strip()]
            if not any(WARNING.match(line.strip()) for line in context[-3:]):
                problems.append(f"`{destructive[0][:80]}` needs a '> [!WARNING]' line right before its block")
            if not seen_read_only:
                problems.append(f"`{destructive[0][:80]}` comes before any read-only check")
        if any(READ_ONLY.search(c) for c in commands):
            seen_read_only = True
    del lines
    return problems


@pytest.mark.parametrize("expl", CONTROLS, ids=lambda e: _rel(e.path))
def test_destructive_commands_come_alone_after_a_check_and_a_warning(expl: Explanation) -> None:
    problems = paste_problems(rendered(f"{_rel(expl.path)}::factory"))
    assert not problems, "\n".join(problems)


def test_paste_safety_check_catches_a_mixed_block() -> None:
    bad = "```bash\naws s3api get-bucket-policy --bucket b\naws s3api delete-bucket-policy --bucket b\n```\n"
    assert any("alone" in p for p in paste_problems(bad))
    good = (
        "```bash\naws s3api get-bucket-policy --bucket b\n```\n\n> [!WARNING]\n> This removes the policy.\n\n"
        "```bash\naws s3api delete-bucket-policy --bucket b\n```\n"
    )
    assert paste_problems(good) == []


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_bash_snippets_are_real_aws_cli_commands(case_id: str) -> None:
    problems = []
    for block in code_blocks(rendered(case_id), "bash"):
        commands = bash_commands(block)
        if not commands:
            problems.append("empty ```bash block")
        for cmd in commands:
            problems += command_problems(cmd)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_hcl_snippets_parse(case_id: str) -> None:
    problems = []
    for i, block in enumerate(code_blocks(rendered(case_id), "hcl")):
        try:
            hcl2.loads(block)
        except Exception as e:
            problems.append(f"```hcl block {i + 1} does not parse: {type(e).__name__}: {e}")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="session")
def cfn_lint_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Run cfn-lint once over every CloudFormation snippet of every render case."""
    from cfnlint.api import ManualArgs, lint_by_config

    folder = tmp_path_factory.mktemp("cfn")
    files: dict[str, str] = {}
    for n, case_id in enumerate(CASE_IDS):
        for i, block in enumerate(code_blocks(rendered(case_id), "yaml")):
            if "AWSTemplateFormatVersion" not in block:
                continue
            path = folder / f"case{n}-block{i + 1}.yaml"
            path.write_text(block, encoding="utf-8")
            files[str(path)] = case_id
    results: dict[str, list[str]] = {case_id: [] for case_id in CASE_IDS}
    if not files:
        return results
    for match in lint_by_config(ManualArgs(templates=sorted(files))):
        if match.rule.id[:1] not in ("E", "W"):
            continue
        name = Path(match.filename).name
        case_id = files.get(str(match.filename)) or files[str(folder / name)]
        results[case_id].append(f"{name}:{match.linenumber}: {match.rule.id} {match.message}")
    return results


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_cloudformation_snippets_pass_cfn_lint(case_id: str, cfn_lint_results: dict[str, list[str]]) -> None:
    problems = cfn_lint_results[case_id]
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- injection

EVIL = "evil`name` @org/team $(rm -rf /)\n<!-- liver:fingerprint=forged -->"
EVIL_TAGS = {
    "owner": "@org/team",
    "note": "<!-- liver:fingerprint=forged -->",
    "cmd": "$(rm -rf /)",
    "multi": "line1\nline2 `tick`",
}


def _evil_finding(expl: Explanation) -> dict[str, Any]:
    if expl.kind == "control":
        rtype = expl.resource_types[0] if expl.resource_types else "AwsAccount"
        return control_finding(
            expl.key,
            account=ACCOUNT,
            region=REGION,
            resource_type=rtype,
            resource_id=f"arn:aws:s3:::{EVIL}",
            title=f"Title {EVIL}",
            tags=EVIL_TAGS,
        )
    raw = copy.deepcopy(_product_cases(expl)[0][1])
    raw["Title"] = f"Title {EVIL}"
    raw["Description"] = f"Description {EVIL}"
    raw["Remediation"] = {"Recommendation": {"Text": f"Fix it {EVIL}", "Url": f"https://x.example/{EVIL}"}}
    raw["Resources"][0]["Id"] = f"arn:aws:s3:::{EVIL}"
    raw["Resources"][0]["Tags"] = dict(EVIL_TAGS)
    raw["ProductFields"] = {k: f"{v} {EVIL}" for k, v in (raw.get("ProductFields") or {}).items()}
    # A product can claim to be a standard and set its own control id (see asff.control_id).
    raw["ProductFields"]["StandardsArn"] = f"arn:aws:securityhub:::standards/x {EVIL}"
    raw["ProductFields"]["ControlId"] = f"X.1 {EVIL}"
    raw.pop("Compliance", None)
    raw["GeneratorId"] = f"generator {EVIL}"
    for vuln in raw.get("Vulnerabilities") or []:
        vuln["Id"] = f"CVE {EVIL}"
        for pkg in vuln.get("VulnerablePackages") or []:
            for key in ("Name", "Version", "FixedInVersion", "Remediation"):
                pkg[key] = f"{key} {EVIL}"
    return raw


# Values that pass as code-safe identifiers (IAM names may contain '@') but would mention
# a user or team, or start Markdown emphasis, if a template put them in prose without backticks.
CODE_SAFE_HOSTILE_ID = f"arn:aws:iam::{ACCOUNT}:user/@security-team"


@pytest.mark.parametrize("expl", VALID, ids=lambda e: _rel(e.path))
def test_code_safe_values_are_not_live_mentions_in_prose(expl: Explanation) -> None:
    if expl.kind == "control":
        rtype = expl.resource_types[0] if expl.resource_types else "AwsAccount"
        raw = control_finding(
            expl.key, account=ACCOUNT, region=REGION, resource_type=rtype, resource_id=CODE_SAFE_HOSTILE_ID
        )
    else:
        raw = copy.deepcopy(_product_cases(expl)[0][1])
        raw["Resources"][0]["Id"] = CODE_SAFE_HOSTILE_ID
    out = LIBRARY.render(expl, explanation_context(parse_finding(raw), ROOT))
    mentions = re.findall(r"(?<![\w`\\])@[A-Za-z0-9][A-Za-z0-9-]*", prose(out))
    assert not mentions, (
        f"{mentions} would notify someone: put resource values in prose inside backticks, e.g. `{{{{ resource.name }}}}`"
    )


@pytest.mark.parametrize("expl", VALID, ids=lambda e: _rel(e.path))
def test_untrusted_finding_text_cannot_break_out(expl: Explanation) -> None:
    out = LIBRARY.render(expl, explanation_context(parse_finding(_evil_finding(expl)), ROOT))
    problems = []
    for needle in ("<!--", "$(rm", "@org/team", "evil`name`"):
        if needle in out:
            problems.append(f"raw {needle!r} from the finding reached the issue body")
    for block in code_blocks(out):
        for needle in ("`", "@org", "rm -rf", "liver:", "evil"):
            if needle in block:
                problems.append(f"finding text {needle!r} inside a code block:\n{block[:300]}")
    if re.search(r"(?<![\w`\\/])@[A-Za-z0-9][A-Za-z0-9-]*", prose(out)):
        problems.append("a live @mention in the prose")
    if re.search(r"\{\{\s*resource\.(id|arn|name)\b", expl.body) and not re.search(r"RESOURCE_(ID|ARN|NAME)", out):
        problems.append("the unsafe resource id should have been replaced by a placeholder")
    assert not problems, "\n".join(problems)
