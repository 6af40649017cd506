"""Virtual patients: each clinic patient with a pump gets an itdd.patient model that follows the pump.

Tables ``virtual_patients`` (parameters and the exact ``PatientSim`` state) and ``patient_model_samples`` (the
model observed over time, for charts and the dashboard).  Existing patients with an active pump get one on
upgrade: member ``patient_id`` of the clinic cohort (``itdd.clinic.vpatient.default_params``), at steady state
on the pump's current therapy at the pump's instant, taking the oral opioids last recorded in an assessment —
exactly what the app would create for them (``vpatient.ensure``).  The state format is versioned
(``PatientSim.to_dict``), so later code reads what this migration wrote.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "virtual_patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_virtual_patients_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_patients")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_virtual_patients_patient_id")),
    )
    op.create_table(
        "patient_model_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("pain", sa.Double(), nullable=False),
        sa.Column("withdrawal", sa.Double(), nullable=False),
        sa.Column("resp_rate_per_min", sa.Double(), nullable=False),
        sa.Column("spo2_pct", sa.Double(), nullable=False),
        sa.Column("sedation", sa.Double(), nullable=False),
        sa.Column("spasticity", sa.Double(), nullable=False),
        sa.Column("oral_mme_per_day", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_model_samples_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_model_samples")),
    )
    with op.batch_alter_table("patient_model_samples", schema=None) as batch_op:
        batch_op.create_index("ix_patient_model_samples_patient_t", ["patient_id", "t_s"], unique=False)
    _create_for_existing_patients()


def _create_for_existing_patients() -> None:
    from itdd.clinic import vpatient

    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT p.patient_id, p.drug, p.daily_dose_mg, p.t_s, c.utc_offset_s, pt.indication "
            "FROM pumps p JOIN patients pt ON pt.id = p.patient_id JOIN clinics c ON c.id = p.clinic_id "
            "WHERE p.active = :yes ORDER BY p.id"
        ),
        {"yes": True},
    ).all()
    vps = sa.table(
        "virtual_patients",
        sa.column("patient_id", sa.Integer()),
        sa.column("source", sa.String()),
        sa.column("params", sa.JSON()),
        sa.column("state", sa.JSON()),
        sa.column("t_s", sa.Double()),
    )
    samples = sa.table(
        "patient_model_samples",
        *(sa.column(n, sa.Double()) for n in vpatient.SAMPLE_FLOATS),
        sa.column("patient_id", sa.Integer()),
        sa.column("kind", sa.String()),
    )
    done: set[int] = set()
    for patient_id, drug, dose, t_s, offset_s, indication in rows:
        if patient_id in done:  # one virtual patient per patient (their first active pump)
            continue
        done.add(patient_id)
        oral = conn.execute(
            sa.text(
                "SELECT oral_opioid_mme_mg_per_day FROM assessments WHERE patient_id = :p ORDER BY t_s DESC, id DESC"
            ),
            {"p": patient_id},
        ).first()
        params = vpatient.default_params(patient_id, vpatient.indication_for(indication, drug))
        sim = vpatient.initial_sim(
            params,
            float(t_s),
            offset_s=int(offset_s),
            drug=drug,
            daily_dose_mg=float(dose),
            oral_mme_per_day=float(oral[0]) if oral is not None else 0.0,
        )
        conn.execute(
            vps.insert().values(
                patient_id=patient_id,
                source=f"sample:{vpatient.CLINIC_MODEL_SEED}:{patient_id}",
                params=params.to_dict(),
                state=sim.to_dict(),
                t_s=sim.t_s,
            )
        )
        conn.execute(samples.insert().values(**vpatient.sample_row(patient_id, vpatient.observe(sim), "start")))


def downgrade() -> None:
    with op.batch_alter_table("patient_model_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_patient_model_samples_patient_t")
    op.drop_table("patient_model_samples")
    op.drop_table("virtual_patients")
