"""The trust model (README, 'Security model'): each reproduction of the red team's report, as a
rule test over in-memory ports. Nothing a writer can edit is trusted alone."""

from __future__ import annotations

import re
from typing import Any

from liver_gh.models import StateReason
from liver_gh.ports import FileKind, RepoFile
from liver_gh.rules.approval import Membership
from liver_gh.rules.identity import UDF_APPROVAL, UDF_ISSUE, UDF_KEY, Identity, KeyKind
from liver_gh.sync import Authority, Scope
from tests.conftest import Mem, ts
from tests.factories import control_finding, finding_marker, plain

REPO = "acme/payments"
LABEL = "liver/suppress-approved"
ASG = "aws:autoscaling:groupName"


def bucket(mem: Mem, name: str, **kw: Any) -> dict[str, Any]:
    return control_finding("S3.2", resource_id=f"arn:aws:s3:::{name}", updated_at=ts(mem.now), **kw)


def instance(mem: Mem, n: int, group: str, account: str = "111111111111") -> dict[str, Any]:
    return control_finding(
        "EC2.8",
        account=account,
        resource_type="AwsEc2Instance",
        resource_id=f"arn:aws:ec2:us-east-1:{account}:instance/i-0{group}{n:04d}",
        tags={ASG: group},
        updated_at=ts(mem.now),
    )


def open_one(mem: Mem, raw: dict[str, Any]) -> int:
    mem.hub.add(raw)
    report = mem.sync()
    assert report.failed == 0, report.text()
    (issue,) = [i for i in mem.issues() if raw["Id"] in i.body]
    return issue.number


def approve(mem: Mem, number: int, by: str = "cto", why: str = "Public price list; nothing private.") -> None:
    mem.advance(minutes=5)
    mem.tracker.say(REPO, number, why, "bob")
    mem.advance(minutes=5)
    mem.tracker.label(REPO, number, LABEL, by)
    mem.advance(minutes=5)


def comments(mem: Mem, number: int) -> list[str]:
    return [plain(c.body) for c in mem.tracker.issue(REPO, number).comments]


# --------------------------------------------------------------------------- 1. marker swap


def test_swapped_marker_withdraws_the_suppression_it_carried(mem: Mem) -> None:
    raw, other = bucket(mem, "acme-prices"), bucket(mem, "acme-other")
    n = open_one(mem, raw)
    approve(mem, n)
    mem.sync()
    assert mem.workflow(raw["Id"]) == "SUPPRESSED"
    # A repository writer replaces the identity with another well-formed one.
    issue = mem.tracker.issue(REPO, n)
    mem.tracker.edit(REPO, n, issue.body.replace(finding_marker(raw["Id"]), finding_marker(other["Id"])))
    mem.advance(hours=1)
    report = mem.sync()
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    assert "no longer verifies" in mem.hub.get(raw["Id"]).note.text
    assert "liver:mismatch" in mem.tracker.issue(REPO, n).labels
    assert any("identity marker was changed" in c for c in comments(mem, n))
    assert any(e.kind.value == "mismatch" for e in report.entries)
    # Flagged once; listed on every run.
    count = len(comments(mem, n))
    report = mem.sync()
    assert len(comments(mem, n)) == count and any(e.kind.value == "mismatch" for e in report.entries)


def test_swapped_marker_never_closes_the_issue_as_gone(mem: Mem) -> None:
    raw, other = bucket(mem, "acme-a"), bucket(mem, "acme-b")
    n = open_one(mem, raw)
    body = mem.tracker.issue(REPO, n).body
    mem.tracker.edit(REPO, n, body.replace(finding_marker(raw["Id"]), finding_marker(other["Id"])))
    mem.advance(days=1)
    mem.sync()
    assert mem.tracker.issue(REPO, n).state.value == "open"
    assert not any("no longer has this finding" in c for c in comments(mem, n))


def test_approval_cannot_be_moved_onto_new_findings_of_another_group(mem: Mem) -> None:
    first = [instance(mem, i, "web") for i in range(2)]
    mem.hub.add(*first)
    mem.sync()
    (issue,) = mem.issues()
    approve(mem, issue.number)
    mem.sync()
    assert {mem.workflow(r["Id"]) for r in first} == {"SUPPRESSED"}
    # The writer points the approved issue at the group "api", whose key anyone can compute.
    api = Identity(KeyKind.GROUP, service="payments", control="EC2.8", tag=(ASG, "api"))
    web = Identity(KeyKind.GROUP, service="payments", control="EC2.8", tag=(ASG, "web"))
    mem.tracker.edit(REPO, issue.number, mem.tracker.issue(REPO, issue.number).body.replace(web.marker(), api.marker()))
    newcomers = [instance(mem, i, "api") for i in range(3)]
    mem.hub.add(*newcomers)
    mem.advance(hours=1)
    mem.sync()
    assert {mem.workflow(r["Id"]) for r in newcomers} == {"NOTIFIED"}
    api_issues = [i for i in mem.issues() if i.number != issue.number]
    assert len(api_issues) == 1 and "api" in api_issues[0].title


# --------------------------------------------------------------------------- 2. forged UserDefinedFields


def test_forged_link_on_a_new_finding_does_not_launder_a_suppression(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    approve(mem, n)
    mem.sync()
    approved = dict(mem.hub.get(raw["Id"]).user_defined)
    # A member account copies the approved issue's link onto a new finding of its own.
    forged = bucket(mem, "acme-secrets")
    mem.hub.add(forged)
    mem.hub.forge_link(
        forged["Id"],
        {k: approved[k] for k in ("liver", UDF_KEY, UDF_ISSUE, UDF_APPROVAL)},
        "Suppressed by liver: approved by cto",
    )
    mem.advance(hours=1)
    mem.sync()
    assert mem.workflow(forged["Id"]) != "SUPPRESSED"
    assert mem.workflow(raw["Id"]) == "SUPPRESSED"  # the real approval stands
    own = [i for i in mem.issues() if forged["Id"] in i.body]
    assert len(own) == 1, "the forged finding gets its own issue"
    assert any(forged["Id"] in c and "is not what this issue tracks" in c for c in comments(mem, n))


# --------------------------------------------------------------------------- 3. authority is central


def test_a_service_run_never_suppresses(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    approve(mem, n)
    report = mem.sync(scope=Scope(repo=REPO), authority=Authority.SERVICE)
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    assert any(e.kind.value == "approval pending" for e in report.entries)
    mem.sync()
    assert mem.workflow(raw["Id"]) == "SUPPRESSED"


def test_a_repository_cannot_name_its_own_approvers(mem: Mem) -> None:
    mem.config_text = mem.config_text.replace("github:\n", "repo_overrides: [oncall]\ngithub:\n", 1)
    mem.tracker.repos["acme/payments"].files[".github/liver.yml"] = RepoFile(
        FileKind.FILE, b"approval: {approvers: [mallory]}\n"
    )
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    approve(mem, n, by="mallory")
    report = mem.sync()
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    assert LABEL not in mem.tracker.issue(REPO, n).labels
    assert any("approval: unknown key" in w for w in report.warnings)


# --------------------------------------------------------------------------- 5. one repository fails alone


def test_a_repository_with_issues_disabled_fails_alone(mem: Mem) -> None:
    mem.tracker.repos["acme/search"].unavailable = 410
    mem.hub.add(bucket(mem, "acme-prices"), bucket(mem, "search-logs", account="333333333333"))
    report = mem.sync()
    assert len(mem.issues()) == 1  # payments still synced
    assert report.failed == 1
    assert any("acme/search" in f and "410" in f for f in report.failure_lines())


def test_membership_that_cannot_be_checked_keeps_the_label_and_suppresses_nothing(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    mem.tracker.team_answer["acme/security-leads"] = Membership.UNKNOWN  # a 403 or 5xx
    approve(mem, n, by="lead")
    report = mem.sync()
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    assert LABEL in mem.tracker.issue(REPO, n).labels
    assert any(e.kind.value == "approval unverified" for e in report.entries)
    assert not any("not an approver" in c for c in comments(mem, n))


# --------------------------------------------------------------------------- 7. the liver label


def test_removing_the_liver_label_does_not_detach_the_issue(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    mem.tracker.unlabel(REPO, n, "liver", "mallory")
    mem.tracker.close(REPO, n, "mallory")
    mem.sync()
    assert "liver" in mem.tracker.issue(REPO, n).labels  # put back
    assert mem.workflow(raw["Id"]) == "RESOLVED"
    mem.advance(hours=12)
    again = dict(mem.hub.raw(raw["Id"]))
    for k in ("Workflow", "Note", "UserDefinedFields", "WorkflowState"):
        again.pop(k, None)
    again["UpdatedAt"] = ts(mem.now)
    mem.hub.add(again)
    mem.sync()
    assert mem.tracker.issue(REPO, n).state.value == "open"  # the fix was not detected: reopened


# --------------------------------------------------------------------------- 8. fair budgets


def test_one_account_cannot_starve_another_service(mem: Mem) -> None:
    mem.config_text = mem.config_text.replace("github:\n", "max_new_issues: 4\ngithub:\n", 1)
    junk = [bucket(mem, f"junk-{i}", severity="CRITICAL", first_seen="2020-01-01T00:00:00.000Z") for i in range(20)]
    real = bucket(mem, "search-exports", account="333333333333", severity="CRITICAL")
    mem.hub.add(*junk, real)
    report = mem.sync()
    assert len(mem.tracker.all_issues("acme/search")) == 1
    assert len(mem.issues()) == 3
    assert report.counts["opened"] == 4


# --------------------------------------------------------------------------- 9. mapping changes


def test_a_moved_account_takes_its_findings_to_the_new_service(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    mem.config_text = (
        mem.config_text.replace('"111111111111": production, "222222222222": staging', '"222222222222": staging')
        .replace("{production: HIGH, staging: CRITICAL}", "{staging: CRITICAL}")
        .replace(
            'accounts: {"333333333333": production}',
            'accounts: {"333333333333": production, "111111111111": production}',
        )
    )
    mem.advance(hours=1)
    report = mem.sync()
    assert report.failed == 0, report.text()
    (moved,) = mem.tracker.all_issues("acme/search")
    old = mem.tracker.issue(REPO, n)
    assert old.state.value == "closed" and old.state_reason is StateReason.NOT_PLANNED
    assert any("now belongs to service" in c for c in comments(mem, n))
    assert (mem.hub.get(raw["Id"]).udf(UDF_ISSUE) or "").endswith(f"acme/search/issues/{moved.number}")
    assert "until its account moved" in plain(moved.body)
    assert mem.sync().counts["opened"] == 0  # settled


def test_a_removed_account_leaves_its_issue_open_with_one_comment(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    mem.config_text = mem.config_text.replace('"111111111111": production, ', "").replace(
        "{production: HIGH, staging: CRITICAL}", "{staging: CRITICAL}"
    )
    for _ in range(2):
        mem.advance(days=2)
        mem.sync()
    issue = mem.tracker.issue(REPO, n)
    assert issue.state.value == "open"
    said = [c for c in comments(mem, n) if "no longer mapped" in c]
    assert len(said) == 1
    assert not any("no longer has this finding" in c for c in comments(mem, n))


# --------------------------------------------------------------------------- 10. approvers are accounts


def test_a_renamed_approvers_freed_login_does_not_approve(mem: Mem) -> None:
    cto_id = mem.tracker.user("cto")
    mem.config_text = mem.config_text.replace(
        "approvers: [cto, acme/security-leads]", f"approvers: [{{login: cto, id: {cto_id}}}]"
    )
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    mem.tracker.user_ids["cto"] = 999_999  # the CTO renamed; someone else registered "cto"
    approve(mem, n, by="cto")
    mem.sync()
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    assert any("belongs to another GitHub account" in c for c in comments(mem, n))


def test_leaving_the_team_later_does_not_revoke_an_approval(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    approve(mem, n, by="lead")
    mem.sync()
    assert mem.workflow(raw["Id"]) == "SUPPRESSED"
    record = comments(mem, n)[-1]
    assert "Approved by lead" in record and "member of acme/security-leads" in record and raw["Id"] in record
    mem.tracker.teams["acme/security-leads"] = set()
    mem.advance(days=10)
    mem.sync()
    assert mem.workflow(raw["Id"]) == "SUPPRESSED"


def test_a_forged_approval_record_alone_is_not_a_standing_approval(mem: Mem) -> None:
    raw = bucket(mem, "acme-prices")
    n = open_one(mem, raw)
    mem.tracker.label(REPO, n, LABEL, "mallory")
    event = mem.tracker.issue(REPO, n).events[-1]
    # A writer edits a liver comment to hold a record for mallory's event.
    mem.tracker.say(
        REPO,
        n,
        f"<!-- liver:approval v1 event={event.id} actor_id={event.actor_id} actor=mallory via=cto covers= -->",
        "liver-bot",
    )
    mem.sync()
    assert mem.workflow(raw["Id"]) == "NOTIFIED"
    assert LABEL not in mem.tracker.issue(REPO, n).labels


# --------------------------------------------------------------------------- 11. big groups


def test_a_huge_group_opens_under_the_body_limit_with_the_rest_in_a_comment(mem: Mem) -> None:
    members = [instance(mem, i, "fleet") for i in range(1500)]
    for raw in members:
        raw["Resources"][0]["Id"] = raw["Resources"][0]["Id"] + "-" + "x" * 90
    mem.hub.add(*members)
    report = mem.sync()
    assert report.failed == 0, report.text()
    (issue,) = mem.issues()
    assert len(issue.body) < 65_536
    listed = len(re.findall(r"^- \[[ x]\] ", issue.body, re.MULTILINE))
    in_comment = len(re.findall(r"^- \[[ x]\] ", issue.comments[0].body, re.MULTILINE))
    assert listed + in_comment == 1500 or "more:" in issue.comments[0].body
    assert {mem.workflow(r["Id"]) for r in members} == {"NOTIFIED"}
