"""Render issue bodies: the explanation ticket a developer reads.

Layout (see DESIGN.md, 'Anatomy of a good explanation ticket'): one sentence on what is
wrong; severity, due date and owner; why it matters; how to fix; how to verify; what to do
if no action is needed; facts folded away. Every value from the finding is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

from liver_gh import identity
from liver_gh.context import explanation_context
from liver_gh.escape import code_span, md_inline, truncate
from liver_gh.explanations import Explanation, Library
from liver_gh.models import Finding

BODY_LIMIT = 65_536
# Leave room for GitHub's own counting and for later checklist growth.
BODY_BUDGET = 60_000
MAX_LISTED_RESOURCES = 200


def console_url(finding: Finding) -> str:
    """A link to the finding in the Security Hub console of its home Region."""
    search = quote(f"Id%3D%255Coperator%255C%253AEQUALS%255C%253A{quote(finding.id, safe='')}", safe="%")
    return f"https://console.aws.amazon.com/securityhub/home?region={finding.region}#/findings?search={search}"


def members_section(members: Sequence[Finding], now: datetime) -> str:
    """The checklist of a group issue's resources; ticked when Security Hub resolved one."""
    from liver_gh.plan import is_active  # local: plan imports this module lazily too

    lines = [identity.MEMBERS_START, "### Resources", ""]
    ordered = sorted(members, key=lambda f: (f.resources[0].id, f.id))
    for f in ordered[:MAX_LISTED_RESOURCES]:
        tick = " " if is_active(f) else "x"
        lines.append(f"- [{tick}] {code_span(f.resources[0].id)} in {code_span(f.account)} / {code_span(f.region)}")
    if len(ordered) > MAX_LISTED_RESOURCES:
        lines.append(f"- … and {len(ordered) - MAX_LISTED_RESOURCES} more (see Security Hub)")
    lines.append(identity.MEMBERS_END)
    return "\n".join(lines)


def replace_members(body: str, section: str) -> str:
    start = body.find(identity.MEMBERS_START)
    end = body.find(identity.MEMBERS_END)
    if start == -1 or end == -1 or end < start:
        return body
    return body[:start] + section + body[end + len(identity.MEMBERS_END) :]


def pick_explanation(library: Library, finding: Finding) -> Explanation | None:
    if finding.control_id:
        found = library.get(finding.control_id)
        if found:
            return found
    product = finding.product_name.lower()
    for name in ("guardduty", "inspector", "iam access analyzer", "macie"):
        if name in product:
            found = library.get(f"product:{name}")
            if found:
                return found
    return library.get("product:generic")


def _generic_explanation(finding: Finding) -> str:
    text = md_inline(finding.remediation_text or "Security Hub gave no remediation text for this finding.", 2000)
    url = finding.remediation_url
    link = f"\n\nAWS remediation guidance: {md_inline(url, 500)}" if url else ""
    return f"## How to fix\n\n{text}{link}\n"


def render_issue(
    library: Library,
    findings: Sequence[Finding],
    *,
    service: str,
    environment: str,
    key: str,
    assignee: str | None,
    assignee_notes: Sequence[str],
    due: datetime,
    approval_label: str,
    approvers: Sequence[str],
    grouped: str | None,
    now: datetime,
    ignore_notes: Sequence[str] = (),
) -> str:
    """The whole issue body, under GitHub's size limit, ending with the identity marker."""
    first = findings[0]
    resource_ids = ", ".join(code_span(r.id) for r in first.resources[:5])
    if len(first.resources) > 5:
        resource_ids += f" and {len(first.resources) - 5} more"
    where = f"account {code_span(first.account)} ({md_inline(environment)}), Region {code_span(first.region)}"
    if grouped:
        headline = (
            f"**{md_inline(first.title, 300)}** on {len(findings)} resource(s) sharing {code_span(grouped)}, {where}."
        )
    else:
        headline = f"**{md_inline(first.title, 300)}** on {resource_ids} in {where}."
    owner = (
        f"@{assignee} — on call for {md_inline(service)} now, so this is theirs to fix or to explain."
        if assignee
        else "nobody could be assigned (see below); the service's team owns it."
    )
    parts = [
        headline,
        "",
        "| | |",
        "|---|---|",
        f"| Severity | **{first.severity.name}** |",
        f"| Due | {due:%Y-%m-%d} |",
        f"| Owner | {owner} |",
        f"| First seen | {first.first_seen:%Y-%m-%d} |" if first.first_seen else "| First seen | unknown |",
        f"| In Security Hub | [open the finding]({console_url(first)}) |",
        "",
    ]
    for n in [*assignee_notes, *ignore_notes]:
        parts.append(f"> [!NOTE]\n> {n}\n")
    explanation = pick_explanation(library, first)
    if explanation is not None:
        try:
            rendered = library.render(explanation, explanation_context(first))
        except Exception:
            rendered = _generic_explanation(first)
    else:
        rendered = _generic_explanation(first)
    parts.append(truncate(rendered, 30_000))
    if grouped or key.startswith("c-"):
        parts += ["", members_section(findings, now)]
    approver_list = ", ".join(code_span(a) for a in approvers) or "an approver"
    parts += [
        "",
        "## What to do next",
        "",
        "- **Fix it**, then close this issue as *completed*. liver marks the finding RESOLVED and reopens this issue "
        "if Security Hub still reports the problem after its next check.",
        f"- **No action needed?** Explain why in a comment (what is exposed, why it is acceptable, who decided), then ask "
        f"{approver_list} to add the `{approval_label}` label. Only an approver's label suppresses the finding.",
        "",
        "<details><summary>Finding details</summary>",
        "",
        f"- Finding id: {code_span(first.id)}",
        f"- Product: {md_inline(first.product_name)}",
        f"- Generator: {code_span(first.generator_id)}",
        f"- Updated: {first.updated_at:%Y-%m-%d %H:%M UTC}",
    ]
    if first.standards:
        parts.append(f"- Standards: {', '.join(code_span(s) for s in first.standards[:10])}")
    if first.remediation_url:
        parts.append(f"- AWS documentation: {code_span(first.remediation_url)}")
    for r in first.resources[:20]:
        tags = ", ".join(f"{k}={v}" for k, v in r.tags)
        parts.append(f"- Resource {code_span(r.type)} {code_span(r.id)}" + (f" tags {code_span(tags)}" if tags else ""))
    parts += ["", "</details>", "", identity.marker(key), ""]
    body = "\n".join(parts)
    if len(body) > BODY_BUDGET:
        # Cut the explanation, never the marker or the next steps.
        excess = len(body) - BODY_BUDGET
        parts[parts.index(truncate(rendered, 30_000))] = truncate(rendered, max(500, len(rendered) - excess - 100))
        body = "\n".join(parts)
    return body


def due_date(first_seen: datetime | None, now: datetime, days: int) -> datetime:
    start = now
    return start + timedelta(days=days)
