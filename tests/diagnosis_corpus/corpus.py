"""The diagnosis corpus: HAN cases written as data, each with the findings it must produce and
nothing else, run through real test runs (the test in tests/portal/diagnosis/test_corpus.py and
bench/bench_diagnosis.py).

A case is one YAML file here: the field situation in words, the demo meter it happens at, the
HANs its gateway carries (a library scenario with changes), what the portal's records hold
beyond the demo's (a device registered with an install code, a run at a neighbour's meter, an
unreachable gateway), the device the call is about, and the findings expected, each a rule and
the device it names (a customer's device by its masked EUI-64; none for an interface).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from han_gateway.scenarios import LIBRARY_DIRECTORY, ScenarioError, parse_scenario

CORPUS_DIRECTORY = Path(__file__).resolve().parent
UNREACHABLE_GATEWAY_URL = "http://127.0.0.1:9"  # the discard port: nothing answers there


class CorpusError(ValueError):
    """A case file that cannot be read, with the file and the field at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HanSpec(_Strict):
    """One HAN interface's scenario: a library scenario and what differs from it."""

    meter: str = ""  # the case's meter when empty
    interface: str = "han0"
    base: str
    gateway: dict[str, Any] = {}  # fields of the scenario's gateway to set
    radio: dict[str, Any] = {}
    interference: dict[int, dict[str, Any]] = {}
    change: dict[str, dict[str, Any]] = {}  # a device's EUI-64: its fields to set
    remove: list[str] = []  # devices left out
    add: list[dict[str, Any]] = []  # devices added; ``like: <EUI-64>`` starts from that one

    def document(self) -> dict[str, Any]:
        path = LIBRARY_DIRECTORY / f"{self.base}.yaml"
        if not path.is_file():
            raise CorpusError(f"base: no library scenario {self.base}")
        document: dict[str, Any] = yaml.safe_load(path.read_text())
        devices = {device["eui64"]: device for device in document["devices"]}
        for eui64 in [*self.change, *self.remove]:
            if eui64 not in devices:
                raise CorpusError(f"no device {eui64} in the {self.base} scenario")
        for eui64, fields in self.change.items():
            devices[eui64].update(fields)
        document["devices"] = [d for d in document["devices"] if d["eui64"] not in self.remove]
        for added in self.add:
            fields = dict(added)
            like = fields.pop("like", None)
            if like is not None and like not in devices:
                raise CorpusError(f"add: like: no device {like} in the {self.base} scenario")
            document["devices"].append({**copy.deepcopy(devices.get(like, {})), **fields})
        document["gateway"].update(self.gateway)
        document.setdefault("radio", {}).update(self.radio)
        if self.interference:
            document["interference"] = self.interference
        return document


class Registration(_Strict):
    """A device registered at the case's meter before the run, as a rep registers it."""

    eui64: str
    install_code: str
    category: str
    manufacturer: str
    model: str
    interface: str = ""
    expired: bool = False  # its join window closed without a join
    wait_for: str = ""  # a Trust Center decision on it to wait for in the join log


class Expected(_Strict):
    rule: str
    device: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule, self.device)


class Case(_Strict):
    name: str
    description: str
    meter: str
    hans: list[HanSpec] = []
    earlier_runs: list[str] = []  # meters tested before, whose findings are not judged
    registrations: list[Registration] = []
    gateway_unreachable: bool = False
    subject: str = ""
    expect: list[Expected] = Field(min_length=1)

    @property
    def expected(self) -> set[tuple[str, str]]:
        return {each.key for each in self.expect}


def load_case(path: Path) -> Case:
    """A case from its file; a malformed one raises ``CorpusError`` naming the file and field."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise CorpusError(f"{path.name}: not YAML: {error}") from None
    if not isinstance(data, dict):
        raise CorpusError(f"{path.name}: a case is a mapping of fields")
    try:
        case = Case.model_validate({"name": path.stem, **data})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise CorpusError(f"{path.name}: {where}: {first['msg']}") from None
    for han in case.hans:
        try:
            parse_scenario(han.document(), default_name=case.name)
        except (CorpusError, ScenarioError) as error:
            raise CorpusError(f"{path.name}: hans ({han.base}): {error}") from None
    return case


def all_cases() -> list[Case]:
    return [load_case(path) for path in sorted(CORPUS_DIRECTORY.glob("*.yaml"))]


def run_case(
    case: Case,
    *,
    switch: Callable[[str, dict[str, Any] | None, str], None],
    wait_for_decision: Callable[[str, str, str], None],
) -> set[tuple[str, str]]:
    """Set the case up, run the test it is about, and return its findings as (rule, device).

    ``switch(meter, document, interface)`` puts a HAN on the simulated gateway (``None``: keeps
    it, to be put back afterwards with the join windows the case opened there closed);
    ``wait_for_decision(meter, eui64, decision)`` waits for the gateway's join log to hold it.
    Registrations open their join windows at once (tasks run in the caller).
    """
    from han_gateway.models import PremisesGateway
    from portal.commissioning import services as commissioning
    from portal.models import Premise, User
    from portal.test_runs.execute import han_test_run_execute
    from portal.test_runs.start import han_test_start
    from trust_center.models import DeviceRegistration

    rep = User.objects.get(username="rep")
    for han in case.hans:
        switch(han.meter or case.meter, han.document(), han.interface)
    for interface in {each.interface or "han0" for each in case.registrations}:
        switch(case.meter, None, interface)
    for meter in case.earlier_runs:
        earlier = han_test_start(
            premise=Premise.objects.get(premises_gateway__meter_number=meter), user=rep
        )
        han_test_run_execute(earlier.pk)
    premise = Premise.objects.get(premises_gateway__meter_number=case.meter)
    for registration in case.registrations:
        registered = commissioning.device_register(
            premise=premise, user=rep, **registration.model_dump(exclude={"expired", "wait_for"})
        )
        # What the task does once the registration is committed: open the join window.
        commissioning.join_window_open(registered.pk)
        if registration.wait_for:
            wait_for_decision(case.meter, registration.eui64, registration.wait_for)
        if registration.expired:
            DeviceRegistration.objects.filter(pk=registered.pk).update(
                join_window_expires_at=registered.created_at
            )
            commissioning.join_windows_expire()
    if case.gateway_unreachable:
        PremisesGateway.objects.filter(meter_number=case.meter).update(
            service_url=UNREACHABLE_GATEWAY_URL
        )
    run = han_test_start(premise=premise, user=rep, subject_eui64=case.subject)
    han_test_run_execute(run.pk)
    return set(run.findings.values_list("rule", "eui64"))


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen in {timeout_s:g} s")
        time.sleep(0.2)


# -- judging -------------------------------------------------------------------------------


class Tally(BaseModel):
    """How one case's findings compare with what it expects."""

    right: int = 0  # expected and produced
    missing: int = 0  # expected, nothing produced about that device
    wrong: int = 0  # produced about an expected device, with another rule
    noisy: int = 0  # produced about nothing expected

    def add(self, other: Tally) -> Tally:
        return Tally(**{name: getattr(self, name) + getattr(other, name) for name in self.__dict__})

    @property
    def perfect(self) -> bool:
        return not (self.missing or self.wrong or self.noisy)


def tally(expected: set[tuple[str, str]], produced: set[tuple[str, str]]) -> Tally:
    right = expected & produced
    missed = expected - produced
    extra = produced - expected
    missed_devices = {device for _, device in missed}
    wrong = {finding for finding in extra if finding[1] in missed_devices}
    return Tally(
        right=len(right),
        missing=len(missed) - len({device for _, device in wrong} & missed_devices),
        wrong=len(wrong),
        noisy=len(extra - wrong),
    )


def join_log_waiter(gateway_url: str) -> Callable[..., None]:
    """``wait_for_decision`` against a gateway service: scans the meter's interface until its
    join log holds the decision (bounded)."""
    from han_gateway.client import GatewayClient
    from han_gateway.protocol import ScanFinishedEvent
    from portal.demo.premises import demo_gateway_secret

    def wait(meter: str, eui64: str, decision: str, interface: str = "han0") -> None:
        with GatewayClient(
            base_url=gateway_url, gateway_id=meter, secret=demo_gateway_secret(meter)
        ) as client:

            def logged() -> bool:
                for event in client.scan(interface, timeout_s=30):
                    if isinstance(event, ScanFinishedEvent):
                        decisions = event.summary.join_decisions
                        return any(
                            (each.eui64, each.decision) == (eui64, decision) for each in decisions
                        )
                return False

            wait_until(logged, timeout_s=15, what=f"{decision} for {eui64} in the join log")

    return wait
