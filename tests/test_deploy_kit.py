"""The deployment kit: IAM policies that match the code, OIDC trust that pins repository and
workflow, the dispatch rule's payload that liver accepts; CloudFormation linted with
cfn-lint, Terraform parsed as HCL and compared with the CloudFormation."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import hcl2
import pytest
import yaml
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode

from liver_gh import dispatch

ROOT = Path(__file__).resolve().parent.parent
ADAPTERS = ROOT / "liver_gh" / "adapters"
CFN = ROOT / "docs" / "deploy" / "cloudformation"
TF = ROOT / "docs" / "deploy" / "terraform"
DATA = ROOT / "liver_fakes" / "data"

# `client.get_findings(`, `self.client.batch_update_findings`, `client.list_aggregators_v2` (passed uncalled).
CLIENT_ATTR = re.compile(r"(?<![\w.])(?:self\.)?client\.([a-z][a-z0-9_]*)")
CLIENT_HELPERS = {"get_paginator", "get_waiter", "can_paginate", "close", "meta"}
# GetFindingsV2 and BatchUpdateFindingsV2 are authorised by the v1 actions (AWS API reference).
V2_ACTIONS = {"GetFindingsV2": "GetFindings", "BatchUpdateFindingsV2": "BatchUpdateFindings"}


def called_actions() -> set[str]:
    model = botocore.session.get_session().get_service_model("securityhub")
    by_snake = {botocore.xform_name(op): op for op in model.operation_names}
    found: set[str] = set()
    for path in sorted(ADAPTERS.glob("*.py")):
        for name in CLIENT_ATTR.findall(path.read_text(encoding="utf-8")):
            if name in CLIENT_HELPERS:
                continue
            assert name in by_snake, f"{path.name}: client.{name} is not a Security Hub operation"
            found.add("securityhub:" + V2_ACTIONS.get(by_snake[name], by_snake[name]))
    return found


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Statements with Action always a sorted list, comparable across formats."""
    out = []
    for s in doc["Statement"]:
        s = dict(s)
        s["Action"] = sorted([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        out.append(s)
    return sorted(out, key=lambda s: s["Sid"])


def load_json(name: str) -> dict[str, Any]:
    data = json.loads((ROOT / "docs" / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def cfn(name: str) -> dict[str, Any]:
    template, problems = decode(str(CFN / name))
    assert not problems and template is not None
    return json.loads(json.dumps(template))  # plain dicts and strings


def allowed(doc: dict[str, Any]) -> set[str]:
    return {a for s in statements(doc) if s["Effect"] == "Allow" for a in s["Action"]}


# ---------------------------------------------------------------- the policies


def test_policies_allow_what_the_code_calls_and_nothing_else() -> None:
    code = called_actions()
    assert "securityhub:GetFindings" in code and "securityhub:BatchUpdateFindings" in code
    for name in ("iam-policy.json", "iam-policy-service.json"):
        doc = load_json(name)
        assert all(s["Resource"] == "*" for s in doc["Statement"])
        assert allowed(doc) == code, f"{name}: missing {code - allowed(doc)}; not needed {allowed(doc) - code}"


def test_the_service_policy_cannot_suppress_in_either_api() -> None:
    denies = [s for s in load_json("iam-policy-service.json")["Statement"] if s["Effect"] == "Deny"]
    conditions = [s["Condition"] for s in denies if s["Action"] == "securityhub:BatchUpdateFindings"]
    assert {"StringEquals": {"securityhub:ASFFSyntaxPath/Workflow.Status": "SUPPRESSED"}} in conditions
    assert {"StringEquals": {"securityhub:OCSFSyntaxPath/StatusId": "3"}} in conditions  # OCSF 3 = Suppressed
    central = load_json("iam-policy.json")["Statement"]
    assert not any("Workflow.Status" in json.dumps(s) or "StatusId" in json.dumps(s) for s in central)


@pytest.mark.parametrize(
    ("role", "policy"), [("CentralRole", "iam-policy.json"), ("ServiceRole", "iam-policy-service.json")]
)
def test_cloudformation_roles_carry_the_documented_policies(role: str, policy: str) -> None:
    resource = cfn("liver-roles.yml")["Resources"][role]
    (inline,) = resource["Properties"]["Policies"]
    assert statements(inline["PolicyDocument"]) == statements(load_json(policy))


# ---------------------------------------------------------------- OIDC trust


def test_cloudformation_trust_pins_repository_branch_and_workflow() -> None:
    roles = cfn("liver-roles.yml")["Resources"]
    (trust,) = roles["CentralRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    cond = trust["Condition"]
    assert set(cond) == {"StringEquals"}, "no StringLike: every subject is spelled out"
    assert cond["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    subjects = cond["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert len(subjects) == 2
    for sub in subjects:
        text = json.dumps(sub)
        assert "*" not in text
        assert "repo:${GitHubOrg}/${CentralRepository}:ref:refs/heads/${Branch}:job_workflow_ref:" in text
    (service,) = roles["ServiceRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert set(service["Condition"]) == {"StringEquals"}
    assert service["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == {"Ref": "ServiceSubjects"}


def test_templates_pass_cfn_lint() -> None:
    for path in sorted(CFN.glob("*.yml")):
        problems = lint_file(path, ManualArgs(regions=["us-east-1", "eu-west-1"]))
        assert not problems, f"{path.name}: " + "; ".join(str(p) for p in problems)


# ---------------------------------------------------------------- Terraform


def unquote(node: Any) -> Any:
    """python-hcl2 keeps string literals quoted; strip them for comparison."""
    if isinstance(node, dict):
        return {unquote(k): unquote(v) for k, v in node.items() if k not in ("__is_block__", "__comments__")}
    if isinstance(node, list):
        return [unquote(v) for v in node]
    if isinstance(node, str) and len(node) >= 2 and node[0] == node[-1] == '"':
        return node[1:-1]
    return node


def terraform(module: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted((TF / module).glob("*.tf")):
        with path.open(encoding="utf-8") as fh:
            for key, value in unquote(hcl2.load(fh)).items():
                merged.setdefault(key, []).extend(value if isinstance(value, list) else [value])
    return merged


def tf_blocks(module: dict[str, Any], kind: str, type_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for block in module.get(kind, []):
        for name, body in block.get(type_name, {}).items():
            out[name] = body
    return out


def tf_policy(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """An aws_iam_policy_document as IAM JSON statements (literal parts only)."""
    out = []
    for s in doc.get("statement", []):
        st: dict[str, Any] = {"Sid": s["sid"], "Effect": s["effect"], "Action": sorted(s["actions"]), "Resource": "*"}
        for c in s.get("condition", []):
            (value,) = c["values"]
            st.setdefault("Condition", {}).setdefault(c["test"], {})[c["variable"]] = value
        out.append(st)
    return sorted(out, key=lambda s: s["Sid"])


def test_terraform_roles_carry_the_same_policies() -> None:
    docs = tf_blocks(terraform("roles"), "data", "aws_iam_policy_document")
    central = statements(load_json("iam-policy.json"))
    assert tf_policy(docs["central"]) == central
    # The service document extends the central one (source_policy_documents) with the denials.
    assert docs["service"]["source_policy_documents"] == ["${data.aws_iam_policy_document.central.json}"]
    extra = tf_policy(docs["service"])
    assert sorted(central + extra, key=lambda s: s["Sid"]) == statements(load_json("iam-policy-service.json"))


def test_terraform_trust_pins_repository_branch_and_workflow() -> None:
    module = terraform("roles")
    trust = tf_blocks(module, "data", "aws_iam_policy_document")["trust"]
    assert trust["for_each"] == {"central": "${local.central_subjects}", "service": "${local.service_subjects}"}
    (statement,) = trust["statement"]
    tests = {(c["test"], c["variable"]): c["values"] for c in statement["condition"]}
    assert tests[("StringEquals", "token.actions.githubusercontent.com:aud")] == ["sts.amazonaws.com"]
    assert tests[("StringEquals", "token.actions.githubusercontent.com:sub")] == "${each.value}"
    roles = tf_blocks(module, "resource", "aws_iam_role")
    assert roles["central"]["assume_role_policy"] == '${data.aws_iam_policy_document.trust["central"].json}'
    assert roles["service"]["assume_role_policy"] == '${data.aws_iam_policy_document.trust["service"].json}'
    (local,) = module["locals"]
    subject = json.dumps(local["central_subjects"])
    assert (
        ":ref:${local.ref}:job_workflow_ref:${var.github_org}/${var.central_repository}/.github/workflows/${w}@${local.ref}"
        in subject
    )
    assert "*" not in subject


def test_terraform_dispatch_matches_the_cloudformation() -> None:
    module = terraform("dispatch")
    (local,) = module["locals"]
    template = cfn("liver-dispatch.yml")
    resources = template["Resources"]
    asff = resources["AsffRule"]["Properties"]
    pattern = asff["EventPattern"]
    assert local["asff_pattern"]["detail-type"] == pattern["detail-type"]
    assert local["asff_pattern"]["detail"]["findings"]["RecordState"] == ["ACTIVE"]
    assert local["ocsf_pattern"]["detail-type"] == resources["OcsfRule"]["Properties"]["EventPattern"]["detail-type"]
    assert local["normalized"] == {k: v["Normalized"] for k, v in template["Mappings"]["Severity"].items()}
    assert local["ocsf_id"] == {k: v["OcsfId"] for k, v in template["Mappings"]["Severity"].items()}
    targets = tf_blocks(module, "resource", "aws_cloudwatch_event_target")
    (transformer,) = targets["dispatch"]["input_transformer"]
    tf_template = json.loads(transformer["input_template"].replace('\\"', '"'))
    cfn_template = json.loads(asff["Targets"][0]["InputTransformer"]["InputTemplate"])
    assert tf_template == cfn_template


# ---------------------------------------------------------------- the dispatch payload


def transform(template: str, paths: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
    """What EventBridge's input transformer sends: each <name> replaced by its JSON path's value."""

    def value(path: str) -> str:
        node: Any = event
        for part in re.findall(r"\w+|\[\d+\]", path.removeprefix("$.")):
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        return str(node)

    text = template
    for name, path in paths.items():
        text = text.replace(f"<{name}>", json.dumps(value(path))[1:-1])
    result = json.loads(text)
    assert isinstance(result, dict)
    return result


@pytest.mark.parametrize(
    ("rule", "sample", "detail_type"),
    [
        (
            "AsffRule",
            DATA / "asff" / "securityhub-consolidated-cloudtrail2-failed.json",
            "Security Hub Findings - Imported",
        ),
        ("OcsfRule", DATA / "ocsf" / "compliance-s3-public-read-failed.json", "Findings Imported V2"),
    ],
)
def test_the_rule_sends_a_payload_liver_accepts(rule: str, sample: Path, detail_type: str) -> None:
    finding = json.loads(sample.read_text(encoding="utf-8"))
    event = {"version": "0", "source": "aws.securityhub", "detail-type": detail_type, "detail": {"findings": [finding]}}
    props = cfn("liver-dispatch.yml")["Resources"][rule]["Properties"]
    (target,) = props["Targets"]
    assert target["DeadLetterConfig"] and target["RetryPolicy"]
    body = transform(target["InputTransformer"]["InputTemplate"], target["InputTransformer"]["InputPathsMap"], event)
    assert body["event_type"] == dispatch.FINDING_EVENT
    assert len(body["client_payload"]) <= 10  # GitHub's limit on client_payload's top-level properties
    # GitHub delivers it to the workflow as github.event with action = event_type.
    received = {"action": body["event_type"], "client_payload": body["client_payload"]}
    expected = finding["Id"] if "Id" in finding else finding["finding_info"]["uid"]
    assert dispatch.finding_ids(received) == (expected,)


def test_the_destination_posts_to_the_central_repositorys_dispatches() -> None:
    resources = cfn("liver-dispatch.yml")["Resources"]
    dest = resources["DispatchDestination"]["Properties"]
    assert dest["HttpMethod"] == "POST"
    assert dest["InvocationEndpoint"] == {
        "Fn::Sub": "${GitHubApiUrl}/repos/${GitHubOwner}/${CentralRepository}/dispatches"
    }
    auth = resources["GitHubConnection"]["Properties"]
    assert auth["AuthorizationType"] == "API_KEY"
    assert auth["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"] == "Authorization"
    assert {"Key": "X-GitHub-Api-Version", "Value": "2022-11-28"} in auth["AuthParameters"]["InvocationHttpParameters"][
        "HeaderParameters"
    ]
    template = cfn("liver-dispatch.yml")
    assert template["Parameters"]["GitHubToken"]["NoEcho"] is True


# ---------------------------------------------------------------- example workflows


def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "examples" / "workflows" / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_dispatch_workflow_listens_for_the_rules_event_type_with_a_concurrency_group() -> None:
    wf = workflow("dispatch.yml")
    assert dispatch.FINDING_EVENT in wf[True]["repository_dispatch"]["types"]  # YAML reads `on:` as True
    assert "client_payload.finding_id" in wf["concurrency"]["group"]


def test_service_repository_workflows_use_the_role_that_cannot_suppress() -> None:
    for name in ("per-repo.yml", "event.yml"):
        steps = next(iter(workflow(name)["jobs"].values()))["steps"]
        roles = [s["with"]["role-to-assume"] for s in steps if "role-to-assume" in s.get("with", {})]
        assert roles == ["${{ vars.LIVER_SERVICE_ROLE_ARN }}"], name


def test_central_workflows_derive_the_app_tokens_repositories_from_liver_yml() -> None:
    for name in ("central.yml", "central-sharded.yml", "dispatch.yml"):
        steps = next(iter(workflow(name)["jobs"].values()))["steps"]
        token = next(s for s in steps if "create-github-app-token" in s.get("uses", ""))
        assert token["with"]["repositories"] == "${{ steps.repos.outputs.repositories }}", name
        repos = next(s for s in steps if s.get("id") == "repos")
        assert repos["with"]["command"] == "repos"
