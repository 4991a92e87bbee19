# zigpy's integer, struct and enum types have untyped constructors.
# mypy: disable-error-code="no-untyped-call"
"""Start a zigpy ControllerApplication for one HAN interface: simulated or a real radio.

Real radios come from zigpy's radio registry (the `zigpy.radio` entry point group that
bellows, zigpy-znp and zigpy-deconz advertise), falling back to their well-known modules.
They are optional: the project's `radios` extra installs them. They are imported only when
an interface uses them, and a missing one gives a `RadioUnavailable` error saying what to
install.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import logging
from typing import Any, Final, cast

import zigpy.application
import zigpy.config as zigpy_config

from han_gateway.radio.profile import EmberStackCountersMixin, SmartEnergyProfileMixin
from han_gateway.radio.simulated import (
    SimulatedApplication,
    quiet_zigpy_config,
    simulated_config,
)
from han_gateway.radio.virtual_han import CoordinatorIdentity
from han_gateway.scenarios.schema import Scenario

LOGGER = logging.getLogger(__name__)

ControllerApplication = zigpy.application.ControllerApplication


@dataclasses.dataclass(frozen=True)
class RealRadio:
    package: str  # distribution name on the package index
    module: str  # module holding the radio's ControllerApplication


REAL_RADIOS: Final = {
    "ezsp": RealRadio("bellows", "bellows.zigbee.application"),
    "znp": RealRadio("zigpy-znp", "zigpy_znp.zigbee.application"),
    "deconz": RealRadio("zigpy-deconz", "zigpy_deconz.zigbee.application"),
}


class RadioUnavailable(RuntimeError):
    """A configured radio cannot be used; the message says why and what to do."""


def _registered_radio_class(radio: str) -> type[ControllerApplication] | None:
    group = zigpy.application.RADIO_ENTRY_POINT_GROUP
    for entry_point in importlib.metadata.entry_points(group=group):
        if entry_point.name == radio:
            return cast(type[ControllerApplication], entry_point.load())
    return None


def real_radio_class(radio: str) -> type[ControllerApplication]:
    """The radio library's application class, with Smart Energy frames made decodable."""
    if radio not in REAL_RADIOS:
        raise RadioUnavailable(
            f"Unknown radio type {radio!r}; use one of: {', '.join(REAL_RADIOS)} or simulated"
        )
    known = REAL_RADIOS[radio]
    radio_class = _registered_radio_class(radio)
    if radio_class is None:
        try:
            module = importlib.import_module(known.module)
        except ModuleNotFoundError as error:
            raise RadioUnavailable(
                f"Radio type {radio!r} needs the {known.package} package, which is not"
                f" installed. Install the project's 'radios' extra"
                f" (uv sync --extra radios) or run: pip install {known.package}"
            ) from error
        radio_class = cast(type[ControllerApplication], module.ControllerApplication)
    # Only EZSP lets the host read the stack's counters.
    counters: tuple[type, ...] = (EmberStackCountersMixin,) if radio == "ezsp" else ()
    return cast(
        type[ControllerApplication],
        type(
            f"SmartEnergy{radio_class.__name__}",
            (*counters, SmartEnergyProfileMixin, radio_class),
            {},
        ),
    )


async def start_real_radio(
    radio: str, device: dict[str, Any], zigpy_overrides: dict[str, Any]
) -> ControllerApplication:
    radio_class = real_radio_class(radio)
    # A real radio keeps its library's watchdog: it notices a radio that stopped answering and
    # reconnects, and on EZSP it reads the stack's counters.
    config = quiet_zigpy_config(
        **{
            zigpy_config.CONF_DEVICE: device,
            zigpy_config.CONF_WATCHDOG_ENABLED: True,
            **zigpy_overrides,
        }
    )
    LOGGER.info("Starting %s radio on %s", radio, device.get(zigpy_config.CONF_DEVICE_PATH))
    return await radio_class.new(config, auto_form=False, start_radio=True)


async def start_simulated_radio(
    scenario: Scenario, coordinator: CoordinatorIdentity
) -> SimulatedApplication:
    app = await SimulatedApplication.new(
        simulated_config(scenario, coordinator), auto_form=False, start_radio=True
    )
    return cast(SimulatedApplication, app)
