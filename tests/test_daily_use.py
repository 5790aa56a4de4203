"""Daily use through the CLI: exit codes and messages, the reviewable plan, progress, quiet
output, the Actions outputs, issue types, and the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from liver_gh.cli import main
from tests.conftest import BASE_CONFIG, Env
from tests.test_sync import BUCKET, critical, seed


def plain_run(env: Env, *args: str, env_vars: dict[str, str] | None = None) -> tuple[int, str]:
    """A run without --debug, as a user types it."""
    full = {"LIVER_NOW": env.now.isoformat(), "LIVER_CONFIG": str(env.config), **(env_vars or {})}
    result = CliRunner().invoke(main, list(args), env=full, catch_exceptions=False)
    return result.exit_code, result.output


# ---------------------------------------------------------------- 1. no traceback


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"GITHUB_API_URL": "notaurl"}, "GITHUB_API_URL='notaurl' is not an http(s) URL"),
        ({"GITHUB_API_URL": "ftp://x"}, "GITHUB_API_URL='ftp://x' is not an http(s) URL"),
        ({"AWS_ENDPOINT_URL_SECURITYHUB": "notaurl"}, "AWS_ENDPOINT_URL_SECURITYHUB='notaurl' is not an http(s) URL"),
        ({"GITHUB_TOKEN": "revoked"}, "GitHub refused the token (HTTP 401"),
        (
            {"GITHUB_TOKEN": "", "LIVER_GITHUB_APP_ID": "12", "LIVER_GITHUB_APP_PRIVATE_KEY": "not a key"},
            "LIVER_GITHUB_APP_PRIVATE_KEY is not a valid PEM private key",
        ),
        (
            {"GITHUB_TOKEN": "", "LIVER_GITHUB_APP_ID": "twelve"},
            "LIVER_GITHUB_APP_ID='twelve' must be the App's numeric id",
        ),
        ({"LIVER_NOW": "yesterday"}, "LIVER_NOW='yesterday' is not an ISO 8601 time"),
    ],
)
def test_environment_problems_exit_2_with_one_line_naming_the_variable(
    env: Env, variables: dict[str, str], named: str
) -> None:
    seed(env, critical(env))
    code, output = plain_run(env, "sync", env_vars=variables)
    assert code == 2, output
    assert named in output
    assert "Traceback" not in output
    assert all(line.startswith("error: ") for line in output.strip().splitlines()), output


def test_an_unknown_aws_profile_names_the_profile_not_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    from liver_gh.adapters.securityhub import make_client
    from liver_gh.errors import ConfigError

    monkeypatch.setenv("AWS_PROFILE", "nosuch")
    with pytest.raises(ConfigError) as raised:
        make_client("us-east-1")
    assert raised.value.problems[0].startswith("AWS_PROFILE: The config profile (nosuch) could not be found")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--issue-event"], "--issue-event needs GITHUB_EVENT_PATH"),
        (["--event", "missing.json"], "the event payload does not exist"),
        (["--event", "{bad}"], "the event payload is not JSON"),
        (["--issue", "acme/payments"], "write it as OWNER/REPO#NUMBER"),
        (["--shard", "3/2"], "I must be between 1 and N"),
    ],
)
def test_bad_arguments_exit_2(env: Env, tmp_path: Path, args: list[str], named: str) -> None:
    if args[-1] == "{bad}":
        (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
        args = [args[0], str(tmp_path / "bad.json")]
    elif args[-1] == "missing.json":
        args = [args[0], str(tmp_path / "missing.json")]
    code, output = plain_run(env, "sync", *args)
    assert code == 2, output
    assert named in output and "Traceback" not in output


def test_internal_error_exits_3_with_a_summary_and_the_traceback_in_a_file(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise KeyError("the planner tripped")

    monkeypatch.setattr("liver_gh.commands.sync.run_sync", broken)
    code, output = plain_run(env, "sync")
    assert code == 3
    assert "Traceback" not in output
    m = re.search(
        r"liver hit an internal error \(KeyError: 'the planner tripped'\)\. This is a bug; the traceback is in (\S+)",
        output,
    )
    assert m, output
    assert "Traceback (most recent call last)" in Path(m.group(1)).read_text(encoding="utf-8")
    Path(m.group(1)).unlink()


def test_debug_shows_the_traceback(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("liver_gh.commands.sync.run_sync", lambda *a, **k: 1 / 0)
    code, output = plain_run(env, "--debug", "sync")
    assert code == 3
    assert "ZeroDivisionError" in output


# ---------------------------------------------------------------- 2. a reviewable plan


def test_dry_run_lists_everything_a_reviewer_needs(env: Env) -> None:
    seed(env, critical(env))
    result = env.sync("--dry-run")
    assert result.exit_code == 0
    out = result.output
    assert "[opened] open an issue in acme/payments" in out
    assert "severity CRITICAL, account 111111111111 (production)" in out
    assert f"resources {BUCKET}" in out
    assert re.search(r"assignee (alice|bob) \(on call\)", out), out
    assert "labels liver, severity:critical" in out
    assert "would be done" in out


def test_dry_run_json_is_one_stable_document(env: Env) -> None:
    seed(env, critical(env), critical(env, account="444444444444"))
    first = env.sync("--dry-run", "--format", "json")
    second = env.sync("--dry-run", "--format", "json")
    assert first.exit_code == 0
    assert first.output == second.output  # stable enough to diff in a pull request
    plan = json.loads(first.output)
    assert set(plan) >= {"steps", "skipped", "warnings"}
    (step,) = plan["steps"]
    assert set(step) >= {"kind", "service", "repo", "title", "severity", "account", "environment", "resources",
                         "assignee", "labels", "page"}  # fmt: skip
    assert step["kind"] == "opened" and step["service"] == "payments" and step["repo"] == "acme/payments"
    assert step["severity"] == "CRITICAL" and step["environment"] == "production"
    assert step["resources"] == [BUCKET]
    assert step["assignee_reason"] == "on call"
    assert step["page"] is False
    assert any("444444444444" in w for w in plan["warnings"])


def test_step_outputs_are_written_only_for_what_was_done(env: Env, tmp_path: Path) -> None:
    seed(env, critical(env))
    out = tmp_path / "out"
    out.touch()
    actions = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(tmp_path / "sum")}
    assert env.sync("--dry-run", env=actions).exit_code == 0
    assert out.read_text(encoding="utf-8") == ""
    assert env.sync(env=actions).exit_code == 0
    assert "opened=1" in out.read_text(encoding="utf-8").splitlines()


# ---------------------------------------------------------------- 3. progress


def test_progress_is_one_line_per_service_as_it_finishes(env: Env) -> None:
    seed(env, critical(env), critical(env, account="333333333333", resource_id="arn:aws:s3:::search-logs"))
    out = env.sync().output
    lines = [re.sub(r"^\[\d/2\] ", "", line) for line in out.splitlines() if re.match(r"\[\d/2\] ", line)]
    assert sorted(lines) == ["payments: 1 opened, 0 updated, 0 failed", "search: 1 opened, 0 updated, 0 failed"], out
    assert out.index("] payments:") < out.index("liver: 2 finding(s) seen.")  # printed as it happens, before the report


def test_in_actions_each_service_is_a_group_and_the_report_is_printed_once(env: Env, tmp_path: Path) -> None:
    seed(env, critical(env))
    actions = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "o"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "s"),
    }
    out = env.sync(env=actions).output
    assert re.search(r"::group::\[\d/2\] payments: 1 opened, 0 updated, 0 failed", out), out
    assert out.count("::group::") == out.count("::endgroup::") == 2
    assert out.count("Issues opened: 1") == 1


# ---------------------------------------------------------------- 7. quiet, precise output

PAGERDUTY_CONFIG = BASE_CONFIG.replace(
    "    oncall:\n      rotation: [alice, bob]\n      start: 2026-11-02\n",
    "    oncall:\n      pagerduty: {schedule_id: PABC123, token_env: PD_TOKEN}\n      fallback: [alice]\n",
)


def test_a_provider_outage_is_one_warning_and_the_assignee_is_called_fallback(env: Env) -> None:
    env.write_config(PAGERDUTY_CONFIG)
    seed(env, *[critical(env, resource_id=f"arn:aws:s3:::bucket-{i}", key=str(i)) for i in range(3)])
    result = env.sync("--dry-run", env={"PD_TOKEN": "pd", "PAGERDUTY_API_URL": "http://127.0.0.1:9"})
    out = result.output
    warnings = [line for line in out.splitlines() if line.startswith("Warning:") and "PagerDuty" in line]
    assert len(warnings) == 1, out
    assert out.count("assignee alice (fallback)") == 3
    assert "(on call)" not in out


# ---------------------------------------------------------------- 9. issue types

TYPED = BASE_CONFIG.replace("services:\n", 'issue_type: "Security finding"\nservices:\n', 1)


def test_issue_type_is_set_where_the_organisation_has_it(env: Env) -> None:
    env.write_config(TYPED)
    env.gh.add_issue_types("acme", ["Bug", "Security finding"])
    seed(env, critical(env))
    result = env.sync()
    assert result.exit_code == 0
    (issue,) = env.issues()
    assert issue["type"]["name"] == "Security finding"
    assert "issue type" not in result.output


def test_missing_issue_type_is_said_once_and_issues_still_open(env: Env) -> None:
    env.write_config(TYPED)
    seed(env, *[critical(env, resource_id=f"arn:aws:s3:::bucket-{i}", key=str(i)) for i in range(3)])
    result = env.sync()
    assert result.exit_code == 0
    assert len(env.issues()) == 3
    said = [line for line in result.output.splitlines() if "no issue type 'Security finding'" in line]
    assert len(said) == 1, result.output
    posts = [m for m in env.mutations() if m[0] == "POST" and m[1] == "/repos/acme/payments/issues"]
    assert len(posts) == 4  # one rejected with the type, then three without it


def test_issue_type_dropped_without_push_access_is_reported(env: Env) -> None:
    env.write_config(TYPED)
    env.gh.add_issue_types("acme", ["Security finding"])
    env.gh.without_push("acme/payments", "liver-bot")
    seed(env, critical(env))
    result = env.sync()
    assert "GitHub dropped the issue type 'Security finding'" in result.output


# ---------------------------------------------------------------- 4. the demo


def test_demo_walks_through_the_lifecycle_offline() -> None:
    result = CliRunner().invoke(main, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    for stage in ("[opened]", "[rejected]", "[suppressed]", "[resolved]", "[reopened]"):
        assert stage in out, stage
    assert "mallory (not an approver)" in out
    assert "fix not detected; reopened" in out
    assert "Criticals went to zero" in out
    assert "error" not in out.lower().split("this is what a developer reads")[0]


def test_demo_with_your_own_config_shows_what_it_would_open(env: Env) -> None:
    result = CliRunner().invoke(main, ["demo", "--config", str(env.config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "acme/payments" in result.output and "acme/search" in result.output
    assert "[opened]" in result.output
