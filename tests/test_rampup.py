"""Ramp-up and noise control (issue #4), end to end through the CLI."""

from __future__ import annotations

import json

from liver_gh.rules import identity
from tests.conftest import Env, ts
from tests.factories import control_finding, keys_in

IGNORE = "liver:ignore"


def bucket(env: Env, name: str, **kw: object) -> dict:  # type: ignore[type-arg]
    return control_finding("S3.2", resource_id=f"arn:aws:s3:::{name}", updated_at=ts(env.now), key=name, **kw)  # type: ignore[arg-type]


def instance(env: Env, n: int, group: str = "checkout-web", control: str = "EC2.8") -> dict:  # type: ignore[type-arg]
    return control_finding(
        control,
        resource_type="AwsEc2Instance",
        resource_id=f"arn:aws:ec2:us-east-1:111111111111:instance/i-{n:04d}",
        tags={"aws:autoscaling:groupName": group},
        updated_at=ts(env.now),
    )


def test_ignore_tag_with_reason_opens_nothing_until_the_ramp_up_ends(env: Env) -> None:
    env.hub.import_findings([bucket(env, "legacy", tags={IGNORE: "replaced in Q1 by the new exporter"})])
    result = env.sync()
    assert env.issues() == []
    assert "ignore tag: 1" in result.output
    env.advance(days=200)  # past 2027-03-31
    env.hub.import_findings([bucket(env, "legacy", tags={IGNORE: "replaced in Q1 by the new exporter"})])
    env.sync()
    (issue,) = env.issues()
    assert "not honoured" in issue["body"] and "replaced in Q1" in issue["body"]


def test_empty_reason_is_not_honoured_and_the_issue_says_so(env: Env) -> None:
    env.hub.import_findings([bucket(env, "noreason", tags={IGNORE: ""})])
    env.sync()
    (issue,) = env.issues()
    assert "without a reason" in issue["body"]


def test_reason_can_carry_its_own_earlier_end(env: Env) -> None:
    env.hub.import_findings([bucket(env, "short", tags={IGNORE: "migration; until=2026-11-01"})])
    env.sync()
    (issue,) = env.issues()
    assert "ramp-up ended on 2026-11-01" in issue["body"]


def test_report_ignored_markdown_and_json(env: Env) -> None:
    env.hub.import_findings(
        [
            bucket(env, "kept", tags={IGNORE: "public price list; until=2027-01-31"}),
            bucket(env, "empty", tags={IGNORE: ""}),
            bucket(env, "plain"),
        ]
    )
    md = env.liver("report", "ignored")
    assert md.exit_code == 0, md.output
    assert "**1** ignored, **1** tag(s) not honoured" in md.output
    assert "public price list" in md.output and "| 66 |" in md.output  # days left to 2027-01-31
    assert "the tag was found without a reason" in md.output
    data = json.loads(env.liver("report", "ignored", "--format", "json").output)
    assert data["totals"] == {"ignored": 1, "not_honoured": 1}
    row = data["ignored"][0]
    assert row["service"] == "payments" and row["environment"] == "production" and row["control"] == "S3.2"
    assert row["severity"] == "CRITICAL" and row["days_left"] == 66


def test_autoscaling_instances_share_one_issue_and_new_members_join_it(env: Env) -> None:
    env.hub.import_findings([instance(env, 1), instance(env, 2)])
    env.sync()
    (issue,) = env.issues()
    assert "i-0001" in issue["body"] and "i-0002" in issue["body"]
    assert issue["body"].count("- [ ] ") == 2
    key = keys_in(issue["body"])[0]
    assert key.startswith("g-")
    for f in env.hub.all():
        assert f["Workflow"]["Status"] == "NOTIFIED"
        assert f["UserDefinedFields"][identity.UDF_ISSUE] == issue["html_url"]
    # A new instance of the same group: no new issue, no new assignment, added to the list.
    env.advance(hours=1)
    env.hub.import_findings([instance(env, 3)])
    mark = len(env.gh.requests_log)
    env.sync()
    (issue,) = env.issues()
    assert "i-0003" in issue["body"]
    assert not [m for m in env.mutations(mark) if m[0] == "POST" and m[1].endswith("/issues")]
    # One member fixed: ticked. All fixed: closed.
    env.advance(hours=1)
    first = next(f for f in env.hub.all() if f["Resources"][0]["Id"].endswith("i-0001"))
    env.reimport(first["Id"], Compliance={**first["Compliance"], "Status": "PASSED"})
    env.sync()
    (issue,) = env.issues()
    assert issue["body"].count("- [x] ") == 1 and issue["state"] == "open"
    for f in env.hub.all():
        if f["Compliance"]["Status"] == "FAILED":
            env.reimport(f["Id"], Compliance={**f["Compliance"], "Status": "PASSED"})
    env.sync()
    (issue,) = env.issues()
    assert issue["state"] == "closed"


def test_group_by_control_gives_one_issue_per_control(env: Env) -> None:
    env.write_config(
        env.config.read_text().replace("    repo: acme/payments\n", "    repo: acme/payments\n    group_by: control\n")
    )
    env.hub.import_findings([bucket(env, "a"), bucket(env, "b"), bucket(env, "c")])
    env.sync()
    (issue,) = env.issues()
    assert keys_in(issue["body"])[0].startswith("c-")
    assert all(n in issue["body"] for n in ("a`", "b`", "c`"))


def test_filters_exclude_products_controls_and_regions(env: Env) -> None:
    text = env.config.read_text().replace(
        "github:\n", "filters:\n  controls_exclude: [S3.3]\n  regions: [us-east-1]\ngithub:\n", 1
    )
    env.write_config(text)
    env.hub.import_findings(
        [
            control_finding("S3.3", resource_id="arn:aws:s3:::x", updated_at=ts(env.now)),
            control_finding("S3.2", resource_id="arn:aws:s3:::y", region="eu-west-1", updated_at=ts(env.now)),
            bucket(env, "kept"),
        ]
    )
    result = env.sync()
    assert len(env.issues()) == 1
    assert "control excluded: 1" in result.output
    gets = [p for op, p in env.hub.calls if op == "GetFindings"]
    assert gets[0]["Filters"]["Region"] == [{"Value": "us-east-1", "Comparison": "EQUALS"}]


def test_per_service_product_filter(env: Env) -> None:
    text = env.config.read_text().replace(
        "    repo: acme/payments\n", "    repo: acme/payments\n    filters: {products_exclude: [Security Hub]}\n"
    )
    env.write_config(text)
    env.hub.import_findings([bucket(env, "a")])
    result = env.sync()
    assert env.issues() == [] and "product excluded: 1" in result.output


def test_max_new_issues_opens_most_severe_then_oldest(env: Env) -> None:
    env.write_config(env.config.read_text().replace("github:\n", "max_new_issues: 2\ngithub:\n", 1))
    env.hub.import_findings(
        [
            control_finding(
                "EC2.13",
                resource_type="AwsEc2SecurityGroup",
                resource_id="arn:aws:ec2:us-east-1:111111111111:security-group/sg-1",
                updated_at=ts(env.now),
                first_seen="2026-01-01T00:00:00.000Z",
            ),
            bucket(env, "new", first_seen="2026-11-20T00:00:00.000Z"),
            bucket(env, "old", first_seen="2026-10-01T00:00:00.000Z"),
        ]
    )
    result = env.sync()
    titles = sorted(i["body"].split("**")[1] for i in env.issues())
    assert len(env.issues()) == 2
    assert all("S3" in t or "public" in t.lower() for t in titles)
    assert "left NEW because max_new_issues (2)" in result.output
    env.sync()
    assert len(env.issues()) == 3


def test_repository_override_of_min_severity(env: Env) -> None:
    env.write_config(
        env.config.read_text().replace("github:\n", "repo_overrides: [min_severity, oncall]\ngithub:\n", 1)
    )
    env.gh.put_content(
        "acme/payments", ".github/liver.yml", "version: 1\nmin_severity: CRITICAL\noncall:\n  static: alice\n"
    )
    env.hub.import_findings(
        [
            control_finding(
                "EC2.13",
                resource_type="AwsEc2SecurityGroup",
                resource_id="arn:aws:ec2:us-east-1:111111111111:security-group/sg-1",
                updated_at=ts(env.now),
            ),
            bucket(env, "crit"),
        ]
    )
    result = env.sync()
    assert result.exit_code == 0, result.output
    (issue,) = env.issues()  # the HIGH one is now below the repository's minimum
    assert [a["login"] for a in issue["assignees"]] == ["alice"]
    assert "below minimum severity: 1" in result.output


def test_invalid_repository_override_warns_and_uses_central_values(env: Env) -> None:
    env.write_config(env.config.read_text().replace("github:\n", "repo_overrides: [min_severity]\ngithub:\n", 1))
    env.gh.put_content("acme/payments", ".github/liver.yml", "min_severity: SEVERE\noncall: {static: mallory}\n")
    env.hub.import_findings([bucket(env, "crit")])
    result = env.sync()
    assert result.exit_code == 0
    assert "acme/payments:.github/liver.yml:1: min_severity: unknown severity 'SEVERE'" in result.output
    assert "oncall: may not be overridden" in result.output
    assert "central values are used" in result.output
    (issue,) = env.issues()
    assert [a["login"] for a in issue["assignees"]] == ["bob"]
    assert env.gh.comments("acme/payments", issue["number"]) == []
