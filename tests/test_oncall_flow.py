"""On-call, due dates, reminders, hand-over and paging through `liver sync` (issue #8)."""

from __future__ import annotations

import json
from typing import Any

import requests
import responses

from tests.conftest import Env, ts
from tests.factories import control_finding, plain

REPO = "acme/payments"
PD = "https://api.pagerduty.com/oncalls"
EVENTS = "https://events.pagerduty.com/v2/enqueue"


def critical(env: Env, name: str = "exports") -> dict[str, Any]:
    return control_finding("S3.2", resource_id=f"arn:aws:s3:::{name}", updated_at=ts(env.now), key=name)


def high(env: Env) -> dict[str, Any]:
    return control_finding(
        "EC2.13",
        resource_type="AwsEc2SecurityGroup",
        resource_id="arn:aws:ec2:us-east-1:111111111111:security-group/sg-9",
        updated_at=ts(env.now),
    )


def use_pagerduty(env: Env, extra: str = "") -> None:
    text = env.config.read_text()
    text = text.replace(
        "      rotation: [alice, bob]\n      start: 2026-11-02\n",
        "      pagerduty: {schedule_id: PABC123, token_env: PD_TOKEN}\n      fallback: [alice]\n" + extra,
    )
    text = text.replace("github:\n", 'people: {"bob@example.com": bob}\ngithub:\n', 1)
    env.write_config(text)


def oncalls_body(email: str) -> dict[str, Any]:
    user = {
        "id": "PU1",
        "type": "user",
        "summary": "Bob",
        "email": email,
        "self": "https://api.pagerduty.com/users/PU1",
    }
    return {
        "oncalls": [
            {
                "escalation_level": 1,
                "user": user,
                "schedule": {"id": "PABC123", "type": "schedule_reference"},
                "escalation_policy": {"id": "PEP1", "type": "escalation_policy_reference"},
                "start": None,
                "end": None,
            }
        ],
        "limit": 25,
        "offset": 0,
        "more": False,
        "total": None,
    }


def test_pagerduty_oncall_person_is_assigned(env: Env) -> None:
    use_pagerduty(env)
    env.rsps.add(responses.GET, PD, json=oncalls_body("bob@example.com"))
    env.hub.import_findings([critical(env)])
    result = env.sync(env={"PD_TOKEN": "pd-secret"})
    assert result.exit_code == 0, result.output
    (issue,) = env.issues()
    assert [a["login"] for a in issue["assignees"]] == ["bob"]
    call = next(c for c in env.rsps.calls if c.request.url.startswith(PD))
    assert call.request.headers["Authorization"] == "Token token=pd-secret"
    assert "schedule_ids%5B%5D=PABC123" in call.request.url and "earliest=true" in call.request.url


def test_provider_down_falls_back_and_says_why(env: Env) -> None:
    use_pagerduty(env)
    env.rsps.add(responses.GET, PD, status=503)
    env.rsps.add(responses.GET, PD, status=503)
    env.hub.import_findings([critical(env)])
    result = env.sync(env={"PD_TOKEN": "pd-secret"})
    assert result.exit_code == 0, result.output
    (issue,) = env.issues()
    assert [a["login"] for a in issue["assignees"]] == ["alice"]
    assert "PagerDuty" in issue["body"] and "fallback" in issue["body"]
    assert "PagerDuty" in result.output


def test_unassignable_oncall_person_falls_back(env: Env) -> None:
    text = env.config.read_text().replace(
        "rotation: [alice, bob]\n      start: 2026-11-02\n",
        "rotation: [alice, zed]\n      start: 2026-11-02\n      fallback: [alice]\n",
    )
    env.write_config(text)
    env.gh.add_user("zed")
    env.hub.import_findings([critical(env)])
    result = env.sync()
    (issue,) = env.issues()
    assert [a["login"] for a in issue["assignees"]] == ["alice"]
    assert "zed cannot be assigned" in issue["body"] and "zed cannot be assigned" in result.output


def test_due_date_by_severity_and_service_override(env: Env) -> None:
    text = env.config.read_text().replace(
        "    repo: acme/payments\n", "    repo: acme/payments\n    sla_days: {HIGH: 3}\n"
    )
    env.write_config(text)
    env.hub.import_findings([critical(env), high(env)])
    env.sync()
    bodies = {i["title"][:8]: i["body"] for i in env.issues()}
    assert "| Due | 2026-11-27 |" in bodies["[S3.2] S"]  # CRITICAL: 1 day by default
    assert "| Due | 2026-11-29 |" in bodies["[EC2.13]"]  # HIGH: 3 days for this service


def test_overdue_gets_one_label_and_reminder_then_waits(env: Env) -> None:
    env.write_config(
        env.config.read_text().replace(
            "    repo: acme/payments\n", "    repo: acme/payments\n    escalation: [payments-lead]\n"
        )
    )
    env.hub.import_findings([critical(env)])
    env.sync()
    (issue,) = env.issues()
    n = issue["number"]
    env.advance(days=1, hours=1)
    result = env.sync()
    assert "overdue" in result.output
    labels = {lb["name"] for lb in env.gh.issue(REPO, n)["labels"]}
    assert "liver:overdue" in labels
    comments = env.gh.comments(REPO, n)
    assert len(comments) == 1 and "@bob" in comments[0]["body"] and "@payments-lead" in comments[0]["body"]
    env.advance(hours=12)
    env.sync()
    assert len(env.gh.comments(REPO, n)) == 1  # CRITICAL reminds every 2 days at most
    env.advance(days=2)
    result = env.sync()
    reminders = [c for c in env.gh.comments(REPO, n) if "was due on" in c["body"]]
    assert len(reminders) == 2
    assert "overdue since 2026-11-27" in result.output


def test_handover_reassigns_open_issues_once(env: Env) -> None:
    env.hub.import_findings([critical(env)])
    env.sync()
    (issue,) = env.issues()
    assert [a["login"] for a in issue["assignees"]] == ["bob"]
    env.advance(days=3, hours=11)  # Sunday 2026-11-29 23:00: still bob's week
    env.sync()
    env.advance(hours=2)  # Monday 2026-11-30: week 4 of the rotation, alice's
    mark = len(env.gh.comments(REPO, issue["number"]))
    result = env.sync()
    assert result.exit_code == 0
    current = env.gh.issue(REPO, issue["number"])
    assert [a["login"] for a in current["assignees"]] == ["alice"]
    new_comments = env.gh.comments(REPO, issue["number"])[mark:]
    assert any("moved from bob to @alice" in plain(c["body"]) for c in new_comments)
    before = len(env.gh.comments(REPO, issue["number"]))
    env.sync()
    assert len([c for c in env.gh.comments(REPO, issue["number"])[before:] if "moved from" in c["body"]]) == 0


def test_handover_leaves_issues_assigned_outside_the_rotation(env: Env) -> None:
    env.hub.import_findings([critical(env)])
    env.sync()
    (issue,) = env.issues()
    env.gh.assign_issue(REPO, issue["number"], "cto", actor="cto")
    env.gh.unassign_issue(REPO, issue["number"], "bob", actor="cto")
    env.advance(days=5)
    env.sync()
    assert [a["login"] for a in env.gh.issue(REPO, issue["number"])["assignees"]] == ["cto"]


def test_critical_findings_page_once_and_resolve_on_close(env: Env) -> None:
    env.write_config(
        env.config.read_text().replace(
            "github:\n", "page: {min_severity: CRITICAL, routing_key_env: PD_ROUTING}\ngithub:\n", 1
        )
    )
    sent: list[dict[str, Any]] = []

    def enqueue(request: Any) -> tuple[int, dict[str, str], str]:
        sent.append(json.loads(request.body))
        return (
            202,
            {},
            json.dumps({"status": "success", "message": "Event processed", "dedup_key": sent[-1]["dedup_key"]}),
        )

    env.rsps.add_callback(responses.POST, EVENTS, callback=enqueue)
    (fid,) = [f["Id"] for f in [critical(env)]]
    env.hub.import_findings([critical(env), high(env)])
    env.sync(env={"PD_ROUTING": "R0UTING"})
    assert [e["event_action"] for e in sent] == ["trigger"]
    assert sent[0]["routing_key"] == "R0UTING" and sent[0]["payload"]["severity"] == "critical"
    crit = next(i for i in env.issues() if i["title"].startswith("[S3.2]"))
    assert sent[0]["links"][0]["href"] == crit["html_url"]
    assert "liver:paged" in {lb["name"] for lb in crit["labels"]}
    env.sync(env={"PD_ROUTING": "R0UTING"})
    assert len(sent) == 1  # paged once, not at every run
    env.gh.close_issue(REPO, crit["number"], actor="bob", state_reason="completed")
    env.sync(env={"PD_ROUTING": "R0UTING"})
    assert [e["event_action"] for e in sent] == ["trigger", "resolve"]
    assert sent[1]["dedup_key"] == sent[0]["dedup_key"]
    assert fid


def test_paging_failure_is_reported_and_retried_next_run(env: Env) -> None:
    env.write_config(
        env.config.read_text().replace(
            "github:\n", "page: {min_severity: CRITICAL, routing_key_env: PD_ROUTING}\ngithub:\n", 1
        )
    )
    env.rsps.add(responses.POST, EVENTS, status=500)
    env.rsps.add(responses.POST, EVENTS, status=500)
    env.hub.import_findings([critical(env)])
    first = env.sync(env={"PD_ROUTING": "R0UTING"})
    assert first.exit_code == 1 and "paging (trigger) failed" in first.output
    (issue,) = env.issues()
    assert "liver:paged" not in {lb["name"] for lb in issue["labels"]}
    env.rsps.replace(responses.POST, EVENTS, status=202, json={"status": "success", "message": "ok", "dedup_key": "x"})
    second = env.sync(env={"PD_ROUTING": "R0UTING"})
    assert second.exit_code == 0, second.output
    assert "liver:paged" in {lb["name"] for lb in env.gh.issue(REPO, issue["number"])["labels"]}


def test_a_page_that_fails_again_is_not_reported_as_paged(env: Env) -> None:
    """PagerDuty unreachable on the second run: the step is a failure, not 'paged' and 'updated'."""
    env.write_config(
        env.config.read_text().replace(
            "github:\n", "page: {min_severity: CRITICAL, routing_key_env: PD_ROUTING}\ngithub:\n", 1
        )
    )
    env.rsps.add(responses.POST, EVENTS, body=requests.ConnectionError("unreachable"))
    env.hub.import_findings([critical(env)])
    env.sync(env={"PD_ROUTING": "R0UTING"})
    second = env.sync(env={"PD_ROUTING": "R0UTING"})
    assert second.exit_code == 1
    assert "updated: 0" in second.output
    assert "[paged] (failed)" in second.output
    assert second.output.count("could not be reached to trigger") == 1
