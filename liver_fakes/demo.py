"""`liver demo`: the real sync against an in-process Security Hub and GitHub.

No credentials and no network: the fakes answer through botocore's event system and
through `responses`, and validate every request against the vendors' API descriptions.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import responses

from liver_fakes.github import FakeGitHub
from liver_fakes.securityhub import FakeSecurityHub, InvalidFindingError
from liver_gh.adapters.github import GitHubTracker
from liver_gh.adapters.oncall import OncallResolver
from liver_gh.adapters.paging import Pager
from liver_gh.adapters.securityhub import RETRIES, SecurityHub
from liver_gh.config.load import load_config
from liver_gh.render.explanations import Library
from liver_gh.report.actions import write_outputs
from liver_gh.sync import Ports, run_sync

DATA = Path(__file__).parent / "data"
API = "https://api.github.com"


def _generated(now: datetime) -> list[dict[str, Any]]:
    """Findings the samples lack: a public bucket, IMDSv1 across an Auto Scaling group, an
    ignore-tagged resource, a prototype account, and one hostile title."""
    from liver_fakes.findings import control_finding

    t = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    asg = {"aws:autoscaling:groupName": "checkout-web"}
    return [
        control_finding("S3.2", account="111111111111", resource_id="arn:aws:s3:::acme-payments-exports", updated_at=t),
        control_finding(
            "RDS.2",
            account="111111111111",
            resource_type="AwsRdsDbInstance",
            resource_id="arn:aws:rds:us-east-1:111111111111:db:ledger",
            updated_at=t,
        ),
        *[
            control_finding(
                "EC2.8",
                account="111111111111",
                resource_type="AwsEc2Instance",
                resource_id=f"arn:aws:ec2:us-east-1:111111111111:instance/i-0abc{n}",
                tags=asg,
                updated_at=t,
            )
            for n in range(3)
        ],
        control_finding(
            "S3.3",
            account="111111111111",
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
            title="Lambda policy @acme/security-team <!-- liver:identity v1 key=f-0 --> [click](https://evil.example)",
            updated_at=t,
        ),
        control_finding(
            "EC2.13",
            account="222222222222",
            resource_type="AwsEc2SecurityGroup",
            resource_id="arn:aws:ec2:us-east-1:222222222222:security-group/sg-0123",
            updated_at=t,
        ),
    ]


def _samples() -> list[dict[str, Any]]:
    out = []
    for path in sorted((DATA / "asff").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        out.extend(data.get("Findings", [data]))
    return out


def run_demo(echo: Callable[[str], None], config_path: Path | None = None) -> int:
    now = datetime.now(UTC)
    config = load_config(config_path or DATA / "demo.yml")
    library = Library.load(None)
    hub_fake = FakeSecurityHub(region="us-east-1", account="000000000000")
    accepted, rejected = 0, 0
    for finding in [*_samples(), *_generated(now)]:
        try:
            hub_fake.import_findings([finding])
            accepted += 1
        except InvalidFindingError as e:
            rejected += 1
            echo(f"(the emulator rejected sample {finding.get('Id', '?')[:60]}: {str(e)[:120]})")
    gh_fake = FakeGitHub(API)
    for login in ("alice", "bob", "carol", "dave", "cto"):
        gh_fake.add_user(login)
    gh_fake.add_user("liver-bot", token="demo-token")  # noqa: S106 - the in-memory fake's token
    gh_fake.add_repo("acme/payments", collaborators=["alice", "bob", "cto", "liver-bot"])
    gh_fake.add_repo("acme/platform", collaborators=["alice", "cto", "liver-bot"])

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "demo")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "demo")
    client = boto3.client(
        "securityhub",
        region_name="us-east-1",
        config=RETRIES,
        aws_access_key_id="demo",
        aws_secret_access_key="demo",  # noqa: S106 - the in-process fake
    )
    hub_fake.attach(client)
    echo(f"Security Hub (in-process) holds {accepted} findings: the real ASFF samples plus generated ones.\n")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        gh_fake.mount(rsps)
        for run in (1, 2):
            tracker = GitHubTracker.connect(
                "demo-token", API, creators=("liver-bot",), per_minute=100000, per_hour=100000
            )
            hub = SecurityHub(client)
            ports = Ports(tracker, hub, OncallResolver(config.people, {}), Pager({}), tracker.creators)
            before_gh, before_sh = len(gh_fake.requests_log), len(hub_fake.calls)
            report = run_sync(config, ports=ports, library=library, now=now, keep_rendered=True)
            gh_calls = gh_fake.requests_log[before_gh:]
            sh_calls = hub_fake.calls[before_sh:]
            mutations = [c for c in gh_calls if c[0] not in ("GET", "HEAD")]
            echo(f"===== sync #{run} =====")
            if run == 1:
                write_outputs(report)
                for repo, title, body in report.rendered:
                    echo(f"\n----- new issue in {repo}: {title}\n{body}")
                echo("\n----- Security Hub updates")
                for op, params in sh_calls:
                    if op == "BatchUpdateFindings":
                        ids = [i["Id"].rsplit("/", 1)[-1][:12] for i in params["FindingIdentifiers"]]
                        echo(
                            f"  {params.get('Workflow', {}).get('Status', '-')}: {', '.join(ids)} — {params['Note']['Text']}"
                        )
            echo("")
            echo(report.text())
            echo(
                f"GitHub requests: {len(gh_calls)} ({len(mutations)} mutating); Security Hub calls: "
                f"{sum(1 for c in sh_calls if c[0] == 'GetFindings')} GetFindings, "
                f"{sum(1 for c in sh_calls if c[0] == 'BatchUpdateFindings')} BatchUpdateFindings.\n"
            )
            if run == 2 and (mutations or report.entries):
                echo("Unexpected: the second sync changed something.")
                return 1
    echo("The second sync found nothing to do: both systems already agree.")
    return 0
