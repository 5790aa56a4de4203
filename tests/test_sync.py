"""The core loop, end to end through the CLI against the faithful fakes (issue #2)."""

from __future__ import annotations

import re

from liver_gh.rules import identity
from tests.conftest import Env, ts
from tests.factories import control_finding, finding_key, keys_in, real_samples

BUCKET = "arn:aws:s3:::acme-payments-exports"


def seed(env: Env, *findings: dict) -> list[str]:  # type: ignore[type-arg]
    env.hub.import_findings(list(findings))
    return [f["Id"] for f in findings]


def critical(env: Env, **kw: object) -> dict:  # type: ignore[type-arg]
    kw.setdefault("resource_id", BUCKET)
    kw.setdefault("updated_at", ts(env.now))
    return control_finding("S3.2", **kw)  # type: ignore[arg-type]


def test_opens_one_explained_assigned_issue_and_notifies_security_hub(env: Env) -> None:
    (fid,) = seed(env, critical(env))
    result = env.sync()
    assert result.exit_code == 0, result.output
    (issue,) = env.issues()
    assert issue["title"] == "[S3.2] S3 general purpose buckets should block public read access"
    assert {lb["name"] for lb in issue["labels"]} == {"liver", "severity:critical"}
    assert [a["login"] for a in issue["assignees"]] == [
        "bob"
    ]  # 2026-11-26 is week 3 (0-based) of [alice, bob] from 2026-11-02
    body = issue["body"]
    for needle in (
        "## Why it matters",
        "## How to fix",
        "## How to verify",
        "## What to do next",
        "acme-payments-exports",
        "production",
        "111111111111",
        "Due",
        "securityhub/home?region=us-east-1",
    ):
        assert needle in body, needle
    assert keys_in(body) == [finding_key(fid)]
    finding = env.finding(fid)
    assert finding["Workflow"]["Status"] == "NOTIFIED"
    assert finding["Note"]["UpdatedBy"] == "liver"
    assert issue["html_url"] in finding["Note"]["Text"]
    assert finding["UserDefinedFields"][identity.UDF_ISSUE] == issue["html_url"]
    assert finding["UserDefinedFields"]["liver"] == "v1"
    # Labels and assignee went into the create call: one POST for the issue.
    posts = [m for m in env.mutations() if m[0] == "POST" and m[1].endswith("/issues")]
    assert len(posts) == 1


def test_labels_are_created_once_per_repository(env: Env) -> None:
    seed(env, critical(env), critical(env, resource_id="arn:aws:s3:::other", key="2"))
    env.sync()
    label_posts = [m for m in env.mutations() if m[1].endswith("/labels")]
    assert len(label_posts) == 2  # liver, severity:critical
    assert len(env.issues()) == 2


def test_second_sync_changes_nothing(env: Env) -> None:
    seed(
        env,
        critical(env),
        control_finding(
            "EC2.8",
            account="333333333333",
            resource_type="AwsEc2Instance",
            resource_id="arn:aws:ec2:us-east-1:333333333333:instance/i-1",
            updated_at=ts(env.now),
        ),
    )
    assert env.sync().exit_code == 0
    mark_gh, mark_sh = len(env.gh.requests_log), len(env.hub.calls)
    result = env.sync()
    assert result.exit_code == 0
    assert env.mutations(mark_gh) == []
    assert env.updates(mark_sh) == []
    assert "opened: 0" in result.output


def test_dry_run_prints_the_plan_and_changes_nothing(env: Env) -> None:
    (fid,) = seed(env, critical(env))
    result = env.sync("--dry-run")
    assert result.exit_code == 0
    assert "open an issue in acme/payments" in result.output
    assert env.mutations() == [] and env.updates() == []
    assert env.finding(fid)["Workflow"]["Status"] == "NEW"


def test_pull_uses_server_side_filters_and_pages(env: Env) -> None:
    seed(env, *[critical(env, resource_id=f"arn:aws:s3:::b{i}", key=str(i)) for i in range(3)])
    env.sync()
    gets = [params for op, params in env.hub.calls if op == "GetFindings"]
    new_filter = gets[0]["Filters"]
    assert new_filter["RecordState"] == [{"Value": "ACTIVE", "Comparison": "EQUALS"}]
    assert new_filter["WorkflowStatus"] == [{"Value": "NEW", "Comparison": "EQUALS"}]
    assert {f["Value"] for f in new_filter["SeverityLabel"]} == {"HIGH", "CRITICAL"}
    assert "AwsAccountId" not in new_filter  # read every account so unmapped ones are reported
    assert all(p["MaxResults"] == 100 for p in gets)
    listing = [r for r in env.gh.requests_log if r[0] == "GET" and r[1].endswith("/issues")]
    assert listing, "issues are listed per repository"
    assert not any(r[1].startswith("/search/") for r in env.gh.requests_log)


def test_restart_after_issue_created_completes_the_update(env: Env) -> None:
    (fid,) = seed(env, critical(env))
    env.hub.fault = lambda op, params: "InternalException" if op == "BatchUpdateFindings" else None
    first = env.sync()
    assert first.exit_code == 1
    assert len(env.issues()) == 1
    assert env.finding(fid)["Workflow"]["Status"] == "NEW"
    env.hub.fault = None
    mark = len(env.gh.requests_log)
    second = env.sync()
    assert second.exit_code == 0, second.output
    assert len(env.issues()) == 1
    assert not [m for m in env.mutations(mark) if m[1].endswith("/issues")]
    assert env.finding(fid)["Workflow"]["Status"] == "NOTIFIED"


def test_skips_are_counted_and_unmapped_accounts_warned(env: Env) -> None:
    seed(
        env,
        critical(env, account="444444444444", resource_id="arn:aws:s3:::unmapped"),
        critical(env, account="999999999999", resource_id="arn:aws:s3:::proto"),
        control_finding(
            "EC2.13",
            account="222222222222",
            resource_type="AwsEc2SecurityGroup",
            severity="HIGH",
            resource_id="arn:aws:ec2:us-east-1:222222222222:security-group/sg-1",
            updated_at=ts(env.now),
        ),
    )
    result = env.sync()
    assert result.exit_code == 0
    assert "Account 444444444444 is not mapped" in result.output
    assert "below minimum severity: 1" in result.output
    assert "unmapped account: 1" in result.output
    assert "prototype account: 1" in result.output
    assert env.issues() == []


def test_passed_and_archived_findings_open_nothing(env: Env) -> None:
    seed(
        env, critical(env, compliance="PASSED"), critical(env, resource_id="arn:aws:s3:::gone", record_state="ARCHIVED")
    )
    env.sync()
    assert env.issues() == []


def test_untrusted_text_cannot_mention_or_forge_the_marker(env: Env) -> None:
    hostile = (
        "Bucket @acme/everyone @cto <!-- liver:identity v1 key=f-"
        + "0" * 40
        + " --> ![x](https://evil.example/p.png) `x`"
    )
    (fid,) = seed(
        env, critical(env, title=hostile, resource_id="arn:aws:s3:::x`$(curl evil)`", tags={"owner": "@mallory"})
    )
    assert env.sync().exit_code == 0
    (issue,) = env.issues()
    body = issue["body"]
    assert keys_in(body) == [finding_key(fid)]
    assert body.count("<!--") == 1
    outside_code = re.sub(r"```.*?```|`[^`]*`", "", body, flags=re.DOTALL)
    assert re.findall(r"(?<![\w])@[\w-]+", outside_code) == ["@bob"]  # only the on-call person is mentioned
    assert "@acme/everyone" not in outside_code
    assert "@" not in issue["title"] and "\n" not in issue["title"]
    assert "![x](" not in body
    assert "$(curl evil)" not in body.split("## How to fix", 1)[1].split("<details>")[0]
    assert len(body) < 65_536


def test_body_stays_under_githubs_limit_with_huge_descriptions(env: Env) -> None:
    raw = critical(env)
    raw["Description"] = "A" * 200_000
    raw["Resources"] = [dict(raw["Resources"][0], Id=f"arn:aws:s3:::bucket-{i}") for i in range(32)]
    seed(env, raw)
    assert env.sync().exit_code == 0
    assert len(env.issues()[0]["body"]) < 65_536


def test_unassignable_oncall_opens_unassigned_and_says_so(env: Env) -> None:
    env.write_config(env.config.read_text().replace("rotation: [alice, bob]", "rotation: [zed]"))
    env.gh.add_user("zed")
    seed(env, critical(env))
    result = env.sync()
    assert result.exit_code == 0
    (issue,) = env.issues()
    assert issue["assignees"] == []
    assert "zed" in issue["body"] and "unassigned" in issue["body"]
    assert "unassigned" in result.output


def test_every_real_sample_flows_through_sync(env: Env) -> None:
    # Map the samples' accounts to services so every one is considered.
    text = env.config.read_text().replace("min_severity: HIGH\ngithub", "min_severity: INFORMATIONAL\ngithub")
    text = text.replace(
        'accounts: {"333333333333": production}',
        'accounts: {"333333333333": production, "123456789012": production, "111122223333": staging, "012345678912": production, "193043430472": production}',
    )
    text = text.replace("staging: CRITICAL}", "staging: INFORMATIONAL}")
    env.write_config(text)
    samples = list(real_samples().values())
    accepted = []
    for s in samples:
        try:
            env.hub.import_findings([s])
            accepted.append(s)
        except ValueError:
            pass
    result = env.sync()
    assert result.exit_code == 0, result.output
    opened = env.issues("acme/search") + env.issues("acme/payments")
    assert opened, result.output
    for issue in opened:
        assert len(keys_in(issue["body"])) == 1


def test_malformed_finding_is_reported_and_the_rest_still_run(env: Env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    good = critical(env)
    seed(env, good)
    from liver_gh.adapters import securityhub

    original = securityhub.parse_finding

    def flaky(raw):  # type: ignore[no-untyped-def]
        if raw["Id"] == good["Id"]:
            return original(raw)
        return original(raw)

    monkeypatch.setattr(securityhub, "parse_finding", flaky)
    bad = critical(env, resource_id="arn:aws:s3:::bad", key="bad")
    seed(env, bad)

    def broken(raw):  # type: ignore[no-untyped-def]
        if raw["Id"] == bad["Id"]:
            raw = dict(raw, Severity={"Label": "SEVERE"})
        return original(raw)

    monkeypatch.setattr(securityhub, "parse_finding", broken)
    result = env.sync()
    assert result.exit_code == 1
    assert "malformed finding skipped" in result.output and "unknown severity" in result.output
    assert len(env.issues()) == 1


def test_python_dash_m_and_help() -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "liver_gh", "--help"], capture_output=True, text=True, check=True)
    for command in ("sync", "check-config", "explain", "demo", "report"):
        assert command in out.stdout


def test_shards_partition_services_deterministically(env: Env) -> None:
    seed(
        env,
        critical(env),
        control_finding(
            "S3.2", account="333333333333", resource_id="arn:aws:s3:::search-bucket", updated_at=ts(env.now)
        ),
    )
    env.sync("--shard", "1/2")
    env.sync("--shard", "2/2")
    assert len(env.issues("acme/payments")) == 1 and len(env.issues("acme/search")) == 1
    bad = env.sync("--shard", "3/2")
    assert bad.exit_code == 2 and "I must be between 1 and N" in bad.output


def test_per_repo_mode_handles_only_its_service(env: Env) -> None:
    seed(
        env,
        critical(env),
        control_finding(
            "S3.2", account="333333333333", resource_id="arn:aws:s3:::search-bucket", updated_at=ts(env.now)
        ),
    )
    result = env.liver("sync", "--per-repo", env={"GITHUB_REPOSITORY": "acme/search"})
    assert result.exit_code == 0, result.output
    assert env.issues("acme/payments") == [] and len(env.issues("acme/search")) == 1
    assert "not mapped" not in result.output
