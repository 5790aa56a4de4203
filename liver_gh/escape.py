"""Make untrusted finding text safe to put into an issue body.

Anyone who can create or tag an AWS resource controls titles, resource ids and tag values,
so nothing from a finding reaches Markdown unescaped: no live @mentions, no HTML (an HTML
comment could forge or hide liver's identity marker), no links or images, no breaking out
of a code block.
"""

from __future__ import annotations

import re

# Characters with a meaning in GitHub Flavored Markdown or HTML.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&@:=\"'])")
# Code snippets only ever need identifier-like values (ARNs, names, regions, account ids).
_CODE_SAFE = re.compile(r"[A-Za-z0-9._:/@+=,*\-]{1,1024}")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters, saying that it was cut."""
    if len(text) <= limit:
        return text
    return text[: max(0, limit - 1)] + "…"


def md_inline(value: object, limit: int = 1024) -> str:
    """Escape ``value`` for Markdown prose: one line, every special character neutralised.

    GitHub links mentions and issue references after Markdown is rendered, so a backslash
    does not stop them: '@' and '#' become their full-width forms, which never link.
    """
    text = _CONTROL.sub("", str(value))
    text = " ".join(text.split())
    text = truncate(text, limit)
    text = text.replace("@", "\uff20").replace("#", "\uff03")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_block(value: object, limit: int = 4000) -> str:
    """Escape multi-line prose: paragraphs kept, every line escaped like ``md_inline``."""
    text = _CONTROL.sub("", str(value))
    text = truncate(text, limit)
    lines = [md_inline(line, limit) for line in text.splitlines()]
    return "\n".join(lines)


def code_value(value: object, placeholder: str) -> str:
    """Return ``value`` when it is safe inside a code block or shell command, else a placeholder.

    Resource names and ARNs AWS accepts fit this pattern; anything else (spaces, quotes,
    backticks, '$') could break out of the fence or the command, so the developer sees the
    placeholder and the raw value stays in the escaped facts section.
    """
    text = str(value)
    if _CODE_SAFE.fullmatch(text):
        return text
    return placeholder


def code_span(value: object, limit: int = 300) -> str:
    """Show an arbitrary value as inline code, immune to backtick breakout and mentions."""
    text = _CONTROL.sub("", str(value))
    text = " ".join(text.split())
    text = truncate(text, limit)
    # Inline code cannot be closed by a value without backticks; replace them visibly.
    text = text.replace("`", "\u02cb")
    return f"`{text}`" if text else "` `"


def plain_title(value: object, limit: int = 256) -> str:
    """An issue title: one line, no control characters, no mention, within GitHub's limit.

    Titles are shown as plain text, but '@' and '#' are still neutralised so a title can
    never read as a mention or a reference to another issue.
    """
    text = " ".join(_CONTROL.sub("", str(value)).split())
    text = text.replace("@", "\uff20").replace("#", "\uff03")
    return truncate(text, limit)
