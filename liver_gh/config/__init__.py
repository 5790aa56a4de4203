"""liver.yml: the schema (``schema``), reading it (``load``), repository overrides
(``override``) and the frozen objects the rules use (``model``)."""
