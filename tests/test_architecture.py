"""The layers point one way (docs/architecture.md): import-linter's contracts hold, the engine
needs only its protocol, and the moved modules are where the docs say."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from itdd.pump.implant import Implant
from itdd.pump.models import get_model
from itdd.pump.therapy import Therapy
from itdd.sim.engine import Clocked, Simulation

ROOT = Path(__file__).resolve().parent.parent


def test_import_linter_contracts_are_kept() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    cmd = str(exe) if exe.exists() else shutil.which("lint-imports")
    if cmd is None:
        pytest.skip("import-linter is not installed (the dev extra has it)")
    out = subprocess.run([cmd], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


def test_the_engine_runs_anything_clocked() -> None:
    """A stand-in with only ``t_s`` and ``run_until`` is enough for the engine."""

    class Clock:
        def __init__(self) -> None:
            self.t_s = 0.0
            self.visited: list[float] = []

        def run_until(self, t_end_s: float) -> None:
            self.visited.append(t_end_s)
            self.t_s = t_end_s

    clock = Clock()
    sim = Simulation(clock, 0.0, 10.0)
    seen: list[float] = []
    sim.schedule(4.0, lambda s: seen.append(s.now_s))
    sim.run()
    # the engine moves the clock to the action at 4 s, runs it there, then to the end at 10 s
    assert seen == [4.0]
    assert clock.visited == [4.0, 10.0]


def test_the_implant_is_clocked() -> None:
    imp = Implant(
        get_model("synchromed-ii-20"),
        t_s=0.0,
        offset_s=0,
        drug="morphine",
        conc_mg_per_ml=10.0,
        fill_ml=20.0,
        low_reservoir_ml=2.0,
        therapy=Therapy.stopped(),
    )
    clocked: Clocked = imp  # the implant satisfies the engine's protocol (mypy checks the src side)
    sim = Simulation(clocked, 0.0, 3600.0)
    sim.run()
    assert imp.t_s == 3600.0


@pytest.mark.parametrize(
    "module",
    [
        "itdd.pump.record",
        "itdd.scenario",
        "itdd.scenario.model",
        "itdd.scenario.loading",
        "itdd.scenario.dispatch",
        "itdd.scenario.pathway",
        "itdd.sim.result",
        "itdd.trial.cohort",
        "itdd.cli.simulate",
        "itdd.cli.programmer",
        "itdd.cli.ptm",
        "itdd.cli.cohort",
        "itdd.cli.trial",
        "itdd.cli.report",
        "itdd.cli.demo",
    ],
)
def test_moved_modules_import(module: str) -> None:
    importlib.import_module(module)


def test_python_m_itdd_cli_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "itdd.cli", "--version"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("itdd ")
