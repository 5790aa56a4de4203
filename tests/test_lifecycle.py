"""The two-way lifecycle (issue #3), end to end through the CLI against the fakes.

The fake Security Hub applies the documented automatic workflow transitions, so a loop
or a duplicate would show up here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import BASE_CONFIG, Env, build_env, ts
from tests.factories import control_finding, finding_key, plain

REPO = "acme/payments"
LABEL = "liver/suppress-approved"


@pytest.fixture(params=["asff", "ocsf"])
def env(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    """The lifecycle runs end to end against both finding sources: ASFF and OCSF (v2)."""
    with build_env(tmp_path, monkeypatch) as built:
        if request.param == "ocsf":
            built.write_config(BASE_CONFIG.replace("  region: us-east-1\n", "  region: us-east-1\n  api: ocsf\n", 1))
        yield built


def opened(env: Env) -> tuple[str, int]:
    raw = control_finding("S3.2", resource_id="arn:aws:s3:::acme-exports", updated_at=ts(env.now))
    env.hub.import_findings([raw])
    assert env.sync().exit_code == 0
    (issue,) = env.issues()
    return raw["Id"], issue["number"]


def issue(env: Env, number: int) -> dict:  # type: ignore[type-arg]
    return next(i for i in env.issues() if i["number"] == number)


def workflow(env: Env, fid: str) -> str:
    return str(env.finding(fid)["Workflow"]["Status"])


def last_comment(env: Env, number: int) -> str:
    return plain(str(env.gh.comments(REPO, number)[-1]["body"]))


def test_approval_by_approver_suppresses_and_closes(env: Env) -> None:
    fid, n = opened(env)
    env.advance(hours=1)
    env.gh.comment(REPO, n, "This bucket hosts our public price list; nothing else is stored there.", actor="bob")
    env.advance(minutes=5)
    env.gh.label_issue(REPO, n, LABEL, actor="cto")
    result = env.sync()
    assert result.exit_code == 0, result.output
    assert workflow(env, fid) == "SUPPRESSED"
    note = env.note(fid)
    assert "cto" in note["Text"] and issue(env, n)["html_url"] in note["Text"]
    assert "public price list" in note["Text"]
    assert len(note["Text"]) <= 512 and note["UpdatedBy"] == "liver"
    assert issue(env, n)["state"] == "closed" and issue(env, n)["state_reason"] == "not_planned"
    assert "Approved by cto" in last_comment(env, n)
    # Stable afterwards.
    mark_gh, mark_sh = len(env.gh.requests_log), len(env.hub.calls)
    env.sync()
    assert env.mutations(mark_gh) == [] and env.updates(mark_sh) == []


def test_approval_by_team_member_counts(env: Env) -> None:
    fid, n = opened(env)
    env.gh.label_issue(REPO, n, LABEL, actor="lead")
    assert env.sync().exit_code == 0
    assert workflow(env, fid) == "SUPPRESSED"


def test_label_by_anyone_else_is_removed_and_reported(env: Env) -> None:
    fid, n = opened(env)
    env.gh.label_issue(REPO, n, LABEL, actor="mallory")
    result = env.sync()
    assert result.exit_code == 0
    assert workflow(env, fid) == "NOTIFIED"
    current = issue(env, n)
    assert current["state"] == "open"
    assert LABEL not in {lb["name"] for lb in current["labels"]}
    assert "added by mallory, but mallory is not an approver" in last_comment(env, n)
    assert "rejected" in result.output


def test_label_presence_alone_proves_nothing(env: Env) -> None:
    """An approver labels, someone removes it, then a non-approver adds it again: rejected."""
    fid, n = opened(env)
    env.gh.label_issue(REPO, n, LABEL, actor="cto")
    env.advance(minutes=1)
    env.gh.unlabel_issue(REPO, n, LABEL, actor="bob")
    env.advance(minutes=1)
    env.gh.label_issue(REPO, n, LABEL, actor="mallory")
    env.sync()
    assert workflow(env, fid) == "NOTIFIED"


def test_closed_as_completed_resolves_then_verifies_the_fix(env: Env) -> None:
    fid, n = opened(env)
    env.advance(hours=2)
    env.gh.close_issue(REPO, n, actor="bob", state_reason="completed")
    assert env.sync().exit_code == 0
    assert workflow(env, fid) == "RESOLVED"
    assert "bob" in env.note(fid)["Text"]
    # Security Hub re-evaluates and still fails: the same issue reopens.
    env.advance(hours=12)
    env.reimport(fid, Compliance={**env.finding(fid)["Compliance"], "Status": "FAILED"})
    result = env.sync()
    assert result.exit_code == 0
    assert issue(env, n)["state"] == "open"
    assert "The fix was not detected" in last_comment(env, n)
    assert workflow(env, fid) == "NOTIFIED"
    assert len(env.issues()) == 1


def test_closed_as_completed_and_really_fixed_stays_closed(env: Env) -> None:
    fid, n = opened(env)
    env.gh.close_issue(REPO, n, actor="bob", state_reason="completed")
    env.sync()
    env.advance(hours=12)
    env.reimport(fid, Compliance={**env.finding(fid)["Compliance"], "Status": "PASSED"})
    env.sync()
    assert issue(env, n)["state"] == "closed"
    assert workflow(env, fid) == "RESOLVED"


def test_closed_not_planned_without_approval_reopens(env: Env) -> None:
    fid, n = opened(env)
    env.gh.close_issue(REPO, n, actor="bob", state_reason="not_planned")
    assert env.sync().exit_code == 0
    assert issue(env, n)["state"] == "open"
    assert "needs an approver's" in last_comment(env, n)
    assert workflow(env, fid) == "NOTIFIED"


def test_resolved_in_security_hub_closes_the_issue(env: Env) -> None:
    fid, n = opened(env)
    env.advance(hours=3)
    env.reimport(fid, Compliance={**env.finding(fid)["Compliance"], "Status": "PASSED"})
    assert workflow(env, fid) == "RESOLVED"  # Security Hub's own transition
    assert env.sync().exit_code == 0
    current = issue(env, n)
    assert current["state"] == "closed" and current["state_reason"] == "completed"
    assert "compliance PASSED" in last_comment(env, n)


def test_archived_finding_closes_the_issue(env: Env) -> None:
    fid, n = opened(env)
    env.reimport(fid, RecordState="ARCHIVED")
    env.sync()
    assert issue(env, n)["state"] == "closed"
    assert "archived" in last_comment(env, n)


def test_finding_gone_closes_the_issue(env: Env) -> None:
    fid, n = opened(env)
    env.hub.delete(fid)
    env.sync()
    assert issue(env, n)["state"] == "closed"
    assert "no longer has this finding" in last_comment(env, n)


def test_recurrence_reopens_the_same_issue(env: Env) -> None:
    fid, n = opened(env)
    env.advance(hours=1)
    env.reimport(fid, Compliance={**env.finding(fid)["Compliance"], "Status": "PASSED"})
    env.sync()
    assert issue(env, n)["state"] == "closed"
    env.advance(days=2)
    env.reimport(fid, Compliance={**env.finding(fid)["Compliance"], "Status": "FAILED"})
    assert workflow(env, fid) == "NEW"  # Security Hub reset it
    assert env.sync().exit_code == 0
    assert len(env.issues()) == 1
    assert issue(env, n)["state"] == "open"
    assert "came back" in last_comment(env, n)
    assert workflow(env, fid) == "NOTIFIED"


def test_suppressed_directly_in_security_hub_closes_as_not_planned(env: Env) -> None:
    fid, n = opened(env)
    client_params = {
        "FindingIdentifiers": [{"Id": fid, "ProductArn": env.finding(fid)["ProductArn"]}],
        "Workflow": {"Status": "SUPPRESSED"},
        "Note": {"Text": "Accepted by the risk committee, ticket RISK-12", "UpdatedBy": "jane.security"},
    }
    import boto3

    c = boto3.client("securityhub", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    env.hub.attach(c)
    if "api: ocsf" in env.config.read_text():  # the person works in the new Security Hub
        raw = env.finding(fid)
        ident = {"CloudAccountUid": raw["AwsAccountId"], "FindingInfoUid": fid, "MetadataProductUid": raw["ProductArn"]}
        c.batch_update_findings_v2(
            FindingIdentifiers=[ident], StatusId=3, Comment="Accepted by the risk committee, ticket RISK-12"
        )
    else:
        c.batch_update_findings(**client_params)
    env.sync()
    current = issue(env, n)
    assert current["state"] == "closed" and current["state_reason"] == "not_planned"
    assert "RISK-12" in last_comment(env, n)
    # liver does not override the person's change, and stays quiet afterwards.
    mark = len(env.gh.requests_log)
    env.sync()
    assert workflow(env, fid) == "SUPPRESSED" and env.mutations(mark) == []


def test_approval_expires(env: Env) -> None:
    fid, n = opened(env)
    env.gh.label_issue(REPO, n, LABEL, actor="cto")
    env.sync()
    assert workflow(env, fid) == "SUPPRESSED"
    env.advance(days=181)
    assert env.sync().exit_code == 0
    assert workflow(env, fid) == "NOTIFIED"
    assert issue(env, n)["state"] == "open"
    assert "has expired" in last_comment(env, n)


def test_approver_removing_the_label_withdraws_the_suppression(env: Env) -> None:
    fid, n = opened(env)
    env.gh.label_issue(REPO, n, LABEL, actor="cto")
    env.sync()
    env.advance(days=3)
    env.gh.unlabel_issue(REPO, n, LABEL, actor="cto")
    env.sync()
    assert workflow(env, fid) == "NOTIFIED"
    assert issue(env, n)["state"] == "open"


def test_edited_identity_is_never_acted_on(env: Env) -> None:
    fid, n = opened(env)
    other = control_finding("S3.2", resource_id="arn:aws:s3:::other-bucket", updated_at=ts(env.now))
    env.hub.import_findings([other])
    env.sync()
    n2 = max(i["number"] for i in env.issues())
    # Someone pastes the second finding's identity into the first issue and approves it.
    body = issue(env, n)["body"].replace(finding_key(fid), finding_key(other["Id"]))
    env.gh.edit_body(REPO, n, body, actor="mallory")
    env.gh.label_issue(REPO, n, LABEL, actor="cto")
    result = env.sync()
    assert workflow(env, other["Id"]) == "NOTIFIED"
    assert workflow(env, fid) == "NOTIFIED"
    assert "not acted on" in result.output
    assert "liver will not act" in last_comment(env, n)
    assert issue(env, n2)["state"] == "open"


def test_one_issue_mode_reaches_the_same_end_state(env: Env) -> None:
    fid, n = opened(env)
    env.gh.label_issue(REPO, n, LABEL, actor="cto")
    result = env.sync("--issue", f"{REPO}#{n}")
    assert result.exit_code == 0, result.output
    assert workflow(env, fid) == "SUPPRESSED"
    assert issue(env, n)["state"] == "closed"


def test_one_issue_mode_ignores_non_liver_issues(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "action": "labeled",
                "issue": {"number": 5, "labels": [{"name": "bug"}]},
                "repository": {"full_name": REPO},
            }
        )
    )
    mark = len(env.gh.requests_log)
    result = env.sync("--event", str(event))
    assert result.exit_code == 0 and "not about a liver issue" in result.output
    assert env.gh.requests_log[mark:] == []


def _real_payloads() -> list[dict]:  # type: ignore[type-arg]
    import json
    from pathlib import Path

    path = Path(__file__).parent / "data" / "github" / "webhook-issues.json"  # from @octokit/webhooks-examples
    return list(json.loads(path.read_text(encoding="utf-8")))


def test_real_webhook_payloads_of_other_issues_do_nothing(env: Env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    for i, payload in enumerate(_real_payloads()):
        event = tmp_path / f"event-{i}.json"
        event.write_text(json.dumps(payload))
        mark = len(env.gh.requests_log)
        result = env.sync("--event", str(event))
        assert result.exit_code == 0 and "not about a liver issue" in result.output
        assert env.gh.requests_log[mark:] == []


def test_real_labeled_payload_in_a_service_repository_leaves_the_approval_to_the_central_run(
    env: Env, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import json

    fid, n = opened(env)
    env.gh.label_issue(REPO, n, LABEL, actor="cto")
    payload = next(p for p in _real_payloads() if p["action"] == "labeled")
    payload["repository"]["full_name"] = REPO
    payload["issue"]["number"] = n
    payload["issue"]["labels"] = [*payload["issue"]["labels"], {"name": "liver"}, {"name": LABEL}]
    payload["issue"]["user"]["login"] = "liver-bot"  # GitHub sends the issue's creator
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    result = env.liver("sync", "--issue-event", env={"GITHUB_EVENT_PATH": str(event)})
    assert result.exit_code == 0, result.output
    # An 'issues' event runs in the service repository, which never suppresses.
    assert workflow(env, fid) == "NOTIFIED"
    assert "the central run applies it" in result.output
    assert env.sync(f"--issue={REPO}#{n}").exit_code == 0
    assert workflow(env, fid) == "SUPPRESSED"
    assert issue(env, n)["state"] == "closed"
