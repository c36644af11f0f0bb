"""Carry an assessment over to a newer grid version.

A published grid version never changes; a new version ships with
``mapping_from: {version: <old>, ids: {old_id: new_id | null}}`` covering every old
id. An answer is carried only when its criterion maps one-to-one onto a criterion
that still asks the same thing; everything else is listed with the reason it must
be answered (again).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ethics_grid.assessment import Answer, check_assessment
from ethics_grid.errors import GridError
from ethics_grid.grid import Criterion, Grid

# Fields whose change alters what an answer asserts. A move to another stage or
# new cross-references does not: the same thing is still asked.
_COMPARED_FIELDS: tuple[str, ...] = (
    "requirement",
    "principle",
    "blocking",
    "evidence",
    "maturity_scale",
)

REASON_CODES: tuple[str, ...] = ("new", "changed", "merged", "not_answered")
"""Why a criterion of the new version has no carried answer."""


@dataclass(frozen=True)
class Reanswer:
    """A criterion of the new version that needs an answer.

    Attributes
    ----------
    criterion_id : str
        Id in the new version.
    reason_code : str
        ``"new"`` (no old criterion maps to it), ``"changed"`` (its old
        counterpart was answered but the criterion changed), ``"merged"`` (several
        old criteria map to it), ``"not_answered"`` (its old counterpart had no
        answer).
    reason : str
        The same, as a sentence naming the old ids.
    from_ids : tuple of str
        Old ids that map to it.
    """

    criterion_id: str
    reason_code: str
    reason: str
    from_ids: tuple[str, ...]


@dataclass(frozen=True)
class Dropped:
    """An old answer left behind because its criterion was removed.

    Attributes
    ----------
    criterion_id : str
        Id in the old version.
    reason : str
        Why it was not carried.
    """

    criterion_id: str
    reason: str


@dataclass(frozen=True)
class CarryOver:
    """The result of carrying an assessment to a new grid version.

    Attributes
    ----------
    from_version, to_version : str
        The two grid versions.
    answers : Mapping[str, Answer]
        Carried answers keyed by new id (read-only).
    to_answer : tuple of Reanswer
        Criteria of the new version to answer, in grid order.
    dropped : tuple of Dropped
        Old answers not carried because their criterion was removed.
    """

    from_version: str
    to_version: str
    answers: Mapping[str, Answer] = field(default_factory=lambda: MappingProxyType({}))
    to_answer: tuple[Reanswer, ...] = ()
    dropped: tuple[Dropped, ...] = ()


def carry_over(assessment: Mapping[str, Answer], from_grid: Grid, to_grid: Grid) -> CarryOver:
    """Carry the answers of an assessment to a newer grid version.

    Parameters
    ----------
    assessment : Mapping[str, Answer]
        Answers made on ``from_grid``, keyed by its criterion ids.
    from_grid : Grid
        The version the assessment was made on.
    to_grid : Grid
        The newer version; its ``mapping_from`` must start at ``from_grid``.

    Returns
    -------
    CarryOver
        Carried answers, the criteria to answer with their reasons, and the old
        answers dropped. Reviews are not carried: they judged the old wording.

    Raises
    ------
    GridError
        When ``to_grid`` has no mapping from ``from_grid``'s version, or the mapping
        misses old ids or names ids the old version does not have.
    AssessmentError
        When the assessment does not fit ``from_grid``.
    """
    _check_mapping(from_grid, to_grid)
    check_assessment(from_grid, assessment)
    mapping = to_grid.mapping_from.as_dict()
    sources: dict[str, list[str]] = {}
    for old_id in from_grid.ids:  # grid order, so from_ids read naturally
        new_id = mapping[old_id]
        if new_id is not None:
            sources.setdefault(new_id, []).append(old_id)

    old, new = from_grid.version, to_grid.version
    carried: dict[str, Answer] = {}
    to_answer = []
    for criterion in to_grid.criteria:
        from_ids = tuple(sources.get(criterion.id, ()))
        if not from_ids:
            to_answer.append(
                Reanswer(
                    criterion.id,
                    "new",
                    f"new in version {new}; no criterion of version {old} maps to it",
                    from_ids,
                )
            )
            continue
        if len(from_ids) > 1:
            to_answer.append(
                Reanswer(
                    criterion.id,
                    "merged",
                    f"merges {', '.join(from_ids)} of version {old}; answer it again",
                    from_ids,
                )
            )
            continue
        old_id = from_ids[0]
        answer = assessment.get(old_id)
        if answer is None or not answer.answered:
            to_answer.append(
                Reanswer(
                    criterion.id,
                    "not_answered",
                    f"{old_id} of version {old} was not answered",
                    from_ids,
                )
            )
            continue
        changed = _changed_fields(from_grid.criterion(old_id), criterion)
        if changed:
            to_answer.append(
                Reanswer(
                    criterion.id,
                    "changed",
                    f"changed since version {old} ({old_id}): {', '.join(changed)}",
                    from_ids,
                )
            )
            continue
        carried[criterion.id] = answer

    dropped = tuple(
        Dropped(old_id, f"removed in version {new}; its answer is not carried")
        for old_id in from_grid.ids
        if mapping[old_id] is None and old_id in assessment and assessment[old_id].answered
    )
    return CarryOver(
        from_version=old,
        to_version=new,
        answers=MappingProxyType(carried),
        to_answer=tuple(to_answer),
        dropped=dropped,
    )


def _changed_fields(before: Criterion, after: Criterion) -> list[str]:
    return [name for name in _COMPARED_FIELDS if getattr(before, name) != getattr(after, name)]


def _check_mapping(from_grid: Grid, to_grid: Grid) -> None:
    summary = f"cannot carry over from version {from_grid.version} to {to_grid.version}"
    mapping = to_grid.mapping_from
    if mapping is None or mapping.from_version != from_grid.version:
        declared = (
            "no mapping_from" if mapping is None else f"mapping_from version {mapping.from_version}"
        )
        raise GridError(
            summary,
            [
                f"grid version {to_grid.version} declares {declared}; "
                f"it needs one from version {from_grid.version}"
            ],
        )
    ids = mapping.as_dict()
    problems = []
    unmapped = [old_id for old_id in from_grid.ids if old_id not in ids]
    if unmapped:
        # A silent gap would drop answers without anyone deciding to drop them.
        problems.append(
            f"mapping_from: ids of version {from_grid.version} not mapped "
            f"(map them to a new id or to null): {', '.join(unmapped)}"
        )
    unknown = [old_id for old_id in ids if not from_grid.has(old_id)]
    if unknown:
        problems.append(
            f"mapping_from: ids not in version {from_grid.version}: {', '.join(unknown)}"
        )
    if problems:
        raise GridError(summary, problems)
