"""Vigilance deadlines and periodic report cadence: exact dates around month ends, leap days."""

import datetime as dt

import pytest

from monitoring.errors import MonitoringInputError
from monitoring.vigilance import (
    IncidentCategory,
    add_months,
    days_remaining,
    is_overdue,
    periodic_report_schedule,
    reporting_deadline,
    reporting_obligations,
)

UTC = dt.UTC


@pytest.mark.parametrize(
    "awareness,category,expected",
    [
        # MDR Art. 87(4): 2 days, across a leap day.
        ((2024, 2, 28, 15, 0), "mdr_public_health_threat", (2024, 3, 1, 15, 0)),
        ((2023, 2, 28, 15, 0), "mdr_public_health_threat", (2023, 3, 2, 15, 0)),
        # MDR Art. 87(5): 10 days, across a month end.
        (
            (2025, 1, 25, 8, 30),
            "mdr_death_or_unanticipated_serious_deterioration",
            (2025, 2, 4, 8, 30),
        ),
        # MDR Art. 87(3): 15 days, across a year end and across 29 February.
        ((2024, 12, 20, 0, 0), "mdr_other_serious_incident", (2025, 1, 4, 0, 0)),
        ((2024, 2, 20, 23, 59), "mdr_other_serious_incident", (2024, 3, 6, 23, 59)),
        # AI Act Art. 73(2)-(4) and GDPR Art. 33.
        ((2025, 3, 30, 12, 0), "aia_widespread_or_critical_infrastructure", (2025, 4, 1, 12, 0)),
        ((2025, 3, 30, 12, 0), "aia_death", (2025, 4, 9, 12, 0)),
        ((2025, 3, 30, 12, 0), "aia_other", (2025, 4, 14, 12, 0)),
        ((2025, 12, 30, 18, 0), "gdpr_breach", (2026, 1, 2, 18, 0)),
    ],
)
def test_reporting_deadline_exact_dates(awareness, category, expected):
    assert reporting_deadline(dt.datetime(*awareness, tzinfo=UTC), category) == dt.datetime(
        *expected, tzinfo=UTC
    )


def test_deadline_is_returned_in_utc_for_other_zones():
    paris_summer = dt.timezone(dt.timedelta(hours=2))
    aware = dt.datetime(2025, 6, 30, 23, 30, tzinfo=paris_summer)
    assert reporting_deadline(aware, IncidentCategory.MDR_PUBLIC_HEALTH_THREAT) == dt.datetime(
        2025, 7, 2, 21, 30, tzinfo=UTC
    )


def test_days_remaining_and_overdue():
    deadline = dt.datetime(2025, 3, 16, 12, tzinfo=UTC)
    assert days_remaining(deadline, dt.datetime(2025, 3, 14, tzinfo=UTC)) == 2.5
    assert days_remaining(deadline, dt.datetime(2025, 3, 17, 12, tzinfo=UTC)) == -1.0
    assert is_overdue(deadline, deadline) is False
    assert is_overdue(deadline, deadline + dt.timedelta(seconds=1)) is True


def test_several_triggers_earliest_deadline_first():
    aware = dt.datetime(2025, 5, 1, tzinfo=UTC)
    obligations = reporting_obligations(
        aware,
        ["mdr_other_serious_incident", "mdr_public_health_threat", "mdr_public_health_threat"],
        now=dt.datetime(2025, 5, 4, tzinfo=UTC),
    )  # fmt: skip
    assert [(o.legal_ref, o.deadline_at.day, o.overdue) for o in obligations] == [
        ("MDR Art. 87(4)", 3, True),
        ("MDR Art. 87(3)", 16, False),
    ]
    assert obligations[0].to_dict()["deadline_at"] == "2025-05-03T00:00:00+00:00"


def test_naive_datetime_and_unknown_category_are_refused():
    with pytest.raises(MonitoringInputError, match="awareness_at must be timezone-aware"):
        reporting_deadline(dt.datetime(2025, 1, 1), "aia_death")
    with pytest.raises(MonitoringInputError, match="category must be one of"):
        reporting_deadline(dt.datetime(2025, 1, 1, tzinfo=UTC), "minor")


@pytest.mark.parametrize(
    "regulation,risk_class,report,months,due",
    [
        ("MDR", "I", "PMSR", None, None),
        ("MDR", "IIa", "PSUR", 24, (2027, 2, 28)),
        ("MDR", "IIb", "PSUR", 12, (2026, 2, 28)),
        ("MDR", "III", "PSUR", 12, (2026, 2, 28)),
        ("IVDR", "B", "PMSR", None, None),
        ("IVDR", "D", "PSUR", 12, (2026, 2, 28)),
    ],
)
def test_periodic_report_cadence_per_class(regulation, risk_class, report, months, due):
    last = dt.datetime(2025, 2, 28, 10, tzinfo=UTC)
    schedule = periodic_report_schedule(regulation, risk_class, last)
    assert (schedule.report, schedule.max_interval_months) == (report, months)
    assert schedule.next_due_at == (None if due is None else dt.datetime(*due, 10, tzinfo=UTC))


def test_add_months_clamps_leap_day_and_month_ends():
    assert add_months(dt.datetime(2024, 2, 29, tzinfo=UTC), 12).date() == dt.date(2025, 2, 28)
    assert add_months(dt.datetime(2024, 2, 29, tzinfo=UTC), 48).date() == dt.date(2028, 2, 29)
    assert add_months(dt.datetime(2025, 8, 31, tzinfo=UTC), 6).date() == dt.date(2026, 2, 28)
    assert add_months(dt.datetime(2025, 11, 15, tzinfo=UTC), 2).date() == dt.date(2026, 1, 15)


def test_unknown_class_is_refused_with_the_known_ones():
    with pytest.raises(MonitoringInputError, match="Got 'MDR' 'IV' instead"):
        periodic_report_schedule("MDR", "IV", dt.datetime(2025, 1, 1, tzinfo=UTC))
