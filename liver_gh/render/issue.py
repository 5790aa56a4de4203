"""The explanation ticket a developer reads (see DESIGN.md, 'Anatomy of a good explanation ticket').

One sentence on what is wrong; severity, due date and owner; where the resource is
defined; why it matters and how to fix it (for every resource of a group); how to verify;
what to do if no action is needed; links; facts folded away. Every value from a finding
goes through ``liver_gh.markdown``. Bodies stay under GitHub's 65,536 characters: a big
group lists what fits and the rest goes into a follow-up comment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from liver_gh.actions import Assignee
from liver_gh.markdown import Markdown, code, join, link, md, text, truncate
from liver_gh.models import Finding
from liver_gh.render import catalogue
from liver_gh.render.context import explanation_context
from liver_gh.render.explanations import Explanation, Library, split_sections
from liver_gh.render.origin import where_defined
from liver_gh.rules.identity import Identity

BODY_LIMIT = 65_536
BODY_BUDGET = 60_000  # room for GitHub's own counting and for the checklist to grow
EXPLANATION_LIMIT = 30_000
MEMBERS_START = "<!-- liver:members -->"
MEMBERS_END = "<!-- liver:members-end -->"
PER_RESOURCE_LIMIT = 50
_REGION_OK = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class BodyInput:
    identity: Identity
    service: str
    environment: str
    findings: Sequence[Finding]
    assignee: Assignee
    due: datetime
    approval_label: str
    approvers: Sequence[str]
    group_label: str | None
    now: datetime
    notes: Sequence[Markdown] = ()


def console_url(finding: Finding) -> str:
    """A link to the finding in the Security Hub console of its home Region (liver builds it)."""
    region = finding.region if set(finding.region) <= _REGION_OK and finding.region else "us-east-1"
    search = quote(f"Id%3D%255Coperator%255C%253AEQUALS%255C%253A{quote(finding.id, safe='')}", safe="%")
    return f"https://console.aws.amazon.com/securityhub/home?region={region}#/findings?search={search}"


def pick_explanation(library: Library, finding: Finding) -> Explanation | None:
    if finding.control_id:
        found = library.get(finding.control_id)
        if found:
            return found
    product = finding.product_name.lower()
    for name, key in (
        ("guardduty", "guardduty"),
        ("inspector", "inspector"),
        ("access analyzer", "access-analyzer"),
        ("macie", "macie"),
    ):
        if name in product:
            found = library.get(f"product:{key}")
            if found:
                return found
    return library.get("product:generic")


def _render(library: Library, explanation: Explanation | None, finding: Finding) -> Markdown:
    if explanation is None:
        return _bare_fallback(finding)
    try:
        return library.render(explanation, explanation_context(finding, library.root))
    except Exception:  # a broken organisation template must not stop the issue
        return _bare_fallback(finding)


def _bare_fallback(finding: Finding) -> Markdown:
    advice = text(finding.remediation_text or "Security Hub gave no remediation text for this finding.", 2000)
    return md("## How to fix\n\n{advice}\n", advice=advice)


def members_section(findings: Sequence[Finding], budget: int = 20_000) -> tuple[Markdown, list[Finding]]:
    """The checklist of a group's resources within ``budget`` characters, and those left out."""
    lines = [MEMBERS_START, "### Resources", ""]
    used = sum(len(x) + 1 for x in lines) + len(MEMBERS_END) + 80
    ordered = sorted(findings, key=lambda f: (f.resources[0].id, f.id))
    left: list[Finding] = []
    for f in ordered:
        line = _member_line(f)
        if used + len(line) + 1 > budget:
            left.append(f)
            continue
        lines.append(line)
        used += len(line) + 1
    if left:
        lines.append(f"- … and {len(left)} more, listed in the comment below")
    lines.append(MEMBERS_END)
    return Markdown("\n".join(lines)), left


def _member_line(f: Finding) -> str:
    tick = " " if f.failing else "x"
    return f"- [{tick}] {code(f.resources[0].id)} in {code(f.account)} / {code(f.region)}"


def overflow_comment(left: Sequence[Finding]) -> Markdown:
    lines = [f"Resources of this issue that did not fit in its description ({len(left)}):", ""]
    used = sum(len(x) for x in lines)
    for i, f in enumerate(left):
        line = _member_line(f)
        if used + len(line) > BODY_BUDGET:
            lines.append(f"- … and {len(left) - i} more: filter Security Hub by this control and tag to see them all")
            break
        lines.append(line)
        used += len(line) + 1
    return Markdown("\n".join(lines))


def replace_members(body: str, section: Markdown) -> Markdown:
    start, end = body.find(MEMBERS_START), body.find(MEMBERS_END)
    if start == -1 or end == -1 or end < start:
        return Markdown(body)
    return Markdown(body[:start] + section + body[end + len(MEMBERS_END) :])


def _headline(b: BodyInput) -> Markdown:
    first = b.findings[0]
    where = md(
        "account {account} ({env}), Region {region}",
        account=code(first.account),
        env=b.environment,
        region=code(first.region),
    )
    if b.group_label:
        return md(
            "**{title}** on {n} resource(s) sharing {group}, {where}.",
            title=text(first.title, 300),
            n=str(len(b.findings)),
            group=code(b.group_label),
            where=where,
        )
    ids = join(", ", [code(r.id) for r in first.resources[:5]])
    more = md(" and {n} more", n=str(len(first.resources) - 5)) if len(first.resources) > 5 else Markdown("")
    return md("**{title}** on {ids}{more} in {where}.", title=text(first.title, 300), ids=ids, more=more, where=where)


def _owner(b: BodyInput) -> Markdown:
    a = b.assignee
    if a.login is None:
        return md("nobody could be assigned (see below); the service's team owns it.")
    role = (
        "the service's fallback, because the on-call person could not be assigned"
        if a.fallback
        else "on call for {service} now"
    )
    return md(
        "@{login} — " + role + ", so this is theirs to fix or to explain.", login=Markdown(a.login), service=b.service
    )


def _facts_table(b: BodyInput, doc: str | None) -> list[str]:
    first = b.findings[0]
    severity = max(f.severity for f in b.findings)
    rows = [
        "| | |",
        "|---|---|",
        f"| Severity | **{severity.name}** |",
        f"| Due | {b.due:%Y-%m-%d} |",
        f"| Owner | {_owner(b)} |",
        f"| First seen | {first.first_seen:%Y-%m-%d} |" if first.first_seen else "| First seen | unknown |",
        f"| In Security Hub | {link(Markdown('open the finding'), console_url(first))} |",
    ]
    if doc:
        rows.append(f"| AWS documentation | {link(code(first.control_id or 'control'), doc)} |")
    return rows


def _per_resource(
    library: Library, explanation: Explanation | None, findings: Sequence[Finding], budget: int
) -> list[str]:
    """The AWS CLI part of the fix for every member of a group, each in its own fold, within ``budget``."""
    if explanation is None or explanation.kind != "control" or len(findings) < 2:
        return []
    out = ["", "## Commands for each resource", ""]
    used = sum(len(x) + 1 for x in out)
    shown = 0
    for f in findings[:PER_RESOURCE_LIMIT]:
        cli = split_sections(_render(library, explanation, f)).get("AWS CLI")
        if not cli:
            return []
        fold = [f"<details><summary>{code(f.resources[0].id)}</summary>", "", cli, "", "</details>", ""]
        size = sum(len(x) + 1 for x in fold)
        if used + size > budget:
            break
        out += fold
        used += size
        shown += 1
    if shown < len(findings):
        out.append(f"The other {len(findings) - shown} resources take the same commands with their own names.")
    return out if shown else []


def _next_steps(b: BodyInput) -> list[str]:
    approvers = join(", ", [code(a) for a in b.approvers]) or Markdown("an approver")
    return [
        "",
        "## What to do next",
        "",
        "- **Fix it**, then close this issue as *completed*. liver marks the finding RESOLVED and reopens this issue "
        "if Security Hub still reports the problem after its next check.",
        md(
            "- **No action needed?** Explain why in a comment (what is exposed, why it is acceptable, who decided), then "
            "ask {approvers} to add the {label} label. Only an approver's label suppresses the finding.",
            approvers=approvers,
            label=code(b.approval_label),
        ),
    ]


def _references(explanation: Explanation | None, doc: str | None) -> list[str]:
    urls = [u for u in (explanation.references if explanation else ()) if u.startswith("https://") and u != doc]
    if not urls:
        return []
    return ["", "**Read more:** " + ", ".join(link(text(_label(u), 120), u) for u in urls[:8])]


def _label(url: str) -> str:
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail.replace(".html", "").replace("-", " ").split("#")[0] or url


def _details(first: Finding) -> list[str]:
    parts = [
        "",
        "<details><summary>Finding details</summary>",
        "",
        f"- Finding id: {code(first.id)}",
        f"- Product: {text(first.product_name)}",
        f"- Generator: {code(first.generator_id)}",
        f"- Updated: {first.updated_at:%Y-%m-%d %H:%M UTC}",
    ]
    if first.standards:
        parts.append(f"- Standards: {join(', ', [code(s) for s in first.standards[:10]])}")
    if first.remediation_url:
        parts.append(f"- Remediation URL given by the finding (not verified): {code(first.remediation_url)}")
    for r in first.resources[:20]:
        tags = ", ".join(f"{k}={v}" for k, v in r.tags)
        parts.append(f"- Resource {code(r.type)} {code(r.id)}" + (f" tags {code(tags)}" if tags else ""))
    return [*parts, "", "</details>"]


def render_issue(library: Library, b: BodyInput) -> tuple[Markdown, tuple[Markdown, ...]]:
    """The whole issue body, under GitHub's size limit, ending with the identity marker; and follow-ups."""
    first = b.findings[0]
    explanation = pick_explanation(library, first)
    control = catalogue.load(library.root).get((first.control_id or "").lower())
    doc = (control.doc_url if control else catalogue.doc_url(first.control_id)) if first.control_id else None
    head: list[str] = [_headline(b), "", *_facts_table(b, doc), ""]
    for note in [*(text(n, 600) for n in b.assignee.notes), *b.notes]:
        head.append(f"> [!NOTE]\n> {note}\n")
    origin = where_defined([r for f in b.findings for r in f.resources], "resource")
    if origin:
        head += [origin, ""]
    explained = Markdown(truncate(_render(library, explanation, first), EXPLANATION_LIMIT))
    tail = _next_steps(b) + _references(explanation, doc) + _details(first) + ["", b.identity.marker(), ""]
    fixed = sum(len(p) + 1 for p in [*head, explained, *tail])
    if fixed > BODY_BUDGET:
        # Cut the explanation, never the marker or the next steps.
        explained = Markdown(truncate(explained, max(500, len(explained) - (fixed - BODY_BUDGET) - 100)))
        fixed = sum(len(p) + 1 for p in [*head, explained, *tail])
    room = max(0, BODY_BUDGET - fixed)
    left: list[Finding] = []
    middle: list[str] = []
    if b.identity.grouped:
        commands = _per_resource(library, explanation, b.findings, room // 2)
        room -= sum(len(p) + 1 for p in commands)
        section, left = members_section(b.findings, max(300, room))
        middle = [*commands, "", section]
    body = "\n".join([*head, explained, *middle, *tail])
    return Markdown(body), ((overflow_comment(left),) if left else ())
