"""One error tree. Every message says what happened and what to do next.

Only ``cli.py`` turns these into exit codes: ConfigError (and AuthError) is 2, the
others that end a run are 1, and anything outside this tree is a bug (3).
"""

from __future__ import annotations


class LiverError(Exception):
    """Base of every error liver raises on purpose."""


class ConfigError(LiverError):
    """The configuration or the environment is missing or invalid. Carries one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class AuthError(ConfigError):
    """A token or credential was refused: nothing can work until it is fixed."""


class SourceError(LiverError):
    """Security Hub could not be read or updated."""


class TrackerError(LiverError):
    """GitHub could not be read or updated."""

    def __init__(self, message: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(message)


class RepoUnavailable(TrackerError):
    """One repository cannot be used (issues disabled, not found, no access): skip its service."""


class StopRun(TrackerError):
    """Stop changing things for this run (a rate limit past the cap, the hourly budget); the next run goes on."""


class FindingError(LiverError):
    """One finding is malformed; it is reported and skipped, the run goes on."""


class OncallError(LiverError):
    """An on-call or paging provider could not answer."""


class PagingError(OncallError):
    """PagerDuty did not take a page; the caller records it and retries next run."""
