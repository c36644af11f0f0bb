"""Vigilance clocks: serious-incident reporting deadlines and periodic safety report cadence.

Values come from ``../shared/reference/regulation.md`` sections 4 and 7:

- MDR Art. 87(3)-(5) (IVDR Art. 82 has the same structure): calendar days from the date the
  manufacturer becomes aware; each is a ceiling, the report is due "immediately".
- AI Act Art. 73(2)-(4): the same 2 / 10 / 15-day structure. For AI that is, or is a safety
  component of, an MDR/IVDR device, Art. 73(10) limits AI Act reporting to fundamental-rights
  infringements; health harms go through MDR vigilance only.
- GDPR Art. 33: personal-data breach, 72 hours.
- MDR Art. 85 / 86 and IVDR Art. 80 / 81: PMS report "when necessary" (class I, IVDR A and B),
  PSUR at least every 2 years (class IIa) or yearly (IIb, III, IVDR C and D).

Deadlines keep the time of awareness (``awareness_at + days``), which is never later than an
end-of-day reading of "no later than N days after awareness".
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from monitoring._plain import PlainData
from monitoring.errors import MonitoringInputError


class IncidentCategory(StrEnum):
    """Reporting triggers with a fixed clock (keys of regulation.md section 7)."""

    MDR_PUBLIC_HEALTH_THREAT = "mdr_public_health_threat"
    MDR_DEATH_OR_UNANTICIPATED_SERIOUS_DETERIORATION = (
        "mdr_death_or_unanticipated_serious_deterioration"
    )
    MDR_OTHER_SERIOUS_INCIDENT = "mdr_other_serious_incident"
    AIA_WIDESPREAD_OR_CRITICAL_INFRASTRUCTURE = "aia_widespread_or_critical_infrastructure"
    AIA_DEATH = "aia_death"
    AIA_OTHER = "aia_other"
    GDPR_BREACH = "gdpr_breach"


@dataclass(frozen=True)
class ReportingClock:
    """A reporting deadline rule: how long after awareness, and its legal source."""

    category: IncidentCategory
    deadline: dt.timedelta
    legal_ref: str
    trigger: str


_D = dt.timedelta
#: Reporting clocks. Sources: MDR Art. 87(4) serious public health threat 2 days; Art. 87(5)
#: death or unanticipated serious deterioration 10 days; Art. 87(3) other serious incident 15
#: days; AI Act Art. 73(3) 2 days, 73(4) 10 days, 73(2) 15 days; GDPR Art. 33 72 hours.
REPORTING_CLOCKS = MappingProxyType(
    {
        clock.category: clock
        for clock in (
            ReportingClock(
                IncidentCategory.MDR_PUBLIC_HEALTH_THREAT, _D(days=2), "MDR Art. 87(4)",
                "serious public health threat",
            ),
            ReportingClock(
                IncidentCategory.MDR_DEATH_OR_UNANTICIPATED_SERIOUS_DETERIORATION, _D(days=10),
                "MDR Art. 87(5)", "death or unanticipated serious deterioration of health",
            ),
            ReportingClock(
                IncidentCategory.MDR_OTHER_SERIOUS_INCIDENT, _D(days=15), "MDR Art. 87(3)",
                "other serious incident",
            ),
            ReportingClock(
                IncidentCategory.AIA_WIDESPREAD_OR_CRITICAL_INFRASTRUCTURE, _D(days=2),
                "AI Act Art. 73(3)",
                "widespread infringement or serious disruption of critical infrastructure",
            ),
            ReportingClock(IncidentCategory.AIA_DEATH, _D(days=10), "AI Act Art. 73(4)", "death"),
            ReportingClock(
                IncidentCategory.AIA_OTHER, _D(days=15), "AI Act Art. 73(2)",
                "other serious incident",
            ),
            ReportingClock(
                IncidentCategory.GDPR_BREACH, _D(hours=72), "GDPR Art. 33",
                "personal data breach",
            ),
        )
    }
)  # fmt: skip


@dataclass(frozen=True)
class ReportingObligation(PlainData):
    """One report owed for an incident, with its clock.

    Attributes
    ----------
    category : IncidentCategory
    legal_ref : str
    trigger : str
    awareness_at, deadline_at : datetime
        Timezone-aware UTC.
    deadline_hours : float
        Length of the clock.
    days_remaining : float
        Days from ``now`` to the deadline; negative when overdue.
    overdue : bool
    """

    category: IncidentCategory
    legal_ref: str
    trigger: str
    awareness_at: dt.datetime
    deadline_at: dt.datetime
    deadline_hours: float
    days_remaining: float
    overdue: bool


@dataclass(frozen=True)
class PeriodicReportRule:
    """Periodic post-market report required for a regulation and class."""

    report: str
    legal_ref: str
    max_interval_months: int | None


#: Periodic reports per (regulation, class), from regulation.md section 7. None: "when
#: necessary", no fixed interval.
PERIODIC_REPORTS = MappingProxyType(
    {
        ("MDR", "I"): PeriodicReportRule("PMSR", "MDR Art. 85", None),
        ("MDR", "Is"): PeriodicReportRule("PMSR", "MDR Art. 85", None),
        ("MDR", "Im"): PeriodicReportRule("PMSR", "MDR Art. 85", None),
        ("MDR", "Ir"): PeriodicReportRule("PMSR", "MDR Art. 85", None),
        ("MDR", "IIa"): PeriodicReportRule("PSUR", "MDR Art. 86", 24),
        ("MDR", "IIb"): PeriodicReportRule("PSUR", "MDR Art. 86", 12),
        ("MDR", "III"): PeriodicReportRule("PSUR", "MDR Art. 86", 12),
        ("IVDR", "A"): PeriodicReportRule("PMSR", "IVDR Art. 80", None),
        ("IVDR", "A_sterile"): PeriodicReportRule("PMSR", "IVDR Art. 80", None),
        ("IVDR", "B"): PeriodicReportRule("PMSR", "IVDR Art. 80", None),
        ("IVDR", "C"): PeriodicReportRule("PSUR", "IVDR Art. 81", 12),
        ("IVDR", "D"): PeriodicReportRule("PSUR", "IVDR Art. 81", 12),
    }
)


@dataclass(frozen=True)
class PeriodicReportSchedule(PlainData):
    """When the next periodic post-market report is due.

    Attributes
    ----------
    regulation, risk_class : str
    report : {"PSUR", "PMSR"}
    legal_ref : str
    max_interval_months : int or None
        None when the report is updated "when necessary".
    last_report_at : datetime
        The previous report (or the start of the period, e.g. the certificate date).
    next_due_at : datetime or None
        None when there is no fixed interval.
    note : str
    """

    regulation: str
    risk_class: str
    report: str
    legal_ref: str
    max_interval_months: int | None
    last_report_at: dt.datetime
    next_due_at: dt.datetime | None
    note: str


def reporting_deadline(awareness_at: dt.datetime, category: IncidentCategory | str) -> dt.datetime:
    """Return the latest time a report is due, in UTC.

    Parameters
    ----------
    awareness_at : datetime
        When the manufacturer (any part of its organisation) became aware; timezone-aware.
    category : IncidentCategory or str
        The reporting trigger.

    Returns
    -------
    datetime
        ``awareness_at + clock``, timezone-aware UTC.

    Raises
    ------
    MonitoringInputError
        If ``awareness_at`` is naive or not a datetime, or the category is unknown.

    Examples
    --------
    >>> import datetime as dt
    >>> aware = dt.datetime(2024, 2, 27, 9, 30, tzinfo=dt.UTC)
    >>> reporting_deadline(aware, "mdr_public_health_threat").isoformat()
    '2024-02-29T09:30:00+00:00'
    """
    clock = _clock(category)
    return _utc(awareness_at, "awareness_at") + clock.deadline


def days_remaining(deadline: dt.datetime, now: dt.datetime) -> float:
    """Days from ``now`` until ``deadline`` (fractional; negative once overdue).

    Examples
    --------
    >>> import datetime as dt
    >>> days_remaining(dt.datetime(2025, 1, 3, 12, tzinfo=dt.UTC),
    ...                dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    2.5
    """
    delta = _utc(deadline, "deadline") - _utc(now, "now")
    return delta.total_seconds() / 86400


def is_overdue(deadline: dt.datetime, now: dt.datetime) -> bool:
    """True once ``now`` is after ``deadline`` (a report at the deadline itself is on time)."""
    return _utc(now, "now") > _utc(deadline, "deadline")


def reporting_obligation(
    awareness_at: dt.datetime, category: IncidentCategory | str, now: dt.datetime
) -> ReportingObligation:
    """The report owed for one trigger, with its deadline and countdown at ``now``.

    Examples
    --------
    >>> import datetime as dt
    >>> aware = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    >>> o = reporting_obligation(aware, "mdr_other_serious_incident",
    ...                          now=dt.datetime(2025, 3, 20, tzinfo=dt.UTC))
    >>> o.deadline_at.date().isoformat(), o.overdue, o.days_remaining
    ('2025-03-16', True, -4.0)
    """
    clock = _clock(category)
    deadline = reporting_deadline(awareness_at, clock.category)
    return ReportingObligation(
        category=clock.category,
        legal_ref=clock.legal_ref,
        trigger=clock.trigger,
        awareness_at=_utc(awareness_at, "awareness_at"),
        deadline_at=deadline,
        deadline_hours=clock.deadline.total_seconds() / 3600,
        days_remaining=days_remaining(deadline, now),
        overdue=is_overdue(deadline, now),
    )


def reporting_obligations(
    awareness_at: dt.datetime,
    categories: Iterable[IncidentCategory | str],
    now: dt.datetime,
) -> tuple[ReportingObligation, ...]:
    """All reports owed when one event matches several triggers, earliest deadline first.

    regulation.md section 7: keep one incident with several obligations; the shortest deadline
    drives the alert, so it comes first.
    """
    unique = dict.fromkeys(_clock(c).category for c in categories)
    obligations = [reporting_obligation(awareness_at, c, now) for c in unique]
    return tuple(sorted(obligations, key=lambda o: (o.deadline_at, o.category.value)))


def periodic_report_schedule(
    regulation: str, risk_class: str, last_report_at: dt.datetime
) -> PeriodicReportSchedule:
    """Return the periodic post-market report due for a device class and its next due date.

    Parameters
    ----------
    regulation : {"MDR", "IVDR"}
    risk_class : str
        MDR: I, Is, Im, Ir, IIa, IIb, III. IVDR: A, A_sterile, B, C, D.
    last_report_at : datetime
        The previous report, or the start of the first period (e.g. certificate date);
        timezone-aware.

    Returns
    -------
    PeriodicReportSchedule
        ``next_due_at`` is ``last_report_at`` plus the maximum interval in calendar months,
        moved back to the month's last day when that day does not exist (29 Feb + 12 months
        is 28 Feb); None for reports updated "when necessary".

    Raises
    ------
    MonitoringInputError
        If the regulation / class pair is unknown or the date is naive.

    Examples
    --------
    >>> import datetime as dt
    >>> s = periodic_report_schedule("MDR", "IIa", dt.datetime(2024, 2, 29, tzinfo=dt.UTC))
    >>> s.report, s.next_due_at.date().isoformat()
    ('PSUR', '2026-02-28')
    """
    rule = PERIODIC_REPORTS.get((regulation, risk_class))
    problems = []
    if rule is None:
        known = ", ".join(f"{r} {c}" for r, c in PERIODIC_REPORTS)
        problems.append(
            f"regulation and risk class must be one of: {known}. "
            f"Got {regulation!r} {risk_class!r} instead"
        )
    try:
        last = _utc(last_report_at, "last_report_at")
    except MonitoringInputError as err:
        problems.extend(err.problems)
    if problems:
        raise MonitoringInputError(problems)
    if rule.max_interval_months is None:
        next_due = None
        note = f"{rule.report} updated when necessary ({rule.legal_ref}); no fixed interval"
    else:
        next_due = add_months(last, rule.max_interval_months)
        every = "year" if rule.max_interval_months == 12 else f"{rule.max_interval_months} months"
        note = f"{rule.report} at least every {every} ({rule.legal_ref})"
    return PeriodicReportSchedule(
        regulation=regulation,
        risk_class=risk_class,
        report=rule.report,
        legal_ref=rule.legal_ref,
        max_interval_months=rule.max_interval_months,
        last_report_at=last,
        next_due_at=next_due,
        note=note,
    )


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """Add calendar months, clamping to the last day of the target month.

    Examples
    --------
    >>> import datetime as dt
    >>> add_months(dt.datetime(2025, 1, 31, tzinfo=dt.UTC), 1).date().isoformat()
    '2025-02-28'
    """
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _clock(category: IncidentCategory | str) -> ReportingClock:
    try:
        return REPORTING_CLOCKS[IncidentCategory(category)]
    except ValueError:
        raise MonitoringInputError(
            [
                f"category must be one of {[c.value for c in IncidentCategory]}. "
                f"Got {category!r} instead"
            ]
        ) from None


def _utc(value: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise MonitoringInputError([f"{name} must be a datetime. Got {value!r} instead"])
    if value.tzinfo is None or value.utcoffset() is None:
        # A naive time is ambiguous by up to a day across time zones: refuse it rather than
        # guess, since the deadline is a legal one.
        raise MonitoringInputError(
            [f"{name} must be timezone-aware (e.g. tzinfo=datetime.UTC). Got {value!r} instead"]
        )
    return value.astimezone(dt.UTC)
