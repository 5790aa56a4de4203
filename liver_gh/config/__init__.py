"""liver.yml: the schema (``schema``), reading it (``load``), repository overrides
(``override``) and the frozen objects the rules use (``model``)."""

from liver_gh.config.load import default_path, load_config, parse_config
from liver_gh.config.model import (
    ApprovalPolicy,
    ApproverLogin,
    ApproverTeam,
    Config,
    Filters,
    OncallSpec,
    PageSpec,
    Service,
)

__all__ = [
    "ApprovalPolicy",
    "ApproverLogin",
    "ApproverTeam",
    "Config",
    "Filters",
    "OncallSpec",
    "PageSpec",
    "Service",
    "default_path",
    "load_config",
    "parse_config",
]
