"""Every case of the diagnosis corpus through a real run: exactly the findings it expects.

With ``CORPUS_RESULTS`` set to a file, each case's expected and produced findings are written
there as JSON lines (bench/bench_diagnosis.py counts them)."""

import json
import os
from pathlib import Path

import pytest

from portal.diagnosis.rules import RuleId
from tests.diagnosis_corpus.corpus import (
    CorpusError,
    all_cases,
    join_log_waiter,
    load_case,
    run_case,
    tally,
)

CASES = all_cases()


def _record(name: str, expected: set[tuple[str, str]], produced: set[tuple[str, str]]) -> None:
    results = os.environ.get("CORPUS_RESULTS")
    if results:
        with Path(results).open("a") as out:
            out.write(
                json.dumps(
                    {"case": name, "expected": sorted(expected), "produced": sorted(produced)}
                )
                + "\n"
            )


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_case_gets_exactly_the_findings_it_expects(
    case, demo_world, no_enqueue, scenario_switch, gateway_service
):
    produced = run_case(
        case,
        switch=lambda meter, document, interface: scenario_switch(
            meter, document, interface=interface
        ),
        wait_for_decision=join_log_waiter(gateway_service),
    )
    _record(case.name, case.expected, produced)
    assert produced == case.expected, case.description


def test_the_corpus_covers_every_rule_with_several_cases_of_many_problems():
    assert len(CASES) >= 30
    assert {expected.rule for case in CASES for expected in case.expect} == set(RuleId)
    several = [case for case in CASES if len({each.rule for each in case.expect}) >= 2]
    assert len(several) >= 5


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("description: x\nmeter: MTR-100001\n", "broken.yaml: expect: Field required"),
        (
            "description: x\nmeter: MTR-100001\nexpect: [{rule: healthy}]\nhans: [{base: nope}]\n",
            "broken.yaml: hans (nope): base: no library scenario nope",
        ),
        (
            "description: x\nmeter: MTR-100001\nexpect: [{rule: healthy}]\n"
            "hans: [{base: healthy, change: {'00:00:00:00:00:00:00:01': {link_quality: 9}}}]\n",
            "no device 00:00:00:00:00:00:00:01 in the healthy scenario",
        ),
        (
            "description: x\nmeter: MTR-100001\nexpect: [{rule: healthy}]\n"
            "hans: [{base: healthy, gateway: {channel: 40}}]\n",
            "gateway.channel",
        ),
        ("[1, 2", "broken.yaml: not YAML"),
        (
            "description: x\nmeter: MTR-100001\nexpect: [{rule: healthy}]\nsurprise: 1\n",
            "broken.yaml: surprise: Extra inputs are not permitted",
        ),
    ],
)
def test_a_malformed_case_names_its_file_and_what_is_wrong(tmp_path, text, problem):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(CorpusError) as raised:
        load_case(path)
    assert problem in str(raised.value)


def test_the_bench_tells_right_missing_wrong_and_noisy_findings_apart():
    expected = {("weak_link", "a"), ("router_down", "b"), ("healthy", "")}
    produced = {("weak_link", "a"), ("beyond_reach", "b"), ("unknown_device", "c")}
    judged = tally(expected, produced)
    # healthy is missing; router_down was said as beyond_reach (wrong); c is noise.
    assert (judged.right, judged.missing, judged.wrong, judged.noisy) == (1, 1, 1, 1)
    assert not judged.perfect and tally(expected, expected).perfect
