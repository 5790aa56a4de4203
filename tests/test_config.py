"""liver.yml validation: every problem on its own line, naming file, key path and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from liver_gh.cli import main
from liver_gh.config import load_config
from liver_gh.errors import ConfigError
from liver_gh.models import Severity
from tests.conftest import BASE_CONFIG


def check(tmp_path: Path, text: str | None) -> tuple[int, str]:
    path = tmp_path / "liver.yml"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["check-config", "--config", str(path)])
    return result.exit_code, result.output


def test_valid_config_parses_into_typed_objects(tmp_path: Path) -> None:
    path = tmp_path / "liver.yml"
    path.write_text(BASE_CONFIG, encoding="utf-8")
    config = load_config(path)
    payments = config.services[0]
    assert payments.repo == "acme/payments"
    assert payments.threshold("production", Severity.HIGH) is Severity.HIGH
    assert payments.threshold("staging", Severity.HIGH) is Severity.CRITICAL
    assert config.services[1].threshold("production", config.default_min_severity) is Severity.HIGH
    assert config.approval.logins == ("cto",) and config.approval.teams == ("acme/security-leads",)
    assert config.prototype_accounts == frozenset({"999999999999"})
    with pytest.raises(AttributeError):
        config.region = "x"  # type: ignore[misc]
    code, out = check(tmp_path, BASE_CONFIG)
    assert code == 0 and "OK" in out


def test_missing_file_exits_2_naming_it(tmp_path: Path) -> None:
    code, out = check(tmp_path, None)
    assert code == 2
    assert "liver.yml: file not found" in out


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    code, out = check(tmp_path, "version: 1\nservices:\n  - name: [unclosed\n")
    assert code == 2
    assert "line 4" in out or "line 3" in out
    assert "YAML syntax error" in out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("defaults:\n  min_severity: HIGH", "bogus: 1\ndefaults:\n  min_severity: HIGH"), "bogus: unknown key"),
        (("version: 1", "version: 2"), "version: must be 1"),
        (
            ("defaults:\n  min_severity: HIGH", "defaults:\n  min_severity: SEVERE"),
            "defaults.min_severity: unknown severity 'SEVERE'",
        ),
        (("repo: acme/payments", "repo: not a repo"), "services[0].repo: 'not a repo' is not a repository name"),
        (("rotation: [alice, bob]", "rotation: []"), "services[0].oncall.rotation"),
        (
            ('accounts: {"333333333333": production}', 'accounts: {"111111111111": production}'),
            "already owned by service 'payments'",
        ),
        (("staging: CRITICAL}", "staging: 7}"), "services[0].min_severity.staging"),
        (("honored_until: 2027-03-31", "honored_until: soon"), "ignore_tag.honored_until: must be a date"),
    ],
)
def test_each_kind_of_bad_config_is_named(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in BASE_CONFIG
    code, out = check(tmp_path, BASE_CONFIG.replace(old, new, 1))
    assert code == 2, out
    assert expected in out
    assert str(tmp_path / "liver.yml") in out


def test_all_problems_are_listed_one_per_line(tmp_path: Path) -> None:
    text = BASE_CONFIG.replace("version: 1", "version: 3").replace("repo: acme/search", "repo: x")
    code, out = check(tmp_path, text)
    assert code == 2
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert len(errors) == 2


def test_wrong_type_is_reported(tmp_path: Path) -> None:
    code, out = check(tmp_path, BASE_CONFIG.replace('prototype_accounts: ["999999999999"]', "prototype_accounts: 5"))
    assert code == 2 and "prototype_accounts: must be a list" in out


def test_config_error_carries_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "liver.yml"
    path.write_text("version: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert any("services: is required" in p for p in info.value.problems)
