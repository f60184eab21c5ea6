"""The operator's guide tells the truth: every command it names exists (its `--help` runs), every setting
it names is in the settings model, the configuration reference is what the model generates, and the
container files only use what the project has."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings, reference

ROOT = Path(__file__).parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documented_commands() -> list[tuple[str, ...]]:
    """Every `clinic-bot <command> [<subcommand>]` written in the docs."""
    found: set[tuple[str, ...]] = set()
    for doc in DOCS:
        for match in re.finditer(r"clinic-bot((?: [a-z][a-z-]*){1,2})", doc.read_text(encoding="utf-8")):
            words = tuple(match.group(1).split())
            found.add(words[:2] if words[:1] == ("db",) else words[:1])
    return sorted(found)


def test_the_docs_name_the_commands_we_ship():
    assert set(documented_commands()) == {
        ("config",),
        ("db", "upgrade"),
        ("demo",),
        ("export",),
        ("forget-workspace",),
        ("purge",),
        ("run",),
        ("scheduler",),
        ("tick",),
    }


@pytest.mark.parametrize("command", documented_commands(), ids=" ".join)
def test_every_documented_command_answers_help(command):
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *command, "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: clinic-bot {' '.join(command)}")


def test_every_setting_named_in_the_docs_exists():
    known = {name.upper() for name in Settings.model_fields}
    named: set[str] = set()
    for doc in DOCS:
        named |= set(re.findall(r"`([A-Z]+(?:_[A-Z]+)+)(?:=[^`]*)?`", doc.read_text(encoding="utf-8")))
    not_settings = {"POSTGRES_PASSWORD"}
    assert named - not_settings <= known, named - known - not_settings


def test_the_configuration_reference_is_generated_from_the_settings_model():
    written = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert written == reference(), "run `clinic-bot config > docs/configuration.md`"
    for name in Settings.model_fields:
        assert f"`{name.upper()}`" in written


def test_the_config_command_prints_the_reference():
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "config"], capture_output=True, text=True, timeout=60, env={"PATH": ""}
    )
    assert done.returncode == 0 and done.stdout == reference()


def test_the_image_copies_only_what_the_project_has():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    sources = [line.split()[1:-1] for line in dockerfile.splitlines() if line.startswith("COPY ")]
    for paths in sources:
        for path in paths:
            assert (ROOT / path).exists(), path
    packages = re.search(r"include = \[([^\]]+)\]", (ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert packages is not None
    for package in re.findall(r'"(\w+)\*"', packages.group(1)):
        assert f"COPY {package} ./{package}" in dockerfile
    assert dockerfile.rstrip().endswith('CMD ["clinic-bot", "run"]')


def test_the_compose_file_runs_migrations_then_the_bot_on_postgresql():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert services["migrate"]["command"] == ["clinic-bot", "db", "upgrade"]
    assert services["bot"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for name in ("migrate", "bot"):
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert services[name]["env_file"] == ".env"
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^#?\s*([A-Z_]+)=", example, re.MULTILINE))
    assert names <= {name.upper() for name in Settings.model_fields}


def test_every_test_the_readme_cites_exists():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", readme)
    assert len(cited) > 15
    for path, name in cited:
        source = (ROOT / path).read_text(encoding="utf-8")
        assert not name or f"def {name}(" in source, f"{path}::{name}"
