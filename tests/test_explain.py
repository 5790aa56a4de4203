"""`liver explain` through the CLI, and where a ticket says the resource is defined."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from liver_gh.cli import main
from tests.conftest import Mem, ts
from tests.factories import control_finding


def explain(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["explain", *args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize("name", ["S3.2", "s3.2", " S3.2 "])
def test_one_control_with_a_header_whatever_the_case(name: str) -> None:
    code, out = explain(name)
    assert code == 0, out
    assert out.startswith("# S3.2: S3 general purpose buckets should block public read access (CRITICAL)\n")
    assert "## How to fix" in out


def test_aws_spelling_of_a_control_finds_its_template() -> None:
    code, out = explain("autoscaling.5")
    assert code == 0
    assert out.startswith("# Autoscaling.5:")


def test_the_list_names_every_control_and_counts_them() -> None:
    code, out = explain("--list")
    assert code == 0
    assert any(line.split()[:3] == ["S3.2", "CRITICAL", "yes"] for line in out.splitlines())
    total = next(line for line in out.splitlines() if line.startswith("total"))
    explained, controls = (int(x) for x in total.split()[1::2])
    assert explained == controls and controls >= 590
    assert "products: guardduty" in out


def test_product_explanations_are_reachable() -> None:
    code, out = explain("guardduty")
    assert code == 0
    assert out.startswith("# guardduty:")


def test_an_unknown_control_says_where_to_look() -> None:
    code, out = explain("Nope.1")
    assert code == 2
    assert "no explanation for 'Nope.1'; 'liver explain --list' shows what exists." in out


def test_a_real_finding_fills_in_its_resource(tmp_path: Path) -> None:
    finding = control_finding("S3.2", resource_id="arn:aws:s3:::acme-exports")
    path = tmp_path / "f.json"
    path.write_text(json.dumps(finding), encoding="utf-8")
    code, out = explain("S3.2", "--finding", str(path))
    assert code == 0
    assert "aws s3api get-public-access-block --bucket acme-exports" in out
    path.write_text("{not json", encoding="utf-8")
    code, out = explain("S3.2", "--finding", str(path))
    assert code == 2 and "not a readable ASFF finding" in out


# ---------------------------------------------------------------- where is it defined?


@pytest.mark.parametrize(
    ("tags", "said"),
    [
        (
            {"aws:cloudformation:stack-name": "web-prod", "aws:cloudformation:logical-id": "Exports"},
            "this resource belongs to CloudFormation stack `web-prod`, logical id `Exports`",
        ),
        ({"ManagedBy": "Terraform", "terraform:module": "storage"}, "managed by Terraform (module `storage`)"),
        ({"git_repo": "acme/infra", "git_file": "s3.tf"}, "the resource's tags point to `acme/infra / s3.tf`"),
    ],
)
def test_the_ticket_points_at_the_code_that_owns_the_resource(mem: Mem, tags: dict[str, str], said: str) -> None:
    mem.hub.add(control_finding("S3.2", resource_id="arn:aws:s3:::acme-exports", updated_at=ts(mem.now), tags=tags))
    mem.sync()
    (issue,) = mem.issues()
    assert said in issue.body


def test_no_iac_tags_no_claim(mem: Mem) -> None:
    mem.hub.add(control_finding("S3.2", resource_id="arn:aws:s3:::acme-exports", updated_at=ts(mem.now)))
    mem.sync()
    (issue,) = mem.issues()
    assert "Where it is defined" not in issue.body


def test_an_iac_tag_cannot_inject_markdown(mem: Mem) -> None:
    hostile = "x` [click](https://evil.example) @acme/everyone `"
    tags = {"aws:cloudformation:stack-name": hostile}
    mem.hub.add(control_finding("S3.2", resource_id="arn:aws:s3:::acme-exports", updated_at=ts(mem.now), tags=tags))
    mem.sync()
    (issue,) = mem.issues()
    line = next(ln for ln in issue.body.splitlines() if "Where it is defined" in ln)
    # The whole value stays inside one code span (its backticks become look-alikes), where
    # GitHub renders no link and notifies nobody.
    assert "`x\u02cb [click](https://evil.example) @acme/everyone \u02cb`" in line
    assert line.count("`") == 2
