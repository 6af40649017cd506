"""A paired trial follows each patient in every arm in one process and builds the patient's
pharmacokinetic chains once (``patient.pk.shared_chains``): the same outcomes as building them
afresh in each arm, to the last bit."""

from __future__ import annotations

from dataclasses import replace

from itdd.care.cohort import patient_seed
from itdd.care.pathway import run_pathway
from itdd.care.plan import PathwayPlan
from itdd.patient import PatientParams, pk
from itdd.patient.pk import PatientPK, build_it_chain, build_oral_chain, shared_chains
from itdd.patient.population import DEFAULT_POPULATION
from itdd.trial.runner import _jobs, _run_chunk

PT = PatientPK(weight_kg=70.0, csf_lumbosacral_ml=50.0, ed50_mg_per_day=1.0, ed50_baclofen_mg_per_day=0.3)


def test_chains_are_shared_only_inside_the_block() -> None:
    assert build_it_chain("morphine", PT) is not build_it_chain("morphine", PT)
    with shared_chains():
        a, o = build_it_chain("morphine", PT), build_oral_chain(PT)
        assert build_it_chain("morphine", PT) is a and build_oral_chain(PT) is o
        assert build_it_chain("morphine", replace(PT, weight_kg=71.0)) is not a  # another patient
        assert build_it_chain("baclofen", PT) is not a  # another drug
    assert pk._memo() is None
    assert build_it_chain("morphine", PT) is not a


def test_each_thread_has_its_own_shared_chains() -> None:
    # Two threads entering and leaving their blocks interleaved (a Dask worker with threads):
    # A enters, B enters, A leaves, B leaves. With one module-wide memo B would restore A's dict
    # on leaving and chains would stay shared after both blocks; per thread nothing outlives them.
    import threading

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    def a() -> None:
        with shared_chains():
            a_in.set()
            b_in.wait()
        a_out.set()

    def b() -> None:
        a_in.wait()
        with shared_chains():
            b_in.set()
            a_out.wait()

    ta, tb = threading.Thread(target=a), threading.Thread(target=b)
    ta.start(), tb.start()
    ta.join(), tb.join()
    assert pk._memo() is None
    assert build_it_chain("morphine", PT) is not build_it_chain("morphine", PT)


def test_a_paired_chunk_gives_the_outcomes_of_separate_runs() -> None:
    plans = (PathwayPlan(years=1.0), PathwayPlan(years=1.0, drug_changes=False))
    seed, indices = 5, [0, 1, 2]
    (job,) = _jobs(seed, plans, [indices, indices], DEFAULT_POPULATION, 25)
    assert job[1] == (0, 1) and job[2] == indices  # one job: three patients in both arms
    rows = _run_chunk(job)
    expected = []
    for arm, plan in enumerate(plans):
        for i in indices:
            params = PatientParams.sample(seed, i)
            run = run_pathway(params, plan, seed=patient_seed(seed, i), patient_id=f"VP-{seed}-{i:04d}")
            expected.append((arm, i, run.outcome, ""))
    assert sorted(rows, key=lambda r: (r[0], r[1])) == expected
