"""The hot loop (``itdd.pump.stepper.run_until``) is the reference loop written inline: over
random command sequences both give the same implant, bit for bit (record, log, state)."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from itdd.errors import SafetyRefusal
from itdd.pump import persist
from itdd.pump.delivered import cumulative
from itdd.pump.firmware import PtmSettings
from itdd.pump.implant import Implant
from itdd.pump.models import get_model
from itdd.pump.therapy import PeriodicBolus, Therapy

T0 = 1_767_600_000.0
DAY = 86400.0


def _therapy(r: random.Random, conc: float) -> Therapy:
    def dose() -> float:
        return r.uniform(0.05 * conc, 4.0 * conc)

    k = r.random()
    if k < 0.3:
        return Therapy.simple(dose())
    if k < 0.8:
        starts = r.sample(range(0, 86400, r.choice([1, 60, 900])), r.randint(2, 12))
        return Therapy.flex([(s, dose()) for s in starts])
    basal = dose()
    ats = sorted(r.sample(range(0, 86400, 4 * 3600), r.randint(1, 3)))
    return Therapy.periodic(
        [PeriodicBolus(a, r.uniform(0.1, 1.0) * conc, r.choice([600.0, 1800.0, 3600.0])) for a in ats], basal
    )


def _state(imp: Implant) -> tuple[object, ...]:
    rec = imp.record
    columns = tuple(tuple(getattr(rec, c)) for c in Record_columns)
    log = tuple((e.seq, e.time_s, e.type, tuple(sorted(e.details.items()))) for e in imp.log.history)
    return columns, log, repr(persist.dump(imp))


Record_columns = (
    "t0",
    "t1",
    "pumped_ml",
    "csf_ml",
    "csf_mg",
    "tissue_mg",
    "programmed_mg",
    "reservoir_ml",
    "estimate_ml",
    "commanded_ml",
    "drug",
    "state",
)


def _run(seed: int, run_until: Callable[[Implant, float], None]) -> tuple[object, ...]:
    r = random.Random(seed)
    m = get_model(r.choice(["synchromed-ii-20", "synchromed-ii-40"]))
    conc = r.choice([1.0, 10.0, 25.0])
    ptm = (
        None
        if r.random() < 0.2
        else PtmSettings(
            r.uniform(0.01, 0.5),
            float(r.randint(60, 3600)),
            float(r.randint(0, 6 * 3600)),
            r.randint(1, 10),
            None if r.random() < 0.3 else r.uniform(0.5, 30.0),
        )
    )
    imp = Implant(
        m,
        t_s=T0,
        offset_s=r.choice([0, 3600, -18000]),
        drug="morphine",
        conc_mg_per_ml=conc,
        fill_ml=r.uniform(0.05, 1.0) * m.reservoir_capacity_ml,
        low_reservoir_ml=r.uniform(1.0, 5.0),
        therapy=_therapy(r, conc),
        ptm=ptm,
        battery_to_eri=r.choice([1.0, 0.002, 0.0005]),
        primed=r.random() < 0.8,
        flow_accuracy=r.choice([1.0, 0.9, 1.1]),
        clock_drift_ppm=r.choice([0.0, 0.0, 30.0, -50.0]),
        clock_offset_s=r.choice([0.0, 120.0]),
    )
    outcomes: list[object] = []
    for _ in range(r.randint(20, 120)):
        k = r.random()
        try:
            if k < 0.35:
                run_until(imp, imp.t_s + r.choice([r.uniform(1, 3600), r.uniform(3600, 3 * DAY), r.uniform(0, 1e-3)]))
            elif k < 0.5:
                outcomes.append(imp.ptm_request().reason)
            elif k < 0.55:
                imp.clinician_bolus(r.uniform(0.001, 0.5) * imp.fw.conc_mg_per_ml, r.randint(5, 240) * 60.0)
            elif k < 0.6:
                imp.program(_therapy(r, imp.fw.conc_mg_per_ml))
            elif k < 0.63:
                imp.stop()
            elif k < 0.66:
                imp.resume()
            elif k < 0.71:
                imp.refill(
                    withdraw_ml=None,
                    fill_ml=r.uniform(1, m.reservoir_capacity_ml),
                    drug="morphine",
                    conc_mg_per_ml=r.choice([1.0, 10.0, 25.0]),
                )
            elif k < 0.74:
                imp.magnetic_field_on()
            elif k < 0.77:
                imp.magnetic_field_off(r.choice([0.0, 600.0]))
            elif k < 0.79:
                imp.catheter_fault(r.choice(["occlusion", "leak", "disconnection", "migration"]), 0.3)
            elif k < 0.81:
                imp.catheter_revision(primed=r.random() < 0.5)
            elif k < 0.83:
                imp.priming_bolus()
            elif k < 0.86:
                imp.interrogate()
            elif k < 0.88:
                imp.fw.set_low_reservoir_alarm(imp.t_s, r.uniform(0.5, 8.0))
            elif k < 0.90:
                imp.catheter_access_port_injection(r.uniform(0.1, 1.0), "morphine", conc)
            else:
                run_until(imp, imp.t_s + r.uniform(DAY, 20 * DAY))
        except SafetyRefusal as e:
            outcomes.append(str(e))
        _check_running_count(imp)
    return (*_state(imp), tuple(outcomes))


def _check_running_count(imp: Implant) -> None:
    """The history's integer running count (what the predictive maximum's shortcut reads) is the
    count of the history itself, whichever loop and command wrote it (itdd.pump.delivered)."""
    fw = imp.fw
    cums = fw._cums
    if fw._cums_of is fw.history and len(cums) == len(fw.history) + 1:  # (else rebuilt on use)
        assert [c - cums[0] for c in cums] == list(cumulative(fw.history))


@pytest.mark.parametrize("block", range(4))
def test_the_hot_loop_is_the_reference_loop_bit_for_bit(block: int) -> None:
    for seed in range(block * 100, block * 100 + 100):
        try:
            fast = _run(seed, Implant.run_until)
        except SafetyRefusal:  # an unprogrammable random start: the same for both
            continue
        assert fast == _run(seed, Implant.run_until_stepwise), f"seed {seed}"


def test_a_copied_record_appends_to_its_own_columns() -> None:
    """The hot loop appends through ``Record.appenders``; a copy must not write into the original."""
    import copy
    import pickle

    from itdd.pump.record import Record

    rec = Record()
    rec.append(0.0, 1.0, 0.1, 0.1, 2.5, 0.0, 2.5, 40.0, 40.0, 0.1, "morphine", "infusing")
    for other in (copy.deepcopy(rec), pickle.loads(pickle.dumps(rec))):
        other.appenders[0](2.0)
        assert other.t0 == [0.0, 2.0]
        assert rec.t0 == [0.0]


def _flex_ptm_implant(fill_ml: float, battery: float, low_ml: float) -> Implant:
    return Implant(
        get_model("synchromed-ii-20"),
        t_s=T0,
        offset_s=3600,
        drug="morphine",
        conc_mg_per_ml=1.0,
        fill_ml=fill_ml,
        low_reservoir_ml=low_ml,
        therapy=Therapy.flex([(0, 1.0), (6 * 3600, 2.0), (9 * 3600, 2.0), (13 * 3600, 1.5), (22 * 3600, 1.0)]),
        ptm=PtmSettings(0.25, 600.0, 3 * 3600.0, 4, 8.0),
        battery_to_eri=battery,
    )


@pytest.mark.parametrize(("fill_ml", "battery", "low_ml"), [(6.0, 1.0, 2.0), (20.0, 0.0004, 2.0), (3.0, 1.0, 3.5)])
def test_the_plain_regime_reaches_every_threshold_as_the_reference_loop(
    fill_ml: float, battery: float, low_ml: float
) -> None:
    """The hot loop's plain regime (a day cycle with patient boluses) watches the reservoir, the
    estimate's alarm levels and the battery only past its safe horizon: run a flex pump with four
    patient boluses a day through the low-reservoir alarm, depletion and ERI (and, in the last
    case, starting below the low level), in steps of every size, and compare with the reference."""

    def run(run_until: Callable[[Implant, float], None]) -> tuple[object, ...]:
        imp = _flex_ptm_implant(fill_ml, battery, low_ml)
        r = random.Random(7)
        outcomes: list[object] = []
        t = T0
        while t < T0 + 12 * DAY:
            t += r.choice([6 * 3600.0, 7 * 3600.0, 600.0, 1e-4, 2 * DAY])
            run_until(imp, t)
            outcomes.append(imp.ptm_request().reason)
        return (*_state(imp), tuple(outcomes))

    assert run(Implant.run_until) == run(Implant.run_until_stepwise)


def test_the_predictive_maximum_adds_each_entry_in_time_order() -> None:
    """``Firmware.delivered_mg_between`` (bisection, then each whole entry's amount) gives the
    same float, to the last bit, as adding every entry's part inside [a, b] in time order."""
    from itdd.pump.therapy import DAY_S

    r = random.Random(11)
    imp = _flex_ptm_implant(20.0, 1.0, 2.0)
    fw = imp.fw
    t = T0
    for _ in range(40):  # a history of steps and patient boluses
        t += r.uniform(600.0, 8 * 3600.0)
        imp.run_until(t)
        imp.ptm_request()
    for _ in range(500):
        a = r.uniform(T0 - DAY, t + 3600.0)
        b = a + r.choice([r.uniform(0.0, DAY), DAY, 2 * DAY])
        want = 0.0
        for t0, t1, mg in fw.history:
            lo, hi = max(t0, a), min(t1, b)
            if hi > lo:
                want += mg * (hi - lo) / DAY_S
        assert fw.delivered_mg_between(a, b) == want, (a, b)
