"""Events a radio reports to its zigpy application's listeners beyond zigpy's own.

zigpy reports each admitted device (``device_joined``); a Trust Center that refuses a join
reports it as ``JOIN_REFUSED``: the listener's method of that name is called with the device's
EUI-64 and the decision (a refusal of `han_gateway.protocol.JoinDecisionKind`). The simulated
radio reports its refusals; a real stack can report what its Trust Center decided (EZSP's
trustCenterJoinHandler carries the decision).
"""

from typing import Final

JOIN_REFUSED: Final = "trust_center_join_refused"
