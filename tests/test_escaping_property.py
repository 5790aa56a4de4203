"""One escaping path (trust model, point 7), tried with hostile text in every field.

Hypothesis puts hostile strings into a finding's title, description, resource id and type,
tags (the ignore tag's reason included, forced to be 'not honoured'), remediation text and
URL, product fields, the Security Hub Note and its author, and the on-call provider's
answer. Every body and comment liver writes must carry no live mention, no image, no link
but liver's own, no HTML but liver's own folds, exactly one identity marker (the right
one); and the issue must still work: closing it reaches Security Hub.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liver_gh.config.model import OncallSpec
from liver_gh.rules.identity import Identity, KeyKind
from liver_gh.rules.upkeep import Oncall
from tests.conftest import BASE_CONFIG, NOW, Mem, RecordingPager, ts
from tests.factories import control_finding

PAYLOADS = [
    "@acme/security-team please",
    "@alice",
    "![pixel](https://evil.example/t.png)",
    "<img src=https://evil.example/t.png>",
    "</details><h1>forged</h1>",
    "[click me](https://evil.example)",
    "https://evil.example/path",
    "www.evil.example",
    "#1 and GH-2",
    "`code` ``` fence",
    "$(rm -rf /)",
    "<!-- liver:identity v2 key=f-" + "0" * 40 + " ref=eyJmIjoieCJ9 -->",
    "<!-- liver:approval v1 event=1 actor_id=1 actor=cto via=cto covers= -->",
    "\u202egnp.exe",
    "**bold** _it_ ~~s~~ | a | b |",
    "line1\nline2\n> quote\n- [x] task",
    "$x^2$ math",
    "&lt;script&gt;",
]
hostile = st.lists(st.sampled_from(PAYLOADS), min_size=1, max_size=3).map(" ".join) | st.text(max_size=60)

ALLOWED_LINKS = ("https://console.aws.amazon.com/", "https://docs.aws.amazon.com/", "https://github.com/acme/")
ALLOWED_TAGS = {"<details>", "</details>", "</summary>"}
_FENCE = re.compile(r"^[ \t]*```.*?^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"(?<!\\)`[^`\n]*(?<!\\)`")


def _prose(markdown: str) -> str:
    text = re.sub(r"<!-- liver:(identity|members|members-end|approval)[^>]*-->", "", markdown)
    return _CODE.sub("", _FENCE.sub("", text))


def problems(markdown: str) -> list[str]:
    out = []
    prose = _prose(markdown)
    if re.search(r"(?<![\w`\\])@[A-Za-z0-9]", prose):
        out.append("a live mention")
    if "![" in prose:
        out.append("an image")
    for url in re.findall(r"\]\(([^)]*)\)", prose):
        if not url.startswith(ALLOWED_LINKS):
            out.append(f"a link liver did not build: {url}")
    for tag in re.findall(r"(?<!\\)<[^>\n]*>", prose):
        if tag not in ALLOWED_TAGS and not tag.startswith("<summary>"):
            out.append(f"HTML {tag}")
    if markdown.count("<details>") != markdown.count("</details>"):
        out.append("unbalanced <details>")
    if re.search(r"(?<![\\\w])(https?://|www\.)", prose.replace("](https://", "](")):
        out.append("an autolink")
    return out


class HostileOncall:
    """An on-call provider that answers with hostile text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def who(self, service: str, spec: OncallSpec | None, now: datetime) -> Oncall:
        return Oncall(
            ("nobody-here",),
            (f"PagerDuty says {self.text}; using the service's fallback.",),
            frozenset(),
            0,
            "fallback",
        )


def _finding(text: str, tag_text: str) -> dict[str, Any]:
    raw = control_finding(
        "S3.2",
        resource_id=f"arn:aws:s3:::{text}",
        updated_at=ts(NOW),
        title=f"Title {text}",
        tags={"liver:ignore": f"{tag_text}; until=2000-01-01", "owner": tag_text},
    )
    raw["Description"] = f"Description {text}"
    raw["Resources"][0]["Type"] = f"Aws{text}"[:100] or "AwsS3Bucket"
    raw["Remediation"] = {"Recommendation": {"Text": f"Fix {text}", "Url": f"https://evil.example/{text}"}}
    raw["ProductFields"] = {**raw["ProductFields"], "note": text}
    return raw


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=hostile, tag_text=hostile, note=hostile, author=hostile)
def test_hostile_text_never_escapes_and_the_issue_still_works(text: str, tag_text: str, note: str, author: str) -> None:
    from liver_gh.sync import Ports, run_sync
    from tests.conftest import _library
    from tests.memory import MemoryHub, MemoryTracker

    clock = [NOW]
    tracker = MemoryTracker(lambda: clock[0])
    tracker.add_repo("acme/payments", ["alice", "bob"])
    tracker.add_repo("acme/search", ["carol"])
    hub = MemoryHub(lambda: clock[0])
    mem = Mem(BASE_CONFIG, tracker, hub, clock, RecordingPager([]))
    raw = _finding(text, tag_text)
    try:
        hub.add(raw)
    except Exception:  # the emulator refuses what Security Hub would refuse (e.g. an empty id)
        return

    def sync() -> Any:
        config = mem.config
        ports = Ports(tracker, hub, HostileOncall(text), RecordingPager([]), tracker.creators)
        return run_sync(config, ports=ports, library=_library(), now=clock[0])

    report = sync()
    issues = tracker.all_issues("acme/payments")
    assert len(issues) == 1, report.text()
    issue = issues[0]
    expected = Identity(KeyKind.FINDING, finding_id=raw["Id"]).marker()
    assert issue.body.count("<!-- liver:identity") == 1 and expected in issue.body
    assert not problems(issue.body), (problems(issue.body), issue.body[:3000])
    assert not problems(report.markdown()), problems(report.markdown())
    # Someone suppresses it directly with a hostile note: liver quotes them, escaped.
    hub.member_update(
        raw["Id"], Workflow={"Status": "SUPPRESSED"}, Note={"Text": note or "x", "UpdatedBy": author or "y"}
    )
    clock[0] = clock[0].replace(hour=13)
    sync()
    for comment in issue.comments:
        assert not problems(comment.body), (problems(comment.body), comment.body)
    # Reopened and fixed: closing still reaches Security Hub.
    hub.member_update(raw["Id"], Workflow={"Status": "NOTIFIED"})
    tracker.reopen("acme/payments", issue.number, "bob")
    clock[0] = clock[0].replace(hour=14)
    sync()
    tracker.close("acme/payments", issue.number, "bob")
    clock[0] = clock[0].replace(hour=15)
    sync()
    assert hub.raw(raw["Id"])["Workflow"]["Status"] == "RESOLVED"
