"""The one path from untrusted text to Markdown.

Anyone who can create or tag an AWS resource controls titles, resource ids and tag
values; anyone with a member account can write a finding's Note; on-call providers and
repository files answer with text too. None of it reaches an issue body, title, comment,
job summary or annotation except through this module.

``Markdown`` is a ``str`` subclass that only this module (and the explanation
templates, whose variables are escaped here first) produce. Functions that build bodies
and comments take and return ``Markdown``, so passing raw text is a type error, and
``md()`` escapes every value that is not already ``Markdown``.
"""

from __future__ import annotations

import enum
import re
import string
from collections.abc import Iterable
from datetime import date, datetime

__all__ = [
    "Markdown",
    "code",
    "code_value",
    "join",
    "link",
    "literal",
    "md",
    "plain_title",
    "text",
    "text_block",
    "truncate",
]


class Markdown(str):
    """Text that is safe to put into GitHub Markdown as it is."""

    __slots__ = ()


# Characters with a meaning in GitHub Flavored Markdown or HTML.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&@:=\"'$])")
# Values AWS accepts as identifiers: what may go into a code block or a shell command.
_CODE_SAFE = re.compile(r"[A-Za-z0-9._:/@+=,*\-]{1,1024}")
# Control characters, bidirectional overrides and zero-width characters: they can hide
# or reorder text a reviewer reads.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Full-width forms never link as a mention (@) or a reference (#).
_NO_LINK = str.maketrans({"@": "\uff20", "#": "\uff03"})


def truncate(value: str, limit: int) -> str:
    """Cut ``value`` to at most ``limit`` characters, saying that it was cut."""
    if len(value) <= limit:
        return value
    return value[: max(0, limit - 1)] + "…"


def _clean(value: object) -> str:
    return _CONTROL.sub("", str(value))


def text(value: object, limit: int = 1024) -> Markdown:
    """Untrusted prose on one line: every Markdown and HTML character neutralised.

    GitHub links mentions and issue references after Markdown is rendered, so a backslash
    does not stop them: '@' and '#' become their full-width forms.
    """
    one_line = " ".join(_clean(value).split())
    cut = truncate(one_line, limit).translate(_NO_LINK)
    return Markdown(_MD_SPECIAL.sub(r"\\\1", cut))


def text_block(value: object, limit: int = 4000) -> Markdown:
    """Untrusted prose over several lines: each line escaped like ``text``."""
    cut = truncate(_clean(value), limit)
    return Markdown("\n".join(text(line, limit) for line in cut.splitlines()))


def code(value: object, limit: int = 300) -> Markdown:
    """An arbitrary value as inline code, immune to backtick breakout and mentions."""
    one_line = " ".join(_clean(value).split())
    # No AWS identifier contains a backtick or angle brackets: swapping them for look-alikes
    # keeps a value from closing the span or reading as liver's hidden markers.
    cut = truncate(one_line, limit).replace("`", "\u02cb").replace("<", "\u2039").replace(">", "\u203a")
    return Markdown(f"`{cut}`" if cut.strip() else "` `")


def code_value(value: object, placeholder: str) -> Markdown:
    """``value`` when it is safe inside a code block or shell command, else a placeholder.

    Resource names and ARNs AWS accepts fit the pattern; anything else (spaces, quotes,
    backticks, '$') could break out of the fence or the command, so the developer sees
    the placeholder, and the raw value stays in the escaped facts section.
    """
    raw = str(value)
    return Markdown(raw if _CODE_SAFE.fullmatch(raw) else placeholder)


def plain_title(value: object, limit: int = 256) -> str:
    """An issue title: one line, no control characters, no mention, within GitHub's limit.

    Titles are plain text, but '@' and '#' are still neutralised so a title never reads
    as a mention or a reference to another issue.
    """
    return truncate(" ".join(_clean(value).split()).translate(_NO_LINK), limit)


def md(template: str, /, **values: object) -> Markdown:
    """Fill ``template`` (liver's own text) with values; non-Markdown values are escaped.

    >>> md("Approved by {who}.", who="@evil")
    'Approved by \\\\＠evil\\\\.'
    """
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = names - values.keys()
    if missing:
        raise KeyError(f"md(): no value for {sorted(missing)}")
    safe = {k: v if isinstance(v, Markdown) else text(v) for k, v in values.items()}
    return Markdown(template.format(**safe))


def literal(value: int | date | datetime | enum.Enum) -> Markdown:
    """A value liver formats itself from typed data (a number, a date, an enum): no escaping needed."""
    if isinstance(value, datetime):
        return Markdown(value.strftime("%Y-%m-%d %H:%M UTC"))
    if isinstance(value, date):
        return Markdown(value.isoformat())
    if isinstance(value, enum.IntEnum):
        return Markdown(value.name)  # Severity: its name, not its rank
    if isinstance(value, enum.Enum):
        return Markdown(text(value.value))
    return Markdown(str(int(value)))


def join(separator: str, parts: Iterable[Markdown]) -> Markdown:
    """Join Markdown parts with a separator of liver's own."""
    return Markdown(separator.join(parts))


def link(label: Markdown, url: str) -> Markdown:
    """A link to a URL liver built or that comes from its explanation files.

    Never call this with a URL taken from a finding: those stay plain text.
    """
    if not url.startswith("https://") or any(c in url for c in " <>()\"'`\n"):
        return label
    return Markdown(f"[{label}]({url})")
