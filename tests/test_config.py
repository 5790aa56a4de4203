"""liver.yml as one declared schema: every problem at once, each with its line, key path and fix;
a JSON Schema for editors; repository overrides parsed as untrusted input."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from liver_gh.cli import main
from liver_gh.config.load import load_config, parse_config
from liver_gh.config.model import (
    ApproverLogin,
    ApproverTeam,
    Config,
    OncallSpec,
    OpsgenieSpec,
    PagerDutySpec,
    PageSpec,
    RotationOverride,
    RotationSpec,
    StaticSpec,
)
from liver_gh.config.override import apply_override
from liver_gh.config.schema import json_schema
from liver_gh.errors import ConfigError
from liver_gh.models import Severity
from tests.conftest import BASE_CONFIG

SCHEMA_FILE = Path(__file__).parent.parent / "docs" / "liver.schema.json"


def check(tmp_path: Path, text: str | bytes | None) -> tuple[int, str]:
    path = tmp_path / "liver.yml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    return result.exit_code, result.output


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "liver.yml")
    return info.value.problems


def test_valid_config_parses_into_typed_objects(tmp_path: Path) -> None:
    path = tmp_path / "liver.yml"
    path.write_text(BASE_CONFIG, encoding="utf-8")
    config = load_config(path)
    payments = config.services[0]
    assert payments.repo == "acme/payments"
    assert payments.threshold("production", Severity.HIGH) is Severity.HIGH
    assert payments.threshold("staging", Severity.HIGH) is Severity.CRITICAL
    assert config.services[1].threshold("production", config.default_min_severity) is Severity.HIGH
    assert config.approval.logins == (ApproverLogin("cto"),)
    assert config.approval.teams == (ApproverTeam("acme", "security-leads"),)
    assert config.prototype_accounts == frozenset({"999999999999"})
    with pytest.raises(AttributeError):
        config.region = "x"  # type: ignore[misc]
    code, out = check(tmp_path, BASE_CONFIG)
    assert code == 0 and "OK" in out


ONCALL = """
people: {"alice@example.com": alice, "Bob@Example.com": bob}
approval:
  approvers: [{login: cto, id: 583231}, acme/security-leads]
page: {min_severity: high, routing_key_env: PD_KEY}
services:
  - name: payments
    repo: acme/payments
    accounts: {"111111111111": production}
    oncall:
      rotation: [alice, bob]
      start: 2026-11-02
      every: 1w
      timezone: Europe/Berlin
      overrides:
        - {from: 2026-12-24, until: 2026-12-27, login: carol}
      fallback: [carol]
  - name: billing
    repo: acme/billing
    accounts: {"222222222222": production}
    oncall:
      pagerduty: {schedule_id: PABC123, token_env: PAGERDUTY_TOKEN}
      fallback: [carol]
  - name: billing-ep
    repo: acme/billing-ep
    accounts: {"333333333333": production}
    oncall:
      pagerduty: {escalation_policy_id: PXYZ}
  - name: search
    repo: acme/search
    accounts: {"444444444444": production}
    oncall:
      opsgenie: {schedule: search-primary, token_env: OPSGENIE_API_KEY, region: eu}
      fallback: [dave]
  - name: tiny
    repo: acme/tiny
    accounts: {"555555555555": production}
    oncall: {static: 1234}
  - name: defaults
    repo: acme/defaults
    accounts: {"666666666666": production}
    oncall: {rotation: [alice], start: "2026-11-02", every: 3d}
"""


def test_the_documented_blocks_parse_into_the_domain_model() -> None:
    config = parse_config("version: 1\n" + ONCALL, "liver.yml")
    assert config.people == {"alice@example.com": "alice", "bob@example.com": "bob"}
    assert config.approval.approvers == (ApproverLogin("cto", 583231), ApproverTeam("acme", "security-leads"))
    assert config.page == PageSpec(Severity.HIGH, "PD_KEY")
    assert [s.oncall for s in config.services] == [
        OncallSpec(
            RotationSpec(
                ("alice", "bob"),
                date(2026, 11, 2),
                timedelta(weeks=1),
                "Europe/Berlin",
                (RotationOverride(date(2026, 12, 24), date(2026, 12, 27), "carol"),),
            ),
            ("carol",),
        ),
        OncallSpec(PagerDutySpec("PAGERDUTY_TOKEN", "PABC123", None), ("carol",)),
        OncallSpec(PagerDutySpec("PAGERDUTY_TOKEN", None, "PXYZ"), ()),
        OncallSpec(OpsgenieSpec("search-primary", "OPSGENIE_API_KEY", "eu"), ("dave",)),
        OncallSpec(StaticSpec("1234"), ()),  # YAML reads an all-digit login as a number
        OncallSpec(RotationSpec(("alice",), date(2026, 11, 2), timedelta(days=3), "UTC", ()), ()),
    ]


SERVICE = 'services:\n  - name: payments\n    repo: acme/payments\n    accounts: {"111111111111": production}\n'


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        (
            "    oncall: {rotation: [], start: 2026-11-02}\n",
            "liver.yml:6: services[0].oncall.rotation: list should have at least 1 item",
        ),
        (
            "    oncall: {rotation: alice, start: 2026-11-02}\n",
            "services[0].oncall.rotation: input should be a valid list",
        ),
        (
            "    oncall: {rotation: [bob@example.com], start: 2026-11-02}\n",
            "services[0].oncall.rotation[0]: 'bob@example.com' is not a GitHub login; write the bare GitHub login",
        ),
        ("    oncall: {rotation: [alice]}\n", "services[0].oncall: a rotation needs start"),
        (
            "    oncall: {rotation: [alice], start: next monday}\n",
            "services[0].oncall.start: must be a date written YYYY-MM-DD",
        ),
        (
            "    oncall: {rotation: [alice], start: 2026-11-02, every: 2 months}\n",
            "every: must be a number of days or weeks",
        ),
        ("    oncall: {rotation: [alice], start: 2026-11-02, every: 0d}\n", "every: must be between 1d and 366d"),
        (
            "    oncall: {rotation: [alice], start: 2026-11-02, every: 999999999999d}\n",
            "every: must be between 1d and 366d",
        ),
        ("    oncall: {rotation: [alice], start: 2026-11-02, timezone: Berlin}\n", "'Berlin' is not an IANA time zone"),
        (
            "    oncall: {rotation: [a], start: 2026-11-02, overrides: [{from: 2026-12-27, until: 2026-12-24, login: c}]}\n",
            "services[0].oncall.overrides[0]: until must be after from",
        ),
        (
            "    oncall: {rotation: [a], start: 2026-11-02, overrides: [{from: 2026-12-24}]}\n",
            "overrides[0].until: is required",
        ),
        (
            "    oncall: {rotation: [a], start: 2026-11-02, fallbacks: [carol]}\n",
            "oncall.fallbacks: unknown key; did you mean fallback?",
        ),
        ("    oncall: {static: erin, every: 1w}\n", "every only apply to a rotation; remove them"),
        ("    oncall: {fallback: [carol]}\n", "name exactly one on-call provider"),
        ("    oncall: {static: erin, rotation: [alice], start: 2026-11-02}\n", "name exactly one on-call provider"),
        (
            "    oncall: {pagerduty: {schedule_id: P1, escalation_policy_id: P2}}\n",
            "give schedule_id or escalation_policy_id (exactly one)",
        ),
        (
            "    oncall: {pagerduty: {schedule_id: P1, token_env: u+abc-123_secret}}\n",
            "token_env: must name the environment variable",
        ),
        (
            "    oncall: {pagerduty: {schedule_id: P1, schedule: x}}\n",
            "pagerduty.schedule: unknown key; did you mean schedule_id?",
        ),
        ("    oncall: {opsgenie: {schedule: s, region: asia}}\n", "opsgenie.region: input should be 'us' or 'eu'"),
        ("    page: {min_severity: SEVERE}\n", "services[0].page.min_severity: unknown severity 'SEVERE'"),
        ("    page: {min_severity: HIGH, severity: HIGH}\n", "page.severity: unknown key; did you mean min_severity?"),
        (
            "    page: {routing_key_env: e93facc04764012d7bfb!}\n",
            "page.routing_key_env: must name the environment variable",
        ),
        (
            "    min_severity: {prod: HIGH}\n",
            "min_severity names environment(s) prod that no account of this service has",
        ),
        ("    group_by: everything\n", "services[0].group_by: input should be 'resource' or 'control'"),
        ("    sla_days: {HIGH: 0}\n", "services[0].sla_days.HIGH: input should be greater than or equal to 1"),
        (
            "    filters: {products_include: [Inspector], products_exclude: [GuardDuty]}\n",
            "set products_include or products_exclude, not both",
        ),
    ],
)
def test_each_problem_names_line_key_path_and_fix(tail: str, expected: str) -> None:
    found = problems("version: 1\n" + SERVICE + tail)
    assert any(expected in p for p in found), found


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("version: 1", "version: 2"), "liver.yml:1: version: must be 1"),
        (
            ("defaults:\n  min_severity: HIGH", "bogus: 1\ndefaults:\n  min_severity: HIGH"),
            "bogus: unknown key; allowed keys here:",
        ),
        (
            ("repo: acme/payments", "repo: not a repo"),
            "services[0].repo: 'not a repo' is not a repository; write it as owner/name",
        ),
        (
            ('accounts: {"333333333333": production}', 'accounts: {"111111111111": production}'),
            "services[1].accounts.111111111111: already belongs to service 'payments'",
        ),
        (("name: search", "name: payments"), "services[1].name: 'payments' is also services[0]'s name"),
        (
            ('prototype_accounts: ["999999999999"]', "prototype_accounts: [12345]"),
            "prototype_accounts[0]: '12345' is not a 12-digit AWS account id; quote it",
        ),
        (
            ('prototype_accounts: ["999999999999"]', "prototype_accounts: 5"),
            "prototype_accounts: input should be a valid list",
        ),
        (
            ("honored_until: 2027-03-31", "honored_until: soon"),
            "ignore_tag.honored_until: must be a date written YYYY-MM-DD",
        ),
        (("approvers: [cto, acme/security-leads]", "approvers: [cto@example.com]"), "approval.approvers[0]"),
        (
            ("min_severity: HIGH", "min_severity: HIGH\n  sla_days: {CRITICAL: 99999}"),
            "defaults.sla_days.CRITICAL: input should be less than or equal to 3650",
        ),
    ],
)
def test_bad_central_config_is_named(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in BASE_CONFIG
    code, out = check(tmp_path, BASE_CONFIG.replace(old, new, 1))
    assert code == 2, out
    assert expected in out.replace(str(tmp_path / "liver.yml"), "liver.yml")


def test_every_problem_is_listed_at_once_with_its_line(tmp_path: Path) -> None:
    text = (
        BASE_CONFIG.replace("version: 1", "version: 3")
        .replace("repo: acme/search", "repo: x")
        .replace("every: ", "every: ")
    )
    text = text.replace("min_severity: HIGH\ngithub", "min_severity: LOUD\ngithub")
    code, out = check(tmp_path, text)
    assert code == 2
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 3, out
    assert all(f"{tmp_path / 'liver.yml'}:" in e for e in errors)
    assert any(":1: version" in e for e in errors)


def test_more_than_twenty_filter_values_are_rejected_before_aws_sees_them() -> None:
    regions = ", ".join(f"us-east-{i}" for i in range(1, 23))
    found = problems(f"version: 1\nfilters: {{regions: [{regions}]}}\n" + SERVICE)
    assert any("filters.regions: has 22 values; Security Hub accepts at most 20" in p for p in found), found


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    code, out = check(tmp_path, "version: 1\nservices:\n  - name: [unclosed\n")
    assert code == 2
    assert "line 4, column 1" in out and "Fix the YAML" in out


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"version: 1\nservices: \xff\xfe\n", "is not UTF-8"),
        ("version: 1\n".encode("utf-16"), "the file is UTF-16; save it as UTF-8"),
        (b"version: 1\nx: &a [1]\ny: *a\n", "YAML anchors and aliases are not supported"),
        (b"version: 1\nversion: 1\n", "key 'version' appears twice"),
        (b"", "the file is empty"),
        (b"- a\n- b\n", "the top level must be a mapping"),
    ],
)
def test_files_liver_cannot_read_get_a_message_not_a_traceback(tmp_path: Path, raw: bytes, expected: str) -> None:
    code, out = check(tmp_path, raw)
    assert code == 2, out
    assert expected in out
    assert "Traceback" not in out


def test_missing_file_and_folder_exit_2_naming_them(tmp_path: Path) -> None:
    code, out = check(tmp_path, None)
    assert code == 2 and "liver.yml: file not found" in out
    folder = tmp_path / "conf"
    folder.mkdir()
    result = CliRunner().invoke(main, ["check-config", "--config", str(folder)])
    assert result.exit_code == 2


def test_check_config_warns_about_configs_that_cannot_work(tmp_path: Path) -> None:
    text = "version: 1\napproval: {approvers: [cto]}\n" + SERVICE + "  - name: billing\n    repo: acme/billing\n"
    text += '    accounts: {"222222222222": production}\n    oncall: {pagerduty: {schedule_id: P1, token_env: PD_TOKEN_X}}\n'
    code, out = check(tmp_path, text)
    assert code == 0, out
    assert "approval.approvers[0] (cto) has no id: pin the numeric GitHub user id" in out
    assert "services.payments: no oncall: its issues are opened unassigned" in out
    assert "PD_TOKEN_X is not set here" in out
    code, out = check(tmp_path, "version: 1\n" + SERVICE)
    assert "approval.approvers is empty: nobody can ever approve a suppression" in out


# --------------------------------------------------------------------------- JSON Schema


def test_json_schema_is_published_and_current() -> None:
    """docs/liver.schema.json is what `liver schema` prints; regenerate with `liver schema > docs/liver.schema.json`."""
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output) == json_schema()
    assert json.loads(SCHEMA_FILE.read_text(encoding="utf-8")) == json_schema()


def test_json_schema_validates_the_example_and_rejects_typos() -> None:
    import jsonschema
    import yaml

    schema = json_schema()
    jsonschema.validate(
        yaml.safe_load(BASE_CONFIG.replace("2026-11-02", '"2026-11-02"').replace("2027-03-31", '"2027-03-31"')), schema
    )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"version": 1, "services": [], "bogus": 1}, schema)


# --------------------------------------------------------------------------- repository overrides


def central(extra: str = "repo_overrides: [min_severity, sla_days, oncall]\n") -> Config:
    return parse_config(BASE_CONFIG.replace("github:\n", extra + "github:\n", 1), "liver.yml")


def test_override_may_narrow_but_never_lower_a_floor() -> None:
    config = central()
    payments = config.services[0]
    raised, found = apply_override(payments, b"min_severity: CRITICAL\nsla_days: {HIGH: 3}\n", config)
    assert found == []
    assert raised.threshold("production", Severity.HIGH) is Severity.CRITICAL
    assert raised.sla_days[Severity.HIGH] == 3
    same, found = apply_override(payments, b"min_severity: LOW\nsla_days: {HIGH: 30}\n", config)
    assert same == payments
    assert any("LOW for production is below the central minimum HIGH" in p for p in found)
    assert any("30 days is longer than the central 7" in p for p in found)
    assert "the central values are used" in found[-1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"approval: {approvers: [mallory]}\n", "approval: unknown key"),
        (b"accounts: {'999999999999': production}\n", "accounts: unknown key"),
        (b"min_severity: \xff\n", "is not UTF-8"),
        (b"x" * (64 * 1024 + 1), "the limit is 65536 bytes"),
        (b"oncall: {static: mallory, every: 1w}\n", "every only apply to a rotation"),
        (b"oncall: {rotation: [a], start: 2026-01-01, every: 999999999999d}\n", "every: must be between 1d and 366d"),
    ],
)
def test_hostile_override_files_fall_back_to_central_values(raw: bytes, expected: str) -> None:
    config = central()
    service, found = apply_override(config.services[0], raw, config)
    assert service == config.services[0]
    assert any(expected in p for p in found), found
    assert all(p.startswith("acme/payments:.github/liver.yml") for p in found)


def test_alias_bomb_is_refused_quickly() -> None:
    """A 475-byte alias bomb in oncall.rotation used to take 165 s and 10.8 GB."""
    lines = ["a0: &a0 [alice, alice, alice, alice, alice, alice, alice, alice, alice]"]
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 9)
    ]
    raw = ("\n".join(lines) + "\noncall: {rotation: *a8, start: 2026-11-02}\n").encode()
    config = central()
    service, found = apply_override(config.services[0], raw, config)  # refused before anything expands
    assert service == config.services[0]
    assert any("YAML anchors and aliases are not supported" in p for p in found)


def test_keys_the_central_config_does_not_allow_are_refused() -> None:
    config = central("repo_overrides: [min_severity]\n")
    service, found = apply_override(config.services[0], b"oncall: {static: mallory}\n", config)
    assert service == config.services[0]
    assert any("oncall: may not be overridden by a repository" in p for p in found)


# --------------------------------------------------------------------------- the README's examples


def _readme_yaml_blocks() -> list[str]:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```yaml\n(.*?)```", readme, flags=re.S)


def test_the_readme_config_reference_is_a_valid_config() -> None:
    (reference,) = [b for b in _readme_yaml_blocks() if b.startswith("version: 1\nsecurityhub:")]
    config = parse_config(reference, "README.md")
    assert config.issue_type == "Security finding" and config.dashboard_repo == "acme/security"
    assert [s.name for s in config.services] == ["payments", "billing", "search", "tiny"]


def test_the_readme_override_example_is_accepted_as_it_narrows() -> None:
    (reference,) = [b for b in _readme_yaml_blocks() if b.startswith("version: 1\nsecurityhub:")]
    (override,) = [b for b in _readme_yaml_blocks() if b.startswith("# acme/payments:.github/liver.yml")]
    config = parse_config(reference, "README.md")
    payments = config.services[0]
    narrowed, problems = apply_override(payments, override.encode(), config)
    assert problems == []
    assert narrowed.sla_days[Severity.HIGH] == 2
    assert narrowed.oncall is not None and narrowed.oncall != payments.oncall
