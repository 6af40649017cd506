"""The patient's side: directory of pain centres, triage inbox, ambassador programme, imported observations.

New tables only (nothing existing changes); the downgrade drops them.

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "centres",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("town", sa.String(length=100), nullable=False),
        sa.Column("postcode", sa.String(length=16), nullable=False),
        sa.Column("lat", sa.Double(), nullable=False),
        sa.Column("lon", sa.Double(), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("offers_trials", sa.Boolean(), nullable=False),
        sa.Column("offers_implants", sa.Boolean(), nullable=False),
        sa.Column("offers_refills", sa.Boolean(), nullable=False),
        sa.Column("offers_mri", sa.Boolean(), nullable=False),
        sa.Column("updated_wall_s", sa.Double(), nullable=False),
        _fk("centres", "clinic_id", "clinics"),
        _pk("centres"),
    )
    with op.batch_alter_table("centres", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_centres_clinic_id"), ["clinic_id"], unique=False)
    op.create_table(
        "triage_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("wall_s", sa.Double(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("symptoms", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_wall_s", sa.Double(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        _fk("triage_messages", "clinic_id", "clinics"),
        _fk("triage_messages", "patient_id", "patients"),
        _fk("triage_messages", "user_id", "users"),
        _fk("triage_messages", "handled_by_id", "users"),
        _pk("triage_messages"),
    )
    with op.batch_alter_table("triage_messages", schema=None) as batch_op:
        batch_op.create_index("ix_triage_messages_clinic_status", ["clinic_id", "status"], unique=False)
    op.create_table(
        "ambassador_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=40), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("about", sa.Text(), nullable=False),
        sa.Column("consent_wall_s", sa.Double(), nullable=False),
        _fk("ambassador_profiles", "user_id", "users"),
        _fk("ambassador_profiles", "clinic_id", "clinics"),
        _pk("ambassador_profiles"),
        sa.UniqueConstraint("user_id", name=op.f("uq_ambassador_profiles_user_id")),
    )
    op.create_table(
        "ambassador_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=40), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("consent_wall_s", sa.Double(), nullable=False),
        sa.Column("wall_s", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        _fk("ambassador_requests", "clinic_id", "clinics"),
        _fk("ambassador_requests", "user_id", "users"),
        _fk("ambassador_requests", "decided_by_id", "users"),
        _pk("ambassador_requests"),
    )
    op.create_table(
        "ambassador_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_user_id", sa.Integer(), nullable=False),
        sa.Column("prospective_user_id", sa.Integer(), nullable=False),
        sa.Column("volunteer_alias", sa.String(length=40), nullable=False),
        sa.Column("prospective_alias", sa.String(length=40), nullable=False),
        sa.Column("coordinator_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_wall_s", sa.Double(), nullable=False),
        sa.Column("ended_wall_s", sa.Double(), nullable=True),
        sa.Column("ended_reason", sa.String(length=200), nullable=False),
        _fk("ambassador_conversations", "clinic_id", "clinics"),
        _fk("ambassador_conversations", "request_id", "ambassador_requests"),
        _fk("ambassador_conversations", "volunteer_user_id", "users"),
        _fk("ambassador_conversations", "prospective_user_id", "users"),
        _fk("ambassador_conversations", "coordinator_id", "users"),
        _pk("ambassador_conversations"),
    )
    op.create_table(
        "ambassador_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("sender_user_id", sa.Integer(), nullable=False),
        sa.Column("wall_s", sa.Double(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("redacted", sa.Boolean(), nullable=False),
        _fk("ambassador_messages", "conversation_id", "ambassador_conversations"),
        _fk("ambassador_messages", "sender_user_id", "users"),
        _pk("ambassador_messages"),
    )
    with op.batch_alter_table("ambassador_messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ambassador_messages_conversation_id"), ["conversation_id"], unique=False)
    op.create_table(
        "ambassador_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("reporter_user_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("wall_s", sa.Double(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _fk("ambassador_reports", "conversation_id", "ambassador_conversations"),
        _fk("ambassador_reports", "reporter_user_id", "users"),
        _pk("ambassador_reports"),
    )
    op.create_table(
        "patient_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("t_s", sa.Double(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("display", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        _fk("patient_observations", "patient_id", "patients"),
        _pk("patient_observations"),
    )
    with op.batch_alter_table("patient_observations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patient_observations_patient_id"), ["patient_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patient_observations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_observations_patient_id"))
    op.drop_table("patient_observations")
    op.drop_table("ambassador_reports")
    with op.batch_alter_table("ambassador_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ambassador_messages_conversation_id"))
    op.drop_table("ambassador_messages")
    op.drop_table("ambassador_conversations")
    op.drop_table("ambassador_requests")
    op.drop_table("ambassador_profiles")
    with op.batch_alter_table("triage_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_triage_messages_clinic_status")
    op.drop_table("triage_messages")
    with op.batch_alter_table("centres", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_centres_clinic_id"))
    op.drop_table("centres")
