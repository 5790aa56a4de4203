"""Refresh controls.csv from the Security Hub API (needs AWS credentials; prints the new CSV).

Title, description, severity and the current list of controls come from the API; the
columns only the user guide has (resource type, Config rule, schedule) are kept from the
current file. A control the API no longer lists is marked retired; a new one is added with
empty doc-derived columns, to be filled from its page (doc_url).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import boto3

HERE = Path(__file__).parent


def main() -> None:
    current = {r["control_id"]: r for r in csv.DictReader((HERE / "controls.csv").open(encoding="utf-8"))}
    client = boto3.client("securityhub")
    seen: dict[str, dict[str, str]] = {}
    for page in client.get_paginator("list_security_control_definitions").paginate():
        for d in page["SecurityControlDefinitions"]:
            cid = d["SecurityControlId"]
            row = dict(current.get(cid) or dict.fromkeys(next(iter(current.values())), ""))
            service, _, number = cid.partition(".")
            row.update(
                control_id=cid,
                title=d["Title"],
                description=d["Description"],
                severity=d["SeverityRating"],
                status="active",
                doc_url=row.get("doc_url")
                or f"https://docs.aws.amazon.com/securityhub/latest/userguide/{service.lower()}-controls.html#{service.lower()}-{number}",
            )
            seen[cid] = row
    for cid, row in current.items():
        if cid not in seen:
            seen[cid] = {**row, "status": "retired"}
    writer = csv.DictWriter(sys.stdout, fieldnames=list(next(iter(current.values()))))
    writer.writeheader()
    writer.writerows(
        sorted(seen.values(), key=lambda r: (r["control_id"].split(".")[0].lower(), int(r["control_id"].split(".")[1])))
    )


if __name__ == "__main__":
    main()
