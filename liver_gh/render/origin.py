"""Where is a resource defined? Read from the tags infrastructure-as-code tools leave.

CloudFormation (and the CDK, which deploys through it) tags every stack resource with
``aws:cloudformation:stack-name`` and ``aws:cloudformation:logical-id``; Terraform users
commonly tag ``ManagedBy``/``managed-by`` or use yor's ``git_repo``/``git_file`` tags. A
fix made in the console is undone by the next deployment, so the ticket points there first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from liver_gh.markdown import Markdown, code, md
from liver_gh.models import Resource

_MANAGED_BY = ("managedby", "managed-by", "managed_by", "provisioner", "iac")
_TERRAFORM_HINTS = ("terraform", "tf", "opentofu")


@dataclass(frozen=True)
class Origin:
    tool: str  # "CloudFormation", "Terraform", "Pulumi", or "code"
    where: Markdown  # escaped description of the stack, module or file


def _tags(resource: Resource) -> dict[str, str]:
    return {k.lower(): v for k, v in resource.tags}


def origin(resource: Resource) -> Origin | None:
    tags = _tags(resource)
    stack = tags.get("aws:cloudformation:stack-name")
    if stack:
        logical = tags.get("aws:cloudformation:logical-id")
        where = md("stack {stack}", stack=code(stack))
        if logical:
            where = md("{where}, logical id {logical}", where=where, logical=code(logical))
        return Origin("CloudFormation", where)
    git_file = tags.get("git_file")
    git_repo = tags.get("git_repo")
    if git_file or git_repo:
        parts = [p for p in (git_repo, git_file) if p]
        return Origin("code", md("{where}", where=code(" / ".join(parts))))
    for key in _MANAGED_BY:
        value = tags.get(key, "").lower()
        if value in _TERRAFORM_HINTS or value.startswith("terraform"):
            module = tags.get("terraform:module") or tags.get("tf-module") or tags.get("module")
            where = md("module {m}", m=code(module)) if module else md("its Terraform configuration")
            return Origin("Terraform", where)
        if value == "pulumi":
            return Origin("Pulumi", md("its Pulumi program"))
    if "terraform" in tags:
        return Origin("Terraform", md("its Terraform configuration"))
    return None


def where_defined(resources: Sequence[Resource], noun: str) -> Markdown | None:
    """One sentence pointing the fix at the code that owns the resource, or None."""
    found = [o for o in (origin(r) for r in resources) if o is not None]
    if not found:
        return None
    first = found[0]
    if first.tool == "CloudFormation":
        return md(
            "**Where it is defined:** this {noun} belongs to CloudFormation {where}. Change the template and deploy "
            "the stack; a console change drifts from the stack and is undone by its next update. The CloudFormation "
            "snippet below shows the property to set.",
            noun=noun,
            where=first.where,
        )
    if first.tool == "code":
        return md(
            "**Where it is defined:** the resource's tags point to {where}. Fix it there so the next deployment keeps "
            "the fix.",
            where=first.where,
        )
    return md(
        "**Where it is defined:** this {noun} is managed by {tool} ({where}). Change the code, not the console, or the "
        "next apply reverts the fix; the {tool} snippet below shows the setting.",
        noun=noun,
        tool=first.tool,
        where=first.where,
    )
