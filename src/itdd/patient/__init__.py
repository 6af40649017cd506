"""Virtual patients: intrathecal pharmacokinetics, pharmacodynamics and populations.

Public API (see ``docs/patient-model.md``):

* :class:`PatientParams` — one patient; ``PatientParams.sample(seed, index)`` draws one from a
  cohort, ``PatientParams.reference()`` is the opioid-naive reference adult;
* :func:`sample_cohort` — a cohort, identical for any number of worker processes;
* :class:`PatientSim` — one patient's exact state in virtual time: ``advance``, ``dose``,
  ``follow`` (an implant :class:`~itdd.pump.record.Record`), ``observe``;
* :class:`Observation` — pain, vital signs, side effects, withdrawal and concentrations.
"""

from .parameters import DRUGS, DrugPK, Sourced
from .population import DEFAULT_POPULATION, POPULATIONS, PatientParams, Population, get_population, sample_cohort
from .sim import ROUTES, Observation, PatientSim

__all__ = [
    "DEFAULT_POPULATION",
    "DRUGS",
    "POPULATIONS",
    "ROUTES",
    "DrugPK",
    "Observation",
    "PatientParams",
    "PatientSim",
    "Population",
    "Sourced",
    "get_population",
    "sample_cohort",
]
