"""Issue 8 item 2, programmer side: priming after a catheter revision warns and offers the
catheter-only volume (the whole-path priming bolus is a documented overdose hazard)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from itdd.programmer import tools
from itdd.pump.models import get_model
from tests.programmer.test_cli import pump, run  # noqa: F401 - the fixture is used by name

# A 20 mL pump: internal path 0.25 mL.  Catheter 50 cm x 0.0026 mL/cm = 0.13 mL.  At 10 mg/mL the
# internal path holds 0.25 x 10 = 2.5 mg; at the priming rate 24 mL/day it leaves in
# 0.25 / 24 d = 15 min.


def test_item2_priming_plan_after_revision_warns_and_offers_catheter_only() -> None:
    model = get_model("synchromed-ii-20")
    plain = tools.priming_plan(model, 50.0, 0.0026, 10.0)
    assert plain.warning is None and plain.volume_ml == pytest.approx(0.38)
    after = tools.priming_plan(model, 50.0, 0.0026, 10.0, after_revision=True)
    assert after.volume_ml == pytest.approx(0.38)
    assert after.warning is not None
    assert "2.5 mg" in after.warning and "15 min" in after.warning and "0.130 mL" in after.warning
    assert after.to_dict()["catheter_only_volume_ml"] == pytest.approx(0.13)
    only = tools.priming_plan(model, 50.0, 0.0026, 10.0, after_revision=True, catheter_only=True)
    assert only.warning is None
    assert only.volume_ml == pytest.approx(0.13)
    assert only.duration_s == pytest.approx(0.13 / 24 * 86400)  # 7.8 min


def test_item2_prime_command_warns_after_revision(pump: Path, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    s = str(pump)
    argv = ("programmer", "prime", "--state", s, "--catheter-length", "50 cm", "--after-revision", "--dry-run")
    rc, out, err = run(capsys, *argv)
    assert rc == 0
    assert out.startswith("WARNING:") and "--catheter-only" in out
    assert err.startswith("warning:") and "2.5 mg" in err
    rc, out, err = run(capsys, *argv, "--catheter-only", "--json")
    assert rc == 0 and err == ""
    plan = json.loads(out)
    assert plan["priming_volume_ml"] == pytest.approx(0.13) and plan["warning"] is None
