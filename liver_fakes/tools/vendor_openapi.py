"""Cut the operations liver uses out of GitHub's full OpenAPI description, verbatim.

Usage (from a checkout; the full description is not committed, it is 13 MB):

    npm pack @octokit/openapi@23.0.2 && tar xzf octokit-openapi-23.0.2.tgz
    python liver_fakes/tools/vendor_openapi.py package/generated/api.github.com.json

Every path item method listed in OPERATIONS is copied unchanged, with every component
it references (transitively). Only examples are dropped, to keep the file small; the
fake never reads them. The source file's SHA-256 is recorded in info.x-source.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "github-openapi.json"

# (method, path) of every request liver or its fakes' tests send.
OPERATIONS: tuple[tuple[str, str], ...] = (
    ("get", "/rate_limit"),
    ("get", "/user"),
    ("get", "/users/{username}"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/assignees/{assignee}"),
    ("get", "/repos/{owner}/{repo}/collaborators/{username}/permission"),
    ("get", "/repos/{owner}/{repo}/contents/{path}"),
    ("get", "/repos/{owner}/{repo}/issues"),
    ("post", "/repos/{owner}/{repo}/issues"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("patch", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("delete", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("put", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/events"),
    ("get", "/repos/{owner}/{repo}/issues/events"),
    ("get", "/repos/{owner}/{repo}/issues/events/{event_id}"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"),
    ("delete", "/repos/{owner}/{repo}/issues/{issue_number}/assignees"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/assignees/{assignee}"),
    ("get", "/repos/{owner}/{repo}/labels"),
    ("post", "/repos/{owner}/{repo}/labels"),
    ("get", "/repos/{owner}/{repo}/labels/{name}"),
    ("patch", "/repos/{owner}/{repo}/labels/{name}"),
    ("delete", "/repos/{owner}/{repo}/labels/{name}"),
    ("post", "/repos/{owner}/{repo}/dispatches"),
    ("get", "/orgs/{org}/teams/{team_slug}"),
    ("get", "/orgs/{org}/teams/{team_slug}/members"),
    ("get", "/orgs/{org}/teams/{team_slug}/memberships/{username}"),
    ("get", "/orgs/{org}/issue-types"),
    ("get", "/installation/repositories"),
    ("get", "/search/issues"),
)


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            out.add(ref)
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def _drop_examples(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _drop_examples(v) for k, v in node.items() if k not in ("examples", "example")}
    if isinstance(node, list):
        return [_drop_examples(v) for v in node]
    return node


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def vendor(full: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in OPERATIONS:
        item = full["paths"][path]
        paths.setdefault(path, {k: v for k, v in item.items() if k == "parameters"})[method] = item[method]
    out: dict[str, Any] = {"openapi": full["openapi"], "info": dict(full["info"]), "paths": _drop_examples(paths)}
    components: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    _refs(out["paths"], pending)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = _drop_examples(_resolve(full, ref))
        components.setdefault(kind, {})[name] = value
        _refs(value, pending)
    out["components"] = {kind: dict(sorted(items.items())) for kind, items in sorted(components.items())}
    return out


def main(source: str) -> None:
    raw = Path(source).read_bytes()
    full = json.loads(raw)
    out = vendor(full)
    out["info"]["x-source"] = (
        f"@octokit/openapi generated/api.github.com.json sha256={hashlib.sha256(raw).hexdigest()}; "
        "cut by liver_fakes/tools/vendor_openapi.py (operations listed there, $ref closure, examples dropped)"
    )
    out["info"]["x-license"] = "MIT License, Copyright (c) 2020 Octokit contributors; see OPENAPI-LICENSE."
    OUT.write_text(json.dumps(out, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(out['paths'])} paths, {sum(len(v) for v in out['components'].values())} components")


if __name__ == "__main__":
    main(sys.argv[1])
