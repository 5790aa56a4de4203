"""A deterministic synthetic estate for the scale benchmark: services, findings, config.

The benchmark runner and the fake-server process both build the estate from the same
parameters and seed, so the runner knows exactly what the fakes hold (how many issues
liver must open, in which repositories, with which labels) without asking them.

Shape of the estate (F findings over R services, I issues to open):

* service ``i`` owns the repository ``acme/svc-iii`` and two accounts, production and
  staging; production opens issues from HIGH, staging only from CRITICAL;
* issues are spread over the repositories with Zipf-like weights, so a few large
  repositories page through hundreds of issues and the last 5% have none;
* ~10% of the findings are EC2 instances in Auto Scaling groups (the
  ``aws:autoscaling:groupName`` tag), one subject per (group, control);
* exactly I subjects are eligible for an issue; every other finding is not eligible for
  a reason that occurs in real estates (below the threshold, HIGH in staging, an honoured
  ignore tag, PASSED, suppressed by a person, archived, a prototype or unmapped account).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

ORG: Final = "acme"
BOT_LOGIN: Final = "liver-bot"
BOT_TOKEN: Final = "bench-token"  # the fake's token; nothing real
APPROVER: Final = "secops-lead"
APPROVER_ID: Final = 9_000_001
LEAD_EVERY: Final = 10  # one team lead (the rotation's fallback) per ten services
UNASSIGNABLE_EVERY: Final = 10  # default: in every tenth service the rotation members are not collaborators
ROTATION_START: Final = "2026-01-05"
IGNORE_TAG: Final = "liver:ignore"
ASG_TAG: Final = "aws:autoscaling:groupName"
REGIONS: Final = ("us-east-1", "eu-west-1")
GROUP_SHARE: Final = 0.10  # of all findings
GROUP_SIZES: Final = (2, 8)  # instances per Auto Scaling group
GROUP_ELIGIBLE_SHARE: Final = 0.6  # of the groups whose service still needs issues
STAGING_SHARE: Final = 0.2  # of the eligible single findings (CRITICAL ones)
GROUP_ELIGIBLE_CONTROLS: Final = ("EC2.8", "EC2.9")  # HIGH, instance-level
GROUP_LOW_CONTROLS: Final = ("EC2.24", "EC2.17", "EC2.4")  # MEDIUM/LOW, instance-level

# Why the findings that open no issue are not eligible, with their share of them.
# Only the first one is filtered out by Security Hub itself (SeverityLabel); the others
# reach liver (or are excluded by the WorkflowStatus/RecordState filters).
INELIGIBLE_MIX: Final = (
    ("below threshold", 70),
    ("HIGH in staging", 8),
    ("ignore tag honoured", 4),
    ("PASSED (RESOLVED)", 6),
    ("suppressed by a person", 4),
    ("archived", 4),
    ("prototype account", 2),
    ("unmapped account", 2),
)
PROTOTYPE_ACCOUNTS: Final = ("990000000001", "990000000002", "990000000003")
UNMAPPED_ACCOUNTS: Final = ("880000000001", "880000000002", "880000000003", "880000000004")

# ASFF resource type and ARN shape by control prefix; anything else is "Other".
_RESOURCES: Final = {
    "S3": ("AwsS3Bucket", "arn:aws:s3:::{name}"),
    "EC2": ("AwsEc2Instance", "arn:aws:ec2:{region}:{account}:instance/i-{hex}"),
    "RDS": ("AwsRdsDbInstance", "arn:aws:rds:{region}:{account}:db:{name}"),
    "Lambda": ("AwsLambdaFunction", "arn:aws:lambda:{region}:{account}:function:{name}"),
    "IAM": ("AwsIamRole", "arn:aws:iam::{account}:role/{name}"),
    "KMS": ("AwsKmsKey", "arn:aws:kms:{region}:{account}:key/{hex}"),
    "ECS": ("AwsEcsTaskDefinition", "arn:aws:ecs:{region}:{account}:task-definition/{name}:1"),
    "EKS": ("AwsEksCluster", "arn:aws:eks:{region}:{account}:cluster/{name}"),
    "DynamoDB": ("AwsDynamoDbTable", "arn:aws:dynamodb:{region}:{account}:table/{name}"),
    "SNS": ("AwsSnsTopic", "arn:aws:sns:{region}:{account}:{name}"),
    "SQS": ("AwsSqsQueue", "arn:aws:sqs:{region}:{account}:{name}"),
}


@dataclass(frozen=True)
class BenchService:
    index: int
    name: str
    repo: str
    production: str
    staging: str
    rotation: tuple[str, str]
    fallback: str
    collaborators: tuple[str, ...]

    @property
    def stranger(self) -> bool:
        """Whether its rotation members cannot be assigned (liver tries the lead next)."""
        return self.rotation[0] not in self.collaborators

    @property
    def orphan(self) -> bool:
        """Whether nobody on call can be assigned (liver opens its issues unassigned)."""
        return self.fallback not in self.collaborators


@dataclass(frozen=True)
class FindingSpec:
    """What the server turns into an ASFF control finding (``demo_findings.control_finding``)."""

    control: str
    account: str
    region: str
    resource_type: str
    resource_id: str
    severity: str
    category: str
    compliance: str = "FAILED"
    workflow: str = "NEW"
    record_state: str = "ACTIVE"
    tags: tuple[tuple[str, str], ...] = ()


@dataclass
class Estate:
    findings_total: int
    repos: int
    issues_total: int
    seed: int
    unassignable_every: int = UNASSIGNABLE_EVERY
    orphan_every: int = 0
    services: list[BenchService] = field(default_factory=list)
    findings: list[FindingSpec] = field(default_factory=list)
    issues_by_repo: dict[str, int] = field(default_factory=dict)  # issues liver must open
    labels_by_repo: dict[str, set[str]] = field(default_factory=dict)  # labels those issues carry
    group_issues: int = 0
    group_findings: int = 0

    @property
    def categories(self) -> dict[str, int]:
        return dict(Counter(f.category for f in self.findings).most_common())

    @property
    def logins(self) -> list[str]:
        names = {login for s in self.services for login in (*s.rotation, s.fallback)}
        return sorted(names)

    def service(self, repo: str) -> BenchService:
        return next(s for s in self.services if s.repo.lower() == repo.lower())

    def assignee_checks(self, repos: Iterable[str]) -> int:
        """Assignee checks liver needs in ``repos``: one per (repository, login tried).

        liver tries the on-call person, then the fallback (the lead) when the person is not
        a collaborator, and stops at the first one that can be assigned.
        """
        wanted = {r.lower() for r in repos}
        return sum((2 if s.stranger else 1) for s in self.services if s.repo.lower() in wanted)

    def label_creations(self, existing: frozenset[str] = frozenset()) -> int:
        return sum(len(labels - existing) for labels in self.labels_by_repo.values())

    def config(self, max_new_issues: int, per_minute: int, per_hour: int) -> dict[str, Any]:
        """liver.yml as a mapping (the runner dumps it as YAML)."""
        return {
            "version": 1,
            "securityhub": {"region": REGIONS[0]},
            # Approvers are pinned by numeric id (check-config warns otherwise); nobody approves
            # anything in the benchmark, so the id only has to be well-formed.
            "approval": {"label": "liver/suppress-approved", "approvers": [{"login": APPROVER, "id": APPROVER_ID}]},
            "ignore_tag": {"key": IGNORE_TAG, "honored_until": "2099-12-31"},
            "prototype_accounts": list(PROTOTYPE_ACCOUNTS),
            "group_by_tags": [ASG_TAG],
            "defaults": {"min_severity": "HIGH"},
            "max_new_issues": max_new_issues,
            # liver finds its issues by creator: the login its issues are created by.
            "github": {"login": BOT_LOGIN, "mutations_per_minute": per_minute, "mutations_per_hour": per_hour},
            "services": [
                {
                    "name": s.name,
                    "repo": s.repo,
                    "accounts": {s.production: "production", s.staging: "staging"},
                    "min_severity": {"production": "HIGH", "staging": "CRITICAL"},
                    "oncall": {
                        "rotation": list(s.rotation),
                        "start": ROTATION_START,
                        "every": "1w",
                        "fallback": [s.fallback],
                    },
                }
                for s in self.services
            ],
        }


def _catalogue() -> dict[str, dict[str, str]]:
    from liver_fakes.findings import control_catalogue

    return control_catalogue()


def _controls(*severities: str) -> list[str]:
    return sorted(k for k, row in _catalogue().items() if row["severity"] in severities)


def _allocate(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to ``weights`` that add up to ``total`` (largest remainder)."""
    scale = sum(weights)
    if total == 0 or scale == 0:
        return [0] * len(weights)
    exact = [total * w / scale for w in weights]
    out = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: (out[i] - exact[i], i))
    for i in order[: total - sum(out)]:
        out[i] += 1
    return out


class _Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.serial = 0

    def resource(self, control: str, service: str, account: str, region: str) -> tuple[str, str]:
        self.serial += 1
        prefix = control.split(".", 1)[0]
        name = f"{service}-{prefix.lower()}-{self.serial}"
        hex_id = f"{self.serial:017x}"
        kind, arn = _RESOURCES.get(prefix, ("Other", "arn:aws:{svc}:{region}:{account}:resource/{name}"))
        return kind, arn.format(name=name, hex=hex_id, region=region, account=account, svc=prefix.lower())

    def finding(
        self, control: str, service: str, account: str, category: str, *, region: str | None = None, **kw: Any
    ) -> FindingSpec:
        region = region or self.rng.choice(REGIONS)
        kind, rid = self.resource(control, service, account, region)
        severity = _catalogue()[control]["severity"]
        return FindingSpec(control, account, region, kind, rid, severity, category, **kw)


def build_estate(
    findings: int,
    repos: int,
    issues: int,
    seed: int = 7,
    unassignable_every: int = UNASSIGNABLE_EVERY,
    orphan_every: int = 0,
) -> Estate:
    """The estate for these sizes; raises ValueError when they cannot be met together.

    In every ``unassignable_every``-th service (0: none) the rotation members are not
    collaborators, so liver assigns the fallback (the team lead) and says why; in every
    ``orphan_every``-th service (0: none) nobody on call is, so issues stay unassigned.
    """
    if repos < 1 or issues < 0 or findings < 1:
        raise ValueError("--repos and --findings must be at least 1 and --issues at least 0.")
    rng = random.Random(seed)
    estate = Estate(findings, repos, issues, seed, unassignable_every, orphan_every)
    for i in range(repos):
        leads = f"lead{i // LEAD_EVERY:03d}"
        rotation = (f"dev{i:03d}a", f"dev{i:03d}b")
        stranger = unassignable_every > 0 and i % unassignable_every == unassignable_every - 1
        orphan = orphan_every > 0 and i % orphan_every == orphan_every - 1
        if orphan:
            collaborators: tuple[str, ...] = (BOT_LOGIN,)
        elif stranger:
            collaborators = (leads, BOT_LOGIN)
        else:
            collaborators = (*rotation, leads, BOT_LOGIN)
        estate.services.append(
            BenchService(
                index=i,
                name=f"svc-{i:03d}",
                repo=f"{ORG}/svc-{i:03d}",
                production=f"{100000000000 + 2 * i:012d}",
                staging=f"{100000000000 + 2 * i + 1:012d}",
                rotation=rotation,
                fallback=leads,
                collaborators=collaborators,
            )
        )
    services = estate.services
    quiet = repos // 20  # the last 5% of the services have nothing eligible
    weights = [0.0 if i >= repos - quiet else 1.0 / (i + 1) for i in range(repos)]
    if sum(weights) == 0:
        weights = [1.0] * repos
    needed = _allocate(issues, weights)
    for s, n in zip(services, needed, strict=True):
        estate.issues_by_repo[s.repo] = n
        estate.labels_by_repo[s.repo] = {"liver"} if n else set()
    # Every service has findings, the quiet ones too.
    spread = [w + 0.2 / repos for w in weights]
    b = _Builder(rng)
    out = estate.findings

    # Auto Scaling groups: each gets an instance-level HIGH control (an issue when the
    # group is in production and the service still needs issues) and a low one.
    group_budget = round(GROUP_SHARE * findings)
    asg = 0
    while estate.group_findings < group_budget:
        s = rng.choices(services, weights=spread)[0]
        size = min(rng.randint(*GROUP_SIZES), max(1, (group_budget - estate.group_findings) // 2))
        eligible = needed[s.index] > 0 and rng.random() < GROUP_ELIGIBLE_SHARE
        account = s.production if eligible else s.staging
        region = rng.choice(REGIONS)
        asg += 1
        tags = ((ASG_TAG, f"{s.name}-asg-{asg}"),)
        high, low = rng.choice(GROUP_ELIGIBLE_CONTROLS), rng.choice(GROUP_LOW_CONTROLS)
        for _ in range(size):
            category = "grouped, eligible" if eligible else "grouped, HIGH in staging"
            out.append(b.finding(high, s.name, account, category, region=region, tags=tags))
            out.append(b.finding(low, s.name, account, "grouped, below threshold", region=region, tags=tags))
        estate.group_findings += 2 * size
        if eligible:
            needed[s.index] -= 1
            estate.group_issues += 1
            estate.labels_by_repo[s.repo].add("severity:high")

    # One eligible single finding per remaining issue.
    high_or_critical, critical = _controls("HIGH", "CRITICAL"), _controls("CRITICAL")
    for s in services:
        for _ in range(needed[s.index]):
            if rng.random() < STAGING_SHARE:
                f = b.finding(rng.choice(critical), s.name, s.staging, "eligible, staging CRITICAL")
            else:
                f = b.finding(rng.choice(high_or_critical), s.name, s.production, "eligible, production")
            out.append(f)
            estate.labels_by_repo[s.repo].add(f"severity:{f.severity.lower()}")

    rest = findings - len(out)
    if rest < 0:
        raise ValueError(
            f"{findings} findings are too few for {issues} issues (the groups alone take {estate.group_findings}); "
            "raise --findings or lower --issues."
        )
    low_controls, high_controls = _controls("MEDIUM", "LOW", "INFORMATIONAL"), _controls("HIGH")
    counts = _allocate(rest, [float(w) for _, w in INELIGIBLE_MIX])
    for (category, _), count in zip(INELIGIBLE_MIX, counts, strict=True):
        for _ in range(count):
            s = rng.choices(services, weights=spread)[0]
            env_account = rng.choice((s.production, s.staging))
            match category:
                case "below threshold":
                    f = b.finding(rng.choice(low_controls), s.name, env_account, category)
                case "HIGH in staging":
                    f = b.finding(rng.choice(high_controls), s.name, s.staging, category)
                case "ignore tag honoured":
                    tags = ((IGNORE_TAG, "accepted risk: legacy host, reviewed by security"),)
                    f = b.finding(rng.choice(high_or_critical), s.name, s.production, category, tags=tags)
                case "PASSED (RESOLVED)":
                    f = b.finding(
                        rng.choice(high_or_critical),
                        s.name,
                        env_account,
                        category,
                        compliance="PASSED",
                        workflow="RESOLVED",
                    )
                case "suppressed by a person":
                    f = b.finding(rng.choice(high_or_critical), s.name, s.production, category, workflow="SUPPRESSED")
                case "archived":
                    f = b.finding(rng.choice(high_or_critical), s.name, env_account, category, record_state="ARCHIVED")
                case "prototype account":
                    f = b.finding(rng.choice(high_or_critical), "proto", rng.choice(PROTOTYPE_ACCOUNTS), category)
                case _:
                    f = b.finding(rng.choice(high_or_critical), "unknown", rng.choice(UNMAPPED_ACCOUNTS), category)
            out.append(f)
    return estate
