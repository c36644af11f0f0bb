"""The demo registry of ../shared/reference/use_cases.md: fictional organisations, one user per
role, and eight devices walked through the real lifecycle gates to their stages."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from registry import auth, lifecycle
from registry.auth import Actor
from registry.models import Organisation, OrganisationKind, Role, Stage, User
from registry.schemas import (
    ChangeControlPlanIn,
    DeploymentIn,
    DeviceIn,
    EvidenceIn,
    GrantIn,
    KpiIn,
    ModelVersionIn,
    OrganisationIn,
    SubgroupIn,
    TransitionIn,
    UserIn,
)
from registry.services import artifacts, devices, organisations

DEMO_PASSWORD = "demo-registry-2026"

MANUFACTURERS = {
    "DEMO-01": ("Opaline Imaging SAS", "Lyon", "Auvergne-Rhône-Alpes"),
    "DEMO-02": ("Battement Analytics SAS", "Rennes", "Bretagne"),
    "DEMO-03": ("Lame Numérique SA", "Marseille", "Provence-Alpes-Côte d'Azur"),
    "DEMO-04": ("Scribe Santé SAS", "Paris", "Île-de-France"),
    "DEMO-05": ("Orienta Médical SAS", "Lille", "Hauts-de-France"),
    "DEMO-06": ("Prévia Santé SAS", "Nantes", "Pays de la Loire"),
    "DEMO-07": ("Officine Logique SAS", "Toulouse", "Occitanie"),
    "DEMO-08": ("Synapse Vasculaire SAS", "Strasbourg", "Grand Est"),
}

OTHER_ORGANISATIONS = [
    ("Haute Autorité de Santé (démo)", OrganisationKind.hta_agency, "Saint-Denis",
     "Île-de-France", "reviewer", "has"),
    ("Organisme Notifié Exemple", OrganisationKind.notified_body, "Paris", "Île-de-France",
     "reviewer", "nb"),
    ("CHU de Lyon (démo)", OrganisationKind.hospital, "Lyon", "Auvergne-Rhône-Alpes",
     "hospital", "chu-lyon"),
    ("CHU de Nantes (démo)", OrganisationKind.hospital, "Nantes", "Pays de la Loire",
     "hospital", "chu-nantes"),
    ("Centre hospitalier de Lens (démo)", OrganisationKind.hospital, "Lens", "Hauts-de-France",
     "hospital", "ch-lens"),
    ("Cabinet d'Audit Conformité (démo)", OrganisationKind.auditor, "Paris", "Île-de-France",
     "auditor", "audit"),
    ("Autorité nationale de santé numérique (démo)", OrganisationKind.authority, "Paris",
     "Île-de-France", "authority", "authority"),
]

_PURPOSE = {
    "intended_users": "health professionals named in the intended purpose",
    "use_environment": "hospital or practice, under professional supervision",
    "contraindications": "none known beyond the stated population",
}

DEVICES = [
    dict(code="DEMO-01", name="MammoSight", theme="TECH_PLATFORM",
         secondary_themes=["PREVENTION"], regulation="MDR", risk_class="IIb",
         classification_rule="Annex VIII Rule 11(a)", task="binary", adaptivity="locked",
         ai_technique="deep learning (convolutional network)", ai_act_category="high_risk_art6_1",
         intended_purpose="Aid for radiologists reading screening mammograms; returns an "
         "exam-level "
         "suspicion score 0-100 and marks suspicious regions; readers keep the decision.",
         medical_indication="breast cancer screening (organised programme)",
         target_population="women 50-74 in organised screening, 2D digital mammography",
         output_role="drive", stage=Stage.S7_POSTMARKET,
         kpis=[("auc", ">=", 0.90, True), ("sensitivity", ">=", 0.85, False),
               ("specificity", ">=", 0.88, False)],
         subgroups=[("age_band", ["50-59", "60-69", "70-74"], "auc", 0.05),
                    ("breast_density", ["a", "b", "c", "d"], "sensitivity", 0.10),
                    ("vendor", ["Hologic", "GE", "Siemens", "Fujifilm"], "auc", 0.05)],
         hospitals=["chu-lyon", "chu-nantes"], published=True),
    dict(code="DEMO-02", name="RythmoScope GP", theme="CARE", secondary_themes=["ACCESS"],
         regulation="MDR", risk_class="IIb", classification_rule="Annex VIII Rule 11(a)",
         task="multiclass", adaptivity="locked", ai_technique="deep learning (1D CNN)",
         ai_act_category="high_risk_art6_1",
         intended_purpose="Reading aid for GPs on resting 12-lead ECGs of adults in primary care.",
         medical_indication="rhythm abnormalities (AF, flutter, first-degree AV block)",
         target_population="adults 18 and over, primary care, non-emergency",
         output_role="inform", stage=Stage.S5_REGULATORY,
         kpis=[("macro_f1", ">=", 0.85, True), ("af_sensitivity", ">=", 0.95, False)],
         subgroups=[("age_band", ["18-39", "40-64", "65-79", ">=80"], "af_sensitivity", 0.05),
                    ("sex", ["F", "M"], "af_sensitivity", 0.05)],
         hospitals=[], published=False),
    dict(code="DEMO-03", name="LamScope Prostate", theme="TECH_PLATFORM", regulation="IVDR",
         risk_class="C", classification_rule="IVDR Annex VIII Rule 3", task="binary",
         adaptivity="locked", ai_technique="deep learning (multiple-instance learning)",
         ai_act_category="high_risk_art6_1",
         intended_purpose="Analysis of H&E whole-slide images of prostate core needle biopsies; "
         "flags cancer and proposes an ISUP grade group; the pathologist signs out.",
         medical_indication="prostate cancer diagnosis and grading",
         target_population="men referred for suspected prostate cancer",
         output_role="diagnose_treat", stage=Stage.S4_VALIDATION,
         kpis=[("sensitivity", ">=", 0.97, True), ("specificity", ">=", 0.90, False)],
         subgroups=[("scanner_vendor", ["Philips", "Leica", "Hamamatsu", "3DHistech"],
                     "sensitivity", 0.03)],
         hospitals=[], published=False),
    dict(code="DEMO-04", name="ScribeConsult", theme="ADMIN", secondary_themes=["CARE"],
         regulation="none", risk_class="not_a_device", classification_rule="MDCG 2019-11",
         task="generative", adaptivity="locked", ai_technique="speech recognition + LLM",
         ai_act_category="limited_risk",
         intended_purpose="Transcribes French consultations and drafts a structured report that "
         "the physician edits and validates; no diagnosis, coding or treatment suggestion.",
         medical_indication="none (documentation)",
         target_population="adult general-practice consultations in French",
         output_role="inform", stage=Stage.S3_MODEL,
         kpis=[("word_error_rate", "<=", 0.08, True)],
         subgroups=[("accent", ["regional", "non-native"], "word_error_rate", 0.03)],
         hospitals=[], published=False),
    dict(code="DEMO-05", name="OrientUrg", theme="ACCESS", regulation="MDR", risk_class="IIb",
         classification_rule="Annex VIII Rule 11(a)", task="ordinal", adaptivity="locked",
         ai_technique="gradient boosting + text embeddings", ai_act_category="high_risk_art6_1",
         intended_purpose="Emergency-department triage aid proposing a FRENCH level 1-5; the "
         "triage nurse assigns the level.",
         medical_indication="ED triage of adults", target_population="adult ED attendances",
         output_role="drive", stage=Stage.S2_DATA,
         kpis=[("quadratic_weighted_kappa", ">=", 0.75, True),
               ("under_triage_rate", "<=", 0.05, False)],
         subgroups=[("age_band", ["18-44", "45-74", ">=75"], "under_triage_rate", 0.03)],
         hospitals=[], published=False),
    dict(code="DEMO-06", name="CardioRisk Predict", theme="PREVENTION", regulation="MDR",
         risk_class="IIa", classification_rule="Annex VIII Rule 11(a)", task="risk",
         adaptivity="adaptive", ai_technique="penalised Cox model",
         ai_act_category="high_risk_art6_1",
         change_envelope="yearly recalibration of intercept and slope only; architecture and "
                         "predictors frozen",
         intended_purpose="Estimates the 10-year risk of a first major cardiovascular event to "
         "support primary-prevention decisions by GPs.",
         medical_indication="primary cardiovascular prevention",
         target_population="adults 40-74 without known cardiovascular disease, primary care",
         output_role="inform", stage=Stage.S7_POSTMARKET,
         kpis=[("c_index", ">=", 0.75, True)],
         subgroups=[("age_band", ["40-54", "55-64", "65-74"], "c_index", 0.05),
                    ("sex", ["F", "M"], "c_index", 0.05)],
         hospitals=["chu-nantes"], published=True),
    dict(code="DEMO-07", name="PrescriSafe", theme="CARE", regulation="MDR", risk_class="IIa",
         classification_rule="Annex VIII Rule 11(a)", task="binary", adaptivity="locked",
         ai_technique="gradient boosting", ai_act_category="high_risk_art6_1",
         intended_purpose="Flags inpatient prescriptions at risk of a serious adverse drug event "
         "and ranks alerts for pharmacist review.",
         medical_indication="prevention of adverse drug events",
         target_population="adult inpatient prescriptions", output_role="drive",
         stage=Stage.S6_DEPLOYMENT,
         kpis=[("sensitivity", ">=", 0.80, True), ("ppv", ">=", 0.30, False)],
         subgroups=[("ward", ["medicine", "surgery", "geriatrics", "ICU"], "sensitivity", 0.10)],
         hospitals=["ch-lens"], published=True),
    dict(code="DEMO-08", name="NeuroLVO", theme="TECH_PLATFORM", secondary_themes=["PATHWAY"],
         regulation="MDR", risk_class="III", classification_rule="Annex VIII Rule 11(a)",
         task="binary", adaptivity="locked", ai_technique="deep learning (3D CNN)",
         ai_act_category="high_risk_art6_1",
         intended_purpose="Detects large-vessel occlusion on CT angiography of suspected acute "
         "stroke and notifies the stroke team; the neuroradiologist confirms.",
         medical_indication="acute ischaemic stroke (LVO)",
         target_population="adults with suspected acute stroke undergoing CTA",
         output_role="diagnose_treat", stage=Stage.S1_NEEDS,
         kpis=[("sensitivity", ">=", 0.90, True), ("specificity", ">=", 0.85, False)],
         subgroups=[("ct_vendor", ["Siemens", "GE", "Philips", "Canon"], "sensitivity", 0.08)],
         hospitals=[], published=False),
]


def _email(slug: str, role: str) -> str:
    return f"{role}@{slug}.demo.example"


def seed(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo registry; returns (email, role, organisation) for each demo account."""
    if session.exec(select(Organisation)).first() is not None:
        raise ValueError("the registry already has data; seed the demo into an empty database")
    operator = Organisation(name="DMD Registry operator", kind=OrganisationKind.registry_operator)
    session.add(operator)
    session.flush()
    admin_user = User(email="admin@registry.demo.example", name="Registry Admin",
                      password_hash=auth.hash_password(DEMO_PASSWORD),
                      organisation_id=operator.id, role=Role.admin)
    session.add(admin_user)
    session.flush()
    admin = Actor.from_user(admin_user)
    accounts = [(admin_user.email, "admin", operator.name)]
    orgs: dict[str, Organisation] = {}
    actors: dict[str, Actor] = {}

    def add_org(name, kind, city, region, role, slug, srn=""):
        org = organisations.create_organisation(session, admin, OrganisationIn(
            name=name, kind=kind, city=city, region=region, actor_srn=srn))
        user = organisations.create_user(session, admin, UserIn(
            email=_email(slug, role), name=f"{role.title()} at {name}", password=DEMO_PASSWORD,
            organisation_id=org.id, role=Role(role)))
        orgs[slug], actors[slug] = org, Actor.from_user(user)
        accounts.append((user.email, role, name))

    for index, (code, (name, city, region)) in enumerate(MANUFACTURERS.items(), start=1):
        add_org(name, OrganisationKind.manufacturer, city, region, "manufacturer",
                code.lower(), srn=f"FR-MF-0000{index:05d}")
    for name, kind, city, region, role, slug in OTHER_ORGANISATIONS:
        add_org(name, kind, city, region, role, slug)

    seeded = []
    for spec in DEVICES:
        demo = DemoDevice(spec, spec["code"], actors[spec["code"].lower()], orgs, actors)
        _seed_device(session, demo)
        seeded.append(demo)
    for area in _areas():
        area.after_seed(session, seeded)
    return accounts


@dataclass(frozen=True)
class DemoDevice:
    """A demo device as the area seeders see it (``orgs``/``actors`` keyed by slug: the
    manufacturer code in lower case, or has, nb, audit, chu-*, ...)."""

    spec: dict
    code: str
    maker: Actor
    orgs: dict[str, Organisation]
    actors: dict[str, Actor]


def _areas() -> list:
    """Area seeders (registry/demo/<area>.py), in the order their data builds on each other."""
    from registry.demo import (
        catalogue,
        dossiers,
        energy,
        ethics,
        evaluations,
        monitoring,
        reviews,
    )

    return [evaluations, ethics, reviews, monitoring, energy, catalogue, dossiers]


def _seed_device(session, demo: DemoDevice) -> None:
    spec, code, maker, orgs = demo.spec, demo.code, demo.maker, demo.orgs
    fields = {k: v for k, v in spec.items()
              if k not in {"kpis", "subgroups", "hospitals", "published", "stage"}}
    device = devices.create_device(session, maker, DeviceIn(**fields, **_PURPOSE))
    for metric, comparator, threshold, primary in spec["kpis"]:
        devices.add_kpi(session, maker, code, KpiIn(
            metric=metric, comparator=comparator, threshold=threshold, is_primary=primary,
            dataset_kind="external", population=spec["target_population"]))
    for variable, levels, metric, gap in spec["subgroups"]:
        devices.set_subgroup(session, maker, code, SubgroupIn(
            variable=variable, levels=levels, gap_metric=metric, max_gap=gap))
    devices.create_model_version(session, maker, code, ModelVersionIn(
        version="1.0.0", change_type="initial", model_card={
            "algorithm": spec["ai_technique"], "inputs": "see intended purpose",
            "outputs": "score and class", "decision_threshold": "chosen on internal validation "
            "for the primary KPI", "dependencies": "python 3.11, onnxruntime 1.20"}))
    if spec["adaptivity"] == "adaptive":
        devices.set_change_control_plan(session, maker, code, ChangeControlPlanIn(
            authority="EU-AIA-43(4)", status="authorised", authorised_at=datetime(2025, 6, 1,
                                                                                    tzinfo=UTC),
            summary="Yearly recalibration on new French linked data",
            modifications=[{"code": "RECAL-YEARLY", "description": spec["change_envelope"],
                            "protocol": "refit intercept and slope on the most recent full year",
                            "acceptance_criteria": [{"metric": "c_index", "comparator": ">=",
                                                     "threshold": 0.75,
                                                     "dataset_kind": "external"}]}]))
    for reviewer in ("has", "nb", "audit"):
        devices.grant_access(session, maker, code, GrantIn(
            organisation_id=orgs[reviewer].id,
            purpose="audit" if reviewer == "audit" else "review"))
    target = spec["stage"]
    while device.stage != target:
        if device.stage == Stage.S6_DEPLOYMENT:
            _deploy(session, maker, code, spec, orgs)
        for area in _areas():
            area.before_exit(session, demo, device.stage)
        _satisfy_documents(session, maker, code, device.stage)
        if device.stage == Stage.S5_REGULATORY:
            devices.update_device(session, maker, code, devices.DeviceUpdate(
                classification_final=True, ai_act_reasoning="Art. 6(1): safety component of a "
                "device that needs a notified body" if spec["regulation"] != "none" else
                "not high-risk: no Annex I device, not in Annex III; Art. 50 transparency",
                certificate_numbers=[f"NB-{code}-2025"], basic_udi_di=f"376{code[-2:]}BUDI",
                udi_di=f"0376{code[-2:]}000001", emdn_code="Z12040192",
                actor_srn=f"FR-MF-{code[-2:]}"))
        devices.advance_stage(session, maker, code, TransitionIn(
            to_stage=lifecycle.next_stage(device.stage), reason="demo: gate evidence complete"))
    if spec["published"]:
        devices.set_published(session, maker, code, True)


def _deploy(session, maker, code, spec, orgs) -> None:
    device = devices.get_device(session, maker, code)
    if devices.deployments_of(session, device):
        return
    version = devices.candidate_version(session, device)
    for slug in spec["hospitals"]:
        devices.create_deployment(session, maker, code, DeploymentIn(
            model_version_id=version.id, hospital_id=orgs[slug].id,
            site=f"{orgs[slug].name} — main site", status="live",
            go_live_at=datetime(2026, 3, 1, tzinfo=UTC), expected_monthly_volume=2000))


def _satisfy_documents(session, maker, code, stage: Stage) -> None:
    """Attach a small generated document for each document item of the stage's gate."""
    device = devices.get_device(session, maker, code)
    ctx = devices.gate_context(session, device)
    for unmet in lifecycle.unmet_requirements(stage, ctx):
        item = lifecycle.ITEMS_BY_ID[unmet.id]
        if item.check is not None and unmet.id != "G5.2":
            continue
        text = f"{code} — {item.title}\n\nDemo document standing for: {item.document}.\n"
        artifact = artifacts.upload_artifact(session, maker, io.BytesIO(text.encode()),
                                             f"{code}-{item.id}.txt", "text/plain")
        devices.attach_evidence(session, maker, code, EvidenceIn(
            gate_item=item.id, artifact_id=artifact.id, note=f"demo {item.title.lower()}"))
