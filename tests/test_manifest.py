"""app.yaml, the Slack app manifest, is valid by Slack's own JSON Schema (slackapi/manifest-schema).

The schema files live in shared/slack/manifest-schema beside the repository. The top-level
manifest.schema.json is a oneOf whose branches are told apart by `_metadata.major_version` (1, 2, absent)
and then `$ref` the versioned schema by its raw.githubusercontent.com address; here every such address is
served from the local copy and anything else is refused, so validation never touches the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT7

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "app.yaml"
SCHEMA_DIR = REPO_ROOT.parent / "shared" / "slack" / "manifest-schema"
MAIN_SCHEMA = SCHEMA_DIR / "manifest.schema.json"
SLACK_EXAMPLES = SCHEMA_DIR / "tests" / "manifests" / "v1"
CLASSIC_SCHEMA_NAME = "manifest.schema.1.0.0.json"


# --- the validator ------------------------------------------------------------------------------


def _refuse(uri: str) -> Resource[Any]:
    raise NoSuchResource(ref=uri)  # no network: only the local copies below exist


def _remote_refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and not value.startswith("#"):
                yield value
            else:
                yield from _remote_refs(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from _remote_refs(item)


@cache
def _main_schema() -> dict[str, Any]:
    if not MAIN_SCHEMA.is_file():
        pytest.fail(
            f"Slack's manifest schema is missing: expected {MAIN_SCHEMA} "
            "(the shared/ folder is checked out beside the repository)"
        )
    return json.loads(MAIN_SCHEMA.read_text(encoding="utf-8"))


@cache
def _registry() -> Registry[Any]:
    """Every remote $ref of the top-level schema, served from the local file of the same name."""
    resources = []
    for uri in sorted(set(_remote_refs(_main_schema()))):
        local = SCHEMA_DIR / "schemas" / uri.rsplit("/", 1)[-1]
        assert local.is_file(), f"{uri} has no local copy at {local}"
        resources.append((uri, DRAFT7.create_resource(json.loads(local.read_text(encoding="utf-8")))))
    return Registry(retrieve=_refuse).with_resources(resources)


@cache
def _validator() -> Draft7Validator:
    schema = _main_schema()
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema, registry=_registry())


def dispatched_schema(data: Any) -> str | None:
    """The versioned schema URI the top-level oneOf sends this manifest to (by its _metadata), or None."""
    chosen = []
    for branch in _main_schema()["oneOf"]:
        selector, target = branch["allOf"]
        if Draft7Validator(selector).is_valid(data):
            chosen.append(target["$ref"])
    assert len(chosen) <= 1, f"the version selectors overlap: {chosen}"
    return chosen[0] if chosen else None


def _where(error: ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "(top level)"


def _describe(error: ValidationError) -> str:
    message = error.message
    if error.context:  # a nested anyOf/oneOf: say which alternative came closest and why it failed
        closest = best_match(error.context)
        message = f"{message[:200]} (closest: {_where(closest)}: {closest.message})"
    return f"{_where(error)}: {message}"


def validate_manifest(data: dict[str, Any]) -> list[str]:
    """Slack's schema errors for a manifest, as 'path: message' lines; [] when it is valid.

    The top-level schema reports a bad manifest as one opaque "not valid under any of the given schemas";
    this unpacks it into the errors of the branch whose version selector matched.
    """
    problems = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        if list(error.schema_path) != ["oneOf"]:
            problems.append(_describe(error))
            continue
        branches: dict[int, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        selected = [
            errors
            for errors in branches.values()
            if not any(list(sub.schema_path)[1:3] == ["allOf", 0] for sub in errors)
        ]
        if len(selected) == 1:
            problems.extend(_describe(sub) for sub in selected[0])
        else:
            version = data.get("_metadata", {}).get("major_version") if isinstance(data, dict) else None
            problems.append(f"_metadata/major_version: no Slack manifest schema for major_version {version!r}")
    return problems


# --- helpers --------------------------------------------------------------------------------------


def non_string_keys(node: Any, path: str = "") -> list[str]:
    """YAML 1.1 reads keys like `on`, `yes` or `1` as booleans or numbers; a manifest has only string keys."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}" if path else str(key)
            if not isinstance(key, str):
                found.append(f"{here}: key {key!r} is a {type(key).__name__}, not a string")
            found.extend(non_string_keys(value, here))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            found.extend(non_string_keys(item, f"{path}/{index}"))
    return found


def load_app_manifest() -> dict[str, Any]:
    if not MANIFEST.is_file():
        pytest.fail(f"{MANIFEST} does not exist: the Slack app manifest must be kept in the repository root")
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{MANIFEST.name} must be a YAML mapping, got {type(data).__name__}"
    return data


def slack_example(name: str) -> dict[str, Any]:
    return json.loads((SLACK_EXAMPLES / name).read_text(encoding="utf-8"))


# --- app.yaml -----------------------------------------------------------------------------------------


def test_app_manifest_is_valid_by_slacks_schema() -> None:
    manifest = load_app_manifest()
    problems = non_string_keys(manifest) + validate_manifest(manifest)
    assert not problems, f"{MANIFEST.name} breaks Slack's manifest schema:\n" + "\n".join(
        f"  - {problem}" for problem in problems
    )


def test_app_manifest_is_checked_against_the_classic_1_0_0_schema() -> None:
    manifest = load_app_manifest()
    assert manifest.get("_metadata", {}).get("major_version") == 1, "app.yaml is a classic (v1) manifest"
    uri = dispatched_schema(manifest)
    assert uri is not None and uri.endswith("/" + CLASSIC_SCHEMA_NAME), uri
    # Straight against the 1.0.0 schema too, not only through the top-level oneOf.
    classic = Draft7Validator(_registry().contents(uri), registry=_registry())
    errors = [_describe(error) for error in classic.iter_errors(manifest)]
    assert not errors, "\n".join(errors)


def test_app_manifest_background_colour_is_a_hex_colour() -> None:
    # The 1.0.0 schema states this rule as `regex`, a word JSON Schema does not know (it means `pattern`),
    # so no validator applies it; Slack does. Apply Slack's own expression here.
    manifest = load_app_manifest()
    uri = dispatched_schema(manifest)
    assert uri is not None
    display = _registry().contents(uri)["definitions"]["app-manifests.v1.display_information.schema"]
    regex = display["properties"]["background_color"]["regex"]
    colour = manifest.get("display_information", {}).get("background_color")
    if colour is not None:
        assert isinstance(colour, str) and re.search(regex, colour), (
            f"display_information/background_color {colour!r} does not match {regex!r}"
        )


# --- the validator itself -------------------------------------------------------------------------------


def test_slacks_own_valid_example_passes() -> None:
    assert validate_manifest(slack_example("manifest.valid.json")) == []


def test_slacks_own_invalid_example_fails_with_the_reason() -> None:
    problems = validate_manifest(slack_example("manifest.invalid.json"))
    assert problems == ["settings: Additional properties are not allowed ('bad_param' was unexpected)"]
    assert not _validator().is_valid(slack_example("manifest.invalid.json"))


def test_the_major_version_picks_the_schema() -> None:
    valid = slack_example("manifest.valid.json")
    without_metadata = {key: value for key, value in valid.items() if key != "_metadata"}
    picked = {
        "1": dispatched_schema(valid),
        "2": dispatched_schema({**valid, "_metadata": {"major_version": 2}}),
        "none": dispatched_schema({**valid, "_metadata": {}}),
        "no _metadata": dispatched_schema(without_metadata),
    }
    assert {case: (uri or "").rsplit("/", 1)[-1] for case, uri in picked.items()} == {
        "1": CLASSIC_SCHEMA_NAME,
        "2": "manifest.schema.2.0.0.json",
        "none": CLASSIC_SCHEMA_NAME,
        "no _metadata": CLASSIC_SCHEMA_NAME,
    }
    assert validate_manifest({**valid, "_metadata": {"major_version": 3}}) == [
        "_metadata/major_version: no Slack manifest schema for major_version 3"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda m: m["display_information"].update(name=""), "display_information/name"),
        (
            lambda m: m["features"]["slash_commands"][0].update(command="sample"),
            "features/slash_commands/0/command",
        ),
        (lambda m: m["features"]["bot_user"].update(always_online="yes"), "features/bot_user/always_online"),
        (lambda m: m.update(unknown_section={}), "(top level)"),
    ],
    ids=["empty-name", "command-without-slash", "string-for-boolean", "unknown-section"],
)
def test_rule_breaks_are_reported_where_they_are(change: Any, expected: str) -> None:
    manifest = slack_example("manifest.valid.json")
    change(manifest)
    problems = validate_manifest(manifest)
    assert problems, "the change should have made the manifest invalid"
    assert all(problem.startswith(f"{expected}: ") for problem in problems), problems


def test_no_reference_is_fetched_from_the_network() -> None:
    with pytest.raises(NoSuchResource):
        _registry().get_or_retrieve("https://example.invalid/schema.json")
    stray = Draft7Validator({"$ref": "https://example.invalid/schema.json"}, registry=_registry())
    with pytest.raises(Unresolvable):
        stray.is_valid({})
