"""Exports a user expects: any list as CSV or JSON, a model card per model version (the sections
of the CHAI Applied Model Card), a device as a FHIR R5 DeviceDefinition, the catalogue's Atom feed.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from enum import Enum
from typing import Any

from sqlmodel import Session, select

from registry import auth
from registry.auth import Actor
from registry.errors import NotFoundError
from registry.models import Device, ModelVersion, Organisation, utcnow
from registry.schemas import DeviceFilter, DeviceOut
from registry.services import catalogue, devices, national, usecases
from registry.services import catalogue_sources as sources
from registry.services.common import plain

# --- CSV and JSON of a list -------------------------------------------------------------------

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """A CSV cell as text; a cell a spreadsheet would run as a formula is prefixed with '."""
    if value is None:
        return ""
    if isinstance(value, list):
        value = "; ".join(str(plain(v)) for v in value)
    elif isinstance(value, dict):
        value = json.dumps(plain(value), ensure_ascii=False, sort_keys=True)
    elif isinstance(value, Enum):
        value = value.value
    elif isinstance(value, datetime):
        value = value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    """Rows as CSV (RFC 4180, header first); every cell goes through ``safe_cell``."""
    columns = columns or (list(rows[0]) if rows else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return out.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(plain(rows), ensure_ascii=False, indent=1, default=str)


CATALOGUE_COLUMNS = ["code", "name", "manufacturer", "theme", "secondary_themes", "stage",
                     "regulation", "risk_class", "ai_act_category", "adaptivity",
                     "ai_technique", "task", "intended_purpose", "target_population",
                     "deployments", "hospitals", "versions", "updated_at"]
DEVICE_COLUMNS = ["code", "name", "manufacturer_id", "theme", "stage", "regulation",
                  "risk_class", "ai_act_category", "adaptivity", "ai_technique", "task",
                  "is_published", "intended_purpose", "updated_at"]
RANKING_COLUMNS = ["rank", "code", "title", "theme", "device_code", "assessors", "total",
                   "NEED", "MATURITY", "DATA", "FEASIBILITY", "FRAMEWORK_COST", "DELAY"]
REPORT_COLUMNS = ["id", "device_code", "device_name", "category", "reporter_kind", "status",
                  "created_at", "description", "contact", "handling_note", "incident_ref"]

LISTS = ("catalogue", "devices", "use-cases", "problem-reports", "national-matrix")


def list_rows(session: Session, actor: Actor, name: str) -> tuple[list[dict[str, Any]],
                                                                  list[str]]:
    """The rows and columns of a named list, as ``actor`` may see it.

    Raises InvalidInputError for an unknown list, and the list's own access errors.
    """
    if name == "catalogue":
        rows = catalogue.entries(session, catalogue.all_catalogue(session), detail=False)
        return rows, CATALOGUE_COLUMNS
    if name == "devices":
        found, offset = [], 0
        while True:
            page, total = devices.list_devices(session, actor, DeviceFilter(limit=500,
                                                                             offset=offset))
            found.extend(page)
            offset += len(page)
            if not page or offset >= total:
                break
        return [DeviceOut.model_validate(d).model_dump(mode="json") for d in found], \
            DEVICE_COLUMNS
    if name == "use-cases":
        rows = [{**{k: v for k, v in r.items() if k != "mean_scores"}, **r["mean_scores"]}
                for r in usecases.ranking(session, actor)]
        return rows, RANKING_COLUMNS
    if name == "problem-reports":
        rows = [catalogue.report_out(r, d)
                for r, d in catalogue.list_problem_reports(session, actor)]
        return rows, REPORT_COLUMNS
    if name == "national-matrix":
        view = national.national_view(session, actor)
        rows = [{"theme": r["theme"], **dict(zip(view["stages"], r["at"], strict=True)),
                 "total": r["total"]} for r in view["matrix"]]
        return rows, ["theme", *view["stages"], "total"]
    raise NotFoundError(f"no list named '{name}'; choose one of {', '.join(LISTS)}")


def export_list(session: Session, actor: Actor, name: str, fmt: str) -> tuple[str, str, str]:
    """A named list as (body, media type, file name) in ``fmt`` ('csv' or 'json')."""
    rows, columns = list_rows(session, actor, name)
    stamp = utcnow().strftime("%Y%m%d")
    if fmt == "csv":
        return to_csv(rows, columns), "text/csv; charset=utf-8", f"{name}-{stamp}.csv"
    return to_json(rows), "application/json", f"{name}-{stamp}.json"


# --- model card (CHAI Applied Model Card sections) --------------------------------------------


def _version_and_device(session: Session, actor: Actor, version: ModelVersion) -> Device:
    device = session.get(Device, version.device_id)
    return auth.visible(session, actor, device, f"of model version {version.id}")


def model_card(session: Session, actor: Actor, version: ModelVersion) -> dict[str, Any]:
    """The model card of one model version, in the sections of the CHAI Applied Model Card
    (v0.2: basic info, release info, summary, uses and directions, warnings, trust ingredients,
    key metrics, resources, bibliography), filled from what the registry holds.

    Raises NotFoundError when the actor may not see the version's device. Evaluation results
    are the published ones (the same the public catalogue shows).
    """
    device = _version_and_device(session, actor, version)
    card = version.model_card or {}
    maker = session.get(Organisation, device.manufacturer_id)
    kpis = devices.kpis_of(session, device)
    subgroups = devices.subgroups_of(session, device)
    plan, mods = devices.change_control_plan_of(session, device)
    deployments = devices.deployments_of(session, device)
    results = [e for e in sources.evaluation_summaries(session, device)
               if e.get("model_version") == version.version]

    def given(key: str, default: str = "") -> str:
        value = card.get(key, default)
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    regulatory = f"{device.regulation.value} class {device.risk_class}".strip()
    if device.classification_rule:
        regulatory += f" ({device.classification_rule})"
    if device.certificate_numbers:
        regulatory += "; certificates " + ", ".join(device.certificate_numbers)
    maintenance = f"{device.adaptivity.value} model."
    if device.change_envelope:
        maintenance += f" Change envelope: {device.change_envelope}"
    if plan is not None:
        maintenance += (f" Predetermined change control plan ({plan.authority}, {plan.status}): "
                        + "; ".join(f"{m.code}: {m.description}" for m in mods))
    return {
        "schema": "CHAI Applied Model Card v0.2 (sections)",
        "generated_at": utcnow().isoformat(),
        "device_code": device.code,
        "basic_info": {
            "model_name": f"{device.name} {version.version}",
            "model_developer": maker.name if maker else "",
            "developer_contact": given("developer_contact", maker.actor_srn if maker else ""),
        },
        "release_info": {
            "release_stage": device.stage.value,
            "release_date": version.created_at.date().isoformat(),
            "release_version": version.version,
            "change_type": version.change_type.value,
            "change_description": version.change_description,
            "within_pccp": version.within_pccp,
            "global_availability": given("global_availability"),
            "regulatory_approval": regulatory,
            "ai_act_category": device.ai_act_category.value if device.ai_act_category else "",
        },
        "model_summary": {
            "summary": device.intended_purpose,
            "keywords": [device.theme.value, *device.secondary_themes, device.task.value,
                         device.ai_technique],
        },
        "uses_and_directions": {
            "intended_use_and_workflow": device.intended_purpose,
            "primary_intended_users": device.intended_users,
            "how_to_use": given("how_to_use", device.use_environment),
            "targeted_patient_population": device.target_population,
            "cautioned_out_of_scope_settings": device.contraindications,
        },
        "warnings": {
            "known_risks_and_limitations": given("limitations"),
            "known_biases_or_ethical_considerations": given("biases"),
            "clinical_risk_level": regulatory,
        },
        "trust_ingredients": {
            "ai_system_facts": {
                "outcomes_and_outputs": given("outputs"),
                "model_type": given("algorithm", device.ai_technique),
                "foundation_models": given("foundation_models"),
                "input_data_source": given("input_data_source", given("inputs")),
                "output_and_input_data_types": given("inputs"),
                "development_data_characterization": given("training_data"),
                "bias_mitigation_approaches": "; ".join(
                    f"{s.variable} ({', '.join(s.levels)}): {s.gap_metric} gap <= {s.max_gap}"
                    for s in subgroups),
                "ongoing_maintenance": maintenance,
                "security": given("security"),
                "transparency": given("transparency"),
                "decision_threshold": given("decision_threshold"),
                "dependencies": given("dependencies"),
            },
            "transparency_information": {
                "funding_source": given("funding_source"),
                "stakeholders_consulted": given("stakeholders_consulted"),
            },
        },
        "key_metrics": {
            "usefulness_usability_efficacy": {
                "metric_goals": [
                    {"metric": k.metric, "comparator": k.comparator.value,
                     "threshold": k.threshold, "low": k.low, "high": k.high,
                     "dataset_kind": k.dataset_kind.value, "primary": k.is_primary}
                    for k in kpis],
                "results": plain(results),
            },
            "fairness_equity": {
                "metric_goals": [{"variable": s.variable, "levels": s.levels,
                                  "metric": s.gap_metric, "max_gap": s.max_gap}
                                 for s in subgroups],
            },
            "safety_reliability": {
                "deployments": len([d for d in deployments if d.status != "retired"]),
                "open_safety_notices": len(sources.safety_notices(session, device)),
            },
        },
        "resources": {
            "evaluation_references": given("evaluation_references"),
            "peer_reviewed_publications": given("publications"),
            "patient_consent_or_disclosure": given("patient_information"),
        },
        "bibliography": card.get("bibliography", []),
    }


def get_version(session: Session, actor: Actor, code: str, version: str) -> ModelVersion:
    """A device's version by its version string, if the actor may see the device."""
    device = devices.get_device(session, actor, code)
    row = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id,
                                                  ModelVersion.version == version)).first()
    if row is None:
        raise NotFoundError(f"device {code} has no version '{version}'")
    return row


# --- FHIR R5 DeviceDefinition -----------------------------------------------------------------

REGISTRY_SYSTEM = "urn:dmd-registry:device-code"
GS1_DI = "http://hl7.org/fhir/NamingSystem/gs1-di"
EU_UDI = "http://hl7.org/fhir/NamingSystem/eu-ec-udi"
REGULATION_TEXT = {"MDR": "Regulation (EU) 2017/745 (MDR)",
                   "IVDR": "Regulation (EU) 2017/746 (IVDR)",
                   "none": "not a medical device"}


def _fhir_id(code: str) -> str:
    # FHIR ids allow [A-Za-z0-9.-]{1,64}; device codes may also hold '_'.
    return code.replace("_", "-")[:64]


def device_definition(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """The device as a FHIR R5 DeviceDefinition resource, validated by fhir.resources.

    Raises NotFoundError when the actor may not see the device (the public: unpublished).
    """
    from fhir.resources.devicedefinition import DeviceDefinition

    device = devices.get_device(session, actor, code)
    maker = session.get(Organisation, device.manufacturer_id)
    versions = devices.versions_of(session, device)
    resource: dict[str, Any] = {
        "resourceType": "DeviceDefinition",
        "id": _fhir_id(device.code),
        "identifier": [{"system": REGISTRY_SYSTEM, "value": device.code}],
        "deviceName": [{"name": device.name, "type": "registered-name"}],
        "manufacturer": {"display": maker.name if maker else ""},
        "description": device.intended_purpose or device.name,
        "classification": [{"type": {"text": f"{device.regulation.value} class "
                                             f"{device.risk_class}".strip()},
                            "justification": [{"type": "citation",
                                               "citation": device.classification_rule}]
                            if device.classification_rule else None}],
        "conformsTo": [{"specification": {"text": REGULATION_TEXT[device.regulation.value]}}],
        "property": [
            {"type": {"text": "lifecycle stage"}, "valueString": device.stage.value},
            {"type": {"text": "locked or adaptive"}, "valueString": device.adaptivity.value},
            {"type": {"text": "task"}, "valueString": device.task.value},
            {"type": {"text": "strategy theme"}, "valueString": device.theme.value},
        ],
        "guideline": {"intendedUse": device.intended_purpose or None,
                      "indication": [{"text": device.medical_indication}]
                      if device.medical_indication else None,
                      "usageInstruction": device.use_environment or None},
    }
    if device.ai_act_category is not None:
        resource["classification"].append(
            {"type": {"text": f"EU AI Act: {device.ai_act_category.value}"}})
        resource["conformsTo"].append(
            {"specification": {"text": "Regulation (EU) 2024/1689 (AI Act)"}})
    if device.ai_technique:
        resource["property"].append({"type": {"text": "AI technique"},
                                     "valueString": device.ai_technique})
    if device.udi_di:
        resource["udiDeviceIdentifier"] = [{"deviceIdentifier": device.udi_di, "issuer": GS1_DI,
                                            "jurisdiction": EU_UDI}]
    if device.basic_udi_di:
        resource["regulatoryIdentifier"] = [{"type": "basic",
                                             "deviceIdentifier": device.basic_udi_di,
                                             "issuer": GS1_DI, "jurisdiction": EU_UDI}]
    if versions:
        resource["modelNumber"] = versions[-1].version
        resource["version"] = [{"value": v.version} for v in versions]
    validated = DeviceDefinition.model_validate(_drop_none(resource))
    return json.loads(validated.model_dump_json())


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# --- Atom feed --------------------------------------------------------------------------------


def atom_feed(changes: list[dict[str, Any]], site_url: str) -> bytes:
    """The catalogue's changes as an Atom 1.0 document (feedgen writes the XML)."""
    from feedgen.feed import FeedGenerator

    site = site_url.rstrip("/")
    feed = FeedGenerator()
    feed.id(f"{site}/catalogue")
    feed.title("DMD Registry: public catalogue changes")
    feed.subtitle("Devices published, taken out, or moved to another lifecycle stage")
    feed.link(href=f"{site}/catalogue/feed.atom", rel="self")
    feed.link(href=f"{site}/catalogue", rel="alternate")
    feed.language("en")
    feed.updated(changes[0]["occurred_at"] if changes else utcnow())
    for change in reversed(changes):  # feedgen prepends: add oldest first, newest ends on top
        entry = feed.add_entry()
        entry.id(f"{site}/catalogue/changes/{change['id']}")
        entry.title(change["title"])
        entry.updated(change["occurred_at"])
        entry.link(href=f"{site}/catalogue/{change['code']}")
        entry.summary(f"{change['kind']}: {change['code']} at {change['stage']}")
    return feed.atom_str(pretty=True)
