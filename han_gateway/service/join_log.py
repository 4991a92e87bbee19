"""The Trust Center's join log of one HAN interface: what its coordinator decided, and when.

Which key a device joined with cannot be read back from a real coordinator (zigpy-znp reports
keys derived from a seed, bellows erases a device's key-table entry, deCONZ has no key table).
What a coordinator does observe is each join: zigpy reports every admitted device
(``device_joined``), and a radio may report the joins its Trust Center refused
(`han_gateway.radio.events.JOIN_REFUSED`). The log keeps those decisions with the evidence of
the moment: a device that joined while an install-code-only join window the service opened for
it was open joined with its install-code key; one that joined while the Trust Center accepted
the default key may have used it; a device with no record joined before the log began, and how
is unknown.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final, Literal

import zigpy.types as t
from zigpy.device import Device

from han_gateway.protocol import JoinDecision, JoinDecisionKind, JoinMethod, JoinPolicy

MAX_DECISIONS: Final = 256

PolicyInForce = JoinPolicy | Literal["unknown"]


def join_evidence(*, policy: PolicyInForce, window_open: bool) -> JoinMethod:
    """What a join proves of the key the device used."""
    if policy == "default_key_allowed":
        return "default_key"
    if policy == "install_code_only" and window_open:
        return "install_code"
    return "unknown"


class JoinLog:
    """The latest `MAX_DECISIONS` join decisions of one interface, oldest first."""

    def __init__(self, max_decisions: int = MAX_DECISIONS) -> None:
        self._decisions: collections.deque[tuple[t.EUI64, JoinDecision]] = collections.deque(
            maxlen=max_decisions
        )

    def record(
        self,
        eui64: t.EUI64,
        decision: JoinDecisionKind,
        *,
        at: datetime,
        join_method: JoinMethod | None = None,
    ) -> JoinDecision:
        entry = JoinDecision(eui64=str(eui64), at=at, decision=decision, join_method=join_method)
        self._decisions.append((eui64, entry))
        return entry

    def decisions(self) -> list[JoinDecision]:
        return [entry for _, entry in self._decisions]

    def join_method(self, eui64: t.EUI64) -> JoinMethod:
        """What the device's latest join proves; ``unknown`` when the log holds none."""
        for logged, entry in reversed(self._decisions):
            if logged == eui64 and entry.decision == "joined":
                return entry.join_method or "unknown"
        return "unknown"


class JoinListener:
    """A zigpy application listener that writes the interface's join log.

    `policy` gives the Trust Center's join policy in force; `window_open(eui64, at)` whether
    an install-code join window the service opened for that device was open at that moment.
    """

    def __init__(
        self,
        log: JoinLog,
        *,
        policy: Callable[[], PolicyInForce],
        window_open: Callable[[t.EUI64, datetime], bool],
    ) -> None:
        self._log = log
        self._policy = policy
        self._window_open = window_open

    def device_joined(self, device: Device) -> None:
        now = datetime.now(UTC)
        evidence = join_evidence(
            policy=self._policy(), window_open=self._window_open(device.ieee, now)
        )
        self._log.record(device.ieee, "joined", at=now, join_method=evidence)

    def trust_center_join_refused(self, eui64: t.EUI64, decision: JoinDecisionKind) -> None:
        """`han_gateway.radio.events.JOIN_REFUSED`."""
        self._log.record(eui64, decision, at=datetime.now(UTC))
