"""Benchmark of the diagnosis against the corpus: how many findings are right, missing, wrong
and noisy, over every case of tests/diagnosis_corpus/, each through a real run.

Each case is run the way its test runs it (tests/portal/diagnosis/test_corpus.py: the demo data,
the gateway service with its simulated meters, a real run executed to its end), in one pytest
session of its own that stops by itself; this script then judges every case's findings:

- right: a finding the case expects, produced;
- missing: a finding it expects about a device (or an interface) nothing was said about;
- wrong: said about a device the case expects a finding for, with another rule;
- noisy: said about a device, or an interface, the case expects nothing about.

A baseline from the same run: the share of expected findings a diagnosis that always says
"healthy" would get right. Exits non-zero unless missing, wrong and noisy are all zero.

    .venv/bin/python bench/bench_diagnosis.py [-k EXPRESSION]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.diagnosis_corpus.corpus import Tally, all_cases, tally  # noqa: E402

TIME_LIMIT_S = 900


def _run_cases(selection: str) -> list[dict[str, list[list[str]]]]:
    """Each case's expected and produced findings, from one pytest session over the corpus."""
    with tempfile.TemporaryDirectory() as directory:
        results = Path(directory, "corpus.jsonl")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/portal/diagnosis/test_corpus.py::test_the_case_gets_exactly_the_findings_it_expects",
        ]
        if selection:
            command += ["-k", selection]
        environment = {
            **os.environ,
            "CORPUS_RESULTS": str(results),
            "PORTAL_VAR_DIR": os.environ.get("PORTAL_VAR_DIR", str(Path(directory, "var"))),
        }
        subprocess.run(  # noqa: S603 - our own test suite, by absolute interpreter path
            command,
            cwd=ROOT,
            env=environment,
            timeout=TIME_LIMIT_S,
            check=False,
            stdout=subprocess.DEVNULL,
        )
        if not results.exists():
            return []
        return [json.loads(line) for line in results.read_text().splitlines()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only the cases this pytest expression selects")
    arguments = parser.parse_args(argv)

    cases = {case.name: case for case in all_cases()}
    started = time.monotonic()
    outcomes = _run_cases(arguments.k)
    elapsed = time.monotonic() - started
    if not outcomes:
        print("No case ran: see `pytest tests/portal/diagnosis/test_corpus.py`.")
        return 1

    total = Tally()
    always_healthy = Tally()
    expected_count = 0
    width = max(len(name) for name in cases)
    print(f"{'case':<{width}}  right missing wrong noisy")
    for outcome in sorted(outcomes, key=lambda each: each["case"]):
        expected = {(rule, device) for rule, device in outcome["expected"]}
        produced = {(rule, device) for rule, device in outcome["produced"]}
        judged = tally(expected, produced)
        expected_count += len(expected)
        total = total.add(judged)
        always_healthy = always_healthy.add(tally(expected, {("healthy", "")}))
        mark = (
            ""
            if judged.perfect
            else "   <- "
            + ", ".join(f"{rule} {device}".strip() for rule, device in sorted(produced ^ expected))
        )
        print(
            f"{outcome['case']:<{width}}  {judged.right:>5} {judged.missing:>7} "
            f"{judged.wrong:>5} {judged.noisy:>5}{mark}"
        )
    ran = len(outcomes)
    print()
    print(
        f"{ran} of {len(cases)} cases in {elapsed:.1f} s: right {total.right}, missing "
        f"{total.missing}, wrong {total.wrong}, noisy {total.noisy} "
        f"({total.right / max(1, expected_count):.0%} of {expected_count} expected findings)"
    )
    print(
        f"baseline, a diagnosis that always says healthy: right {always_healthy.right} "
        f"({always_healthy.right / max(1, expected_count):.0%})"
    )
    return 0 if total.perfect and (ran == len(cases) or arguments.k) else 1


if __name__ == "__main__":
    sys.exit(main())
