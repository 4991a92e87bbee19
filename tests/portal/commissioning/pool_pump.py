"""The device the registration tests register: the pool pump switch of the demo's
registered_device_missing scenario (meter MTR-100003), which waits for a join window with the
key of the published install code vector (``tests.trust_center.factories.INSTALL_CODE``)."""

from portal.models import Premise, User
from tests.trust_center.factories import INSTALL_CODE
from trust_center.models import DeviceRegistration
from trust_center.services import device_registration_create

EUI64 = "00:0d:6f:00:05:3c:51:08"


def registration_form(**changes: str) -> dict[str, str]:
    """The registration form as a person fills it in for the switch; ``changes`` replace fields."""
    return {
        "eui64": EUI64,
        "install_code": INSTALL_CODE,
        "category": "load_control_switch",
        "manufacturer": "Eaton",
        "model": "Yukon LCR-6601S",
        **changes,
    }


def pool_pump_registered_at(premise: Premise, *, by: User) -> DeviceRegistration:
    """The switch registered through the Trust Center at the premise's meter."""
    gateway = premise.premises_gateway
    assert gateway is not None
    return device_registration_create(
        premises_gateway=gateway,
        service_point_id=premise.service_point_id,
        eui64=EUI64,
        install_code=INSTALL_CODE,
        category="load_control_switch",
        registered_by=by,
    )
