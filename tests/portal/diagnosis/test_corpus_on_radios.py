"""The diagnosis corpus on real radio stacks: each case's meter served by a gateway service whose
interfaces are emulated coordinators (zigpy-znp on Z-Stack, bellows on EmberZNet) carrying the
case's HANs, and a real run through them. The findings must be the simulated radio's, except
where a real stack cannot observe what the case is about (``BEYOND_WHAT_THE_STACK_SEES``).

Needs the project's ``radios`` extra (``make test-radios``); skipped without it.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings

from han_gateway.client import GatewayClient
from portal.demo.premises import DEMO_GATEWAYS_CONFIG, demo_gateway_secret
from tests.commands import free_port, gateway_service_argv, stop_process
from tests.diagnosis_corpus.corpus import Case, all_cases, join_log_waiter, run_case

RADIOS = {"znp": "zigpy_znp", "ezsp": "bellows"}

# Why a real stack's findings differ from the simulated radio's, where they do.
JOINED_BEFORE = (
    "the device joined with the default key before the gateway service started: a real Trust "
    "Center cannot tell afterwards which key a device joined with, and the service's join log "
    "begins when the service starts (the simulated radio's holds the scenario's joins)"
)
INSTALL_CODE_ONLY = (
    "the service runs every real Trust Center install-code only (it admits devices through "
    "permit_with_link_key alone): a meter set to accept the default key exists only on the "
    "simulated radio"
)
WRONG_KEY_UNSEEN = (
    "a real Trust Center cannot see that a device's key is wrong: it admits the device and "
    "sends it the network key, which the device cannot decrypt; no refusal reaches the join log"
)
NO_COUNTERS = "Z-Stack gives the host no channel-access counters"
# case: {radio: (the findings a real stack gives, why)}
BEYOND_WHAT_THE_STACK_SEES: dict[str, dict[str, tuple[set[tuple[str, str]], str]]] = {
    case: dict.fromkeys(RADIOS, (findings, why))
    for case, findings, why in [
        ("customer_plug_default_key", {("healthy", "")}, JOINED_BEFORE),
        ("display_default_key", {("healthy", "")}, JOINED_BEFORE),
        ("default_key_and_asleep", {("device_asleep", "00:0d:6f:00:0a:90:69:e7")}, JOINED_BEFORE),
        ("stranger_display", {("unknown_device", "00:1b:c5:0c:00:45:aa:03")}, JOINED_BEFORE),
        ("trust_center_accepts_default_key", {("healthy", "")}, INSTALL_CODE_ONLY),
        (
            "wrong_install_code",
            {("registered_device_missing", "00:0d:6f:00:05:3c:51:08")},
            WRONG_KEY_UNSEEN,
        ),
    ]
}
BEYOND_WHAT_THE_STACK_SEES["wifi_bursts_the_energy_scan_misses"] = {
    "znp": ({("healthy", "")}, NO_COUNTERS)
}
# Cases with nothing for a radio to carry.
NO_RADIO = {"gateway_down"}

CASES = [case for case in all_cases() if case.name not in NO_RADIO]


def _library_installed(radio: str) -> bool:
    return importlib.util.find_spec(RADIOS[radio]) is not None


def _demo_gateway(meter: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(DEMO_GATEWAYS_CONFIG.read_text())
    return next(gateway for gateway in config["gateways"] if gateway["id"] == meter)


def _emulator(radio: str, scenario: Path, log: Any) -> tuple[subprocess.Popen[bytes], str]:
    """An emulated coordinator of ``radio`` carrying ``scenario``, and its ``socket://`` path."""
    process = subprocess.Popen(  # noqa: S603 - fixed argument list
        [
            sys.executable,
            "-m",
            "han_gateway.emulators",
            radio,
            "--scenario",
            str(scenario),
            "--port",
            "0",
            "--log-level",
            "WARNING",
        ],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=log,
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode()
    found = re.search(r"at (socket://\S+)", line)
    if found is None:
        stop_process(process)
        raise RuntimeError(f"the {radio} emulator did not start: {line!r}; see test-artifacts")
    return process, found[1]


@contextlib.contextmanager
def emulated_meter(
    meter: str, documents: dict[str, dict[str, Any]], radio: str, directory: Path
) -> Iterator[str]:
    """A gateway service for ``meter`` alone, each of its interfaces an emulated coordinator of
    ``radio`` carrying its HAN (``documents`` by interface, else the demo's); yields its URL."""
    gateway = _demo_gateway(meter)
    processes: list[subprocess.Popen[bytes]] = []
    log_dir = Path(settings.BASE_DIR) / "test-artifacts"
    log_dir.mkdir(exist_ok=True)
    with open(log_dir / "corpus-on-radios.log", "ab") as log, contextlib.ExitStack() as stack:

        def stop_all() -> None:
            for process in reversed(processes):
                stop_process(process)

        stack.callback(stop_all)
        for interface in gateway["interfaces"]:
            scenario = directory / f"{interface['id']}.yaml"
            document = documents.get(interface["id"])
            if document is None:
                scenario = Path(interface["scenario"])  # a library name
            else:
                scenario.write_text(yaml.safe_dump(document))
            process, path = _emulator(radio, scenario, log)
            processes.append(process)
            interface.pop("scenario")
            interface.update(radio=radio, device={"path": path})
        port = free_port()
        config = directory / "gateways.yaml"
        config.write_text(
            yaml.safe_dump({"listen": {"host": "127.0.0.1", "port": port}, "gateways": [gateway]})
        )
        processes.append(
            subprocess.Popen(  # noqa: S603 - fixed argument list
                gateway_service_argv(config=config, port=port),
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        url = f"http://127.0.0.1:{port}"
        _wait_until_ready(url, meter, len(gateway["interfaces"]), processes[-1])
        yield url


def _wait_until_ready(
    url: str, meter: str, interfaces: int, service: subprocess.Popen[bytes]
) -> None:
    """Until the service answers and every interface's radio has started (bounded)."""
    deadline = time.monotonic() + 60
    with GatewayClient(base_url=url, gateway_id=meter, secret=demo_gateway_secret(meter)) as client:
        while True:
            if service.poll() is not None:
                raise RuntimeError("the gateway service exited; see test-artifacts")
            with contextlib.suppress(Exception):
                ready = [each for each in client.interfaces() if each.status == "ready"]
                if len(ready) == interfaces:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{meter}'s radios did not start in 60 s")
            time.sleep(0.2)


def _silent_routers_back_on(document: dict[str, Any]) -> dict[str, Any] | None:
    """The HAN as it was before its silent routers went silent; None if none is."""
    earlier = copy.deepcopy(document)
    parents = {device.get("parent") for device in earlier["devices"]}
    silent = [
        device
        for device in earlier["devices"]
        if device.get("reachable") is False
        and (device.get("device_type") == "router" or device["eui64"] in parents)
    ]
    for device in silent:
        device["reachable"] = True
    return earlier if silent else None


def _expected(case: Case, radio: str) -> set[tuple[str, str]]:
    different = BEYOND_WHAT_THE_STACK_SEES.get(case.name, {}).get(radio)
    return different[0] if different is not None else case.expected


def _join_log_waiter(url: str) -> Callable[[str, str, str], None]:
    """Waits for a join decision, for as long as the simulated radio's corpus does; one a real
    Trust Center cannot observe never comes, and the case goes on without it."""
    wait = join_log_waiter(url)

    def tolerant(meter: str, eui64: str, decision: str) -> None:
        with contextlib.suppress(TimeoutError):
            wait(meter, eui64, decision)

    return tolerant


@pytest.mark.django_db
@pytest.mark.parametrize(
    "radio",
    [
        pytest.param(
            radio,
            marks=pytest.mark.skipif(
                not _library_installed(radio), reason="needs the project's 'radios' extra"
            ),
        )
        for radio in RADIOS
    ],
)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_case_gets_the_same_findings_on_a_real_stack(
    case: Case, radio: str, demo_world, no_enqueue, scenario_switch, tmp_path
):
    from han_gateway.models import PremisesGateway
    from portal.models import Premise, User
    from portal.test_runs.execute import han_test_run_execute
    from portal.test_runs.start import han_test_start

    here = {
        han.interface: han.document()
        for han in case.hans
        if (han.meter or case.meter) == case.meter
    }
    earlier = {
        interface: document
        for interface, document in (
            (interface, _silent_routers_back_on(document)) for interface, document in here.items()
        )
        if document is not None
    }
    if earlier:
        # The simulated radio keeps the map of the network it formed; a real one keeps none
        # across a restart. The premise was tested before its router went silent: that run's map
        # is the one the diagnosis falls back on.
        (tmp_path / "earlier").mkdir()
        with emulated_meter(case.meter, earlier, radio, tmp_path / "earlier") as url:
            PremisesGateway.objects.filter(meter_number=case.meter).update(service_url=url)
            han_test_run_execute(
                han_test_start(
                    premise=Premise.objects.get(premises_gateway__meter_number=case.meter),
                    user=User.objects.get(username="rep"),
                ).pk
            )
    with emulated_meter(case.meter, here, radio, tmp_path) as url:
        PremisesGateway.objects.filter(meter_number=case.meter).update(service_url=url)

        def switch(meter: str, document: dict[str, Any] | None, interface: str) -> None:
            # The case's meter already carries its HANs; another meter's is simulated.
            if meter != case.meter:
                scenario_switch(meter, document, interface=interface)

        produced = run_case(case, switch=switch, wait_for_decision=_join_log_waiter(url))

    assert produced == _expected(case, radio), case.description
