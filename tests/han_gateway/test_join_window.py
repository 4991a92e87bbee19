"""A join-window request answers once the radio has taken the permit, whatever the radio library
does next: zigpy-znp's ``permit_with_link_key`` waits out the whole window before returning.
The window is held, and renewed past the stack's 254 s limit, in the background."""

import asyncio
import time

import pytest
import zigpy.exceptions

from han_gateway.radio.simulated import SimulatedApplication
from han_gateway.service import runtime
from han_gateway.service.app import REGISTRY
from tests.han_gateway.conftest import wait_for

POOL_SWITCH = "00:0d:6f:00:05:3c:51:08"
POOL_SWITCH_KEY = "66B6900981E1EE3CA4206B6B861C02BB"


class PermitLikeZStack(SimulatedApplication):
    """The simulated radio, asked the way zigpy-znp asks Z-Stack: set the device's key, permit
    joining, then wait out the permit before returning."""

    asked: list[int]

    async def permit_with_link_key(self, node, link_key, time_s=60):
        self.asked.append(time_s)
        await super().permit_with_link_key(node, link_key, time_s)
        await self.permit(time_s)
        await asyncio.sleep(time_s)


class PermitRefused(SimulatedApplication):
    async def permit_with_link_key(self, node, link_key, time_s=60):
        raise zigpy.exceptions.ControllerException("BDBAddInstallCode failed")


def _pool_switch_interface(service, radio_class):
    interface = service.app[REGISTRY].gateways["MTR-200002"].interfaces["han0"]
    interface.app.__class__ = radio_class
    interface.app.asked = []
    return interface


async def _open(service, duration_s):
    return await service.request(
        "POST",
        "/gateways/MTR-200002/interfaces/han0/join-window",
        "MTR-200002",
        json={"eui64": POOL_SWITCH, "link_key": POOL_SWITCH_KEY, "duration_s": duration_s},
    )


@pytest.mark.asyncio
async def test_an_hour_long_window_on_a_radio_that_waits_out_its_permit_answers_at_once(service):
    interface = _pool_switch_interface(service, PermitLikeZStack)

    started = time.monotonic()
    status, body = await asyncio.wait_for(_open(service, 3600), timeout=10)

    assert status == 201 and body["duration_s"] == 3600
    assert time.monotonic() - started < 10  # not the 254 s the first permit lasts
    assert interface.app.asked == [254]  # the stack's longest permit, the rest held later
    await wait_for(lambda: any(a.accepted for a in interface.simulated_app.han.join_attempts))
    await interface.stop()  # closes the window: the held permit is cancelled


@pytest.mark.asyncio
async def test_a_window_longer_than_the_stacks_limit_is_renewed_until_it_closes(
    service, monkeypatch
):
    monkeypatch.setattr(runtime, "MAX_PERMIT_SECONDS", 2)
    monkeypatch.setattr(runtime, "PERMIT_RENEW_MARGIN_S", 0)
    interface = _pool_switch_interface(service, PermitLikeZStack)

    status, _ = await _open(service, 5)
    assert status == 201

    await wait_for(lambda: interface.app.asked == [2, 2, 1], timeout_s=8)
    (window,) = interface.join_windows.values()
    await asyncio.wait_for(window.task, timeout=3)  # and then it stops asking
    assert interface.app.asked == [2, 2, 1]


@pytest.mark.asyncio
async def test_a_permit_the_radio_refuses_is_an_error_and_no_window(service):
    interface = _pool_switch_interface(service, PermitRefused)

    status, body = await _open(service, 60)

    assert status == 502
    assert body["error"]["code"] == "radio_error"
    assert "BDBAddInstallCode failed" in body["error"]["message"]
    assert interface.join_windows == {}
