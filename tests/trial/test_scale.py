"""The same summary.json, byte for byte, for 1 or 2 worker processes and on Dask."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from itdd.cli import main
from itdd.trial import parse_protocol, run_trial
from itdd.trial.report import summary_json

PROTOCOL = {
    "name": "scale",
    "seed": 5,
    "patients_per_arm": 30,
    "years": 0.5,
    "arms": [
        {"name": "standard"},
        {"name": "low trial dose", "trial": {"method": "single_bolus", "doses": ["0.3 mg"]}},
    ],
    "endpoints": {
        "primary": "trial_success_rate",
        "secondary": ["mean_dose_mg_per_day_6_months", "time_to_catheter_event", "complications_per_100_patient_years"],
    },
}


@pytest.fixture(scope="module")
def one_worker() -> str:
    return summary_json(run_trial(parse_protocol(PROTOCOL), workers=1).summary)


def test_two_processes_same_bytes(one_worker: str) -> None:
    assert summary_json(run_trial(parse_protocol(PROTOCOL), workers=2).summary) == one_worker


def test_dask_running_cluster_by_address_same_bytes(one_worker: str) -> None:
    # a running cluster reached by its scheduler address, as --dask tcp://host:8786 does
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://", dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        got = summary_json(run_trial(parse_protocol(PROTOCOL), dask=address).summary)
    assert got == one_worker


def test_cli_dask_local_two_processes_same_file(one_worker: str, tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text(yaml.safe_dump(PROTOCOL))
    assert main(["trial", str(f), "--dask", "local", "--workers", "2", "--out", str(tmp_path / "dask")]) == 0
    assert (tmp_path / "dask" / "summary.json").read_text() == one_worker


def test_progress_counts_every_patient_once() -> None:
    seen: list[tuple[int, int]] = []
    p = parse_protocol({**PROTOCOL, "patients_per_arm": 30, "years": 0.1, "endpoints": {"primary": "implant_rate"}})
    run_trial(p, workers=1, progress=lambda done, total: seen.append((done, total)))
    # paired: chunks of 25 patient-arms hold 25 // 2 = 12 patients in both arms (24 patient-arms):
    # 24, 48, then the last 6 patients in both arms, 60
    assert seen == [(24, 60), (48, 60), (60, 60)]
