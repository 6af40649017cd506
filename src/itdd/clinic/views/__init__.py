"""Read models: what the dashboard, patient pages and their JSON twins show (no state changes here).

One module per page: :mod:`.dashboard`, :mod:`.patients` (the list and a patient's records), :mod:`.series`
(charts and the virtual patient), and :mod:`.common` for what they share; this package exposes them all.
"""

from __future__ import annotations

from .common import (
    ALARM_LABELS,
    CRITICAL_FIRST,
    DAY_S,
    ERI_WINDOW_DAYS,
    REFILL_WINDOW_DAYS,
    at,
    audit_log,
    clinic_info,
    dose_unit,
    pump_summary,
    refill_row,
    staff,
)
from .dashboard import (
    DASHBOARD_ROWS,
    dashboard,
    worsening,
    worsening_rows,
)
from .patients import (
    PATIENT_PAGE_MAX,
    PATIENT_PAGE_ROWS,
    adverse_events,
    appointments,
    assessments,
    events,
    interrogations,
    patient_count,
    patient_detail,
    patient_list,
    patient_record,
    prescriptions,
    refills,
)
from .series import (
    Series,
    chart_series,
    model_forecast,
    model_summary,
    suggested_function,
)

__all__ = [
    "ALARM_LABELS",
    "CRITICAL_FIRST",
    "DASHBOARD_ROWS",
    "DAY_S",
    "ERI_WINDOW_DAYS",
    "PATIENT_PAGE_MAX",
    "PATIENT_PAGE_ROWS",
    "REFILL_WINDOW_DAYS",
    "Series",
    "adverse_events",
    "appointments",
    "assessments",
    "at",
    "audit_log",
    "chart_series",
    "clinic_info",
    "dashboard",
    "dose_unit",
    "events",
    "interrogations",
    "model_forecast",
    "model_summary",
    "patient_count",
    "patient_detail",
    "patient_list",
    "patient_record",
    "prescriptions",
    "pump_summary",
    "refill_row",
    "refills",
    "staff",
    "suggested_function",
    "worsening",
    "worsening_rows",
]
