import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pydantic
import pytest
import yaml
import zigpy.types as zigpy_types
from hypothesis import given, settings
from hypothesis import strategies as st

from han_gateway.__main__ import main
from han_gateway.scenarios import (
    LIBRARY_DIRECTORY,
    ScenarioError,
    library_names,
    load_library_scenario,
    load_scenario_file,
    parse_scenario,
    resolve_scenario,
)
from han_gateway.scenarios.schema import derived_install_code, install_code_link_key
from han_gateway.smart_energy import DEFAULT_TRUST_CENTER_LINK_KEY
from tests.han_gateway.conftest import small_scenario

SCENARIO_SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "scenario.schema.json"

REQUIRED_LIBRARY = {
    "healthy",
    "weak_link",
    "weak_link_fixed",
    "registered_device_missing",
    "needs_router",
    "outdated_firmware",
    "default_key_join",
    "unregistered_device",
    "channel_interference",
    "two_interfaces",
    "empty_han",
    "large_han",
}


def test_library_has_every_required_scenario() -> None:
    assert set(library_names()) >= REQUIRED_LIBRARY


@pytest.mark.parametrize("name", library_names())
def test_library_scenario_is_valid_and_describes_itself(name: str) -> None:
    scenario = load_library_scenario(name)
    assert scenario.name == name
    assert len(scenario.description) > 30
    joined = [device for device in scenario.devices if not device.pending_join]
    assert len(joined) <= scenario.gateway.max_devices


def test_large_han_has_sixty_devices_and_typical_hans_five_to_ten() -> None:
    assert len(load_library_scenario("large_han").devices) == 60
    assert 5 <= len(load_library_scenario("healthy").devices) <= 10


def test_scenarios_carry_their_problem() -> None:
    weak = load_library_scenario("weak_link")
    fixed = load_library_scenario("weak_link_fixed")
    weak_display = next(d for d in weak.devices if d.category == "in_home_display")
    fixed_display = fixed.device(weak_display.eui64)
    assert weak_display.link.link_quality < 80 <= fixed_display.link.link_quality

    default_key = load_library_scenario("default_key_join")
    assert any(d.link_key == DEFAULT_TRUST_CENTER_LINK_KEY for d in default_key.devices)

    missing = load_library_scenario("registered_device_missing")
    assert missing.expected_devices
    assert missing.expected_devices[0].eui64 not in {
        d.eui64 for d in missing.devices if not d.pending_join
    }

    unregistered = load_library_scenario("unregistered_device")
    assert any(not d.registered and d.han == "utility" for d in unregistered.devices)
    assert any(not d.registered and d.han == "customer" for d in unregistered.devices)

    interference = load_library_scenario("channel_interference")
    assert interference.energy[interference.gateway.channel] > 0.75 * 255

    needs_router = load_library_scenario("needs_router")
    assert any(not d.reachable for d in needs_router.devices)
    # Nothing on the network: its one device waits for a join window.
    assert all(d.pending_join for d in load_library_scenario("empty_han").devices)


def test_defaults_follow_the_device_category() -> None:
    scenario = parse_scenario(small_scenario())
    thermostat, display, switch = scenario.devices
    assert thermostat.han == "utility" and thermostat.registered
    assert thermostat.acknowledges == {"message", "drlc"}
    assert display.acknowledges == {"message"}
    assert display.device_type == "end_device" and display.power_source == "battery"
    assert switch.device_type == "router" and switch.power_source == "mains"
    assert switch.link_key == DEFAULT_TRUST_CENTER_LINK_KEY
    assert thermostat.profile_id == 0x0109
    assert len({d.nwk for d in scenario.devices}) == 3


def test_customer_devices_default_to_unregistered() -> None:
    document = small_scenario()
    document["devices"][0]["han"] = "customer"
    assert not parse_scenario(document).devices[0].registered


def test_install_code_gives_the_published_link_key() -> None:
    document = small_scenario()
    document["devices"][0]["install_code"] = "83FED3407A939723A5C639B26916D505C3B5"
    key = parse_scenario(document).devices[0].link_key
    assert key.serialize().hex().upper() == "66B6900981E1EE3CA4206B6B861C02BB"


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["devices"][2].update(eui64="00:0d:6f:00:0a:00:00"),
            "devices[2].eui64: not a valid EUI-64",
        ),
        (
            lambda d: d["devices"][1].update(category="toaster"),
            "devices[1].category: must be one of",
        ),
        (
            lambda d: d["devices"][0].update(link_quality=300),
            "devices[0].link_quality: must be from 0 to 255",
        ),
        (lambda d: d["devices"][0].pop("manufacturer"), "devices[0].manufacturer: is required"),
        (lambda d: d["devices"][0].update(colour="red"), "devices[0].colour: unknown field"),
        (lambda d: d["gateway"].update(channel=27), "gateway.channel: must be from 11 to 26"),
        (
            lambda d: d["devices"][1].update(parent="00:0d:6f:00:0a:00:00:99"),
            "devices[1].parent: no device has EUI-64",
        ),
        (
            lambda d: d["devices"][1].update(parent="00:0d:6f:00:0a:00:00:02"),
            "devices[1].parent",
        ),
        (
            lambda d: d["devices"][2].update(eui64="00:0d:6f:00:0a:00:00:01"),
            "devices[2].eui64: duplicate of devices[0].eui64",
        ),
        (lambda d: d["devices"][0].update(install_code="1234"), "devices[0].install_code"),
        (
            lambda d: d["devices"][0].update(acknowledges=["dance"]),
            "devices[0].acknowledges[0]: must be one of message, drlc, not 'dance'",
        ),
        (
            lambda d: d["devices"][0]["endpoints"][0].update(output_clusters=[0x0703, 70000]),
            "devices[0].endpoints[0].output_clusters[1]: must be from 0 to 65535, not 70000",
        ),
        (
            lambda d: d["devices"][0]["endpoints"][0].update(colour="red"),
            "devices[0].endpoints[0].colour: unknown field",
        ),
        (
            lambda d: d["devices"][0]["endpoints"].append({"id": 1}),
            "devices[0].endpoints: endpoint ids must be unique",
        ),
        (lambda d: d["gateway"].update(colour="red"), "gateway.colour: unknown field"),
        (lambda d: d.update(colour="red"), "colour: unknown field"),
        (lambda d: d.update({7: "seven"}), "7: unknown field"),
        (
            lambda d: d["devices"][1].update(sleepy="yes"),
            "devices[1].sleepy: must be true or false",
        ),
        (lambda d: d["devices"][1].update(model="  "), "devices[1].model: must not be empty"),
        (lambda d: d["devices"].append(5), "devices[3]: must be a mapping"),
        (lambda d: d.update(devices={"a": 1}), "devices: must be a list"),
        (
            lambda d: d["devices"][0].update(link_key="12"),
            "devices[0].link_key: a link key is 32 hexadecimal digits",
        ),
        (
            lambda d: d.update(extra_links=[{"between": ["00:0d:6f:00:0a:00:00:01"]}]),
            "extra_links[0].between: must list exactly two EUI-64s",
        ),
        (
            lambda d: d.update(
                extra_links=[{"between": ["00:0d:6f:00:0a:00:00:01", "00:0d:6f:00:0a:00:00:09"]}]
            ),
            "extra_links[0].between: no device has EUI-64 00:0d:6f:00:0a:00:00:09",
        ),
        (
            lambda d: d.update(expected_devices=[{"eui64": "00:0d:6f:00:0a:00:00:09"}]),
            "expected_devices[0].category: is required",
        ),
        (
            lambda d: d["devices"][0].update(category="\udcff"),
            "devices[0].category: must be one of pct, in_home_display, load_control_switch,"
            " smart_plug, ems, other_customer_interface, not '\\udcff'",
        ),
        (lambda d: d.pop("name"), "name: is required"),
        (
            lambda d: d["devices"][0]["endpoints"].__setitem__(0, {"id": 0}),
            "devices[0].endpoints[0].id: must be from 1 to 240",
        ),
        (lambda d: d.update(energy={"30": 10}), "energy.30: channel must be from 11 to 26"),
        (lambda d: d["gateway"].update(max_devices=2), "devices: 3 joined devices exceed"),
    ],
)
def test_broken_scenario_names_the_bad_field(mutate, expected: str) -> None:
    document = small_scenario()
    document["devices"][0]["endpoints"] = [
        {"id": 1, "profile_id": 0x0109, "input_clusters": [0], "output_clusters": [0x0703]}
    ]
    mutate(document)
    with pytest.raises(ScenarioError) as raised:
        parse_scenario(document)
    assert any(problem.startswith(expected) for problem in raised.value.problems), raised.value


def test_broken_scenario_file_names_the_file_and_field(tmp_path: Path) -> None:
    document = small_scenario()
    document["devices"][1]["eui64"] = "not-a-mac"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ScenarioError, match=r"broken.yaml: devices\[1\].eui64: not a valid EUI-64"):
        load_scenario_file(path)


def test_a_bad_field_deep_in_a_file_is_named_by_its_full_path_and_the_file(tmp_path: Path) -> None:
    document = small_scenario()
    document["devices"][2]["endpoints"] = [
        {"id": 1, "input_clusters": [0x0000, 0x0003]},
        {"id": 2, "profile_id": 0x0104, "input_clusters": [0x0006, 0x10000]},
    ]
    (tmp_path / "deep.json").write_text(json.dumps(document))

    with pytest.raises(ScenarioError) as raised:
        resolve_scenario("deep.json", relative_to=tmp_path)

    assert raised.value.problems == [
        "deep.json: devices[2].endpoints[1].input_clusters[1]: must be from 0 to 65535, not 65536"
    ]


def _problems_loading(path: Path, document: dict[str, Any]) -> list[str]:
    """The problems ``load_scenario_file`` names for ``document`` written to ``path`` as YAML."""
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ScenarioError) as raised:
        load_scenario_file(path)
    return raised.value.problems


def test_unknown_keys_in_a_file_are_refused_with_their_path(tmp_path: Path) -> None:
    document = small_scenario()
    document["radio"]["jitter_ms"] = 3
    document["devices"][1]["endpoints"] = [{"id": 1, "clusters": [0]}]
    document["extra_links"] = [
        {"between": ["00:0d:6f:00:0a:00:00:01", "00:0d:6f:00:0a:00:00:03"], "rssi": -60}
    ]
    assert _problems_loading(tmp_path / "typos.yaml", document) == [
        "typos.yaml: radio.jitter_ms: unknown field",
        "typos.yaml: devices[1].endpoints[0].clusters: unknown field",
        "typos.yaml: extra_links[0].rssi: unknown field",
    ]


def test_consistency_problems_name_the_file_and_each_device(tmp_path: Path) -> None:
    document = small_scenario()
    document["devices"][0]["device_type"] = "end_device"  # the display's parent
    document["devices"][2]["eui64"] = "00-0D-6F-00-0A-00-00-02"  # the display's, written apart
    assert _problems_loading(tmp_path / "tangled.yaml", document) == [
        "tangled.yaml: devices[2].eui64: duplicate of devices[1].eui64 (00:0d:6f:00:0a:00:00:02)",
        "tangled.yaml: devices[1].parent: devices[0] is an end device; only routers have children",
    ]


def test_scenario_file_may_be_json_or_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    path.write_text(json.dumps(small_scenario()))
    assert resolve_scenario("small.json", relative_to=tmp_path).name == "small"
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices: [unclosed")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario_file(bad)


def test_unknown_library_name_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match="healthy"):
        load_library_scenario("no_such_thing")


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(document=_json_values)
def test_parser_rejects_arbitrary_documents_with_path_named_problems(document) -> None:
    try:
        parse_scenario(document)
    except ScenarioError as error:
        assert error.problems
        assert all(":" in problem for problem in error.problems)


_FIELDS = ["eui64", "category", "link_quality", "parent", "device_type", "nwk", "ota_file_version"]


@settings(max_examples=200, deadline=None)
@given(
    index=st.integers(0, 2),
    field=st.sampled_from(_FIELDS),
    value=_json_values,
)
def test_one_corrupted_device_field_is_accepted_or_named(index: int, field: str, value) -> None:
    document = copy.deepcopy(small_scenario())
    document["devices"][index][field] = value
    try:
        scenario = parse_scenario(document)
    except ScenarioError as error:
        # The corrupted device, or one that depends on it (e.g. its child), is named.
        assert all(problem.startswith("devices") for problem in error.problems), error
        assert any(
            problem.startswith(f"devices[{index}].{field}") for problem in error.problems
        ) or (field in ("device_type", "eui64", "parent", "nwk")), error
    else:
        assert len(scenario.devices) == 3


def test_every_install_code_device_has_a_valid_install_code_matching_its_key() -> None:
    """The portal registers demo devices with these codes; the radio must hold the same keys."""
    for name in library_names():
        for device in load_library_scenario(name).devices:
            if device.join_method == "default_key":
                continue
            assert device.install_code is not None, (name, device.eui64)
            assert install_code_link_key(device.install_code) == device.link_key


def test_parsed_scenario_holds_zigpy_types_and_cannot_be_changed() -> None:
    scenario = parse_scenario(small_scenario())
    thermostat, display, _ = scenario.devices

    assert type(display.eui64) is zigpy_types.EUI64
    assert display.parent == thermostat.eui64 and type(display.parent) is zigpy_types.EUI64
    assert thermostat.parent is None
    assert type(display.link_key) is zigpy_types.KeyData
    assert type(scenario.gateway.extended_pan_id) is zigpy_types.ExtendedPanId
    assert isinstance(display.acknowledges, frozenset)
    assert isinstance(display.endpoints, tuple) and display.endpoints[0].endpoint_id == 1
    assert display.endpoints[0].input_clusters == (0x0000, 0x0003, 0x0800)
    with pytest.raises(dataclasses.FrozenInstanceError):
        display.name = "changed"  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        scenario.gateway.channel = 11
    with pytest.raises(pydantic.ValidationError):
        display.endpoints[0].endpoint_id = 2


def test_null_counts_as_absent_and_integers_may_be_written_as_hex_text() -> None:
    document = small_scenario()
    document["gateway"]["pan_id"] = "0x1A62"
    document["devices"][0].update(install_code=None, nwk=None, parent=None)
    document["devices"][1]["install_code"] = "83 FE:D3-40 7A939723A5C639B26916D505C3B5"

    thermostat, display, _ = parse_scenario(document).devices

    assert parse_scenario(document).gateway.pan_id == 0x1A62
    assert thermostat.install_code == derived_install_code(thermostat.eui64)
    assert thermostat.nwk and thermostat.parent is None
    assert display.install_code == "83FED3407A939723A5C639B26916D505C3B5"


def test_a_document_without_a_name_takes_the_file_name() -> None:
    document = small_scenario()
    del document["name"]
    assert parse_scenario(document, default_name="from_file").name == "from_file"


def test_committed_json_schema_is_the_one_the_models_generate(capsys) -> None:
    assert main(["schema", "scenario"]) == 0
    assert capsys.readouterr().out == SCENARIO_SCHEMA.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", library_names())
def test_library_scenario_follows_the_committed_json_schema(name: str) -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCENARIO_SCHEMA.read_text()))
    document = yaml.safe_load((LIBRARY_DIRECTORY / f"{name}.yaml").read_text())
    # JSON keys are text: YAML reads the energy map's channels as integers.
    assert validator.is_valid(json.loads(json.dumps(document)))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["devices"][0].update(colour="red"),
        lambda d: d["devices"][0].update(eui64="00:0d:6f"),
        lambda d: d["devices"][0].update(link_quality=300),
        lambda d: d["gateway"].update(channel=27),
        lambda d: d.update(energy={"30": 10}),
    ],
)
def test_committed_json_schema_refuses_what_the_parser_refuses(mutate) -> None:
    validator = jsonschema_rs.validator_for(json.loads(SCENARIO_SCHEMA.read_text()))
    document = small_scenario()
    assert validator.is_valid(document)
    mutate(document)
    assert not validator.is_valid(document)
    with pytest.raises(ScenarioError):
        parse_scenario(document)
