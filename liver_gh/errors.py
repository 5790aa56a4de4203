"""One error tree. Every message says what happened and what to do next.

Only ``cli.py`` turns these into exit codes.
"""

from __future__ import annotations


class LiverError(Exception):
    """Base of every error liver raises on purpose."""


class ConfigError(LiverError):
    """The configuration is missing or invalid. Carries one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class SourceError(LiverError):
    """Security Hub could not be read or updated."""


class TrackerError(LiverError):
    """GitHub could not be read or updated."""


class FindingError(LiverError):
    """One finding is malformed; it is reported and skipped, the run goes on."""


class OncallError(LiverError):
    """An on-call provider could not say who is on call."""
