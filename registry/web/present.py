"""Plain data for the templates, gathered through the service functions (no ORM objects leave).

Labels for the codes stored in the database live here too: the pages say "Care pathway", the
database and the API say ``PATHWAY``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from registry import auth, lifecycle
from registry.auth import Actor, Permission
from registry.errors import NotFoundError
from registry.models import (
    RISK_CLASSES,
    STAGE_LABELS,
    AiActCategory,
    Device,
    OrganisationKind,
    OutputRole,
    Role,
    Stage,
    Theme,
    User,
)
from registry.schemas import (
    ArtifactOut,
    ChangeControlPlanOut,
    DeploymentOut,
    DeviceFilter,
    DeviceOut,
    EvidenceOut,
    KpiOut,
    ModelVersionOut,
    OrganisationOut,
    PlannedModificationOut,
    SubgroupOut,
    TransitionOut,
)
from registry.services import artifacts, devices, national, organisations
from registry.web.panels import device_panels

# The strategy's nine themes (use_cases.md section 1).
THEME_LABELS = {
    Theme.ACCESS: "Access to care",
    Theme.PATHWAY: "Care pathway",
    Theme.CARE: "Care activities",
    Theme.TECH_PLATFORM: "Technical platforms",
    Theme.PREVENTION: "Prevention",
    Theme.LOGISTICS: "Logistics",
    Theme.ADMIN: "Administrative",
    Theme.RESEARCH: "Research",
    Theme.STEERING: "Management",
}
KIND_LABELS = {kind: kind.value.replace("_", " ").capitalize() for kind in OrganisationKind}
KIND_LABELS[OrganisationKind.hta_agency] = "HTA agency"
OUTPUT_ROLE_LABELS = {
    OutputRole.inform: "Inform clinical management",
    OutputRole.drive: "Drive clinical management",
    OutputRole.diagnose_treat: "Diagnose or treat",
}
AI_ACT_LABELS = {
    AiActCategory.high_risk_art6_1: "High risk (Art. 6(1), product safety component)",
    AiActCategory.high_risk_annex_iii: "High risk (Annex III)",
    AiActCategory.limited_risk: "Limited risk (transparency)",
    AiActCategory.minimal_risk: "Minimal risk",
    AiActCategory.not_ai_system: "Not an AI system",
}


def labels() -> dict[str, Any]:
    """Everything the templates need to name codes; injected into every template."""
    return {
        "stages": [{"code": s.value, "number": s.number, "label": STAGE_LABELS[s]} for s in Stage],
        "stage_label": {s.value: STAGE_LABELS[s] for s in Stage},
        "theme_label": {t.value: label for t, label in THEME_LABELS.items()},
        "kind_label": {k.value: label for k, label in KIND_LABELS.items()},
        "output_role_label": {k.value: v for k, v in OUTPUT_ROLE_LABELS.items()},
        "ai_act_label": {k.value: v for k, v in AI_ACT_LABELS.items()},
    }


def dump(model: type[BaseModel], obj: Any) -> dict[str, Any]:
    return model.model_validate(obj).model_dump(mode="json")


def dump_all(model: type[BaseModel], objs: Any) -> list[dict[str, Any]]:
    return [dump(model, o) for o in objs]


def all_devices(session: Session, actor: Actor, **filters: Any) -> list[Device]:
    """Every device the actor may see (page by page through ``list_devices``)."""
    found: list[Device] = []
    while True:
        page, total = devices.list_devices(
            session, actor, DeviceFilter(limit=500, offset=len(found), **filters))
        found.extend(page)
        if not page or len(found) >= total:
            return found


def organisation_names(session: Session, actor: Actor,
                       ids: Iterable[int | None] | None = None) -> dict[int, str]:
    """Organisation names by id: of ``ids`` only when given (pages name a few of thousands)."""
    return organisations.organisation_names(session, actor, ids)


def device_row(device: Device, names: dict[int, str]) -> dict[str, Any]:
    row = dump(DeviceOut, device)
    row["manufacturer"] = names.get(device.manufacturer_id, "")
    return row


# --- dashboards -------------------------------------------------------------------------------


def dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    """The figures and lists of the signed-in actor's dashboard."""
    build = {
        Role.manufacturer: _manufacturer_dashboard,
        Role.reviewer: _granted_dashboard,
        Role.auditor: _granted_dashboard,
        Role.hospital: _hospital_dashboard,
        Role.authority: _authority_dashboard,
        Role.admin: _admin_dashboard,
    }[actor.role]
    return build(session, actor)


def _manufacturer_dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    by_stage: dict[str, list[dict[str, Any]]] = {s.value: [] for s in Stage}
    found = all_devices(session, actor, manufacturer_id=actor.organisation_id)
    contexts = devices.gate_contexts(session, found)
    for device in found:
        unmet = lifecycle.unmet_requirements(device.stage, contexts[device.id])
        row = dump(DeviceOut, device)
        row["unmet"] = len(unmet)
        row["next_stage"] = (lifecycle.next_stage(device.stage) or device.stage).value
        by_stage[device.stage.value].append(row)
    return {"by_stage": by_stage, "total": sum(len(rows) for rows in by_stage.values())}


def _granted_dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    names = organisation_names(session, actor)
    granted = []
    for device, grant in devices.granted_to(session, actor):
        row = device_row(device, names)
        row["purpose"] = grant.purpose
        granted.append(row)
    return {"granted": granted}


def _hospital_dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    rows = []
    for deployment, device, version in devices.deployed_at(session, actor):
        row = dump(DeploymentOut, deployment)
        row.update(code=device.code, name=device.name, stage=device.stage.value,
                   version=version.version)
        rows.append(row)
    return {"deployments": sorted(rows, key=lambda r: (r["site"], r["code"]))}


def _authority_dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    # An authority sees every device: the national matrix is its dashboard's (one statement).
    return national.theme_stage_matrix(session)


def _admin_dashboard(session: Session, actor: Actor) -> dict[str, Any]:
    orgs = organisations.list_organisations(session, actor)
    users = organisations.list_users(session, actor)
    kinds = Counter(o.kind.value for o in orgs)
    _, visible = devices.list_devices(session, actor, DeviceFilter(limit=1))
    return {
        "organisations": len(orgs),
        "by_kind": [(k.value, kinds[k.value]) for k in OrganisationKind if kinds[k.value]],
        "users": len(users),
        "active_users": sum(1 for u in users if u.is_active),
        "by_role": sorted(Counter(u.role.value for u in users).items()),
        "devices": visible,
    }


# --- one device -------------------------------------------------------------------------------


def may_write(actor: Actor, device: Device) -> bool:
    """Whether to offer the manufacturer's forms (the services check again on submit)."""
    return auth.allows(actor, Permission.DEVICE_UPDATE) and (
        device.manufacturer_id == actor.organisation_id)


def _artifact(session: Session, actor: Actor, artifact_id: int | None) -> dict | None:
    if artifact_id is None or not auth.allows(actor, Permission.ARTIFACT_READ):
        return None
    try:
        return dump(ArtifactOut, artifacts.get_artifact(session, actor, artifact_id))
    except NotFoundError:
        return None  # evidence the actor sees, on a file they may not open: listed without link


def gate(session: Session, actor: Actor, device: Device) -> dict[str, Any]:
    """The current stage's exit gate: every item with its status, and the unmet ones."""
    # One gate context for both lists (it reads every area's facts: ~25 statements).
    ctx = devices.gate_context(session, device)
    unmet = [u.to_dict() for u in lifecycle.unmet_requirements(device.stage, ctx)]
    unmet_ids = {u["id"] for u in unmet}
    nxt = lifecycle.next_stage(device.stage)
    items = [{"id": i.id, "title": i.title, "document": i.document,
              "status": "unmet" if i.id in unmet_ids else "met" if i.applies(ctx) else "n/a"}
             for i in lifecycle.gate_items(device.stage)]
    return {"stage": device.stage.value, "number": device.stage.number,
            "next_stage": nxt.value if nxt else None, "unmet": unmet, "items": items}


def evidence_choices(stage: Stage, unmet_ids: set[str]) -> list[dict[str, Any]]:
    """Gate items grouped by stage for the evidence form, from the current stage on; the first
    unmet item of the current gate is preselected."""
    groups, preselected = [], False
    for s in lifecycle.STAGES[lifecycle.STAGES.index(stage):]:
        items = []
        for i in lifecycle.gate_items(s):
            unmet = i.id in unmet_ids
            selected = unmet and not preselected
            preselected = preselected or selected
            label = f"{i.id} · {i.title}" + (" (unmet)" if unmet else "")
            items.append({"id": i.id, "label": label, "selected": selected})
        if items:
            groups.append({"stage": s.value, "label": f"G{s.number}: leave {s.value}",
                           "items": items})
    return groups


def device_page(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """Everything the device page shows. Raises NotFoundError for a device the actor cannot see."""
    device = devices.get_device(session, actor, code)
    deployments = devices.deployments_of(session, device)
    names = organisation_names(session, actor, [d.hospital_id for d in deployments])
    versions = devices.versions_of(session, device)
    version_names = {v.id: v.version for v in versions}
    plan, modifications = devices.change_control_plan_of(session, device)
    mod_codes = {m.id: m.code for m in modifications}

    version_rows = []
    for v in versions:
        row = dump(ModelVersionOut, v)
        row["parent"] = version_names.get(v.parent_id, "")
        row["planned_modification"] = mod_codes.get(v.planned_modification_id, "")
        version_rows.append(row)

    deployment_rows = []
    for d in deployments:
        row = dump(DeploymentOut, d)
        row["hospital"] = names.get(d.hospital_id, "")
        row["version"] = version_names.get(d.model_version_id, "")
        deployment_rows.append(row)

    transition_rows = []
    for t in devices.transitions_of(session, device):
        row = dump(TransitionOut, t)
        # TODO(#3): a service that names the actor of a transition; a primary-key read for now.
        user = session.get(User, t.actor_id) if t.actor_id else None
        row["actor"] = user.name if user else ""
        row["version"] = version_names.get(t.model_version_id, "")
        transition_rows.append(row)

    evidence_rows = []
    for e in devices.evidence_of(session, device):
        row = dump(EvidenceOut, e)
        row["artifact"] = _artifact(session, actor, e.artifact_id)
        row["version"] = version_names.get(e.model_version_id, "")
        item = lifecycle.ITEMS_BY_ID.get(e.gate_item)
        row["title"] = item.title if item else ""
        evidence_rows.append(row)
    evidence_rows.sort(key=lambda r: _item_order(r["gate_item"]))

    plan_out = None
    if plan is not None:
        plan_out = dump(ChangeControlPlanOut, {
            **plan.model_dump(), "modifications": dump_all(PlannedModificationOut, modifications)})

    return {
        "device": dump(DeviceOut, device),
        "manufacturer": dump(OrganisationOut, organisations.get_organisation(
            session, actor, device.manufacturer_id)),
        "kpis": dump_all(KpiOut, devices.kpis_of(session, device)),
        "subgroups": dump_all(SubgroupOut, devices.subgroups_of(session, device)),
        "versions": version_rows,
        "plan": plan_out,
        "deployments": deployment_rows,
        "transitions": transition_rows,
        "evidence": evidence_rows,
        "gate": gate(session, actor, device),
        "may_write": may_write(actor, device),
        "panels": device_panels(session, actor, device),
    }


def _item_order(item_id: str) -> tuple[int, int]:
    stage, _, number = item_id[1:].partition(".")
    return (int(stage), int(number)) if stage.isdigit() and number.isdigit() else (99, 99)


def risk_class_choices() -> list[tuple[str, str]]:
    return [(c, f"{c} ({reg.value})") for reg, classes in RISK_CLASSES.items() for c in classes]
