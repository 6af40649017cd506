"""Exact solution of linear compartment models between events.

A model is ``x' = M x + B r`` with ``r`` constant between two events.  ``M`` is decomposed once
(``M = V diag(lam) V^-1``) and the state is *kept in modal coordinates* ``z = V^-1 x``.  Each mode
then evolves on its own, exactly::

    z_i(t + dt) = z_i(t) + expm1(lam_i dt) * (z_i(t) + r * q_i),     q_i = (V^-1 b)_i / lam_i

so one interval costs one ``expm1`` and a few flops per mode, in plain Python (for models of about
ten states this beats numpy, whose per-call overhead dominates).  A point dose is an instantaneous
jump ``z += amount * (V^-1 e_j)``.  Physical quantities are read back as dot products with
precomputed rows ``c^T V``.  Nothing here ever takes a time step.

The compartment models in :mod:`itdd.patient.pk` are built so that every eigenvalue is real,
negative and distinct (mammillary/catenary exchange blocks are symmetrisable; the rest is a
cascade); :class:`ModalModel` checks it and refuses otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import expm1
from operator import mul

import numpy as np

# Two eigenvalues closer than this (relative) would make the eigenvectors ill-conditioned.
MIN_RELATIVE_GAP = 1e-3
# The decomposition must reproduce the matrix to this relative accuracy.
MAX_RECONSTRUCTION_ERROR = 1e-9


class ModesTooClose(ValueError):
    """Two eigenvalues nearly coincide; the caller nudges a rate and retries."""

    def __init__(self, lam_a: float, lam_b: float) -> None:
        super().__init__(f"eigenvalues {lam_a:.6g} and {lam_b:.6g} nearly coincide")
        self.pair = (lam_a, lam_b)


class ModalModel:
    """The eigen-decomposition of one linear model, with helpers to build rows and jumps."""

    __slots__ = ("V", "W", "lam", "matrix", "n", "names")

    def __init__(self, names: Sequence[str], matrix: np.ndarray) -> None:
        m = np.asarray(matrix, dtype=float)
        n = len(names)
        if m.shape != (n, n):
            raise ValueError(f"matrix shape {m.shape} does not match {n} state names")
        lam_c, v_c = np.linalg.eig(m)
        scale = float(np.max(np.abs(lam_c))) or 1.0
        if float(np.max(np.abs(lam_c.imag))) > 1e-12 * scale:
            raise ValueError("the model has oscillating (complex) modes; it is not a compartment model")
        lam = lam_c.real
        if float(np.max(lam)) >= 0.0:
            raise ValueError("the model has a non-decaying mode; every state must be cleared")
        order = np.argsort(lam)
        lam = lam[order]
        v = v_c.real[:, order]
        gaps = np.abs(np.diff(lam)) / np.maximum(np.abs(lam[:-1]), np.abs(lam[1:]))
        if gaps.size and float(np.min(gaps)) < MIN_RELATIVE_GAP:
            k = int(np.argmin(gaps))
            raise ModesTooClose(float(lam[k]), float(lam[k + 1]))
        # Normalise eigenvectors to unit max-norm for readability (any scaling is exact).
        v = v / np.max(np.abs(v), axis=0)
        w = np.linalg.inv(v)
        recon = (v * lam) @ w
        err = float(np.max(np.abs(recon - m))) / max(float(np.max(np.abs(m))), 1e-300)
        if err > MAX_RECONSTRUCTION_ERROR:
            raise ValueError(f"eigen-decomposition is inaccurate (relative error {err:.2e})")
        self.names = tuple(names)
        self.n = n
        self.matrix = m
        self.lam: list[float] = lam.tolist()
        self.V = v
        self.W = w

    def index(self, name: str) -> int:
        return self.names.index(name)

    def jump(self, name: str) -> list[float]:
        """Modal image of one unit placed in state ``name``."""
        return self.W[:, self.index(name)].tolist()

    def forcing(self, name: str) -> list[float]:
        """``q`` for a constant unit input into ``name``: ``(V^-1 e_j) / lam``."""
        col = self.W[:, self.index(name)]
        return (col / np.asarray(self.lam)).tolist()

    def row(self, weights: dict[str, float]) -> list[float]:
        """Modal row reading the linear combination ``sum(w * x[name])``."""
        c = np.zeros(self.n)
        for name, w in weights.items():
            c[self.index(name)] += w
        return (c @ self.V).tolist()

    def rows(self, specs: dict[str, dict[str, float]]) -> dict[str, list[float]]:
        """Several modal rows at once (one matrix product)."""
        idx = {name: i for i, name in enumerate(self.names)}
        c = np.zeros((len(specs), self.n))
        for k, weights in enumerate(specs.values()):
            for name, w in weights.items():
                c[k, idx[name]] += w
        out = (c @ self.V).tolist()
        return dict(zip(specs, out, strict=True))

    def to_modal(self, x: Sequence[float]) -> list[float]:
        return (self.W @ np.asarray(x, dtype=float)).tolist()

    def to_physical(self, z: Sequence[float]) -> list[float]:
        return (self.V @ np.asarray(z, dtype=float)).tolist()


# The hot loops below deliberately avoid ``zip(strict=True)`` (measurably slower): every list of
# one model has the model's length by construction.


def propagate(z: list[float], lam: list[float], dt: float) -> list[float]:
    """Free decay over ``dt`` (no input)."""
    return [zi + expm1(li * dt) * zi for zi, li in zip(z, lam)]  # noqa: B905


def propagate1(z: list[float], lam: list[float], dt: float, r: float, q: list[float]) -> list[float]:
    """Exact step over ``dt`` with one constant input ``r`` whose forcing vector is ``q``."""
    return [zi + expm1(li * dt) * (zi + r * qi) for zi, li, qi in zip(z, lam, q)]  # noqa: B905


def propagate2(
    z: list[float], lam: list[float], dt: float, r1: float, q1: list[float], r2: float, q2: list[float]
) -> list[float]:
    """Exact step over ``dt`` with two constant inputs."""
    return [zi + expm1(li * dt) * (zi + r1 * a + r2 * b) for zi, li, a, b in zip(z, lam, q1, q2)]  # noqa: B905


def dot(row: list[float], z: list[float]) -> float:
    return sum(map(mul, row, z))
