import pytest

from han_gateway.radio.factory import RadioUnavailable, real_radio_class, start_real_radio
from han_gateway.radio.profile import SmartEnergyProfileMixin


@pytest.mark.parametrize(
    ("radio", "package"), [("ezsp", "bellows"), ("znp", "zigpy-znp"), ("deconz", "zigpy-deconz")]
)
def test_missing_radio_extra_says_what_to_install(radio, package):
    with pytest.raises(RadioUnavailable) as raised:
        real_radio_class(radio)
    message = str(raised.value)
    assert package in message
    assert "radios" in message  # the project's optional extra
    assert f"pip install {package}" in message


def test_unknown_radio_type_is_named():
    with pytest.raises(RadioUnavailable, match="Unknown radio type 'xbee'"):
        real_radio_class("xbee")


@pytest.mark.asyncio
async def test_starting_a_missing_radio_fails_before_touching_the_device():
    with pytest.raises(RadioUnavailable, match="bellows"):
        await start_real_radio("ezsp", {"path": "/dev/ttyUSB0", "baudrate": 115200}, {})


def test_installed_radio_is_wrapped_to_decode_smart_energy(monkeypatch):
    import types

    import zigpy.application

    class InstalledRadio(zigpy.application.ControllerApplication):
        """Stands in for zigpy-znp's application class."""

    fake_module = types.ModuleType("zigpy_znp.zigbee.application")
    fake_module.ControllerApplication = InstalledRadio
    monkeypatch.setitem(__import__("sys").modules, "zigpy_znp.zigbee.application", fake_module)

    radio_class = real_radio_class("znp")

    assert issubclass(radio_class, SmartEnergyProfileMixin)
    assert issubclass(radio_class, zigpy.application.ControllerApplication)
    assert radio_class.__mro__[1] is SmartEnergyProfileMixin
    assert radio_class.__mro__[2] is InstalledRadio
