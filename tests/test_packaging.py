"""Fast checks of the packaging rules (the slow, installed-wheel checks are in test_install.py)."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from itdd import bundled
from itdd import cli as itdd_cli

ROOT = Path(__file__).resolve().parents[1]


def test_build_backend_accepts_the_spdx_licence_string() -> None:
    # `license = "Apache-2.0"` (PEP 639) is accepted from setuptools 77 on; older ones refuse to build.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "Apache-2.0"
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_clinic_dependencies_are_an_extra_not_core() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for web in ("fastapi", "uvicorn", "sqlalchemy", "alembic", "multipart", "argon2", "psycopg"):
        assert web not in core
    extras = project["optional-dependencies"]
    assert any(d.startswith("psycopg") for d in extras["postgres"])
    assert any(d.startswith("itdd[clinic,postgres]") for d in extras["dev"])


def test_make_test_and_ci_install_from_the_constraints_file() -> None:
    pins = [ln for ln in (ROOT / "constraints.txt").read_text().splitlines() if ln and not ln.startswith("#")]
    assert pins and all("==" in ln for ln in pins)
    names = {ln.split("==")[0].lower() for ln in pins}
    assert {"fastapi", "sqlalchemy", "pytest", "hypothesis", "numpy", "psycopg"} <= names and "itdd" not in names
    makefile = (ROOT / "Makefile").read_text()
    assert "-c constraints.txt -e '.[dev]'" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_serve_without_the_clinic_extra_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.import_module

    def import_module(name: str, package: str | None = None) -> ModuleType:
        if name == "itdd.cli.clinic":
            raise ModuleNotFoundError("No module named 'sqlalchemy'", name="sqlalchemy")
        return real(name, package)

    monkeypatch.setattr(itdd_cli.importlib, "import_module", import_module)
    assert itdd_cli.main(["serve", "--port", "8000", "--database-url", "sqlite:///x"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.count("\n") == 1
    assert "'itdd serve' needs the clinic extra (sqlalchemy is not installed): pip install 'itdd[clinic]'" in out.err


def test_a_missing_postgres_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fails(_: object) -> int:
        raise ModuleNotFoundError("No module named 'psycopg'", name="psycopg")

    parser = itdd_cli.build_parser()
    monkeypatch.setattr(itdd_cli, "build_parser", lambda: parser)
    parser.set_defaults(func=fails)
    assert itdd_cli.main([]) == 2
    assert "pip install 'itdd[postgres]'" in capsys.readouterr().err


def test_scenario_names_resolve_to_bundled_examples_only_when_no_such_file_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bundled_path = str(bundled.EXAMPLES_DIR / "morphine-90-days.yaml")
    for text in ("morphine-90-days", "morphine-90-days.yaml", "examples/morphine-90-days.yaml"):
        assert bundled.resolve_scenario(text) == bundled_path
    # Anything else is left for the loader to report: other folders, unknown names, path tricks.
    for text in ("other/morphine-90-days.yaml", "nope.yaml", "../examples/morphine-90-days.yaml", ".hidden"):
        assert bundled.resolve_scenario(text) == text
    # An existing file always wins over a bundled example of the same name.
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "morphine-90-days.yaml").write_text("mine")
    assert bundled.resolve_scenario("examples/morphine-90-days.yaml") == "examples/morphine-90-days.yaml"
    assert [p.name for p in bundled.examples()] == sorted(p.name for p in (ROOT / "examples").glob("*.yaml"))
