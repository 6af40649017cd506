"""Hypothesis properties of the link: noise never changes the pump, tampering and replay never pass,
and a retried command is never applied twice."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.errors import ItddError
from itdd.telemetry import CLINICIAN, COMMANDS, PATIENT
from itdd.telemetry.client import CONFIRMED, UNCERTAIN
from tests.telemetry.util import CLIN_ID, PTM_ID, command_frame, count, make_system, pump_state

PROGRAMS = st.floats(min_value=0.1, max_value=5.0, allow_nan=False).map(
    lambda d: {"therapy": {"mode": "simple_continuous", "dose_mg_per_day": round(d, 3)}}
)


def valid_frames(sys: Any) -> list[bytes]:
    """A few valid frames of different kinds, none yet received by the pump."""
    ck, pk = sys.keys.device_key(CLINICIAN, CLIN_ID), sys.keys.device_key(PATIENT, PTM_ID)
    return [
        command_frame(ck, "program", {"therapy": {"mode": "simple_continuous", "dose_mg_per_day": 3.0}}, counter=1),
        command_frame(ck, "refill", {"fill_ml": 15.0, "withdraw_ml": None}, counter=2),
        command_frame(ck, "clinician_bolus", {"dose_mg": 0.2, "duration_s": 1800}, counter=3),
        command_frame(pk, "ptm_bolus", counter=1, role=PATIENT, device_id=PTM_ID),
    ]


@settings(max_examples=300)
@given(st.lists(st.binary(min_size=0, max_size=400), min_size=1, max_size=5))
def test_random_bytes_never_change_pump_state(blobs: list[bytes]) -> None:
    sys = make_system()
    before = pump_state(sys.implant)
    for b in blobs:
        assert sys.endpoint.receive(b) is None
    assert pump_state(sys.implant) == before


@settings(max_examples=200)
@given(st.data())
def test_random_bytes_behind_a_valid_looking_header_never_change_pump_state(data: st.DataObject) -> None:
    """Noise that starts like a real frame (magic, version, type, this serial) goes further into the parser."""
    sys = make_system()
    real = valid_frames(sys)[data.draw(st.integers(0, 3))]
    keep = data.draw(st.integers(0, len(real)))
    tail = data.draw(st.binary(max_size=300))
    before = pump_state(sys.implant)
    assert sys.endpoint.receive(real[:keep] + tail if keep < len(real) or tail else real + b"\0") is None
    assert pump_state(sys.implant) == before


@settings(max_examples=300)
@given(st.data())
def test_any_bit_flip_in_a_frame_is_rejected(data: st.DataObject) -> None:
    sys = make_system()
    frame = bytearray(valid_frames(sys)[data.draw(st.integers(0, 3))])
    fix_crc = data.draw(st.booleans())  # a deliberate attacker changes the content and recomputes the CRC
    n_bits = (len(frame) - 4 if fix_crc else len(frame)) * 8
    bits = data.draw(st.sets(st.integers(0, n_bits - 1), min_size=1, max_size=8))
    for bit in bits:
        frame[bit // 8] ^= 1 << (bit % 8)
    if fix_crc:
        import zlib

        frame[-4:] = zlib.crc32(bytes(frame[:-4])).to_bytes(4, "big")
    before = pump_state(sys.implant)
    assert sys.endpoint.receive(bytes(frame)) is None
    assert pump_state(sys.implant) == before


@settings(max_examples=100)
@given(st.data())
def test_a_replayed_frame_is_always_rejected(data: st.DataObject) -> None:
    sys = make_system()
    frames = valid_frames(sys)
    order = data.draw(st.permutations(range(4)))
    accepted: list[bytes] = []
    for i in order:
        if sys.endpoint.receive(frames[i]) is not None:
            accepted.append(frames[i])
    replays = data.draw(st.lists(st.sampled_from(frames), min_size=1, max_size=6))
    before = pump_state(sys.implant)
    for f in replays:
        assert sys.endpoint.receive(f) is None
    assert pump_state(sys.implant) == before


@settings(max_examples=100)
@given(
    requests=st.lists(
        st.tuples(st.lists(st.booleans(), max_size=5), st.integers(0, 6)),
        min_size=1,
        max_size=6,
    )
)
def test_a_retried_bolus_request_is_never_applied_twice(requests: list[tuple[list[bool], int]]) -> None:
    """Per request: some command frames lost, then the answer lost ``k`` times (k may exceed the attempts)."""
    sys = make_system(max_attempts=4)
    imp = sys.implant
    outcomes = []
    for command_lost, k in requests:
        sys.radio.script(commands=["lose" if x else "deliver" for x in command_lost], responses=["lose"] * k)
        outcomes.append(sys.patient.send("ptm_bolus"))
        imp.run_until(imp.t_s + 2 * 3600.0)  # past the 1 h lockout
        sys.radio.clear_script()
    sys.radio.clear_script()  # a quiet link for the reconciliation
    decided = count(imp, "ptm_bolus_granted") + count(imp, "ptm_bolus_denied")
    assert decided <= len(requests)  # at most one decision per request, however often it was sent
    for out in outcomes:
        applied = [
            e for e in imp.log.history if e.type == "command_applied" and e.details["command_id"] == out.command_id
        ]
        assert len(applied) <= 1
        if out.status == CONFIRMED:
            assert len(applied) == 1 and applied[0].details["granted"] == out.result["granted"]  # type: ignore[index]
        else:
            assert out.status == UNCERTAIN
            rec = sys.patient.reconcile(out.command_id)
            assert rec.applied is (len(applied) == 1)
    assert decided == sum(1 for e in imp.log.history if e.type == "command_applied")


@settings(max_examples=60)
@given(programs=st.lists(PROGRAMS, min_size=1, max_size=5), seed=st.integers(0, 10_000))
def test_retried_programming_over_a_lossy_link_is_applied_once_per_command(programs: list[Any], seed: int) -> None:
    sys = make_system(seed=seed, command_loss=0.3, response_loss=0.4, corruption=0.1, max_attempts=3)
    imp = sys.implant
    applied_ids = set()
    for args in programs:
        out = sys.clinician.send("program", args)
        if out.status == UNCERTAIN:
            rec = sys.clinician.reconcile(out.command_id)
            while rec.status == "unreachable":
                rec = sys.clinician.reconcile(out.command_id)
            if rec.applied:
                applied_ids.add(out.command_id)
        elif out.status == CONFIRMED:
            applied_ids.add(out.command_id)  # (a dose below the pump's minimum rate is refused)
    assert count(imp, "therapy_programmed") == len(applied_ids)
    entries = [e.details["command_id"] for e in imp.log.history if e.type == "command_applied"]
    assert sorted(entries) == sorted(applied_ids)


ARG_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
ARG_KEYS = st.sampled_from(
    [
        "therapy", "mode", "dose_mg_per_day", "steps", "boluses", "basal_mg_per_day", "dose_mg", "duration_s",
        "fill_ml", "withdraw_ml", "drug", "conc_mg_per_ml", "reservoir_ml", "bridge_bolus", "volume_ml",
        "rate_ml_per_day", "ptm", "lockout_s", "max_per_day", "low_reservoir_ml", "pump_time_s", "since_seq",
    ]
)  # fmt: skip


@settings(max_examples=300)
@given(
    command=st.sampled_from(sorted(COMMANDS)),
    args=st.dictionaries(ARG_KEYS, ARG_VALUES, max_size=4),
)
def test_authenticated_garbage_arguments_are_answered_and_a_refusal_changes_nothing(
    command: str, args: dict[str, Any]
) -> None:
    sys = make_system()
    before = pump_state(sys.implant)
    out = sys.clinician.send(command, args)
    assert out.status in (CONFIRMED, "refused")  # always an answer, never a crash
    if out.status == "refused":
        assert out.error is not None and out.error["field"]
        assert pump_state(sys.implant) == before
        try:
            out.raise_error()
        except ItddError as exc:
            assert exc.field == out.error["field"]


NUM = st.one_of(
    st.floats(-50, 500, allow_nan=False),
    st.sampled_from([0.0, -1.0, 1e-9, 0.048, 24.0, 1e300]),
    st.text(max_size=3),
    st.none(),
)
THERAPY = st.one_of(
    st.fixed_dictionaries({"mode": st.just("simple_continuous"), "dose_mg_per_day": NUM}),
    st.fixed_dictionaries(
        {"mode": st.just("flex"), "steps": st.lists(st.tuples(st.integers(-100, 100_000), NUM), max_size=4)}
    ),
    st.fixed_dictionaries(
        {
            "mode": st.just("periodic_bolus"),
            "basal_mg_per_day": NUM,
            "boluses": st.lists(st.tuples(st.integers(-100, 100_000), NUM, NUM), max_size=3),
        }
    ),
    st.fixed_dictionaries({"mode": st.sampled_from(["stopped", "warp"])}),
)
PTM_ARGS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"dose_mg": NUM, "duration_s": NUM, "lockout_s": NUM, "max_per_day": st.integers(-2, 20) | NUM}
    ),
)
NEAR_VALID = {
    "program": st.fixed_dictionaries(
        {"therapy": THERAPY}, optional={"low_reservoir_ml": NUM, "ptm": PTM_ARGS, "details": st.just({"note": "x"})}
    ),
    "refill": st.fixed_dictionaries(
        {"fill_ml": NUM},
        optional={
            "withdraw_ml": NUM,
            "conc_mg_per_ml": NUM,
            "drug": st.sampled_from(["morphine", "baclofen", ""]),
            "reservoir_ml": NUM,
            "bridge_bolus": st.booleans(),
        },
    ),
    "clinician_bolus": st.fixed_dictionaries({"dose_mg": NUM, "duration_s": NUM}),
    "priming_bolus": st.fixed_dictionaries({}, optional={"volume_ml": NUM, "rate_ml_per_day": NUM}),
    "set_ptm": st.fixed_dictionaries({"ptm": PTM_ARGS}),
    "set_low_reservoir_alarm": st.fixed_dictionaries({"low_reservoir_ml": NUM}),
    "set_clock": st.fixed_dictionaries({"pump_time_s": NUM}),
    "interrogate": st.fixed_dictionaries({}, optional={"since_seq": NUM}),
}


@settings(max_examples=400)
@given(data=st.data(), command=st.sampled_from(sorted(NEAR_VALID)))
def test_near_valid_arguments_either_apply_or_change_nothing(data: st.DataObject, command: str) -> None:
    args = data.draw(NEAR_VALID[command])
    sys = make_system()
    before = pump_state(sys.implant)
    out = sys.clinician.send(command, args)
    assert out.status in (CONFIRMED, "refused")
    if out.status == "refused":
        assert pump_state(sys.implant) == before
        assert count(sys.implant, "command_applied") == 0
    else:
        assert count(sys.implant, "command_applied") == 1
