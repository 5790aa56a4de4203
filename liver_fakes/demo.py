"""`liver demo`: the real sync against an in-process Security Hub and GitHub. No credentials, no network.

Without ``--config`` it plays a scripted first week on the embedded default config: day 0
opens the issues; over the week developers fix and close, the CTO approves one finding
(suppressed), a non-approver's label is rejected, a fix that did not work is reopened;
Security Hub re-evaluates; it ends with the status report, criticals burned down to zero.

With ``--config liver.yml`` it runs one sync of *your* config against the fakes, with
findings generated for your accounts and services, and shows the issues it would open.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import responses

from liver_fakes.findings import control_finding
from liver_fakes.github import FakeGitHub
from liver_fakes.securityhub import FakeSecurityHub, InvalidFindingError
from liver_gh.adapters.github import GitHubTracker
from liver_gh.adapters.oncall import OncallResolver
from liver_gh.adapters.securityhub import RETRIES, SecurityHub
from liver_gh.config.load import load_config
from liver_gh.config.model import Config, PagerDutySpec, RotationSpec, StaticSpec
from liver_gh.render.explanations import Library
from liver_gh.report import status
from liver_gh.report.run import RunReport, Status
from liver_gh.sync import Ports, run_sync

DATA = Path(__file__).parent / "data"
API = "https://api.github.com"
BOT = "liver-bot"
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LABEL = "liver/suppress-approved"

Echo = Callable[[str], None]


@dataclass
class World:
    gh: FakeGitHub
    hub: FakeSecurityHub
    client: Any
    config: Config
    library: Library
    clock: list[datetime]

    def sync(self) -> RunReport:
        tracker = GitHubTracker.connect("demo-token", API, creators=(BOT,), per_minute=100_000, per_hour=100_000)
        ports = Ports(tracker, SecurityHub(self.client), OncallResolver(self.config.people, {}), None, tracker.creators)
        return run_sync(self.config, ports=ports, library=self.library, now=self.clock[0], keep_rendered=True)

    def at(self, days: float, hours: float = 0) -> None:
        self.clock[0] = MONDAY + timedelta(days=days, hours=hours)

    def issue_for(self, repo: str, needle: str) -> dict[str, Any]:
        return next(i for i in self.gh.issues(repo) if needle in i["title"] or needle in (i["body"] or ""))

    def reevaluate(self, finding_id: str, compliance: str) -> None:
        """Security Hub checks the control again and reports ``compliance``."""
        current = copy.deepcopy(self.hub.finding(finding_id))
        for k in ("Workflow", "Note", "UserDefinedFields", "WorkflowState"):
            current.pop(k, None)
        current["Compliance"] = {**current.get("Compliance", {}), "Status": compliance}
        current["UpdatedAt"] = self.clock[0].strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.hub.import_findings([current])

    def archive(self, finding_id: str) -> None:
        current = copy.deepcopy(self.hub.finding(finding_id))
        for k in ("Workflow", "Note", "UserDefinedFields", "WorkflowState"):
            current.pop(k, None)
        current["RecordState"] = "ARCHIVED"
        current["UpdatedAt"] = self.clock[0].strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.hub.import_findings([current])


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _week_findings() -> list[dict[str, Any]]:
    """The default config's findings: real samples plus a public bucket, a public database,
    IMDSv1 across an Auto Scaling group, an ignore-tagged bucket, a prototype account's finding,
    an open security group and one hostile title."""
    t = _ts(MONDAY - timedelta(hours=1))
    asg = {"aws:autoscaling:groupName": "checkout-web"}
    generated = [
        control_finding("S3.2", resource_id="arn:aws:s3:::acme-payments-exports", updated_at=t),
        control_finding("S3.3", resource_id="arn:aws:s3:::acme-price-list", updated_at=t),
        control_finding(
            "RDS.2",
            resource_type="AwsRdsDbInstance",
            resource_id="arn:aws:rds:us-east-1:111111111111:db:ledger",
            updated_at=t,
        ),
        *[
            control_finding(
                "EC2.8",
                resource_type="AwsEc2Instance",
                resource_id=f"arn:aws:ec2:us-east-1:111111111111:instance/i-0abc{n}",
                tags=asg,
                updated_at=t,
            )
            for n in range(3)
        ],
        control_finding(
            "S3.8",
            resource_id="arn:aws:s3:::acme-public-assets",
            tags={"liver:ignore": "static website assets, reviewed by security"},
            updated_at=t,
        ),
        control_finding(
            "IAM.4",
            account="999999999999",
            resource_type="AwsAccount",
            resource_id="AWS::::Account:999999999999",
            updated_at=t,
        ),
        control_finding(
            "Lambda.1",
            account="123456789012",
            resource_type="AwsLambdaFunction",
            resource_id="arn:aws:lambda:us-east-1:123456789012:function:thumbnailer",
            title="Lambda policy @acme/security-team <!-- liver:identity v2 key=f-0 --> [click](https://evil.example)",
            updated_at=t,
        ),
        control_finding(
            "EC2.19",
            account="222222222222",
            resource_type="AwsEc2SecurityGroup",
            resource_id="arn:aws:ec2:us-east-1:222222222222:security-group/sg-0123",
            updated_at=t,
        ),
    ]
    samples = []
    for path in sorted((DATA / "asff").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        samples.extend(data.get("Findings", [data]))
    return [*samples, *generated]


@contextmanager
def _world(config: Config, repos: dict[str, list[str]], findings: list[dict[str, Any]], echo: Echo) -> Iterator[World]:
    clock = [MONDAY]
    hub = FakeSecurityHub(region=config.region or "us-east-1", account="000000000000", now=lambda: clock[0])
    loaded = 0
    for finding in findings:
        try:
            hub.import_findings([finding])
            loaded += 1
        except InvalidFindingError:
            pass  # the emulator refuses what Security Hub would refuse; the demo does not need it
    gh = FakeGitHub(API)
    gh.now = lambda: clock[0]
    gh.add_user(BOT, token="demo-token")  # noqa: S106 - the in-memory fake's token
    for repo, people in repos.items():
        for login in people:
            if login.lower() not in gh._users:
                gh.add_user(login)
        if repo.lower() not in gh._repos:
            gh.add_repo(repo, collaborators=[*people, BOT])
    client = boto3.client(
        "securityhub",
        region_name="us-east-1",
        config=RETRIES,
        aws_access_key_id="demo",
        aws_secret_access_key="demo",  # noqa: S106 - the in-process fake takes any key
    )
    hub.attach(client)
    echo(f"Security Hub (in-process) holds {loaded} findings; GitHub (in-memory) holds {len(repos)} repositories.\n")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh.mount(rsps)
        yield World(gh, hub, client, config, Library.load(config.explanations_dir), clock)


def _done(report: RunReport) -> list[str]:
    return [
        f"  [{e.kind.value}] {e.step.summary}" + (f"  {e.url}" if e.url else "")
        for e in report.entries
        if e.status is Status.DONE and e.step.has_effects
    ]


def _day(w: World, title: str, echo: Echo) -> RunReport:
    report = w.sync()
    echo(f"--- {w.clock[0]:%a %d %b %H:%M}: {title}")
    for line in _done(report) or ["  (nothing to do)"]:
        echo(line)
    if report.failed:
        echo("  failures: " + "; ".join(report.failure_lines()))
    echo("")
    return report


def _say(echo: Echo, w: World, text: str) -> None:
    echo(f"{w.clock[0]:%a %d %b %H:%M}  {text}")


def run_week(echo: Echo) -> int:
    config = load_config(DATA / "demo.yml")
    repos = {"acme/payments": ["alice", "bob", "cto", "mallory"], "acme/platform": ["alice", "carol", "dave", "cto"]}
    problems: list[str] = []
    with _world(config, repos, _week_findings(), echo) as w:
        first = _day(w, "day 0: the first sync opens an issue per finding the teams own", echo)
        bucket = w.issue_for("acme/payments", "[S3.2]")
        echo("This is what a developer reads (the S3.2 issue, in full):\n")
        echo(f"## {bucket['title']}\n\n{bucket['body']}\n")
        n = {
            "rds": w.issue_for("acme/payments", "[RDS.2]")["number"],
            "prices": w.issue_for("acme/payments", "[S3.3]")["number"],
            "sg": w.issue_for("acme/payments", "[EC2.19]")["number"],
            "bucket": bucket["number"],
        }
        second = w.sync()
        echo(
            f"A second sync right after changes nothing: {sum(1 for e in second.entries if e.step.has_effects)} step(s).\n"
        )

        w.at(1)
        _say(echo, w, "bob turns off public access on the ledger database and closes its issue as completed.")
        w.gh.close_issue("acme/payments", n["rds"], actor="bob", state_reason="completed")
        _day(w, "liver marks the finding RESOLVED and will check the fix", echo)
        w.at(1, 4)
        w.reevaluate(_fid(w, n["rds"]), "PASSED")
        _say(echo, w, "Security Hub re-checks the database: PASSED.")
        _day(w, "nothing to reopen", echo)

        w.at(2)
        _say(echo, w, "mallory (not an approver) adds the approval label to the price-list bucket issue.")
        w.gh.label_issue("acme/payments", n["prices"], LABEL, actor="mallory")
        rejected = _day(w, "liver removes the label and says who may approve", echo)
        if not any(e.kind.value == "rejected" for e in rejected.entries):
            problems.append("the non-approver's label was not rejected")
        w.at(2, 1)
        _say(echo, w, "bob explains: the bucket serves our public price list, nothing else. The CTO adds the label.")
        w.gh.comment(
            "acme/payments",
            n["prices"],
            "This bucket serves our public price list; nothing private is stored there.",
            actor="bob",
        )
        w.at(2, 2)
        w.gh.label_issue("acme/payments", n["prices"], LABEL, actor="cto")
        approved = _day(
            w, "liver suppresses the finding, records the approval on the issue, closes it as not planned", echo
        )
        if not any(e.kind.value == "suppressed" for e in approved.entries):
            problems.append("the CTO's approval was not applied")

        w.at(3)
        _say(echo, w, "alice narrows the open security group and closes its issue, but misses one rule.")
        w.gh.close_issue("acme/payments", n["sg"], actor="alice", state_reason="completed")
        _day(w, "liver marks the finding RESOLVED", echo)
        w.at(3, 6)
        w.reevaluate(_fid(w, n["sg"]), "FAILED")
        _say(echo, w, "Security Hub re-checks: still FAILED.")
        reopened = _day(w, "liver reopens the same issue: the fix was not detected", echo)
        if not any(e.kind.value == "reopened" for e in reopened.entries):
            problems.append("the failed fix was not reopened")

        w.at(4)
        _say(echo, w, "The teams fix the remaining critical findings; Security Hub reports them resolved.")
        for issue in w.gh.issues("acme/payments") + w.gh.issues("acme/platform"):
            if issue["state"] == "open" and any(lb["name"] == "severity:critical" for lb in issue["labels"]):
                for fid in _fids(w, issue):
                    if w.hub.finding(fid).get("Compliance"):
                        w.reevaluate(fid, "PASSED")
                    else:
                        w.archive(fid)
        _day(w, "liver closes each issue, saying what Security Hub reported", echo)

        w.at(7)
        final = w.sync()
        doc = status.status(config, {r: _tracked(w, r) for r in repos}, w.clock[0], 7)
        echo(status.to_terminal(doc))
        echo("")
        if doc["totals"]["open"]["critical"] != 0:
            problems.append("critical findings are still open at the end of the week")
        if first.failed or final.failed:
            problems.append("a sync reported failures")
    for p in problems:
        echo(f"Unexpected: {p}.")
    if not problems:
        echo(
            "Criticals went to zero in a week, every change visible on both sides. Try it with your own config: liver demo --config liver.yml"
        )
    return 1 if problems else 0


def _fids(w: World, issue: dict[str, Any]) -> list[str]:
    url = issue["html_url"]
    return [f["Id"] for f in w.hub.all() if (f.get("UserDefinedFields") or {}).get("liver_issue") == url]


def _fid(w: World, number: int) -> str:
    issue = w.gh.issue("acme/payments", number)
    return _fids(w, issue)[0]


def _tracked(w: World, repo: str) -> list[Any]:
    tracker = GitHubTracker.connect("demo-token", API, creators=(BOT,))
    return tracker.list_issues(repo)


# ---------------------------------------------------------------- your own config


CONTROLS = (
    ("S3.2", "AwsS3Bucket"),
    ("EC2.19", "AwsEc2SecurityGroup"),
    ("RDS.2", "AwsRdsDbInstance"),
    ("IAM.4", "AwsAccount"),
    ("Lambda.1", "AwsLambdaFunction"),
)


def _people(config: Config) -> set[str]:
    out: set[str] = set()
    for s in config.services:
        if s.oncall is None:
            continue
        out |= set(s.oncall.fallback)
        p = s.oncall.provider
        if isinstance(p, RotationSpec):
            out |= set(p.members) | {o.login for o in p.overrides}
        elif isinstance(p, StaticSpec):
            out.add(p.login)
        elif isinstance(p, PagerDutySpec):
            out |= set(config.people.values())
    return out | {a.login for a in config.approval.logins}


def _generated_for(config: Config) -> list[dict[str, Any]]:
    t = _ts(MONDAY - timedelta(hours=1))
    tag = config.group_by_tags[0] if config.group_by_tags else "aws:autoscaling:groupName"
    out = []
    for service in config.services:
        for account in list(service.accounts)[:3]:
            for control, rtype in CONTROLS:
                rid = (
                    "AWS::::Account:" + account
                    if rtype == "AwsAccount"
                    else f"arn:aws:example:us-east-1:{account}:{control.lower()}-{service.name}"
                )
                out.append(
                    control_finding(control, account=account, resource_type=rtype, resource_id=rid, updated_at=t)
                )
            out += [
                control_finding(
                    "EC2.8",
                    account=account,
                    resource_type="AwsEc2Instance",
                    resource_id=f"arn:aws:ec2:us-east-1:{account}:instance/i-0{n}",
                    tags={tag: f"{service.name}-web"},
                    updated_at=t,
                )
                for n in range(2)
            ]
            out.append(
                control_finding(
                    "S3.3",
                    account=account,
                    resource_id=f"arn:aws:s3:::{service.name}-{account}-static",
                    tags={config.ignore_tag.key: "public static files; until=2099-01-01"},
                    updated_at=t,
                )
            )
    return out


def run_own(echo: Echo, path: Path) -> int:
    config = load_config(path)
    people = sorted(_people(config))
    repos = {s.repo: people for s in config.services}
    echo(
        f"{path}: {len(config.services)} service(s). Findings are generated for their accounts: several controls, an Auto Scaling group, an ignore-tagged bucket."
    )
    with _world(config, repos, _generated_for(config), echo) as w:
        report = w.sync()
        for repo, title, body in report.rendered:
            echo(f"----- {repo}: {title}\n{body[:1500]}{'…' if len(body) > 1500 else ''}\n")
        echo(report.text())
    return 1 if report.failed else 0


def run_demo(echo: Echo, config_path: Path | None = None) -> int:
    return run_own(echo, config_path) if config_path else run_week(echo)
