"""The scenario library: YAML files beside this module, loaded by name or by path."""

from __future__ import annotations

import re
from pathlib import Path

from han_gateway.scenarios.documents import read_document
from han_gateway.scenarios.schema import Scenario, ScenarioError, parse_scenario

__all__ = [
    "LIBRARY_DIRECTORY",
    "Scenario",
    "ScenarioError",
    "library_names",
    "load_library_scenario",
    "load_scenario_file",
    "parse_scenario",
    "resolve_scenario",
]

LIBRARY_DIRECTORY = Path(__file__).resolve().parent
_LIBRARY_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


def library_names() -> list[str]:
    """Names of the scenarios shipped in the library, sorted."""
    return sorted(path.stem for path in LIBRARY_DIRECTORY.glob("*.yaml"))


def load_scenario_file(path: Path) -> Scenario:
    """Load and validate a scenario file (YAML, or JSON when it ends in .json)."""
    document = read_document(path, what="scenario file", label=path.name, error=ScenarioError)
    try:
        return parse_scenario(document, default_name=path.stem)
    except ScenarioError as error:
        raise ScenarioError([f"{path.name}: {problem}" for problem in error.problems]) from None


def load_library_scenario(name: str) -> Scenario:
    """Load a scenario of the library by name, e.g. ``weak_link``."""
    if not _LIBRARY_NAME.match(name) or name not in library_names():
        raise ScenarioError(
            [f"scenario: no library scenario named {name!r}; known: {', '.join(library_names())}"]
        )
    return load_scenario_file(LIBRARY_DIRECTORY / f"{name}.yaml")


def resolve_scenario(reference: str, *, relative_to: Path | None = None) -> Scenario:
    """A library name, or a path to a scenario file (relative paths from `relative_to`)."""
    if _LIBRARY_NAME.match(reference) and reference in library_names():
        return load_library_scenario(reference)
    path = Path(reference)
    if not path.is_absolute() and relative_to is not None:
        path = relative_to / path
    if path.suffix in (".yaml", ".yml", ".json"):
        return load_scenario_file(path)
    return load_library_scenario(reference)
