"""Each diagnosis rule on plain data; the scenario library is run through them elsewhere."""

from dataclasses import replace

import pytest

from portal.diagnosis.rules import (
    RULES,
    Action,
    ApprovedModel,
    DeviceObservation,
    DiagnosisInput,
    ExpectedDevice,
    InterfaceObservation,
    RuleId,
    Severity,
    Thresholds,
    diagnose,
    many_title,
    passed,
    rule,
)

THERMOSTAT = DeviceObservation(
    eui64="00:0d:6f:00:0a:90:69:e7",
    interface="han0",
    category_label="Programmable communicating thermostat",
    manufacturer="Honeywell",
    model="UtilityPRO UP8000",
    firmware_version="3.4.2",
    ota_file_version=0x03040200,
    link_quality=220,
    join_method="install_code",
    profile_id=0x0109,
    registered=True,
)


METER = "00:13:50:ff:fe:00:00:01"  # the coordinator: a parent the run does not list
PLUG = DeviceObservation(
    eui64="28:2c:02:bf:ff:e6:0a:12",
    interface="han0",
    category_label="Smart plug",
    customer_owned=True,
    parent=METER,
)


def _with(**changes):
    return replace(THERMOSTAT, **changes)


def _rules(findings):
    return [(finding.rule, finding.action) for finding in findings]


def test_healthy_han_passes_with_one_pass_finding():
    findings = diagnose(DiagnosisInput(devices=(THERMOSTAT,)))
    assert _rules(findings) == [("healthy", Action.NONE)]
    assert passed(findings)


def test_weak_link_recommends_changing_range():
    findings = diagnose(DiagnosisInput(devices=(_with(link_quality=60, rssi=-88),)))
    assert _rules(findings) == [("weak_link", Action.CHANGE_RANGE)]
    assert "link quality 60" in findings[0].evidence
    assert "75 feet" in findings[0].customer_text
    assert not passed(findings)


def test_unreachable_or_barely_heard_device_needs_an_additional_device():
    for device in (_with(reachable=False, link_quality=14), _with(link_quality=20)):
        findings = diagnose(DiagnosisInput(devices=(device,)))
        assert _rules(findings) == [("beyond_reach", Action.INSTALL_ADDITIONAL_DEVICE)]
        assert findings[0].severity == Severity.CRITICAL


def test_thresholds_are_configurable():
    device = _with(link_quality=150)
    assert passed(diagnose(DiagnosisInput(devices=(device,))))
    strict = Thresholds.from_settings({"weak_link_quality": 180})
    findings = diagnose(DiagnosisInput(devices=(device,), thresholds=strict))
    assert _rules(findings) == [("weak_link", Action.CHANGE_RANGE)]


def test_unknown_threshold_name_is_refused():
    with pytest.raises(ValueError, match="weak_link_qualty"):
        Thresholds.from_settings({"weak_link_qualty": 1})


def _approved(minimum_ota_file_version, **changes):
    # The approved list's spelling of the maker differs in case from the device's on purpose.
    return (ApprovedModel("honeywell", "UtilityPRO UP8000", minimum_ota_file_version, **changes),)


def test_outdated_firmware_compares_the_ota_image_with_the_approved_one():
    approved = _approved(0x030A0000, minimum_firmware="3.10.0")
    findings = diagnose(DiagnosisInput(devices=(THERMOSTAT,), approved=approved))
    assert _rules(findings) == [("outdated_firmware", Action.UPGRADE_DEVICE)]
    assert "3.4.2 (0x03040200)" in findings[0].evidence
    assert findings[0].evidence.endswith("the approved image is 3.10.0 (0x030A0000)")
    assert passed(diagnose(DiagnosisInput(devices=(THERMOSTAT,), approved=_approved(0x03040200))))


def test_the_free_text_build_id_is_shown_never_compared():
    # "LCR6601S-1.6.2" read by its digits is 6601.1.6.2, far newer than any minimum.
    device = _with(firmware_version="LCR6601S-1.6.2", ota_file_version=0x01060200)
    findings = diagnose(DiagnosisInput(devices=(device,), approved=_approved(0x01080000)))
    assert _rules(findings) == [("outdated_firmware", Action.UPGRADE_DEVICE)]
    assert '1.6.2 (0x01060200) (its build id reads "LCR6601S-1.6.2")' in findings[0].evidence
    # And a newer-looking build id never hides an old image, nor an old-looking one a new image.
    looks_old = _with(firmware_version="0.0.1", ota_file_version=0x01080000)
    assert passed(diagnose(DiagnosisInput(devices=(looks_old,), approved=_approved(0x01080000))))


def test_a_device_without_an_ota_file_version_is_not_judged_on_firmware():
    device = _with(ota_file_version=None, firmware_version="0.0.1")
    assert passed(diagnose(DiagnosisInput(devices=(device,), approved=_approved(0x03040200))))


def test_the_manufacturers_version_scheme_writes_the_evidence():
    device = _with(ota_file_version=82)
    approved = _approved(90, ota_version_scheme="number")
    (finding,) = diagnose(DiagnosisInput(devices=(device,), approved=approved))
    assert "runs OTA image 82 (0x00000052)" in finding.evidence
    assert "the approved image is 90 (0x0000005A)" in finding.evidence


def test_default_key_join_recommends_changing_security_settings():
    findings = diagnose(DiagnosisInput(devices=(_with(join_method="default_key"),)))
    assert _rules(findings) == [("insecure_join", Action.CHANGE_SECURITY_SETTINGS)]
    assert "ZigBeeAlliance09" in findings[0].evidence


def test_a_customer_owned_device_on_the_default_key_is_critical_and_named_masked():
    plug = replace(PLUG, join_method="default_key")
    (finding,) = diagnose(DiagnosisInput(devices=(plug,)))
    assert (finding.rule, finding.severity) == ("insecure_join", Severity.CRITICAL)
    # The network key travelled under a public key: the remedy is the whole network's.
    for step in ("leave", "install-code-only", "rotate the network key", "rejoin"):
        assert step in finding.evidence
    # Named as staff without the customer's consent may see it, in every stored word.
    stored = " ".join((finding.title, finding.evidence, finding.customer_text, finding.eui64))
    assert "bf:ff:e6" not in stored and "0a:12" in finding.eui64


def test_a_customer_owned_device_that_joined_securely_is_left_to_its_owner():
    plug = _with(join_method="install_code", customer_owned=True, registered=False)
    assert passed(diagnose(DiagnosisInput(devices=(plug,))))


def test_root_causes_come_first_within_a_severity():
    data = DiagnosisInput(
        interfaces=(InterfaceObservation("han0", 15, {15: 230, 20: 10}),),
        devices=(
            _with(eui64="00:0d:6f:00:00:00:00:01", link_quality=60),
            _with(eui64="00:0d:6f:00:00:00:00:02", join_method="default_key"),
            _with(eui64="00:0d:6f:00:00:00:00:03", reachable=False),
        ),
    )
    assert [finding.rule for finding in diagnose(data)] == [
        "insecure_join",
        "beyond_reach",
        "channel_interference",  # the busy channel explains the weak link
        "weak_link",
    ]


def test_several_findings_of_one_rule_have_one_line_for_all_of_them():
    assert many_title("outdated_firmware", 22) == "22 devices run outdated firmware"
    assert many_title("over_capacity", 2) == ""


def test_registered_device_not_found_recommends_power_check_and_join_window():
    expected = (
        ExpectedDevice(THERMOSTAT.eui64, "Programmable communicating thermostat"),
        ExpectedDevice("00:1b:c5:0c:00:21:7f:10", "In-home display", "Rainforest", "EMU-2"),
    )
    findings = diagnose(DiagnosisInput(devices=(THERMOSTAT,), expected=expected))
    assert _rules(findings) == [("registered_device_missing", Action.REOPEN_JOIN_WINDOW)]
    assert findings[0].eui64 == "00:1b:c5:0c:00:21:7f:10"


def test_unregistered_smart_energy_device_is_investigated():
    rogue = _with(eui64="00:11:22:33:44:55:66:77", registered=False)
    findings = diagnose(DiagnosisInput(devices=(THERMOSTAT, rogue)))
    assert _rules(findings) == [("unknown_device", Action.INVESTIGATE_DEVICE)]
    assert findings[0].eui64 == "00:11:22:33:44:55:66:77"


def test_device_registered_on_another_meter_is_investigated():
    stray = _with(registered=False, registered_elsewhere=True, profile_id=0x0104)
    findings = diagnose(DiagnosisInput(devices=(stray,)))
    assert "another premise" in findings[0].title


def test_busy_channel_recommends_a_quieter_channel():
    energy = dict.fromkeys(range(11, 27), 40) | {15: 230, 20: 12}
    interface = InterfaceObservation("han0", channel=15, energy_by_channel=energy)
    findings = diagnose(DiagnosisInput(interfaces=(interface,), devices=(THERMOSTAT,)))
    assert _rules(findings) == [("channel_interference", Action.CHANGE_CHANNEL)]
    assert "preferred channels: 20 (between Wi-Fi 6 and 11, peak 12)" in findings[0].evidence


def _counted(cca_failures, sent):
    """The stack's counters over a scan that sent `sent` unicasts and failed `cca_failures`
    clear-channel assessments."""
    return {"phy_cca_fail_count": cca_failures, "mac_tx_unicast_success": sent}


@pytest.mark.parametrize(
    ("counters", "busy_on_air"),
    [
        (_counted(30, 100), True),  # 23 % of assessments found the channel busy
        (_counted(10, 100), False),  # 9 %: the odd burst any channel has
        (_counted(5, 10), False),  # too few frames to tell
        (None, False),  # a radio that keeps no counters (Z-Stack)
    ],
)
def test_a_channel_the_radio_found_busy_during_the_scan_is_interference(counters, busy_on_air):
    quiet = dict.fromkeys(range(11, 27), 40)  # the energy scan caught nothing
    interface = InterfaceObservation("han0", 15, energy_by_channel=quiet, stack_counters=counters)

    findings = diagnose(DiagnosisInput(interfaces=(interface,), devices=(THERMOSTAT,)))

    if not busy_on_air:
        assert _rules(findings) == [("healthy", Action.NONE)]
        return
    assert _rules(findings) == [("channel_interference", Action.CHANGE_CHANNEL)]
    assert findings[0].title == "Interface han0: channel 15 was busy while the HAN was scanned"
    assert (
        "the coordinator's radio found channel 15 busy in 30 of 130 clear-channel assessments "
        "(23%; busy above 10%)" in findings[0].evidence
    )
    assert "quiet Smart Energy preferred channels: 20 " in findings[0].evidence


def test_unacknowledged_operational_check_means_device_not_acting_on_messages():
    findings = diagnose(DiagnosisInput(devices=(_with(operational_check="not_acknowledged"),)))
    assert _rules(findings) == [("operational_check_failed", Action.CHECK_DEVICE_PROGRAMS)]


def test_unreachable_gateway_is_escalated_and_nothing_else_is_claimed():
    expected = (ExpectedDevice(THERMOSTAT.eui64),)
    findings = diagnose(
        DiagnosisInput(gateway_reached=False, gateway_error="connect timeout", expected=expected)
    )
    assert _rules(findings) == [("gateway_unreachable", Action.ESCALATE_TO_AMI_NETWORK)]
    assert findings[0].evidence == "connect timeout"


def test_over_capacity_is_reported():
    devices = tuple(_with(eui64=f"00:0d:6f:00:00:00:00:{n:02x}") for n in range(6))
    findings = diagnose(DiagnosisInput(devices=devices, capacity=5))
    assert _rules(findings) == [("over_capacity", Action.REDUCE_DEVICES)]


def test_findings_are_sorted_most_severe_first():
    devices = (_with(link_quality=60), _with(eui64="00:0d:6f:00:00:00:00:01", reachable=False))
    findings = diagnose(DiagnosisInput(devices=devices))
    assert [finding.severity for finding in findings] == [Severity.CRITICAL, Severity.WARNING]


def test_customer_words_carry_no_technical_internals():
    devices = (
        _with(link_quality=60),
        _with(eui64="00:0d:6f:00:00:00:00:01", join_method="default_key"),
    )
    for finding in diagnose(DiagnosisInput(devices=devices)):
        for jargon in ("LQI", "link quality", "EUI", "00:0d", "ZigBeeAlliance09", "RSSI"):
            assert jargon not in finding.customer_text


def test_misspelt_threshold_setting_stops_the_portal_with_a_named_error(settings):
    from portal.diagnosis.checks import diagnosis_thresholds_are_valid

    settings.HAN_DIAGNOSIS_THRESHOLDS = {"weak_link_qualty": 120}
    errors = diagnosis_thresholds_are_valid(None)
    assert [error.id for error in errors] == ["portal.E001"]
    assert "weak_link_qualty" in errors[0].msg
    settings.HAN_DIAGNOSIS_THRESHOLDS = {"weak_link_quality": 120}
    assert diagnosis_thresholds_are_valid(None) == []


def test_expired_join_window_is_its_own_finding_not_a_missing_device():
    expected = (
        ExpectedDevice(
            "00:0d:6f:00:05:3c:51:08",
            "Load control switch",
            "Eaton",
            "LCR",
            registration_status="expired",
        ),
    )
    findings = diagnose(DiagnosisInput(devices=(THERMOSTAT,), expected=expected))
    assert _rules(findings) == [("join_window_expired", Action.REOPEN_JOIN_WINDOW)]


def test_an_empty_han_with_nothing_on_record_does_not_pass():
    findings = diagnose(DiagnosisInput(interfaces=(InterfaceObservation("han0", 15),)))
    assert _rules(findings) == [("empty_han", Action.REGISTER_DEVICE)]
    assert "channel 15" in findings[0].evidence
    assert "install code" in findings[0].customer_text
    assert not passed(findings)


def test_an_empty_han_with_devices_on_record_is_told_by_the_missing_device_rule():
    expected = ExpectedDevice(
        eui64=THERMOSTAT.eui64,
        category_label=THERMOSTAT.category_label,
        manufacturer="Honeywell",
        model="UtilityPRO UP8000",
    )
    findings = diagnose(DiagnosisInput(expected=(expected,)))
    assert _rules(findings) == [("registered_device_missing", Action.REOPEN_JOIN_WINDOW)]


def test_an_unreachable_gateway_is_not_called_an_empty_han():
    findings = diagnose(DiagnosisInput(gateway_reached=False, gateway_error="timed out"))
    assert [finding.rule for finding in findings] == ["gateway_unreachable"]


def test_stored_rule_ids_stay_as_runs_recorded_them():
    # Findings, reviews and bookmarked history filters hold these values.
    assert [rule_id.value for rule_id in RuleId] == [
        "gateway_unreachable",
        "beyond_reach",
        "weak_link",
        "outdated_firmware",
        "insecure_join",
        "registered_device_missing",
        "join_window_expired",
        "unknown_device",
        "channel_interference",
        "operational_check_failed",
        "over_capacity",
        "empty_han",
        "joined_elsewhere",
        "message_not_delivered",
        "device_asleep",
        "install_code_mismatch",
        "default_key_policy",
        "router_down",
        "customer_router_dependency",
        "healthy",
    ]


def test_every_rule_id_but_healthy_has_exactly_one_rule():
    assert sorted(each.id for each in RULES) == sorted(
        each for each in RuleId if each != RuleId.HEALTHY
    )


def test_a_rule_cannot_take_an_id_already_in_use():
    rules_before = list(RULES)
    for taken in (RuleId.WEAK_LINK, RuleId.HEALTHY):
        with pytest.raises(ValueError, match=taken.value):
            rule(taken, Severity.WARNING, Action.CHANGE_RANGE)(lambda data: [])
    assert rules_before == RULES


def test_each_finding_carries_the_id_severity_and_action_its_rule_declares():
    devices = (
        _with(link_quality=60),
        _with(eui64="00:0d:6f:00:00:00:00:01", reachable=False),
        _with(eui64="00:0d:6f:00:00:00:00:02", join_method="default_key"),
        _with(eui64="00:0d:6f:00:00:00:00:03", operational_check="not_acknowledged"),
    )
    data = DiagnosisInput(devices=devices, capacity=2)
    made = {
        (finding.rule, finding.severity, finding.action) for each in RULES for finding in each(data)
    }
    assert made == {
        (RuleId.WEAK_LINK, Severity.WARNING, Action.CHANGE_RANGE),
        (RuleId.BEYOND_REACH, Severity.CRITICAL, Action.INSTALL_ADDITIONAL_DEVICE),
        (RuleId.INSECURE_JOIN, Severity.CRITICAL, Action.CHANGE_SECURITY_SETTINGS),
        (RuleId.OPERATIONAL_CHECK_FAILED, Severity.WARNING, Action.CHECK_DEVICE_PROGRAMS),
        (RuleId.OVER_CAPACITY, Severity.WARNING, Action.REDUCE_DEVICES),
    }
    for each in RULES:
        assert {finding.rule for finding in each(data)} <= {each.id}


def test_findings_about_the_device_the_call_is_about_come_first():
    display = _with(eui64="00:1b:c5:0c:00:21:7f:10", link_quality=60)
    cut_off = _with(eui64="00:0d:6f:00:00:00:00:03", reachable=False)
    data = DiagnosisInput(devices=(cut_off, display))
    assert [finding.rule for finding in diagnose(data)] == ["beyond_reach", "weak_link"]
    about_display = replace(data, subject_eui64=display.eui64)
    assert [finding.eui64 for finding in diagnose(about_display)] == [
        display.eui64,
        cut_off.eui64,
    ]


def test_a_message_not_delivered_is_a_radio_matter_not_a_set_up_one():
    (lost,) = diagnose(DiagnosisInput(devices=(_with(operational_check="not_delivered"),)))
    assert (lost.rule, lost.action) == ("message_not_delivered", Action.CHANGE_RANGE)
    (unconfirmed,) = diagnose(
        DiagnosisInput(devices=(_with(operational_check="not_acknowledged"),))
    )
    assert (unconfirmed.rule, unconfirmed.action) == (
        "operational_check_failed",
        Action.CHECK_DEVICE_PROGRAMS,
    )
    assert "reached it" in unconfirmed.evidence and "not the radio" in unconfirmed.evidence


POOL_PUMP = ExpectedDevice(
    "00:0d:6f:00:05:3c:51:08",
    "Load control switch",
    "Eaton",
    "Yukon LCR-6601S",
    registration_status="join_window_open",
)


def _refused(decision, at="2025-05-01T10:00:00+00:00", eui64=POOL_PUMP.eui64):
    from portal.diagnosis.rules import JoinDecision

    return JoinDecision(eui64, decision, at=at, interface="han0")


def test_a_key_mismatch_refusal_says_the_install_code_does_not_match_not_check_power():
    data = DiagnosisInput(expected=(POOL_PUMP,), join_decisions=(_refused("refused_key_mismatch"),))
    (finding,) = diagnose(data)
    assert (finding.rule, finding.severity, finding.action) == (
        RuleId.INSTALL_CODE_MISMATCH,
        Severity.CRITICAL,
        Action.RECHECK_INSTALL_CODE,
    )
    assert "install code does not match" in finding.title
    assert "re-check the label or QR code" in finding.title
    assert "on han0 at 2025-05-01T10:00:00+00:00" in finding.evidence
    assert "label" in finding.action_label and "QR code" in finding.action_label
    assert "power" not in finding.customer_text


def test_an_expired_window_after_a_key_mismatch_is_still_the_install_code():
    expired = replace(POOL_PUMP, registration_status="expired")
    data = DiagnosisInput(expected=(expired,), join_decisions=(_refused("refused_key_mismatch"),))
    assert [finding.rule for finding in diagnose(data)] == [RuleId.INSTALL_CODE_MISMATCH]


def test_only_the_latest_refusal_counts():
    decisions = (
        _refused("refused_no_window", at="2025-05-01T11:00:00+00:00"),
        _refused("refused_key_mismatch", at="2025-05-01T10:00:00+00:00"),
    )
    (finding,) = diagnose(DiagnosisInput(expected=(POOL_PUMP,), join_decisions=decisions))
    assert finding.rule == RuleId.REGISTERED_DEVICE_MISSING
    assert "no join window was open for it" in finding.evidence


def test_a_device_found_after_a_refusal_is_not_a_mismatch():
    found = _with(eui64=POOL_PUMP.eui64)
    data = DiagnosisInput(
        devices=(found,),
        expected=(POOL_PUMP,),
        join_decisions=(_refused("refused_key_mismatch"),),
    )
    assert [finding.rule for finding in diagnose(data)] == [RuleId.HEALTHY]


def test_a_refusal_of_another_device_changes_nothing():
    data = DiagnosisInput(
        expected=(POOL_PUMP,),
        join_decisions=(_refused("refused_key_mismatch", eui64="00:0d:6f:00:00:00:00:09"),),
    )
    (finding,) = diagnose(data)
    assert finding.rule == RuleId.REGISTERED_DEVICE_MISSING
    assert "refused" not in finding.evidence


def test_an_interface_that_accepts_the_default_key_is_critical():
    open_interface = InterfaceObservation("han0", 15, join_policy="default_key_allowed")
    closed = InterfaceObservation("han1", 25, join_policy="install_code_only")
    unknown = InterfaceObservation("han2", 20)
    findings = diagnose(
        DiagnosisInput(devices=(THERMOSTAT,), interfaces=(open_interface, closed, unknown))
    )
    assert _rules(findings) == [(RuleId.DEFAULT_KEY_POLICY, Action.CHANGE_SECURITY_SETTINGS)]
    assert findings[0].severity == Severity.CRITICAL
    assert "han0" in findings[0].title and "default key" in findings[0].title
    assert "ZigBeeAlliance09" in findings[0].evidence


def test_an_unknown_join_is_never_called_insecure_or_install_code():
    findings = diagnose(DiagnosisInput(devices=(_with(join_method="unknown"),)))
    assert _rules(findings) == [("healthy", Action.NONE)]


# -- routes ---------------------------------------------------------------------------------

EXTENDER = _with(eui64="00:0d:6f:00:0b:00:00:01", category_label="Range extender", parent=METER)


def test_a_silent_router_is_one_finding_for_everything_behind_it():
    extender = replace(EXTENDER, reachable=False)
    relay = _with(eui64="00:0d:6f:00:0b:00:00:02", reachable=False, parent=extender.eui64)
    display = _with(eui64="00:1b:c5:0c:00:21:7f:10", reachable=False, parent=relay.eui64)
    asleep = _with(
        eui64="00:0d:6f:00:0b:00:00:03", reachable=False, sleepy=True, parent=relay.eui64
    )
    near = _with(link_quality=210, parent=METER)
    findings = diagnose(DiagnosisInput(devices=(extender, relay, display, asleep, near)))
    assert [(finding.rule, finding.eui64) for finding in findings] == [
        ("router_down", extender.eui64)
    ]
    (finding,) = findings
    assert finding.title == (
        f"3 devices cut off: their only route to the meter is through {extender.label}, "
        "which does not answer"
    )
    for device in (relay, display, asleep):
        assert device.eui64 in finding.evidence
    assert "the utility's range extender" in finding.evidence


def test_a_customer_router_with_only_its_owners_devices_behind_it_is_theirs():
    plug = replace(PLUG, reachable=False)
    sensor = replace(PLUG, eui64="00:15:bc:00:1a:00:74:02", sleepy=True, parent=plug.eui64)
    findings = diagnose(
        DiagnosisInput(devices=(THERMOSTAT, plug, replace(sensor, reachable=False)))
    )
    assert [finding.rule for finding in findings] == ["healthy"]


def test_one_utility_device_behind_a_silent_customer_plug_is_named_in_the_singular():
    plug = replace(PLUG, reachable=False)
    thermostat = _with(reachable=False, parent=plug.eui64)
    (finding,) = diagnose(DiagnosisInput(devices=(plug, thermostat)))
    assert finding.rule == "router_down" and finding.severity == Severity.CRITICAL
    assert finding.title.startswith(f"{thermostat.label} is cut off: its only route")
    assert "••:0a:12" in finding.title and PLUG.eui64 not in finding.title
    assert "reaches the meter only through it (its parent" in finding.evidence
    assert "your programmable communicating thermostat connects" in finding.customer_text


def test_a_device_that_answers_through_a_customer_plug_is_flagged_without_failing():
    findings = diagnose(DiagnosisInput(devices=(PLUG, _with(parent=PLUG.eui64))))
    assert [(finding.rule, finding.severity) for finding in findings] == [
        ("healthy", Severity.PASS),
        ("customer_router_dependency", Severity.INFO),
    ]
    assert passed(findings)


def test_a_device_whose_parent_answers_but_it_does_not_is_beyond_its_parents_reach():
    (finding,) = diagnose(
        DiagnosisInput(devices=(EXTENDER, _with(reachable=False, parent=EXTENDER.eui64)))
    )
    assert finding.rule == "beyond_reach"
    assert finding.title.endswith(f"is beyond the reach of its parent, {EXTENDER.label}")
    assert "too far from the range extender it connects through" in finding.customer_text
