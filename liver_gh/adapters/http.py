"""One HTTP retry policy for the on-call and paging providers (urllib3's Retry).

Connection errors and 5xx answers are retried once after a short pause; a read timeout is
not (the request may have been taken, and waiting twice doubles the stall). Every request
has a timeout, so a provider that hangs cannot hang the run.
"""

from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

TIMEOUT = 10.0


def session(backoff: float = 0.5) -> requests.Session:
    retry = Retry(
        total=1,
        connect=1,
        read=False,
        status=1,
        backoff_factor=backoff,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "POST"}),  # PagerDuty folds repeated events by dedup_key
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    s.mount("https://", adapter)
    s.mount("http://", adapter)
    return s
