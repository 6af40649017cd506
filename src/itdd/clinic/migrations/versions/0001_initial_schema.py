"""Initial schema of the clinic database (generated from itdd.clinic.models, then reviewed).

The audit log is append-only: triggers refuse UPDATE and DELETE on it, on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("clock_t_s", sa.Double(), nullable=False),
        sa.Column("utc_offset_s", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_wall_s", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("wall_s", sa.Double(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_key_wall", ["key", "wall_s"], unique=False)

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("mrn", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=False),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("indication", sa.String(length=200), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_wall_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_patients_clinic_id_clinics")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("clinic_id", "mrn", name="uq_patients_clinic_mrn"),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "pumps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("implant_t_s", sa.Double(), nullable=False),
        sa.Column("catheter_tip_level", sa.String(length=16), nullable=False),
        sa.Column("catheter_length_cm", sa.Double(), nullable=False),
        sa.Column("catheter_volume_ml", sa.Double(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("log_seq", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("drug", sa.String(length=32), nullable=False),
        sa.Column("conc_mg_per_ml", sa.Double(), nullable=False),
        sa.Column("daily_dose_mg", sa.Double(), nullable=False),
        sa.Column("estimate_ml", sa.Double(), nullable=False),
        sa.Column("low_reservoir_ml", sa.Double(), nullable=False),
        sa.Column("battery_to_eri", sa.Double(), nullable=False),
        sa.Column("eri_t_s", sa.Double(), nullable=True),
        sa.Column("projected_eri_t_s", sa.Double(), nullable=True),
        sa.Column("last_fill_t_s", sa.Double(), nullable=False),
        sa.Column("next_refill_t_s", sa.Double(), nullable=True),
        sa.Column("next_refill_reason", sa.String(length=48), nullable=False),
        sa.Column("low_alarm_t_s", sa.Double(), nullable=True),
        sa.Column("alarms", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_pumps_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_pumps_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pumps")),
        sa.UniqueConstraint("serial", name=op.f("uq_pumps_serial")),
    )
    with op.batch_alter_table("pumps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pumps_clinic_id"), ["clinic_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_pumps_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_wall_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_users_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_users_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "adverse_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_adverse_events_patient_id_patients")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_adverse_events_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adverse_events")),
    )
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_adverse_events_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_appointments_created_by_id_users")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_appointments_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("pain_nrs", sa.Integer(), nullable=False),
        sa.Column("function_score", sa.Integer(), nullable=False),
        sa.Column("oral_opioid_mme_mg_per_day", sa.Double(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_assessments_patient_id_patients")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_assessments_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assessments_patient_id"), ["patient_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("wall_s", sa.Double(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["clinic_id"], ["clinics.id"], name=op.f("fk_audit_log_clinic_id_clinics")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "interrogations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=op.f("fk_interrogations_pump_id_pumps")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_interrogations_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interrogations")),
    )
    with op.batch_alter_table("interrogations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_interrogations_pump_id"), ["pump_id"], unique=False)

    op.create_table(
        "prescriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("drug", sa.String(length=32), nullable=False),
        sa.Column("conc_mg_per_ml", sa.Double(), nullable=False),
        sa.Column("therapy", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("daily_dose_mg", sa.Double(), nullable=False),
        sa.Column("ptm", sa.JSON(), nullable=True),
        sa.Column("low_reservoir_ml", sa.Double(), nullable=False),
        sa.Column("prescribed_by_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("confirmations", sa.JSON(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_prescriptions_patient_id_patients")),
        sa.ForeignKeyConstraint(
            ["prescribed_by_id"], ["users.id"], name=op.f("fk_prescriptions_prescribed_by_id_users")
        ),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=op.f("fk_prescriptions_pump_id_pumps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prescriptions")),
    )
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prescriptions_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_prescriptions_pump_id"), ["pump_id"], unique=False)

    op.create_table(
        "pump_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.String(length=10), nullable=False),
        sa.Column("day_start_t_s", sa.Double(), nullable=False),
        sa.Column("pumped_ml", sa.Double(), nullable=False),
        sa.Column("delivered_mg", sa.Double(), nullable=False),
        sa.Column("programmed_mg", sa.Double(), nullable=False),
        sa.Column("lost_mg", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=op.f("fk_pump_days_pump_id_pumps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pump_days")),
        sa.UniqueConstraint("pump_id", "date", name="uq_pump_days_pump_date"),
    )
    op.create_table(
        "pump_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("type", sa.String(length=48), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("device", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=op.f("fk_pump_events_pump_id_pumps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pump_events")),
        sa.UniqueConstraint("pump_id", "seq", name="uq_pump_events_pump_seq"),
    )
    with op.batch_alter_table("pump_events", schema=None) as batch_op:
        batch_op.create_index("ix_pump_events_pump_t", ["pump_id", "t_s"], unique=False)

    op.create_table(
        "pump_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reservoir_ml", sa.Double(), nullable=False),
        sa.Column("estimate_ml", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=op.f("fk_pump_samples_pump_id_pumps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pump_samples")),
    )
    with op.batch_alter_table("pump_samples", schema=None) as batch_op:
        batch_op.create_index("ix_pump_samples_pump_t", ["pump_id", "t_s"], unique=False)

    op.create_table(
        "refills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("pump_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("expected_ml", sa.Double(), nullable=False),
        sa.Column("withdrawn_ml", sa.Double(), nullable=False),
        sa.Column("discrepancy_ml", sa.Double(), nullable=False),
        sa.Column("discrepancy_flag", sa.Boolean(), nullable=False),
        sa.Column("likely_causes", sa.JSON(), nullable=False),
        sa.Column("filled_ml", sa.Double(), nullable=False),
        sa.Column("reservoir_ml_entered", sa.Double(), nullable=False),
        sa.Column("drug", sa.String(length=32), nullable=False),
        sa.Column("conc_mg_per_ml", sa.Double(), nullable=False),
        sa.Column("previous_conc_mg_per_ml", sa.Double(), nullable=False),
        sa.Column("bridge_bolus", sa.Boolean(), nullable=False),
        sa.Column("bridge_volume_ml", sa.Double(), nullable=False),
        sa.Column("next_refill_t_s", sa.Double(), nullable=True),
        sa.Column("low_alarm_t_s", sa.Double(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("performed_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_by_id", sa.Integer(), nullable=True),
        sa.Column("verified_wall_s", sa.Double(), nullable=True),
        sa.Column("discrepancy_resolved", sa.Boolean(), nullable=False),
        sa.Column("resolution_note", sa.Text(), nullable=False),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_refills_patient_id_patients")),
        sa.ForeignKeyConstraint(["performed_by_id"], ["users.id"], name=op.f("fk_refills_performed_by_id_users")),
        sa.ForeignKeyConstraint(["pump_id"], ["pumps.id"], name=op.f("fk_refills_pump_id_pumps")),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["users.id"], name=op.f("fk_refills_resolved_by_id_users")),
        sa.ForeignKeyConstraint(["verified_by_id"], ["users.id"], name=op.f("fk_refills_verified_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refills")),
    )
    with op.batch_alter_table("refills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refills_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_refills_pump_id"), ["pump_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_wall_s", sa.Double(), nullable=False),
        sa.Column("expires_wall_s", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)
    _audit_append_only_up()


def _audit_append_only_up() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )


def _audit_append_only_down() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")


def downgrade() -> None:
    _audit_append_only_down()
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))

    op.drop_table("sessions")
    with op.batch_alter_table("refills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refills_pump_id"))
        batch_op.drop_index(batch_op.f("ix_refills_patient_id"))

    op.drop_table("refills")
    with op.batch_alter_table("pump_samples", schema=None) as batch_op:
        batch_op.drop_index("ix_pump_samples_pump_t")

    op.drop_table("pump_samples")
    with op.batch_alter_table("pump_events", schema=None) as batch_op:
        batch_op.drop_index("ix_pump_events_pump_t")

    op.drop_table("pump_events")
    op.drop_table("pump_days")
    with op.batch_alter_table("prescriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prescriptions_pump_id"))
        batch_op.drop_index(batch_op.f("ix_prescriptions_patient_id"))

    op.drop_table("prescriptions")
    with op.batch_alter_table("interrogations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interrogations_pump_id"))

    op.drop_table("interrogations")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_clinic_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("assessments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assessments_patient_id"))

    op.drop_table("assessments")
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointments_patient_id"))

    op.drop_table("appointments")
    with op.batch_alter_table("adverse_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adverse_events_patient_id"))

    op.drop_table("adverse_events")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_clinic_id"))

    op.drop_table("users")
    with op.batch_alter_table("pumps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pumps_patient_id"))
        batch_op.drop_index(batch_op.f("ix_pumps_clinic_id"))

    op.drop_table("pumps")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_clinic_id"))

    op.drop_table("patients")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_key_wall")

    op.drop_table("login_attempts")
    op.drop_table("clinics")
