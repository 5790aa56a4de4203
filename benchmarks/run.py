"""Scale benchmark of ``liver sync``: a synthetic estate, the fakes over loopback HTTP.

    make bench                                   # full size: 20,000 findings, 300 repos, 5,000 issues, +30 ms
    python benchmarks/run.py --small             # a quick check (about 15 s)
    python benchmarks/run.py --findings 20000 --repos 300 --issues 5000 --latency 0.03
    python benchmarks/run.py --small --orphan-every 5   # add services where nobody on call can be assigned

The fakes (``FakeGitHub(validate="requests")`` and ``FakeSecurityHub``) run in their own
process (``fake_servers.py``) on 127.0.0.1, each request delayed by ``--latency`` seconds.
``liver sync`` runs as a separate process with the real adapters (GITHUB_API_URL,
AWS_ENDPOINT_URL_SECURITYHUB), so its wall time, CPU time and peak RSS (from
``wait4``) are its own.

* First run: liver opens the I issues of the estate; measured as the first run against
  the request bounds of the spec.
* Steady state: liver runs again with nothing changed; it must change nothing.

Prints a table and writes ``benchmarks/results.json``. Exits 1 when liver failed or an
invariant broke (wrong issue count; in the steady state any GitHub mutation, any
BatchUpdateFindings call or any change in liver's own report); goals are reported, and
with ``--check-goals`` a missed goal fails the run too. A full run takes about 10 minutes,
most of it the first run's ~12,400 sequential requests at 30 ms each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import yaml
from estate import UNASSIGNABLE_EVERY, Estate, build_estate

HERE = Path(__file__).resolve().parent
FULL = {"findings": 20_000, "repos": 300, "issues": 5_000, "latency": 0.03}
SMALL = {"findings": 2_000, "repos": 20, "issues": 200, "latency": 0.01}
# Pacing: liver spaces mutations (default 80/min, 500/h). The benchmark measures liver's
# own cost, so pacing is set out of the way; the output says so.
# The schema's ceilings (github.mutations_per_minute <= 100,000, mutations_per_hour <=
# 1,000,000): 0.6 ms between mutations, far below one request's latency.
PACING_PER_MINUTE = 100_000
PACING_PER_HOUR = 1_000_000
DEFAULT_PACING = (80, 500)
GOAL_STEADY_RATIO = 1.05
GOAL_RSS_MB = 300.0
GOAL_STEADY_WALL_S = 120.0
_ENV_DROP_PREFIXES = ("GITHUB_", "GH_", "AWS_", "LIVER_", "PAGERDUTY_", "OPSGENIE_")
_COUNT = re.compile(r"([A-Za-z ]+): (\d+)")
_PER_REPO = ("issues_by_repo", "open_by_repo")  # left out of results.json
_PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


# --------------------------------------------------------------------------- fakes


class FakeServers:
    """The fake-server process: start, ask for stats, stop."""

    def __init__(self, args: argparse.Namespace, log: IO[str]) -> None:
        cmd = [
            sys.executable,
            str(HERE / "fake_servers.py"),
            f"--findings={args.findings}",
            f"--repos={args.repos}",
            f"--issues={args.issues}",
            f"--seed={args.seed}",
            f"--latency={args.latency}",
            f"--unassignable-every={args.unassignable_every}",
            f"--orphan-every={args.orphan_every}",
        ]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True)
        self.log = log
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=10)
            self.log.flush()
            raise RuntimeError(f"the fake-server process exited ({self.proc.returncode}); see {self.log.name}")
        data: dict[str, Any] = json.loads(line)
        return data

    def stats(self) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return self._read()

    def stop(self) -> None:
        if self.proc.poll() is None and self.proc.stdin is not None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


# --------------------------------------------------------------------------- liver


@dataclass
class LiverRun:
    exit_code: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    summary: dict[str, Any] = field(default_factory=dict)


def liver_env(ready: dict[str, Any], workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_DROP_PREFIXES) and k not in _PROXIES}
    env.update(
        GITHUB_TOKEN=ready["token"],
        GITHUB_API_URL=ready["github"],
        AWS_ENDPOINT_URL_SECURITYHUB=ready["securityhub"],
        AWS_REGION="us-east-1",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",  # the fake checks no signature
        AWS_CONFIG_FILE=str(workdir / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(workdir / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


def summarise_output(text: str) -> dict[str, Any]:
    """The counts ``liver sync`` printed at the end of its report."""
    out: dict[str, Any] = {"warnings": 0}
    for line in text.splitlines():
        if line.startswith("liver: ") and "finding(s) seen" in line:
            out["seen"] = line
        elif line.startswith("Issues opened:"):
            out["counts"] = line
            # "Issues opened: 0, updated: 0, ..., rejected approvals: 0 (were done)."
            out["reported"] = {k.strip().lower(): int(v) for k, v in _COUNT.findall(line)}
        elif line.startswith("Skipped:"):
            out["skipped"] = line[len("Skipped: ") :]
        elif line.startswith("Warning:"):
            out["warnings"] += 1
        elif line.startswith(("Failures", "Stopped early")):
            out.setdefault("failures", []).append(line)
    return out


def run_liver(config: Path, env: dict[str, str], workdir: Path, label: str, timeout: float) -> LiverRun:
    """One ``liver sync`` in its own process; wall time and that process's own rusage."""
    cmd = [sys.executable, "-m", "liver_gh", "sync", "--config", str(config)]
    out_path, err_path = workdir / f"{label}.stdout", workdir / f"{label}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=workdir, stdout=out, stderr=err)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(encoding="utf-8", errors="replace")
    summary = summarise_output(text)
    if proc.returncode != 0:
        tail = err_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:]
        summary["stderr_tail"] = tail
        summary.setdefault("failures", []).extend(line for line in text.splitlines() if line.startswith("  - "))
        summary["failures"] = summary["failures"][:10]
    return LiverRun(
        exit_code=proc.returncode,
        wall_s=round(wall, 2),
        user_s=round(usage.ru_utime, 2),
        sys_s=round(usage.ru_stime, 2),
        peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # KiB on Linux
        summary=summary,
    )


# --------------------------------------------------------------------------- bounds


def pages(n: int) -> int:
    return math.ceil(n / 100)


def getfindings_bound(state: dict[str, Any]) -> int:
    return pages(state["new_filter_matches"]) + pages(state["tracked_matches"]) + 2


def ratio(measured: float, bound: float) -> float | None:
    return round(measured / bound, 3) if bound else None


def _with_issues(counts: dict[str, int]) -> list[str]:
    return [repo for repo, n in counts.items() if n > 0]


def first_run_bounds(estate: Estate, before: dict[str, Any]) -> dict[str, Any]:
    issues_before: dict[str, int] = before["issues_by_repo"]
    repos_with_new = _with_issues(estate.issues_by_repo)
    labels = estate.label_creations()
    reads = {
        # liver reads each repository first (GET /repos/{owner}/{repo}): a renamed or
        # transferred repository is followed and reported, one with issues turned off is
        # skipped with advice, before anything is listed in it.
        "repository lookup (once per repository)": estate.repos,
        # Listed by creator (?creator=LOGIN&state=all): only liver's own issues, one page per 100.
        "list issues by creator (pages, per repository)": sum(max(1, pages(n)) for n in issues_before.values()),
        # The status report (job summary) of a central run is built from fresh listings:
        # the repositories this run changed are listed again, with the issues they have now.
        "list issues again (pages, per repository the run changed)": sum(
            max(1, pages(issues_before.get(r, 0) + estate.issues_by_repo[r])) for r in repos_with_new
        ),
        "list labels (once per repository with a new issue)": len(repos_with_new),
        # Only where an issue is opened (the estate starts with no issue, so there is no
        # hand-over): a service with nothing to open has nobody to assign.
        "assignee checks (where an issue is opened or handed over, per login tried)": estate.assignee_checks(
            repos_with_new
        ),
    }
    writes = {
        "create issue (one POST per new issue)": estate.issues_total,
        "create label (once per repository)": labels,
    }
    return {
        "github_requests": sum(reads.values()) + sum(writes.values()),
        "github_mutating": sum(writes.values()),
        "github_parts": {**reads, **writes},
        "GetFindings": getfindings_bound(before),
        "BatchUpdateFindings": estate.issues_total,  # one distinct payload per issue, each ≤ 100 findings
    }


def steady_bounds(estate: Estate, before: dict[str, Any]) -> dict[str, Any]:
    issues: dict[str, int] = before["issues_by_repo"]
    parts = {
        "repository lookup (once per repository)": estate.repos,
        # One page of 100 per listing, one spare per repository.
        "list issues by creator (pages, per repository)": sum(pages(n) + 1 for n in issues.values()),
        # Whether the on-call person can be assigned matters only for a hand-over: an open
        # issue none of the current candidates holds (rules/upkeep.handover returns early
        # otherwise). Minutes after the first run every open issue is held by the person it
        # was just assigned to; only the unassigned issues of orphaned services (nobody on
        # call is a collaborator, --orphan-every) make liver look again.
        "assignee checks (where an issue is opened or handed over, per login tried)": estate.assignee_checks(
            r for r in _with_issues(before["open_by_repo"]) if estate.service(r).orphan
        ),
    }
    return {
        "github_requests": sum(parts.values()),
        "github_mutating": 0,
        "github_parts": parts,
        "GetFindings": getfindings_bound(before),
        "BatchUpdateFindings": 0,
    }


def phase_result(
    run: LiverRun, stats: dict[str, Any], before: dict[str, Any], bounds: dict[str, Any], latency: float
) -> dict[str, Any]:
    gh, sh = stats["github"], stats["securityhub"]
    requests = gh["requests"] + sh["GetFindings"] + sh["BatchUpdateFindings"]
    injected = requests * latency
    fakes = gh["handle_seconds"] + sh["handle_seconds"]
    cpu = run.user_s + run.sys_s
    return {
        "liver": asdict(run),
        "state_before": {k: v for k, v in before.items() if k not in _PER_REPO},
        "state_after": {k: v for k, v in stats["state"].items() if k not in _PER_REPO},
        "github": gh,
        "securityhub": sh,
        "bounds": bounds,
        "ratios": {
            "github_requests": ratio(gh["requests"], bounds["github_requests"]),
            "github_mutating": ratio(gh["mutating"], bounds["github_mutating"]),
            "GetFindings": ratio(sh["GetFindings"], bounds["GetFindings"]),
            "BatchUpdateFindings": ratio(sh["BatchUpdateFindings"], bounds["BatchUpdateFindings"]),
            "BatchUpdateFindings_per_ideal_batch": ratio(sh["BatchUpdateFindings"], pages(sh["updated_identifiers"])),
        },
        "time_split_s": {
            "injected latency (requests x latency)": round(injected, 1),
            "fakes handling requests": round(fakes, 1),
            "liver CPU (user+sys)": round(cpu, 1),
            "other (client I/O, waits)": round(max(0.0, run.wall_s - injected - fakes - cpu), 1),
        },
        "server_errors": stats["server_errors"],
    }


# --------------------------------------------------------------------------- report


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        text = f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return str(value)


def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [header, *[[fmt(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def describe(estate: Estate, args: argparse.Namespace, ready: dict[str, Any]) -> list[str]:
    sizes = sorted(estate.issues_by_repo.values(), reverse=True)
    over_100 = sum(1 for n in sizes if n > 100)
    none = sum(1 for n in sizes if n == 0)
    unassignable = sum(1 for s in estate.services if s.stranger and not s.orphan)
    orphans = sum(1 for s in estate.services if s.orphan)
    cats = ", ".join(f"{k}: {fmt(v)}" for k, v in estate.categories.items())
    return [
        f"estate: {fmt(estate.findings_total)} findings over {estate.repos} repositories "
        f"(2 accounts each: production opens from HIGH, staging from CRITICAL); {fmt(estate.issues_total)} issues to open "
        f"({estate.group_issues} for Auto Scaling groups, {fmt(estate.group_findings)} grouped findings), "
        f"largest repository {sizes[0]}, {over_100} repositories over 100, {none} with none",
        f"findings by kind: {cats}",
        f"fakes: FakeGitHub(validate='requests') and FakeSecurityHub(validate_responses=False) in a separate process "
        f"on 127.0.0.1, +{args.latency * 1000:.0f} ms per request, TCP_NODELAY on (ready in {ready['setup_seconds']} s)",
        f"on call: rotation of two per service, the team lead as fallback; in {unassignable} services the rotation "
        f"members are not collaborators, so liver assigns the lead and says why; in {orphans} nobody on call is, so "
        "issues are opened unassigned",
        pacing_line(estate),
        f"max_new_issues: {fmt(args.issues + 1000)} (above the {fmt(estate.issues_total)} to open)",
    ]


def pacing_line(estate: Estate) -> str:
    per_minute, per_hour = DEFAULT_PACING
    mutations = estate.issues_total + estate.label_creations()
    if mutations > per_hour:
        default = f"stop after {per_hour} mutations and take {math.ceil(mutations / per_hour)} hourly runs"
    else:
        default = f"spend {mutations / per_minute:.0f} min sleeping"
    return (
        f"pacing: github.mutations_per_minute = {fmt(PACING_PER_MINUTE)}, mutations_per_hour = "
        f"{fmt(PACING_PER_HOUR)} in the benchmark config (the schema's ceilings), so "
        f"liver's Pacer never waits; with the defaults ({per_minute}/min, {per_hour}/h) the first run's "
        f"{fmt(mutations)} mutations would {default}"
    )


NOTES = """\
Notes
- Bounds: GitHub steady state = one repository lookup per repository + sum over repositories of (ceil(issues/100)
  + 1) (one page of 100 per listing by creator, one spare per repository) + assignee checks only where an open issue
  would be handed over (none: nothing changed); first run = the parts listed above. GetFindings = ceil(Fn/100) +
  ceil(Ft/100) + 2 with Fn, Ft the findings the new-findings and tracked filters match when the run starts.
- BatchUpdateFindings sets one Note, Workflow and UserDefinedFields for all identifiers of a call. liver's payload
  names the issue (note text and liver_issue URL), so every issue needs its own payload: the bound is the number of
  distinct payloads (one per opened issue, each under 100 findings). 'calls / ceil(updated/100)' shows how far that
  is from packing 100 findings into every call, which this payload design cannot do.
- Time split: injected latency is requests x --latency (requests are sequential); 'fakes handling' is the time the
  fakes' handle() took in their own process (the fake's GetFindings filters and sorts the whole store for each page);
  the rest is liver's own CPU and client overhead."""


def report(results: dict[str, Any]) -> str:
    first, steady = results["runs"]["first"], results["runs"]["steady"]

    def row(name: str, path: tuple[str, ...]) -> list[Any]:
        def get(d: dict[str, Any]) -> Any:
            for p in path:
                d = d[p]
            return d

        return [name, get(first), get(steady)]

    measured = [
        row("wall time (s)", ("liver", "wall_s")),
        row("liver CPU user (s)", ("liver", "user_s")),
        row("liver CPU sys (s)", ("liver", "sys_s")),
        row("peak RSS of liver (MB)", ("liver", "peak_rss_mb")),
        row("liver exit code", ("liver", "exit_code")),
        row("GitHub requests", ("github", "requests")),
        row("  bound", ("bounds", "github_requests")),
        row("  ratio", ("ratios", "github_requests")),
        row("GitHub mutating requests", ("github", "mutating")),
        row("  bound", ("bounds", "github_mutating")),
        row("GetFindings calls", ("securityhub", "GetFindings")),
        row("  bound ceil(Fn/100)+ceil(Ft/100)+2", ("bounds", "GetFindings")),
        row("  ratio", ("ratios", "GetFindings")),
        [
            "  Fn (new filter) / Ft (tracked)",
            *(
                f"{fmt(r['state_before']['new_filter_matches'])} / {fmt(r['state_before']['tracked_matches'])}"
                for r in (first, steady)
            ),
        ],
        row("BatchUpdateFindings calls", ("securityhub", "BatchUpdateFindings")),
        row("  bound (distinct payloads)", ("bounds", "BatchUpdateFindings")),
        row("  findings updated", ("securityhub", "updated_identifiers")),
        row("  calls / ceil(updated/100)", ("ratios", "BatchUpdateFindings_per_ideal_batch")),
        row("issues in GitHub after", ("state_after", "issues_total")),
    ]
    for key in first["time_split_s"]:
        measured.append(row(f"time: {key}", ("time_split_s", key)))
    out = [table(measured, ["", "first run", "steady state"])]

    routes = sorted(set(first["github"]["by_route"]) | set(steady["github"]["by_route"]))
    out.append("")
    out.append(
        table(
            [[r, first["github"]["by_route"].get(r, 0), steady["github"]["by_route"].get(r, 0)] for r in routes],
            ["GitHub requests by route", "first run", "steady state"],
        )
    )
    out.append("")
    parts = list(dict.fromkeys([*first["bounds"]["github_parts"], *steady["bounds"]["github_parts"]]))
    out.append(
        table(
            [[p, *(r["bounds"]["github_parts"].get(p) for r in (first, steady))] for p in parts],
            ["GitHub bound, parts", "first run", "steady state"],
        )
    )
    out.append("")
    out.append(
        table(
            [[g["name"], g["target"], g["measured"], "met" if g["met"] else "MISSED"] for g in results["goals"]],
            ["goal", "target", "measured", ""],
        )
    )
    out.append("")
    out.append(
        table(
            [[c["name"], c["expected"], c["measured"], "ok" if c["ok"] else "FAILED"] for c in results["checks"]],
            ["check (must hold)", "expected", "measured", ""],
        )
    )
    out += ["", NOTES]
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def source_fingerprint() -> dict[str, str]:
    """Which liver_gh was measured: the commit and a hash of the working-tree sources."""
    root = HERE.parent
    digest = hashlib.sha256()
    for path in sorted((root / "liver_gh").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False)
        commit = head.stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    return {"git_head": commit, "liver_gh_sources_sha256": digest.hexdigest()[:16]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Scale benchmark of liver sync against the loopback fakes.")
    p.add_argument("--small", action="store_true", help=f"quick check: {SMALL}")
    p.add_argument("--findings", type=int, help=f"findings in Security Hub (default {FULL['findings']})")
    p.add_argument("--repos", type=int, help=f"repositories = services (default {FULL['repos']})")
    p.add_argument("--issues", type=int, help=f"issues the first run opens (default {FULL['issues']})")
    p.add_argument("--latency", type=float, help=f"seconds added to every request (default {FULL['latency']})")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument(
        "--unassignable-every",
        type=int,
        default=UNASSIGNABLE_EVERY,
        help="every N-th service's rotation members are not collaborators, so the fallback is assigned (0: none)",
    )
    p.add_argument(
        "--orphan-every",
        type=int,
        default=0,
        help="every N-th service has nobody on call who can be assigned, so its issues are unassigned (0: none)",
    )
    p.add_argument("--timeout", type=float, default=3600, help="kill a liver run after this many seconds")
    p.add_argument("--output", type=Path, default=HERE / "results.json")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (config, liver output, server log)")
    p.add_argument("--check-goals", action="store_true", help="exit 1 when a goal is missed too")
    args = p.parse_args(argv)
    preset = SMALL if args.small else FULL
    for key, value in preset.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        estate = build_estate(
            args.findings, args.repos, args.issues, args.seed, args.unassignable_every, args.orphan_every
        )
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="liver-bench-"))
    config_path = workdir / "liver.yml"
    config = estate.config(max_new_issues=args.issues + 1000, per_minute=PACING_PER_MINUTE, per_hour=PACING_PER_HOUR)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    started = datetime.now(UTC)
    with (workdir / "fake_servers.log").open("w", encoding="utf-8") as server_log:
        servers = FakeServers(args, server_log)
        try:
            env = liver_env(servers.ready, workdir)
            for line in describe(estate, args, servers.ready):
                print(line, flush=True)
            print(f"config and logs: {workdir}", flush=True)

            before_first = servers.stats()["state"]
            print(f"first run: opening {fmt(estate.issues_total)} issues ...", flush=True)
            first_run = run_liver(config_path, env, workdir, "first", args.timeout)
            first_stats = servers.stats()
            print(f"  done in {first_run.wall_s:.1f} s (exit {first_run.exit_code}); steady-state run ...", flush=True)
            steady_run = run_liver(config_path, env, workdir, "steady", args.timeout)
            steady_stats = servers.stats()
            print(f"  done in {steady_run.wall_s:.1f} s (exit {steady_run.exit_code})\n", flush=True)
        finally:
            servers.stop()

    before_steady = first_stats["state"]
    first = phase_result(first_run, first_stats, before_first, first_run_bounds(estate, before_first), args.latency)
    steady = phase_result(steady_run, steady_stats, before_steady, steady_bounds(estate, before_steady), args.latency)
    by_repo_ok = first_stats["state"]["issues_by_repo"] == estate.issues_by_repo
    checks = [
        {"name": "first run: liver exit code", "expected": 0, "measured": first_run.exit_code},
        {"name": "steady state: liver exit code", "expected": 0, "measured": steady_run.exit_code},
        {
            "name": "first run: issues opened",
            "expected": estate.issues_total,
            "measured": first_stats["state"]["issues_total"],
        },
        {"name": "first run: issues per repository as planned", "expected": True, "measured": by_repo_ok},
        {"name": "steady state: GitHub mutations", "expected": 0, "measured": steady["github"]["mutating"]},
        {
            "name": "steady state: changes liver reports",
            "expected": 0,
            "measured": sum(steady_run.summary.get("reported", {"missing": -1}).values()),
        },
        {
            "name": "steady state: BatchUpdateFindings",
            "expected": 0,
            "measured": steady["securityhub"]["BatchUpdateFindings"],
        },
        {
            "name": "steady state: issues unchanged",
            "expected": estate.issues_total,
            "measured": steady_stats["state"]["issues_total"],
        },
        {
            "name": "fake server errors",
            "expected": 0,
            "measured": len(first["server_errors"]) + len(steady["server_errors"]),
        },
    ]
    for c in checks:
        c["ok"] = c["measured"] == c["expected"]
    steady_ratio = steady["ratios"]["github_requests"]
    goals = [
        {
            "name": "steady-state GitHub requests / bound",
            "target": f"<= {GOAL_STEADY_RATIO}",
            "measured": steady_ratio,
            "met": steady_ratio is not None and steady_ratio <= GOAL_STEADY_RATIO,
        },
        {
            "name": "peak RSS, first run (MB)",
            "target": f"< {GOAL_RSS_MB:.0f}",
            "measured": first_run.peak_rss_mb,
            "met": first_run.peak_rss_mb < GOAL_RSS_MB,
        },
        {
            "name": "peak RSS, steady state (MB)",
            "target": f"< {GOAL_RSS_MB:.0f}",
            "measured": steady_run.peak_rss_mb,
            "met": steady_run.peak_rss_mb < GOAL_RSS_MB,
        },
        {
            "name": "steady-state wall time (s)",
            "target": f"< {GOAL_STEADY_WALL_S:.0f}",
            "measured": steady_run.wall_s,
            "met": steady_run.wall_s < GOAL_STEADY_WALL_S,
        },
    ]
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "source": source_fingerprint(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "parameters": {
            k: getattr(args, k)
            for k in ("findings", "repos", "issues", "latency", "seed", "unassignable_every", "orphan_every")
        },
        "estate": {
            "findings": estate.findings_total,
            "repos": estate.repos,
            "issues": estate.issues_total,
            "group_issues": estate.group_issues,
            "group_findings": estate.group_findings,
            "findings_by_kind": estate.categories,
            "largest_repo_issues": max(estate.issues_by_repo.values()),
            "repos_over_100_issues": sum(1 for n in estate.issues_by_repo.values() if n > 100),
            "repos_without_issues": sum(1 for n in estate.issues_by_repo.values() if n == 0),
        },
        "config": {
            "github.mutations_per_minute": PACING_PER_MINUTE,
            "github.mutations_per_hour": PACING_PER_HOUR,
            "max_new_issues": args.issues + 1000,
            "note": "pacing set out of the way so the benchmark measures liver, not its deliberate waits",
        },
        "runs": {"first": first, "steady": steady},
        "goals": goals,
        "checks": checks,
    }
    print(report(results))
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output}")
    if args.keep:
        print(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    failed = not all(c["ok"] for c in checks) or (args.check_goals and not all(g["met"] for g in goals))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
