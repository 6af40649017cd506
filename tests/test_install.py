"""Installed as a user installs it: a built wheel, not the source tree, runs every documented command.

Rule (issue 8, item 10; issue 9 "install what you use"): ``pip install .`` into a fresh place (not
editable) gives a package whose ``itdd demo`` and documented commands work from any folder — the
examples and data ship inside the package, the build backend accepts the SPDX licence string — and
the core install (no ``[clinic]``) runs the simulator, cohorts, reports and the programmer, while
``itdd serve`` says in one line how to install the clinic extra.

No network: the wheel is built with the build backend already installed (``--no-build-isolation``)
and installed with ``--no-deps --no-index`` into a folder put first on ``PYTHONPATH``; its
dependencies come from the test environment.  A fresh venv with real dependency resolution is
``make install-check`` (CI runs it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from itdd.cli import EXTRA_OF_MODULE
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# Run before the command: refuse to import any module that only an extra provides, as in a core install.
BLOCK_EXTRAS = """
import importlib.abc, sys
BLOCKED = set({blocked!r})
class _NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _NotInstalled())
"""


def _setuptools_can_build() -> bool:
    if importlib.util.find_spec("setuptools") is None:
        return False
    from importlib.metadata import version

    return int(version("setuptools").split(".")[0]) >= 77


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """(wheel, target folder) of ``pip wheel`` + ``pip install --target`` from a copy of the sources."""
    require(_setuptools_can_build(), "setuptools>=77 in the test environment (the dev extra)")
    work = tmp_path_factory.mktemp("install")
    src = work / "source"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", src / "src", symlinks=True, ignore=ignore)
    shutil.copytree(ROOT / "examples", src / "examples", ignore=ignore)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    dist = work / "dist"
    subprocess.run(
        [*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("itdd-*.whl")
    target = work / "site"
    subprocess.run(
        [*pip, "install", "-q", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    yield wheel, target


def _run(target: Path, cwd: Path, *args: str, core_only: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ITDD_DEBUG")}
    env["PYTHONPATH"] = str(target)  # the installed package first, before the editable source tree
    code = BLOCK_EXTRAS.format(blocked=sorted(EXTRA_OF_MODULE)) if core_only else ""
    code += "import sys\nfrom itdd.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_the_wheel_declares_core_dependencies_extras_and_the_spdx_licence(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as zf:
        meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        names = zf.namelist()
    assert "License-Expression: Apache-2.0" in meta
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    core = {r.split(">")[0].split("[")[0].split(";")[0].strip().lower() for r in requires if "extra ==" not in r}
    # What the simulator, the programmer over telemetry, cohorts, trials and reports import — nothing of the web
    # app: lifelines (Kaplan-Meier), pyarrow (patients.parquet), tqdm (progress), dask (itdd trial --dask).
    assert core == {
        "pyyaml",
        "pydantic",
        "numpy",
        "scipy",
        "matplotlib",
        "jinja2",
        "cryptography",
        "lifelines",
        "pyarrow",
        "tqdm",
        "dask",
    }
    clinic = {r.split(">")[0].split("[")[0].strip().lower() for r in requires if 'extra == "clinic"' in r}
    assert {"fastapi", "uvicorn", "sqlalchemy", "alembic", "python-multipart", "argon2-cffi"} <= clinic
    assert any(r.startswith("psycopg[binary]") and 'extra == "postgres"' in r for r in requires)
    # Data ships inside the package: the drug library, the clinic's templates and migrations, every example.
    assert "itdd/drugs/library.yaml" in names
    assert any(n.startswith("itdd/clinic/templates/") for n in names)
    assert any(n.startswith("itdd/clinic/migrations/versions/") for n in names)
    # every example, the trial protocols in examples/trials/ included
    examples = sorted(p.relative_to(ROOT / "examples").as_posix() for p in (ROOT / "examples").rglob("*.yaml"))
    prefix = "itdd/examples/"
    assert sorted(n[len(prefix) :] for n in names if n.startswith(prefix) and n.endswith(".yaml")) == examples


def test_the_bundled_examples_are_the_repository_examples(installed: tuple[Path, Path]) -> None:
    # One source of truth: src/itdd/examples is a link to examples/, and the wheel carries identical copies.
    assert (ROOT / "src" / "itdd" / "examples").resolve() == (ROOT / "examples").resolve()
    _, target = installed
    here, there = ROOT / "examples", target / "itdd" / "examples"
    shipped = {p.relative_to(there).as_posix(): p.read_bytes() for p in there.rglob("*.yaml")}
    assert shipped == {p.relative_to(here).as_posix(): p.read_bytes() for p in here.rglob("*.yaml")}


def test_documented_commands_run_from_the_installed_core_package_in_any_folder(
    installed: tuple[Path, Path], tmp_path: Path
) -> None:
    _, target = installed
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()

    def ok(*args: str) -> str:
        res = _run(target, cwd, *args, core_only=True)
        assert res.returncode == 0, (args, res.stderr)
        return res.stdout

    assert ok("--version").strip() == "itdd 0.1.0"
    probe = subprocess.run(
        [sys.executable, "-c", "import itdd; print(itdd.__file__)"],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip().startswith(str(target)), "the installed copy, not the source tree, must run"

    demo = ok("demo", "--out", "demo-out")
    assert "Report:" in demo and (cwd / "demo-out" / "report.html").is_file()
    # The README's command, in a folder that has no examples/: the bundled example runs.
    result = json.loads(ok("simulate", "examples/morphine-90-days.yaml", "--json", "--compact"))
    assert result["totals"]["pumped_ml"] > 0
    ok("simulate", "journey-morphine.yaml", "--out", "journey", "--report", "journey.html")
    assert (cwd / "journey.html").is_file()
    ok("report", "journey/result.json", "-o", "again.html")
    assert ok("schema") == (ROOT / "docs" / "scenario.schema.json").read_text()
    cohort = json.loads(ok("cohort", "--patients", "20", "--years", "1", "--seed", "42", "--workers", "1", "--json"))
    assert cohort  # a summary object
    ok(
        "programmer",
        "implant",
        "--state",
        "pump.json",
        "--start",
        "2026-01-05T08:00:00+01:00",
        "--drug",
        "morphine",
        "--concentration",
        "10 mg/mL",
        "--fill",
        "20 mL",
        "--dose",
        "0.5 mg/day",
        "--ptm-dose",
        "0.1 mg",
        "--ptm-lockout",
        "3h",
        "--ptm-max-per-day",
        "4",
        "--clinician",
        "dr-a",
    )
    ok("programmer", "advance", "--state", "pump.json", "--by", "30d")
    assert "Reservoir" in ok("programmer", "interrogate", "--state", "pump.json")
    ok("programmer", "program", "--state", "pump.json", "--dose", "0.6 mg/day", "--clinician", "dr-a")
    ok("programmer", "refill", "--state", "pump.json", "--fill", "20 mL", "--clinician", "dr-a")
    ok("programmer", "titrate", "--state", "pump.json", "--to", "1 mg/day")
    ok("programmer", "drugs", "morphine")
    assert ok("ptm", "bolus", "--state", "pump.json").startswith("GRANTED")


def test_serve_without_the_clinic_extra_says_how_to_install_it(installed: tuple[Path, Path], tmp_path: Path) -> None:
    _, target = installed
    res = _run(target, tmp_path, "serve", "--port", "8765", core_only=True)
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and "pip install 'itdd[clinic]'" in res.stderr
    listed = _run(target, tmp_path, "--help", core_only=True)
    assert "serve" in listed.stdout and "itdd[clinic]" in listed.stdout
