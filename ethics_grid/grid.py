"""Grid versions: load, validate and look up the criteria.

A grid version is shipped as ``grid_v<version>.yaml`` inside this package and
becomes an immutable :class:`Grid`: frozen dataclasses and tuples all the way down,
because an assessment made on a published version must keep meaning the same thing
(ethics_grid.md section 4, "immutable once used").
"""

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from ethics_grid.codes import GRID_STAGES, LIFECYCLE_STAGES, PRINCIPLES
from ethics_grid.errors import GridError
from ethics_grid.schema import check_grid_document

_FILE_PATTERN = re.compile(r"^grid_v(?P<version>[0-9A-Za-z._-]+)\.yaml$")


@dataclass(frozen=True)
class MaturityLevel:
    """One step of a maturity scale.

    Attributes
    ----------
    level : int
        0 to 3.
    code : str
        Machine code, e.g. ``"not_addressed"``.
    label : str
        Short label shown in forms.
    meaning : str
        What the level means for this grid or criterion.
    """

    level: int
    code: str
    label: str
    meaning: str


@dataclass(frozen=True)
class Criterion:
    """One operational criterion of a grid version.

    Attributes
    ----------
    id : str
        Stable identifier within the version, e.g. ``"ETH-08"``.
    stage : str
        Grid stage (DNS guide step), one of :data:`ethics_grid.codes.GRID_STAGES`.
    lifecycle_stage : str
        Lifecycle stage whose exit gate needs the criterion answered, one of
        :data:`ethics_grid.codes.LIFECYCLE_STAGES`.
    principle : str
        CENS principle, one of :data:`ethics_grid.codes.PRINCIPLES`.
    blocking : bool
        Must reach maturity 2 to pass gate G5 (ethics_grid.md section 4).
    requirement : str
        What must be true.
    evidence : tuple of str
        Kinds of documents that satisfy it.
    computed_evidence : tuple of str
        Registry records that can serve as evidence (``"subgroup_analysis"``...).
    altai : tuple of str
        EU ALTAI requirements it relates to (``"A1"`` .. ``"A7"``).
    legal_refs : tuple of str
        Legal texts it relates to.
    maturity_scale : tuple of MaturityLevel
        The scale answers use, levels 0 to 3.
    """

    id: str
    stage: str
    lifecycle_stage: str
    principle: str
    blocking: bool
    requirement: str
    evidence: tuple[str, ...]
    computed_evidence: tuple[str, ...]
    altai: tuple[str, ...]
    legal_refs: tuple[str, ...]
    maturity_scale: tuple[MaturityLevel, ...]


@dataclass(frozen=True)
class IdMapping:
    """How the ids of an earlier grid version map onto this one.

    Attributes
    ----------
    from_version : str
        The earlier version.
    pairs : tuple of (str, str or None)
        ``(old_id, new_id)``; ``new_id`` is None when the old criterion was dropped.
    """

    from_version: str
    pairs: tuple[tuple[str, str | None], ...]

    def as_dict(self) -> dict[str, str | None]:
        """Return the mapping as a new dict ``{old_id: new_id or None}``."""
        return dict(self.pairs)


@dataclass(frozen=True)
class Grid:
    """An ethics grid version.

    Attributes
    ----------
    id : str
        Grid family, e.g. ``"dmd-registry-ethics"``.
    version : str
        Version key that assessments reference, e.g. ``"3"``.
    label : str
        Human version label, e.g. ``"3.0-registry"``.
    title : str
        Title shown in pages and dossiers.
    source : str
        Where the wording comes from, e.g. ``"registry_operationalisation"``.
    published : bool
        A published version is used for assessments and never edited.
    published_on : datetime.date or None
        Publication date; None for a draft.
    principles, stages : tuple of str
        Codes the version uses, in display order.
    maturity_scale : tuple of MaturityLevel
        The grid-wide scale (empty when every criterion brings its own).
    criteria : tuple of Criterion
        In grid order.
    mapping_from : IdMapping or None
        Mapping from the previous version's ids, when the version replaces one.
    fingerprint : str
        SHA-256 of the document's canonical JSON (see :func:`document_fingerprint`):
        what an assessment records to prove which wording it answered.
    """

    id: str
    version: str
    label: str
    title: str
    source: str
    published: bool
    published_on: dt.date | None
    principles: tuple[str, ...]
    stages: tuple[str, ...]
    maturity_scale: tuple[MaturityLevel, ...]
    criteria: tuple[Criterion, ...]
    mapping_from: IdMapping | None = None
    fingerprint: str = ""
    _by_id: Mapping[str, Criterion] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A read-only view so a caller cannot add criteria through the index.
        index = MappingProxyType({c.id: c for c in self.criteria})
        object.__setattr__(self, "_by_id", index)

    @property
    def ids(self) -> tuple[str, ...]:
        """Criterion ids in grid order."""
        return tuple(c.id for c in self.criteria)

    def has(self, criterion_id: str) -> bool:
        """Return True when ``criterion_id`` is a criterion of this version."""
        return criterion_id in self._by_id

    def criterion(self, criterion_id: str) -> Criterion:
        """Return the criterion with this id.

        Raises
        ------
        KeyError
            When the id is not in this version.
        """
        try:
            return self._by_id[criterion_id]
        except KeyError:
            raise KeyError(
                f"criterion {criterion_id!r} is not in ethics grid version {self.version!r}"
            ) from None

    def by_stage(self, stage: str) -> tuple[Criterion, ...]:
        """Return the criteria of a stage, in grid order.

        Parameters
        ----------
        stage : str
            A grid stage (``"FRAMING"`` ...) or a lifecycle stage (``"S1_NEEDS"``
            ...); the two code sets do not overlap.

        Raises
        ------
        ValueError
            When ``stage`` is in neither code set.
        """
        if stage in GRID_STAGES:
            return tuple(c for c in self.criteria if c.stage == stage)
        if stage in LIFECYCLE_STAGES:
            return tuple(c for c in self.criteria if c.lifecycle_stage == stage)
        allowed = ", ".join((*GRID_STAGES, *LIFECYCLE_STAGES))
        raise ValueError(f"stage must be one of {allowed}; got {stage!r}")

    def by_principle(self, principle: str) -> tuple[Criterion, ...]:
        """Return the criteria of a principle, in grid order.

        Raises
        ------
        ValueError
            When ``principle`` is not a principle code.
        """
        if principle not in PRINCIPLES:
            raise ValueError(f"principle must be one of {', '.join(PRINCIPLES)}; got {principle!r}")
        return tuple(c for c in self.criteria if c.principle == principle)

    @property
    def blocking(self) -> tuple[Criterion, ...]:
        """The blocking criteria, in grid order."""
        return tuple(c for c in self.criteria if c.blocking)


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping.

    PyYAML keeps the last of two equal keys silently; in a criterion that would
    hide a typo such as two ``principle:`` lines.
    """

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is repeated", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping
)


def parse_grid(document: Any) -> Grid:
    """Validate a parsed grid document and build the immutable grid.

    Parameters
    ----------
    document : Mapping
        The grid file as parsed from YAML: ``grid`` header, ``criteria`` list and
        optional ``mapping_from``.

    Returns
    -------
    Grid

    Raises
    ------
    GridError
        Listing every problem found (see :func:`ethics_grid.schema.check_grid_document`).

    Examples
    --------
    >>> parse_grid({"grid": {}, "criteria": []})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ethics_grid.errors.GridError: invalid ethics grid (version '?'): 7 problems
    ...
    """
    problems = check_grid_document(document)
    if problems:
        raise GridError(f"invalid ethics grid (version {_version_of(document)!r})", problems)
    return _build(document)


def parse_grid_yaml(text: str) -> Grid:
    """Parse grid YAML text, validate it and build the grid.

    Parameters
    ----------
    text : str
        Contents of a grid file.

    Returns
    -------
    Grid

    Raises
    ------
    GridError
        When the YAML cannot be read (with the line) or the grid is invalid.
    """
    try:
        # _UniqueKeyLoader is a SafeLoader: no arbitrary Python objects.
        document = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise GridError("unreadable ethics grid YAML", [" ".join(str(exc).split())]) from None
    return parse_grid(document)


def available_versions() -> tuple[str, ...]:
    """Return the grid versions shipped with this package.

    Returns
    -------
    tuple of str
        Versions, oldest first (numeric parts compared as numbers).

    Examples
    --------
    >>> "3" in available_versions()
    True
    """
    found = []
    for entry in resources.files("ethics_grid").iterdir():
        match = _FILE_PATTERN.match(entry.name)
        if match:
            found.append(match.group("version"))
    return tuple(sorted(found, key=_natural_key))


def load_grid(version: str = "3") -> Grid:
    """Load a grid version shipped with this package.

    Parameters
    ----------
    version : str, default "3"
        One of :func:`available_versions`.

    Returns
    -------
    Grid

    Raises
    ------
    GridError
        When the version is not shipped, the file is invalid, or its header names
        another version than its file name.

    Examples
    --------
    >>> grid = load_grid("3")
    >>> len(grid.criteria), grid.criterion("ETH-08").blocking
    (44, True)
    """
    name = f"grid_v{version}.yaml"
    resource = resources.files("ethics_grid").joinpath(name)
    if not _FILE_PATTERN.match(name) or not resource.is_file():
        shipped = ", ".join(available_versions()) or "none"
        raise GridError(
            "unknown ethics grid version",
            [f"version {version!r} is not shipped; available versions: {shipped}"],
        )
    grid = parse_grid_yaml(resource.read_text(encoding="utf-8"))
    if grid.version != version:
        raise GridError(
            f"invalid ethics grid (version {version!r})",
            [f"grid: field 'version' is {grid.version!r} but the file is {name}"],
        )
    check_published(grid)
    return grid


def check_published(grid: Grid, published: Mapping[str, str] | None = None) -> None:
    """Refuse a grid whose published version was edited, or published without being recorded.

    Publishing a version means recording its fingerprint in
    :data:`ethics_grid.published.PUBLISHED_FINGERPRINTS`; from then on the content can
    never change (ethics_grid.md section 4): a change needs a new version with a
    ``mapping_from`` table.

    Parameters
    ----------
    grid : Grid
        A parsed grid.
    published : Mapping[str, str], optional
        Version to fingerprint; defaults to the shipped record.

    Raises
    ------
    GridError
        When the grid says it is published but its fingerprint is not the recorded
        one (or none is recorded), or a recorded version is marked unpublished.
    """
    from ethics_grid.published import PUBLISHED_FINGERPRINTS

    record = PUBLISHED_FINGERPRINTS if published is None else published
    expected = record.get(grid.version)
    problems = []
    if grid.published and expected is None:
        problems.append(
            f"version {grid.version} is marked published but its fingerprint is not recorded "
            f"in ethics_grid/published.py (add {grid.version!r}: {grid.fingerprint!r})"
        )
    elif expected is not None and not grid.published:
        problems.append(f"version {grid.version} was published; it cannot become a draft again")
    elif expected is not None and expected != grid.fingerprint:
        problems.append(
            f"version {grid.version} was published with fingerprint {expected} but its content "
            f"now has {grid.fingerprint}; published versions are immutable: revert the edit and "
            f"ship the change as a new version with a mapping_from table"
        )
    if problems:
        raise GridError(f"ethics grid version {grid.version} was changed after publication",
                        problems)


def document_fingerprint(document: Mapping[str, Any]) -> str:
    """Return the SHA-256 of a grid document's canonical JSON.

    Keys sorted, no spaces, dates as ISO strings: YAML comments and layout do not
    count, any change of a value does.
    """
    body = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _natural_key(version: str) -> tuple[Any, ...]:
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"[._-]", version)
    )


def _version_of(document: Any) -> str:
    if isinstance(document, Mapping):
        header = document.get("grid")
        if isinstance(header, Mapping) and isinstance(header.get("version"), str):
            return header["version"]
    return "?"


def _scale(items: Any) -> tuple[MaturityLevel, ...]:
    return tuple(
        MaturityLevel(level=i["level"], code=i["code"], label=i["label"], meaning=i["meaning"])
        for i in items or ()
    )


def _build(document: Mapping[str, Any]) -> Grid:
    header = document["grid"]
    grid_scale = _scale(header.get("maturity_scale"))
    criteria = tuple(
        Criterion(
            id=item["id"],
            stage=item["stage"],
            lifecycle_stage=item["lifecycle_stage"],
            principle=item["principle"],
            blocking=item.get("blocking", False),
            requirement=" ".join(item["requirement"].split()),
            evidence=tuple(item["evidence"]),
            computed_evidence=tuple(item.get("computed_evidence", ())),
            altai=tuple(item.get("altai", ())),
            legal_refs=tuple(item.get("legal_refs", ())),
            maturity_scale=_scale(item["maturity_scale"])
            if "maturity_scale" in item
            else grid_scale,
        )
        for item in document["criteria"]
    )
    published_on = header.get("published_on")
    if isinstance(published_on, str):
        published_on = dt.date.fromisoformat(published_on)
    mapping = document.get("mapping_from")
    return Grid(
        id=header["id"],
        version=header["version"],
        label=header.get("label", header["version"]),
        title=header.get("title", header["id"]),
        source=header["source"],
        published=header["published"],
        published_on=published_on,
        principles=tuple(header["principles"]),
        stages=tuple(header["stages"]),
        maturity_scale=grid_scale,
        criteria=criteria,
        mapping_from=(
            IdMapping(from_version=mapping["version"], pairs=tuple(mapping["ids"].items()))
            if mapping
            else None
        ),
        fingerprint=document_fingerprint(document),
    )
