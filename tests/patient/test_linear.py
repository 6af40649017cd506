"""The exact modal solver against an independent method (matrix exponential of an augmented matrix)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from itdd.patient.linear import ModalModel, ModesTooClose, dot, propagate, propagate1, propagate2


def _random_compartment_matrix(rng: np.random.Generator, n: int) -> np.ndarray:
    """A catenary exchange block plus a cascade: real, negative, (almost surely) distinct modes."""
    vols = rng.uniform(1.0, 50.0, 3)
    q = rng.uniform(0.5, 10.0, 2)
    k = rng.uniform(0.01, 2.0, 3)
    m = np.zeros((n, n))
    m[0, 0] = -(q[0] / vols[0] + k[0])
    m[0, 1] = q[0] / vols[1]
    m[1, 0] = q[0] / vols[0]
    m[1, 1] = -(q[0] / vols[1] + q[1] / vols[1] + k[1])
    m[1, 2] = q[1] / vols[2]
    m[2, 1] = q[1] / vols[1]
    m[2, 2] = -(q[1] / vols[2] + k[2])
    for i in range(3, n):
        m[i, i] = -rng.uniform(1e-4, 5.0)
        src = rng.integers(0, i)
        m[i, src] = rng.uniform(0.01, 3.0)
    return m


def _expm_step(m: np.ndarray, b: np.ndarray, x0: np.ndarray, dt: float) -> np.ndarray:
    """x(dt) for x' = M x + b via the exponential of the augmented matrix [[M, b], [0, 0]]."""
    n = len(x0)
    aug = np.zeros((n + 1, n + 1))
    aug[:n, :n] = m
    aug[:n, n] = b
    e = scipy.linalg.expm(aug * dt)
    return e[:n, :n] @ x0 + e[:n, n]


@settings(max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(4, 11),
    dt=st.floats(1e-4, 500.0),
    r1=st.floats(0.0, 10.0),
    r2=st.floats(0.0, 10.0),
)
def test_one_step_matches_matrix_exponential(seed: int, n: int, dt: float, r1: float, r2: float) -> None:
    rng = np.random.default_rng(seed)
    m = _random_compartment_matrix(rng, n)
    try:
        model = ModalModel([f"x{i}" for i in range(n)], m)
    except ModesTooClose:
        return  # refused on purpose; covered below
    x0 = rng.uniform(0.0, 5.0, n)
    z = model.to_modal(x0)
    q1 = model.forcing("x0")
    q2 = model.forcing("x3")
    z1 = propagate2(z, model.lam, dt, r1, q1, r2, q2)
    b = np.zeros(n)
    b[0] = r1
    b[3] = r2
    expected = _expm_step(m, b, x0, dt)
    got = np.asarray(model.to_physical(z1))
    scale = max(float(np.max(np.abs(expected))), 1.0)
    assert np.max(np.abs(got - expected)) <= 1e-9 * scale


def test_one_input_and_free_decay_are_special_cases() -> None:
    rng = np.random.default_rng(3)
    m = _random_compartment_matrix(rng, 6)
    model = ModalModel([f"x{i}" for i in range(6)], m)
    z = model.to_modal(rng.uniform(0, 1, 6))
    q = model.forcing("x0")
    zero = [0.0] * 6
    assert propagate1(z, model.lam, 2.0, 0.0, q) == pytest.approx(propagate(z, model.lam, 2.0), rel=1e-15)
    assert propagate2(z, model.lam, 2.0, 1.5, q, 0.0, zero) == pytest.approx(
        propagate1(z, model.lam, 2.0, 1.5, q), rel=1e-15
    )


def test_many_small_steps_equal_one_big_step() -> None:
    rng = np.random.default_rng(11)
    m = _random_compartment_matrix(rng, 9)
    model = ModalModel([f"x{i}" for i in range(9)], m)
    q = model.forcing("x0")
    z_big = propagate1([0.0] * 9, model.lam, 1000.0, 2.0, q)
    z = [0.0] * 9
    for _ in range(1000):
        z = propagate1(z, model.lam, 1.0, 2.0, q)
    assert model.to_physical(z) == pytest.approx(model.to_physical(z_big), rel=1e-9, abs=1e-12)


def test_steady_state_is_minus_q_times_rate() -> None:
    """At steady state M x + b r = 0, so x = -M^-1 b r; in modal coordinates z = -q r."""
    rng = np.random.default_rng(5)
    m = _random_compartment_matrix(rng, 7)
    model = ModalModel([f"x{i}" for i in range(7)], m)
    q = model.forcing("x0")
    x = model.to_physical([-qi * 3.0 for qi in q])
    b = np.zeros(7)
    b[0] = 3.0
    assert np.asarray(x) == pytest.approx(np.linalg.solve(m, -b), rel=1e-9)
    # and it does not move
    z = propagate1([-qi * 3.0 for qi in q], model.lam, 1e4, 3.0, q)
    assert model.to_physical(z) == pytest.approx(list(x), rel=1e-9)


def test_rows_and_jumps() -> None:
    m = np.array([[-1.0, 0.0], [1.0, -0.25]])
    model = ModalModel(["a", "b"], m)
    z = model.jump("a")
    assert model.to_physical(z) == pytest.approx([1.0, 0.0], abs=1e-15)
    assert dot(model.row({"a": 2.0, "b": 1.0}), z) == pytest.approx(2.0)
    rows = model.rows({"sum": {"a": 1.0, "b": 1.0}, "b": {"b": 1.0}})
    # hand: b(t) = (e^-0.25t - e^-t) / 0.75 after a unit dose in a
    z1 = propagate(z, model.lam, 2.0)
    b = (np.exp(-0.5) - np.exp(-2.0)) / 0.75
    assert dot(rows["b"], z1) == pytest.approx(b, rel=1e-12)
    assert dot(rows["sum"], z1) == pytest.approx(np.exp(-2.0) + b, rel=1e-12)


def test_refuses_what_it_cannot_solve_exactly() -> None:
    with pytest.raises(ValueError, match="complex"):
        ModalModel(["a", "b"], np.array([[-0.1, 1.0], [-1.0, -0.1]]))
    with pytest.raises(ValueError, match="non-decaying"):
        ModalModel(["a", "b"], np.array([[0.0, 0.0], [1.0, -1.0]]))
    with pytest.raises(ModesTooClose):
        ModalModel(["a", "b"], np.array([[-1.0, 0.0], [1.0, -1.0000001]]))
    with pytest.raises(ValueError, match="shape"):
        ModalModel(["a"], np.eye(2))
