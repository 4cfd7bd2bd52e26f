#!/usr/bin/env python3
"""Count test cases after `meson test` and print one summary line.

Usage: test-summary.py BUILD_DIR [--build-failed] [--meson-status RC]

Reads BUILD_DIR/meson-logs/testlog.json (one JSON object per meson test) and, for tests registered with
protocol 'gtest', the GoogleTest XML report that meson 1.0 asks for with --gtest_output=xml:<path>, where
<path> is `<workdir>/<test name>.xml` when the test has a workdir, else `<test name>.xml` relative to the
build directory (meson runs tests from there). See mesonbuild/mtest.py: TestRunGTest and _run_cmd. The
protocol and workdir of each test come from BUILD_DIR/meson-info/intro-tests.json.

Counting:
  * every GoogleTest test case in a report counts once: passed, failed (<failure>/<error>) or skipped
    (result="skipped", a <skipped> child, or a DISABLED_ test; tests left out by a filter are not counted);
  * a gtest executable without a fresh report (crashed, killed by the timeout, never started) counts as
    one failed case; one that failed in meson's eyes although every case in its report passed (a crash
    in teardown, a leak found by a sanitizer) gets one extra failed case;
  * every other meson test counts as one case from its meson result.

Prints the failures by meson test, then as the very last line `N passed, N failed`, with `, N skipped`
appended only when something was skipped. Always exits 0: the Makefile decides what fails.
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

PASS_RESULTS = {"OK", "EXPECTEDFAIL"}
SKIP_RESULTS = {"SKIP"}
# Everything else (FAIL, UNEXPECTEDPASS, TIMEOUT, ERROR, INTERRUPT, anything new) is a failure.

# A report older than its test's start belongs to an earlier run; allow for coarse file timestamps.
MTIME_SLACK_S = 1.0


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    # meson test name -> failed case names (or a reason)
    failures: dict[str, list[str]] = field(default_factory=dict)

    def fail(self, test: str, what: str, count: int = 1) -> None:
        self.failed += count
        self.failures.setdefault(test, []).append(what)


def load_intro_tests(build_dir: str) -> dict[str, dict] | None:
    path = os.path.join(build_dir, "meson-info", "intro-tests.json")
    try:
        with open(path, encoding="utf-8") as f:
            tests = json.load(f)
    except (OSError, ValueError):
        return None
    by_name: dict[str, dict] = {}
    for t in tests:
        name = t.get("name")
        if isinstance(name, str):
            # With one name in several suites, prefer the gtest entry: it only adds detail.
            if name not in by_name or t.get("protocol") == "gtest":
                by_name[name] = t
    return by_name


def raw_name(logged: str, intro: dict[str, dict]) -> str:
    """testlog.json uses meson's pretty name ("project:suite / name") once tests span several suites."""
    if logged in intro or " / " not in logged:
        return logged
    return logged.split(" / ", 1)[1]


def report_path(build_dir: str, name: str, workdir: str | None) -> str:
    filename = f"{name}.xml"
    if workdir:
        return os.path.join(workdir, filename)
    return os.path.join(build_dir, filename)


def fresh_report(path: str, starttime: float | None) -> ET.ElementTree | None:
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return None
    if starttime is not None and mtime + MTIME_SLACK_S < starttime:
        return None
    try:
        return ET.parse(path)
    except (ET.ParseError, OSError):
        return None  # half-written: the executable died while writing it


def count_report(tree: ET.ElementTree, test: str, tally: Tally) -> tuple[int, int, int]:
    passed = failed = skipped = 0
    for case in tree.getroot().iter("testcase"):
        name = case.get("name", "?")
        suite = case.get("classname", "")
        full = f"{suite}.{name}" if suite else name
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
            tally.fail(test, full)
        elif case.get("result") == "skipped" or case.find("skipped") is not None:
            skipped += 1
        elif case.get("status") == "notrun" or case.get("result") == "suppressed":
            # Disabled tests are skipped; tests outside a --gtest_filter were not asked for at all.
            if name.startswith("DISABLED_") or suite.startswith("DISABLED_"):
                skipped += 1
        else:
            passed += 1
    tally.passed += passed
    tally.skipped += skipped
    return passed, failed, skipped


def describe(entry: dict) -> str:
    result = entry.get("result", "?")
    rc = entry.get("returncode")
    return f"{result} (exit status {rc})" if rc not in (None, 0) else str(result)


def summarize(build_dir: str, tally: Tally, notes: list[str]) -> None:
    log_path = os.path.join(build_dir, "meson-logs", "testlog.json")
    intro = load_intro_tests(build_dir)

    if not os.path.exists(log_path):
        if intro is not None and not intro:
            notes.append("no tests are defined")
            return
        defined = len(intro) if intro else 0
        notes.append(f"{log_path} is missing: meson test did not run or did not finish")
        tally.fail("meson test", f"no results for the {defined} defined test(s)" if defined
                   else "no results", count=max(1, defined))
        return

    with open(log_path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                tally.fail("meson test", f"testlog.json line {lineno} is not JSON (meson interrupted?)")
                continue
            count_entry(build_dir, entry, intro or {}, intro is not None, tally)


def count_entry(build_dir: str, entry: dict, intro: dict[str, dict], have_intro: bool, tally: Tally) -> None:
    logged = str(entry.get("name", "?"))
    result = str(entry.get("result", "ERROR"))
    name = raw_name(logged, intro)
    info = intro.get(name)
    workdir = info.get("workdir") if info else None
    path = report_path(build_dir, name, workdir)
    starttime = entry.get("starttime")
    starttime = float(starttime) if isinstance(starttime, (int, float)) else None

    if have_intro:
        is_gtest = info is not None and info.get("protocol") == "gtest"
    else:
        # Without the introspection file, a fresh report next to the build is the only sign of gtest.
        is_gtest = fresh_report(path, starttime) is not None

    if not is_gtest or result == "EXPECTEDFAIL":
        if result in PASS_RESULTS:
            tally.passed += 1
        elif result in SKIP_RESULTS:
            tally.skipped += 1
        else:
            tally.fail(logged, describe(entry))
        return

    tree = fresh_report(path, starttime)
    if tree is None:
        if result in PASS_RESULTS:
            tally.passed += 1  # passed but wrote no report (its own main()?): one case
        elif result in SKIP_RESULTS:
            tally.skipped += 1
        else:
            tally.fail(logged, f"{describe(entry)} before writing {os.path.relpath(path, build_dir)}"
                               " (crashed or timed out)")
        return

    _, failed, _ = count_report(tree, logged, tally)
    if result not in PASS_RESULTS and result not in SKIP_RESULTS and failed == 0:
        tally.fail(logged, f"{describe(entry)} although every test case in its report passed"
                           " (crash at exit, sanitizer report?)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Count meson + GoogleTest results and print one line.")
    parser.add_argument("build_dir")
    parser.add_argument("--build-failed", action="store_true",
                        help="the build failed: no tests ran; count one failure")
    parser.add_argument("--meson-status", type=int, default=0,
                        help="exit status of meson test; a non-zero status with no failure counted adds one")
    args = parser.parse_args(argv)

    tally = Tally()
    notes: list[str] = []
    if args.build_failed:
        tally.fail("build", "the build failed, no tests were run")
    else:
        summarize(args.build_dir, tally, notes)
        if args.meson_status != 0 and tally.failed == 0:
            tally.fail("meson test", f"exited with status {args.meson_status}")

    for note in notes:
        print(f"test-summary: {note}")
    if tally.failures:
        print("Failures:")
        for test, cases in tally.failures.items():
            print(f"  {test}:")
            for case in cases:
                print(f"    {case}")
    line = f"{tally.passed} passed, {tally.failed} failed"
    if tally.skipped:
        line += f", {tally.skipped} skipped"
    sys.stdout.flush()
    print(line, flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as exc:  # never leave the caller without its last line
        print(f"test-summary: internal error: {exc!r}")
        print("0 passed, 1 failed", flush=True)
        sys.exit(0)
