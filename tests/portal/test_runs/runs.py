"""Real runs for the tests: at a demo meter, started by a demo user, executed in the caller."""

from pathlib import Path
from typing import Any

import yaml

from han_gateway.scenarios import LIBRARY_DIRECTORY
from portal.models import HanTestRun, Premise, User
from portal.test_runs.execute import han_test_run_execute
from portal.test_runs.start import han_test_start


def run_at(meter_number: str, *, username: str = "rep") -> HanTestRun:
    """A run at the demo premise of ``meter_number``, executed to its end."""
    premise = Premise.objects.get(premises_gateway__meter_number=meter_number)
    run = han_test_start(premise=premise, user=User.objects.get(username=username))
    han_test_run_execute(run.pk)
    run.refresh_from_db()
    return run


def library_document(name: str) -> dict[str, Any]:
    """A library scenario as data, to change for one test."""
    document: dict[str, Any] = yaml.safe_load(Path(LIBRARY_DIRECTORY, f"{name}.yaml").read_text())
    return document
