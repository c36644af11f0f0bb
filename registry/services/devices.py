"""Devices and what hangs off them: KPIs, subgroups, versions, PCCP, deployments, evidence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import Select

from registry import audit, auth, lifecycle
from registry.auth import Actor, Permission
from registry.errors import ConflictError, GateNotMetError, InvalidInputError, NotFoundError
from registry.models import (
    AccessGrant,
    Artifact,
    ChangeControlPlan,
    ChangeType,
    Deployment,
    Device,
    Evidence,
    Kpi,
    ModelVersion,
    Organisation,
    OrganisationKind,
    PlannedModification,
    Stage,
    StageTransition,
    SubgroupVariable,
    utcnow,
)
from registry.schemas import (
    ChangeControlPlanIn,
    DeploymentIn,
    DeviceFilter,
    DeviceIn,
    DeviceUpdate,
    EvidenceIn,
    GrantIn,
    KpiIn,
    ModelCardUpdate,
    ModelVersionIn,
    SubgroupIn,
    TransitionIn,
    WaiverIn,
)
from registry.services.common import apply_changes, plain, reused, reused_many, snapshot

# --- reading ----------------------------------------------------------------------------------


def get_device(session: Session, actor: Actor, code: str, *, for_update: bool = False) -> Device:
    """The device with this code if the actor may see it; NotFoundError otherwise."""
    query = select(Device).where(Device.code == code)
    if for_update:
        # Serialise writers of one device on PostgreSQL (SQLite serialises all writers anyway).
        device = session.exec(query.with_for_update()).first()
    else:
        device = reused(session, ("device", code), lambda: session.exec(query).first())
    return auth.visible(session, actor, device, code)


def list_devices(session: Session, actor: Actor, filters: DeviceFilter) -> tuple[list[Device], int]:
    """Devices the actor may see, filtered; returns (page, total)."""
    query = select(Device).where(auth.visible_devices_clause(actor))
    if filters.q:
        like = f"%{filters.q.lower()}%"
        query = query.where(or_(func.lower(Device.name).like(like),
                                func.lower(Device.code).like(like),
                                func.lower(Device.intended_purpose).like(like)))
    for name in ("theme", "stage", "regulation", "risk_class", "adaptivity", "manufacturer_id"):
        value = getattr(filters, name)
        if value is not None:
            query = query.where(getattr(Device, name) == value)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    page = session.exec(query.order_by(Device.code).offset(filters.offset).limit(filters.limit))
    return list(page.all()), total


def _rows_of(session: Session, model: type[SQLModel], device: Device) -> list:
    return by_device(session, model, [device])[device.id]


def kpis_of(session: Session, device: Device) -> list[Kpi]:
    return _rows_of(session, Kpi, device)


def subgroups_of(session: Session, device: Device) -> list[SubgroupVariable]:
    return _rows_of(session, SubgroupVariable, device)


def versions_of(session: Session, device: Device) -> list[ModelVersion]:
    return _rows_of(session, ModelVersion, device)


def candidate_version(session: Session, device: Device) -> ModelVersion | None:
    """The version that will ship: the most recently registered one."""
    return session.exec(
        select(ModelVersion).where(ModelVersion.device_id == device.id)
        .order_by(ModelVersion.id.desc()).limit(1)
    ).first()


def deployments_of(session: Session, device: Device) -> list[Deployment]:
    return _rows_of(session, Deployment, device)


def transitions_of(session: Session, device: Device) -> list[StageTransition]:
    return by_device(session, StageTransition, [device])[device.id]


def evidence_of(session: Session, device: Device) -> list[Evidence]:
    return _rows_of(session, Evidence, device)


def change_control_plan_of(
    session: Session, device: Device
) -> tuple[ChangeControlPlan | None, list[PlannedModification]]:
    plan = session.exec(
        select(ChangeControlPlan).where(ChangeControlPlan.device_id == device.id)
    ).first()
    if plan is None:
        return None, []
    mods = session.exec(
        select(PlannedModification).where(PlannedModification.plan_id == plan.id)
        .order_by(PlannedModification.id)
    )
    return plan, list(mods)


# --- reading for many devices at once (dashboards: a fixed number of statements) --------------

IN_LIST_SIZE = 1000
"""Values per IN-list: far under the bind-parameter limits (SQLite 32,766, PostgreSQL 65,535),
and enough for a dashboard of a few hundred devices to send each statement once."""


def rows_in(session: Session, query: Select, column: Any, values: Iterable) -> list:
    """The rows of ``query`` whose ``column`` is one of ``values``: one statement per
    IN_LIST_SIZE values (none for no values). The values are sent in ascending order, so a query
    ordered by ``column`` first stays ordered across the statements."""
    values = sorted(set(values))
    rows: list = []
    for start in range(0, len(values), IN_LIST_SIZE):
        rows.extend(session.exec(query.where(column.in_(values[start:start + IN_LIST_SIZE]))))
    return rows


def by_device(session: Session, model: type[SQLModel], devices: Iterable[Device],
              order: Any = None) -> dict[int, list]:
    """{device id: the device's ``model`` rows} for every device given, each list ordered by
    ``order`` (by id, the creation order, when not given)."""
    def load(ids: list[int]) -> dict[int, list]:
        found: dict[int, list] = {i: [] for i in ids}
        query = select(model).order_by(model.device_id, model.id if order is None else order)
        for row in rows_in(session, query, model.device_id, ids):
            found[row.device_id].append(row)
        return found

    # Reused until the next write: a page's gate and its panels ask for the same rows.
    kind = model.__name__ if order is None else f"{model.__name__} by {order}"
    return reused_many(session, kind, [d.id for d in devices], load)


# --- creating and describing ------------------------------------------------------------------


def create_device(session: Session, actor: Actor, data: DeviceIn) -> Device:
    """Register a device for the actor's manufacturer organisation; it starts in S1."""
    auth.require(actor, Permission.DEVICE_CREATE)
    manufacturer_id = data.manufacturer_id or actor.organisation_id
    if manufacturer_id != actor.organisation_id:
        raise auth.PermissionDeniedError("you can only register devices for your own organisation")
    if session.exec(select(Device.id).where(Device.code == data.code)).first():
        raise ConflictError(f"device code '{data.code}' is already taken; choose another")
    fields = data.model_dump(exclude_none=True, exclude={"manufacturer_id"})
    device = Device(manufacturer_id=manufacturer_id, **fields)
    session.add(device)
    session.flush()
    session.add(StageTransition(device_id=device.id, to_stage=Stage.S1_NEEDS, direction="create",
                                reason="device registered", actor_id=actor.user_id))
    audit.record(session, actor, "device.create", device, {"after": snapshot(device)})
    return device


def _check_lock(device: Device, lock_version: int | None) -> None:
    if lock_version is not None and lock_version != device.lock_version:
        raise ConflictError(
            f"device {device.code} changed since you read it (your version {lock_version}, "
            f"current {device.lock_version}); reload and apply your change again"
        )


def _touch(device: Device) -> None:
    device.lock_version += 1
    device.updated_at = utcnow()


def update_device(session: Session, actor: Actor, code: str, data: DeviceUpdate) -> Device:
    """Change descriptive fields; refused (409) when ``lock_version`` is stale."""
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_UPDATE, device)
    _check_lock(device, data.lock_version)
    changes = data.model_dump(exclude_unset=True, exclude={"lock_version"})
    regulation = changes.get("regulation", device.regulation)
    if "risk_class" in changes or "regulation" in changes:
        DeviceUpdate.model_validate({"regulation": regulation,
                                     "risk_class": changes.get("risk_class", device.risk_class)})
    diff = apply_changes(device, changes)
    if diff["after"]:
        _touch(device)
        session.add(device)
        audit.record(session, actor, "device.update", device, diff)
    return device


def set_published(session: Session, actor: Actor, code: str, published: bool) -> Device:
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_PUBLISH, device)
    diff = apply_changes(device, {"is_published": published})
    if diff["after"]:
        _touch(device)
        session.add(device)
        audit.record(session, actor, "device.publish" if published else "device.unpublish",
                     device, diff)
    return device


def add_kpi(session: Session, actor: Actor, code: str, data: KpiIn) -> Kpi:
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_UPDATE, device)
    kpi = Kpi(device_id=device.id, **data.model_dump())
    session.add(kpi)
    _touch(device)
    audit.record(session, actor, "kpi.declare", kpi, {"after": snapshot(kpi)})
    return kpi


def remove_kpi(session: Session, actor: Actor, code: str, kpi_id: int) -> None:
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_UPDATE, device)
    kpi = session.get(Kpi, kpi_id)
    if kpi is None or kpi.device_id != device.id:
        raise NotFoundError(f"KPI {kpi_id} not found on device {code}")
    audit.record(session, actor, "kpi.remove", kpi, {"before": snapshot(kpi)})
    session.delete(kpi)
    _touch(device)


def set_subgroup(session: Session, actor: Actor, code: str, data: SubgroupIn) -> SubgroupVariable:
    """Declare (or redeclare) a subgroup variable and its tolerated gap."""
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_UPDATE, device)
    row = session.exec(select(SubgroupVariable).where(
        SubgroupVariable.device_id == device.id, SubgroupVariable.variable == data.variable)
    ).first()
    before = snapshot(row) if row else None
    if row is None:
        row = SubgroupVariable(device_id=device.id, variable=data.variable)
    for name, value in data.model_dump().items():
        setattr(row, name, value)
    session.add(row)
    _touch(device)
    audit.record(session, actor, "subgroup.declare", row,
                 {"before": before, "after": snapshot(row)})
    return row


def grant_access(session: Session, actor: Actor, code: str, data: GrantIn) -> AccessGrant:
    """Let a reviewing (HTA agency, notified body) or auditing organisation see the device."""
    device = get_device(session, actor, code)
    auth.require(actor, Permission.GRANT_MANAGE, device)
    org = session.get(Organisation, data.organisation_id)
    allowed = {"review": {OrganisationKind.hta_agency, OrganisationKind.notified_body},
               "audit": {OrganisationKind.auditor}}[data.purpose]
    if org is None or org.kind not in allowed:
        raise InvalidInputError(
            f"organisation {data.organisation_id} is not a "
            f"{' or '.join(sorted(k.value for k in allowed))}; a '{data.purpose}' grant "
            "goes to one"
        )
    existing = session.exec(select(AccessGrant).where(
        AccessGrant.device_id == device.id, AccessGrant.organisation_id == org.id)).first()
    if existing:
        return existing
    grant = AccessGrant(device_id=device.id, organisation_id=org.id, purpose=data.purpose)
    session.add(grant)
    audit.record(session, actor, "grant.create", grant, {"after": snapshot(grant)})
    return grant


def grants_of(session: Session, device: Device) -> list[AccessGrant]:
    return by_device(session, AccessGrant, [device])[device.id]


def granted_to(session: Session, actor: Actor) -> list[tuple[Device, AccessGrant]]:
    """The devices granted to the actor's organisation, with the grant, by device code."""
    return list(session.exec(
        select(Device, AccessGrant).join(AccessGrant, AccessGrant.device_id == Device.id)
        .where(AccessGrant.organisation_id == actor.organisation_id,
               auth.visible_devices_clause(actor))
        .order_by(Device.code)
    ))


# --- model versions and the change control plan -----------------------------------------------


def set_change_control_plan(
    session: Session, actor: Actor, code: str, data: ChangeControlPlanIn
) -> ChangeControlPlan:
    """Record the device's PCCP as data; an authorised plan changes only as a new version."""
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_UPDATE, device)
    plan, mods = change_control_plan_of(session, device)
    before = None
    if plan is not None:
        before = {"plan": snapshot(plan), "modifications": [snapshot(m) for m in mods]}
    if plan is not None and plan.status == "authorised" and plan.version == data.version:
        raise ConflictError(
            f"plan version {plan.version} is authorised and cannot change; submit it as a new "
            "plan version"
        )
    if plan is None:
        plan = ChangeControlPlan(device_id=device.id, authority=data.authority)
    wanted = {m.code for m in data.modifications}
    for mod in mods:
        if mod.code in wanted:
            continue
        if session.exec(select(ModelVersion.id).where(
                ModelVersion.planned_modification_id == mod.id)).first():
            raise ConflictError(
                f"planned modification {mod.code} is used by a model version and cannot be "
                "removed; keep it in the plan"
            )
        session.delete(mod)
    kept = {m.code: m for m in mods if m.code in wanted}
    for name in ("authority", "version", "status", "authorised_at", "summary"):
        setattr(plan, name, getattr(data, name))
    session.add(plan)
    session.flush()
    for mod_in in data.modifications:
        values = mod_in.model_dump()
        values["acceptance_criteria"] = [plain(k) for k in values["acceptance_criteria"]]
        row = kept.get(mod_in.code)
        if row is not None:
            for name, value in values.items():
                setattr(row, name, value)
        else:
            row = PlannedModification(plan_id=plan.id, **values)
        session.add(row)
    _touch(device)
    session.flush()
    _, new_mods = change_control_plan_of(session, device)
    audit.record(session, actor, "pccp.set", plan, {
        "before": before,
        "after": {"plan": snapshot(plan), "modifications": [snapshot(m) for m in new_mods]},
    })
    return plan


def create_model_version(
    session: Session, actor: Actor, code: str, data: ModelVersionIn
) -> ModelVersion:
    """Register a new version; its change type decides where the device re-enters the lifecycle.

    Raises ConflictError for a duplicate version string, InvalidInputError for a bad parent or a
    PCCP reference that does not exist.
    """
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.MODEL_VERSION_CREATE, device)
    existing = versions_of(session, device)
    if any(v.version == data.version for v in existing):
        raise ConflictError(f"version '{data.version}' already exists for {code}")
    if data.change_type == ChangeType.initial and existing:
        raise InvalidInputError(
            "change_type 'initial' is only for the first version; classify this change "
            "(none_model, retrain_in_plan, retrain_out_of_plan, architecture, intended_purpose)"
        )
    if data.change_type != ChangeType.initial and not existing:
        raise InvalidInputError("the first version of a device has change_type 'initial'")
    parent = None
    if existing:
        parent = existing[-1] if data.parent_id is None else next(
            (v for v in existing if v.id == data.parent_id), None)
        if parent is None:
            raise InvalidInputError(f"parent_id {data.parent_id} is not a version of {code}")
    modification = None
    if data.within_pccp:
        plan, mods = change_control_plan_of(session, device)
        modification = next((m for m in mods if m.code == data.planned_modification_code), None)
        if plan is None or modification is None:
            raise InvalidInputError(
                f"planned_modification_code '{data.planned_modification_code}' is not in the "
                f"change control plan of {code}; record it in the plan or class the change "
                "'retrain_out_of_plan'"
            )
    version = ModelVersion(
        device_id=device.id,
        version=data.version,
        parent_id=parent.id if parent else None,
        change_type=data.change_type,
        change_description=data.change_description,
        within_pccp=data.within_pccp,
        planned_modification_id=modification.id if modification else None,
        model_card=data.model_card,
    )
    session.add(version)
    session.flush()
    audit.record(session, actor, "model_version.create", version, {"after": snapshot(version)})
    if data.change_type != ChangeType.initial:
        reentry = lifecycle.reentry_stage(data.change_type)
        if lifecycle.STAGES.index(reentry) < lifecycle.STAGES.index(device.stage):
            _move(session, actor, device, reentry, "back", version,
                  f"new version {version.version} ({data.change_type.value}) re-enters the "
                  f"lifecycle at {reentry.value}", [])
    _touch(device)
    return version


def update_model_card(
    session: Session, actor: Actor, code: str, version_id: int, data: ModelCardUpdate
) -> ModelVersion:
    """Edit a version's model card; refused once the version is evaluated (make a new version)."""
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.MODEL_VERSION_CREATE, device)
    version = get_version(session, device, version_id)
    if version.evaluated_at is not None:
        raise ConflictError(
            f"version {version.version} was evaluated on {version.evaluated_at:%Y-%m-%d} and is "
            "immutable; register a new version for the change"
        )
    diff = apply_changes(version, {"model_card": data.model_card})
    session.add(version)
    _touch(device)
    audit.record(session, actor, "model_version.update", version, diff)
    return version


def get_version(session: Session, device: Device, version_id: int) -> ModelVersion:
    version = session.get(ModelVersion, version_id)
    if version is None or version.device_id != device.id:
        raise NotFoundError(f"model version {version_id} not found on device {device.code}")
    return version


def mark_evaluated(session: Session, actor: Actor, version: ModelVersion) -> None:
    """Freeze a version: from its first evaluation on, a change is a new version."""
    if version.evaluated_at is None:
        version.evaluated_at = utcnow()
        session.add(version)
        audit.record(session, actor, "model_version.freeze", version,
                     {"after": {"evaluated_at": version.evaluated_at.isoformat()}})


# --- deployments ------------------------------------------------------------------------------


def create_deployment(session: Session, actor: Actor, code: str, data: DeploymentIn) -> Deployment:
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEPLOYMENT_CREATE, device)
    version = get_version(session, device, data.model_version_id)
    hospital = session.get(Organisation, data.hospital_id)
    if hospital is None or hospital.kind != OrganisationKind.hospital:
        raise InvalidInputError(f"hospital_id {data.hospital_id} is not a hospital organisation")
    deployment = Deployment(device_id=device.id, **data.model_dump())
    deployment.model_version_id = version.id
    session.add(deployment)
    _touch(device)
    audit.record(session, actor, "deployment.create", deployment, {"after": snapshot(deployment)})
    return deployment


def deployed_at(session: Session, actor: Actor
                ) -> list[tuple[Deployment, Device, ModelVersion]]:
    """The deployments at the actor's organisation (a hospital), with device and version."""
    return list(session.exec(
        select(Deployment, Device, ModelVersion)
        .join(Device, Device.id == Deployment.device_id)
        .join(ModelVersion, ModelVersion.id == Deployment.model_version_id)
        .where(Deployment.hospital_id == actor.organisation_id,
               auth.visible_devices_clause(actor))
        .order_by(Deployment.id)
    ))


# --- evidence and gates -----------------------------------------------------------------------


def attach_evidence(session: Session, actor: Actor, code: str, data: EvidenceIn) -> Evidence:
    """Attach a document as evidence for a gate item (of the candidate version by default)."""
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.EVIDENCE_ATTACH, device)
    item = lifecycle.ITEMS_BY_ID.get(data.gate_item)
    if item is None:
        raise InvalidInputError(f"gate_item '{data.gate_item}' is not a lifecycle gate item")
    if data.artifact_id is None and not data.note:
        raise InvalidInputError("give an artifact_id (an uploaded document) or a note")
    if data.artifact_id is not None:
        artifact = session.get(Artifact, data.artifact_id)
        if artifact is None or artifact.organisation_id != actor.organisation_id:
            raise InvalidInputError(f"artifact_id {data.artifact_id} is not one of your uploads")
    version_id = data.model_version_id
    if item.scope == "version":
        if version_id is None:
            candidate = candidate_version(session, device)
            if candidate is None:
                raise InvalidInputError(
                    f"{item.id} concerns a model version; register a model version first")
            version_id = candidate.id
        else:
            get_version(session, device, version_id)
    else:
        version_id = None
    evidence = Evidence(device_id=device.id, model_version_id=version_id, gate_item=item.id,
                        kind="document", artifact_id=data.artifact_id, note=data.note,
                        created_by=actor.user_id)
    session.add(evidence)
    _touch(device)
    audit.record(session, actor, "evidence.attach", evidence, {"after": snapshot(evidence)})
    return evidence


def waive_gate_item(session: Session, actor: Actor, code: str, data: WaiverIn) -> Evidence:
    """A reviewer waives one gate item with a written justification (itself kept as evidence)."""
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.GATE_WAIVE, device)
    if data.gate_item not in lifecycle.ITEMS_BY_ID:
        raise InvalidInputError(f"gate_item '{data.gate_item}' is not a lifecycle gate item")
    candidate = candidate_version(session, device)
    evidence = Evidence(device_id=device.id, model_version_id=candidate.id if candidate else None,
                        gate_item=data.gate_item, kind="waiver", note=data.justification,
                        created_by=actor.user_id)
    session.add(evidence)
    _touch(device)
    audit.record(session, actor, "gate.waive", evidence, {"after": snapshot(evidence)},
                 reason=data.justification)
    return evidence


def _accepted_versions(candidate: ModelVersion | None,
                       versions: dict[int, ModelVersion]) -> set[int]:
    """Versions whose evidence counts for the candidate: itself and, through changes that need
    no re-validation (none_model), its ancestors (lifecycle.md section 2). ``versions``: the
    device's versions by id (a parent is always a version of the same device)."""
    accepted: set[int] = set()
    version = candidate
    while version is not None:
        accepted.add(version.id)
        if version.change_type != ChangeType.none_model or version.parent_id is None:
            break
        version = versions[version.parent_id]
    return accepted


def _gate_evidence(evidence: list[Evidence], accepted: set[int]
                   ) -> tuple[frozenset[str], frozenset[str]]:
    """(documents, waivers): the gate items with evidence that counts for the candidate."""
    documents, waivers = set(), set()
    for ev in evidence:
        item = lifecycle.ITEMS_BY_ID.get(ev.gate_item)
        if item is None:
            continue
        if item.scope == "device" or ev.model_version_id in accepted:
            (waivers if ev.kind == "waiver" else documents).add(ev.gate_item)
    return frozenset(documents), frozenset(waivers)


def gate_contexts(session: Session, devices: Sequence[Device]
                  ) -> dict[int, lifecycle.GateContext]:
    """{device id: its lifecycle gate context}, read with a fixed number of statements however
    many devices (one per kind of row and per IN_LIST_SIZE devices; about 15 in all)."""
    versions = by_device(session, ModelVersion, devices)
    evidence = by_device(session, Evidence, devices)
    kpis = by_device(session, Kpi, devices)
    subgroups = by_device(session, SubgroupVariable, devices)
    deployments = by_device(session, Deployment, devices)
    planned = set(rows_in(session, select(ChangeControlPlan.device_id),
                          ChangeControlPlan.device_id, [d.id for d in devices]))
    # The candidate is the last registered version (as ``candidate_version``).
    candidates = {i: rows[-1] if rows else None for i, rows in versions.items()}
    accepted = {i: _accepted_versions(candidates[i], {v.id: v for v in rows})
                for i, rows in versions.items()}
    facts = _area_facts(session, devices, candidates, accepted)
    contexts = {}
    for device in devices:
        candidate, counted = candidates[device.id], accepted[device.id]
        documents, waivers = _gate_evidence(evidence[device.id], counted)
        contexts[device.id] = lifecycle.GateContext(
            device=snapshot(device),
            kpis=tuple(snapshot(k) for k in kpis[device.id]),
            subgroups=tuple(snapshot(s) for s in subgroups[device.id]),
            version=snapshot(candidate) if candidate else None,
            documents=documents,
            waivers=waivers,
            deployments=tuple(snapshot(d) for d in deployments[device.id]
                              if d.model_version_id in counted),
            has_change_control_plan=device.id in planned,
            facts=facts[device.id],
        )
    return contexts


def gate_context(session: Session, device: Device) -> lifecycle.GateContext:
    return gate_contexts(session, [device])[device.id]


def _area_facts(session: Session, devices: Sequence[Device],
                candidates: dict[int, ModelVersion | None], accepted: dict[int, set[int]]
                ) -> dict[int, dict]:
    """Each area states what its gate items need to know (see ``GateContext.facts``)."""
    from registry.services import ethics, evaluations, monitoring, reviews

    areas = {"evaluations": evaluations, "ethics": ethics, "monitoring": monitoring,
             "reviews": reviews}
    by_area = {name: module.gate_facts_many(session, devices, candidates, accepted)
               for name, module in areas.items()}
    return {d.id: {name: facts[d.id] for name, facts in by_area.items()} for d in devices}


def gate_status(session: Session, actor: Actor, code: str) -> list[lifecycle.Unmet]:
    """The unmet requirements for leaving the device's current stage."""
    device = get_device(session, actor, code)
    return lifecycle.unmet_requirements(device.stage, gate_context(session, device))


def advance_stage(session: Session, actor: Actor, code: str, data: TransitionIn) -> Device:
    """Move the device to ``data.to_stage``.

    Forward moves go to the next stage only and need every gate item met (GateNotMetError lists
    the unmet ones); backward moves need a reason. Raises ConflictError for a stale lock_version.
    """
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_TRANSITION, device)
    _check_lock(device, data.lock_version)
    if device.withdrawn_at is not None:
        raise ConflictError(f"device {code} is withdrawn")
    try:
        move = lifecycle.plan_move(device.stage, data.to_stage)
    except ValueError as exc:
        raise ConflictError(str(exc)) from None
    candidate = candidate_version(session, device)
    if move.direction == "back":
        if not data.reason:
            raise InvalidInputError("moving back needs a reason (e.g. the change that requires it)")
        _move(session, actor, device, move.to_stage, "back", candidate, data.reason, [])
        return device
    ctx = gate_context(session, device)
    unmet = lifecycle.unmet_requirements(device.stage, ctx)
    if unmet:
        raise GateNotMetError(
            f"{len(unmet)} requirement(s) of gate G{device.stage.number} are not met; "
            f"satisfy them to move to {move.to_stage.value}",
            [u.to_dict() for u in unmet],
        )
    satisfied = [
        {"id": item.id, "waived": item.id in ctx.waivers}
        for item in lifecycle.gate_items(device.stage) if item.applies(ctx)
    ]
    _move(session, actor, device, move.to_stage, "forward", candidate, data.reason, satisfied)
    return device


def _move(session: Session, actor: Actor, device: Device, to_stage: Stage, direction: str,
          version: ModelVersion | None, reason: str, evidence: list[dict[str, Any]]) -> None:
    from_stage = device.stage
    device.stage = to_stage
    _touch(device)
    session.add(device)
    transition = StageTransition(
        device_id=device.id, from_stage=from_stage, to_stage=to_stage, direction=direction,
        reason=reason, model_version_id=version.id if version else None,
        actor_id=actor.user_id, evidence=evidence)
    session.add(transition)
    audit.record(session, actor, f"device.stage.{direction}", device,
                 {"before": {"stage": from_stage.value}, "after": {"stage": to_stage.value},
                  "model_version_id": transition.model_version_id, "gate": evidence},
                 reason=reason)


def withdraw_device(session: Session, actor: Actor, code: str, reason: str) -> Device:
    device = get_device(session, actor, code, for_update=True)
    auth.require(actor, Permission.DEVICE_TRANSITION, device)
    if not reason:
        raise InvalidInputError("withdrawing a device needs a reason")
    device.withdrawn_at = datetime.now(UTC)
    _touch(device)
    session.add(device)
    audit.record(session, actor, "device.withdraw", device,
                 {"after": {"withdrawn_at": device.withdrawn_at.isoformat()}}, reason=reason)
    return device


def list_device_audit(session: Session, actor: Actor, code: str) -> list:
    """The audit events of one device."""
    device = get_device(session, actor, code)
    auth.require(actor, Permission.AUDIT_READ, device)
    return audit.events_for_device(session, device.id)
