"""`liver doctor` and `liver repos` through the CLI, against the fakes."""

from __future__ import annotations

import json

import pytest

from liver_fakes.github import FakeResponse
from tests.conftest import BASE_CONFIG, Env


def lines(output: str, verdict: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(verdict)]


def test_everything_in_place_exits_0(env: Env) -> None:
    env.hub.aggregation_region = "us-east-1"
    env.gh.add_collaborator("acme/search", "liver-bot")
    result = env.liver("doctor")
    assert result.exit_code == 0, result.output
    assert not lines(result.output, "FAIL")
    assert "ok    github: the token is valid and acts as liver-bot." in result.output
    assert "ok    github acme/payments: reachable, issues enabled, push access." in result.output
    assert "ok    approvers: team acme/security-leads can be read." in result.output
    assert "us-east-1 is the aggregation Region" in result.output
    assert "ok    oncall payments: " in result.output
    assert "warn  approvers: cto has no pinned id" in result.output  # the base config pins none


def test_each_repository_problem_is_named_and_the_rest_still_checked(env: Env) -> None:
    env.gh.disable_issues("acme/search")
    env.gh.without_push("acme/payments", "liver-bot")
    result = env.liver("doctor")
    assert result.exit_code == 1
    failed = lines(result.output, "FAIL")
    assert any("acme/search" in f and "issues are disabled" in f for f in failed), failed
    assert any("acme/payments" in f and "no push access" in f for f in failed), failed
    assert "security hub: credentials work" in result.output  # later checks still ran


def test_renamed_repository_says_what_to_change(env: Env) -> None:
    env.gh.rename_repo("acme/search", "acme/search-api")
    env.gh.add_collaborator("acme/search-api", "liver-bot")
    result = env.liver("doctor")
    assert result.exit_code == 1
    assert "the repository is now acme/search-api: update its name in liver.yml." in result.output


def test_bad_token_is_a_failed_check_not_a_traceback(env: Env) -> None:
    result = env.liver("doctor", env={"GITHUB_TOKEN": "revoked"})
    assert result.exit_code == 1
    assert "FAIL  github: the token does not work: GitHub refused the token (HTTP 401" in result.output
    assert "Traceback" not in result.output


def test_app_installation_token_must_reach_every_service_repository(env: Env) -> None:
    env.gh.add_installation("liver-app", "inst-token", ["acme/payments"])
    result = env.liver("doctor", env={"GITHUB_TOKEN": "inst-token", "LIVER_GITHUB_LOGIN": "liver-app[bot]"})
    assert result.exit_code == 1
    assert "an App installation token reaching 1 repositories." in result.output
    assert "FAIL  github acme/search: not among the App installation's repositories" in result.output


def test_team_approvers_need_members_read(env: Env) -> None:
    def hide_teams(req: object) -> FakeResponse | None:
        url = getattr(req, "url", "")
        return FakeResponse(404, {"message": "Not Found"}) if "/teams/" in url else None

    env.gh.fault = hide_teams  # a GITHUB_TOKEN: no members permission, teams answer 404
    result = env.liver("doctor")
    assert result.exit_code == 1
    assert "FAIL  approvers: team acme/security-leads cannot be read: the token needs Members: read" in result.output


def test_pinned_approver_whose_login_changed_hands(env: Env) -> None:
    env.write_config(BASE_CONFIG.replace("approvers: [cto, acme/security-leads]", "approvers: [{login: cto, id: 1}]"))
    result = env.liver("doctor")
    assert result.exit_code == 1
    assert "cto was pinned as user 1 but now belongs to user" in result.output


def test_security_hub_outside_the_aggregation_region(env: Env) -> None:
    env.hub.aggregation_region = "eu-west-1"
    result = env.liver("doctor")
    assert result.exit_code == 1
    assert "FAIL  security hub: us-east-1 is not the aggregation Region (eu-west-1): set securityhub.region" in (
        result.output
    )


def test_security_hub_access_denied_names_the_permission(env: Env) -> None:
    env.hub.fault = lambda op, params: "AccessDeniedException" if op == "GetFindings" else None
    result = env.liver("doctor")
    assert result.exit_code == 1
    assert "allow securityhub:GetFindings in the role's IAM policy" in result.output


def test_ocsf_checks_the_v2_operations(env: Env) -> None:
    env.write_config(BASE_CONFIG.replace("  region: us-east-1\n", "  region: us-east-1\n  api: ocsf\n"))
    env.hub.aggregation_region = "us-east-1"
    result = env.liver("doctor")
    assert "GetFindingsV2 is allowed in us-east-1" in result.output
    assert [c[0] for c in env.hub.calls] == ["GetFindingsV2", "ListAggregatorsV2"]


def test_provider_token_variables_are_checked(env: Env) -> None:
    config = BASE_CONFIG.replace(
        "    oncall:\n      rotation: [carol]\n      start: 2026-11-02\n",
        "    oncall:\n      pagerduty: {schedule_id: PABC123, token_env: PD_TOKEN}\n      fallback: [carol]\n"
        "    page: {min_severity: CRITICAL, routing_key_env: PD_ROUTING}\n",
    )
    env.write_config(config)
    result = env.liver("doctor")
    assert result.exit_code == 1
    assert "FAIL  env: PD_TOKEN is not set: the on-call provider of search cannot work" in result.output
    assert "FAIL  env: PD_ROUTING is not set: paging cannot work" in result.output
    assert "FAIL  oncall search: PD_TOKEN is not set, so PagerDuty was not asked" in result.output


def test_doctor_writes_nothing(env: Env) -> None:
    env.liver("doctor")
    assert env.mutations() == []
    assert {c[0] for c in env.hub.calls} <= {"GetFindings", "ListFindingAggregators"}


def test_doctor_on_a_broken_config_is_a_usage_error(env: Env) -> None:
    env.write_config("version: 1\nservices: nope\n")
    result = env.liver("doctor")
    assert result.exit_code == 2


# ---------------------------------------------------------------- liver repos

REPOS_CONFIG = BASE_CONFIG + "report:\n  dashboard_repo: acme/security\n"


def test_repos_lists_what_the_token_must_reach(env: Env) -> None:
    env.write_config(REPOS_CONFIG)
    assert env.liver("repos").output.split() == ["acme/payments", "acme/search", "acme/security"]
    assert env.liver("repos", "--format", "names").output.strip() == "payments,search,security"
    assert json.loads(env.liver("repos", "--format", "json").output) == [
        "acme/payments",
        "acme/search",
        "acme/security",
    ]


def test_repos_of_a_shard_leave_out_the_dashboard(env: Env) -> None:
    env.write_config(REPOS_CONFIG)
    shards = [env.liver("repos", "--shard", f"{i}/2").output.split() for i in (1, 2)]
    assert sorted(shards[0] + shards[1]) == ["acme/payments", "acme/search"]


def test_repos_names_refuse_several_owners(env: Env) -> None:
    env.write_config(BASE_CONFIG.replace("repo: acme/search", "repo: other/search"))
    result = env.liver("repos", "--format", "names")
    assert result.exit_code == 2
    assert "belong to 2 owners (acme, other)" in result.output


def test_a_provider_answer_cannot_add_a_line_to_the_output(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    from liver_gh.rules.upkeep import Oncall

    forged = Oncall((), ("PagerDuty said: down\n::add-mask::secret\n::error::forged",), frozenset(), 0, "fallback")
    monkeypatch.setattr("liver_gh.adapters.oncall.OncallResolver.who", lambda *a, **k: forged)
    env.write_config(
        BASE_CONFIG.replace(
            "    oncall:\n      rotation: [carol]\n      start: 2026-11-02\n",
            "    oncall:\n      pagerduty: {schedule_id: PABC123, token_env: PD_TOKEN}\n",
        )
    )
    out = env.liver("doctor", env={"PD_TOKEN": "x"}).output
    assert not [line for line in out.splitlines() if line.startswith("::")]
    assert "FAIL  oncall search: PagerDuty said: down ::add-mask::secret ::error::forged" in out
