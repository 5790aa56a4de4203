"""Packaging checks: the composite action really runs, and the wheel ships only the product."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "liver_gh"

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
    assert set(action["outputs"]) == {
        "opened",
        "updated",
        "suppressed",
        "resolved",
        "rejected",
        "failed",
        "repositories",
    }
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


def test_action_runs_the_demo(tmp_path: Path) -> None:
    action = _action()
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs.update({"command": "demo", "dry-run": "true", "github-token": "test-token"})
    values = {
        "github.action_path": str(ROOT),
        "runner.temp": str(tmp_path),
        "github.token": "test-token",
        "steps.python.outputs.python-path": sys.executable,
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
    assert outputs == {}, "the demo does nothing real, so it writes no step outputs"


def test_readme_shows_the_real_sync_help() -> None:
    from click.testing import CliRunner

    from liver_gh.cli import main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("$ liver sync --help\n", 1)[1].split("```", 1)[0]
    real = CliRunner().invoke(main, ["sync", "--help"], prog_name="liver").output
    assert block.strip() == real.strip(), "update the README's `liver sync --help` block"


# ---- the wheel ------------------------------------------------------------------------------------


def test_the_wheel_ships_the_product_only_and_runs_without_extras(tmp_path: Path) -> None:
    import zipfile

    env = {**os.environ, **_offline_pip_env()}
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
        env=env, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("liver_gh-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert not {t for t in tops if not t.startswith("liver_gh")}, tops  # no liver_fakes, no tests
    assert not [n for n in names if "fake" in n.lower() or n.endswith("openapi.json")]
    assert "liver_gh/_explanations/S3.2.md" in names
    assert "liver_gh/_explanations/_catalogue/controls.csv" in names

    # Installed on its own (no demo extras): the product runs; the demo explains where it lives.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)]
    subprocess.run(pip, env=env, check=True, capture_output=True, timeout=300)
    # Dependencies come from this interpreter (offline), but never the source tree.
    run_env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "LIVER_"))}
    liver = str(venv / "bin" / "liver")
    help_out = subprocess.run([liver, "--help"], env=run_env, capture_output=True, text=True, timeout=60, check=False)
    assert help_out.returncode == 0 and "doctor" in help_out.stdout
    config = tmp_path / "liver.yml"
    config.write_text(
        "version: 1\napproval: {approvers: [cto]}\nservices:\n  - name: a\n    repo: acme/a\n"
        '    accounts: {"111111111111": production}\n    oncall: {static: alice}\n',
        encoding="utf-8",
    )
    checked = subprocess.run(
        [liver, "check-config", "--config", str(config)],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "control explanation(s)" in checked.stdout
    demo = subprocess.run([liver, "demo"], env=run_env, capture_output=True, text=True, timeout=60, check=False)
    assert demo.returncode == 2 and "the demo runs from a source checkout" in demo.stderr
    assert "Traceback" not in demo.stderr
