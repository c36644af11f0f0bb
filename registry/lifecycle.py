"""The seven-stage lifecycle as a state machine, with exit gates as pure functions.

Gate items and their ids come from ../shared/reference/lifecycle.md section 3. A gate check takes
a ``GateContext`` (plain data gathered by the service layer) and returns the unmet items; an
empty list means the device may move forward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry.models import (
    NOTIFIED_BODY_CLASSES,
    REENTRY_STAGE,
    Adaptivity,
    ChangeType,
    Regulation,
    Stage,
    Task,
)

STAGES: tuple[Stage, ...] = tuple(Stage)


@dataclass(frozen=True)
class GateContext:
    """What the gate functions may look at: device fields, the shipping version, evidence."""

    device: dict  # the device's columns
    kpis: tuple[dict, ...] = ()
    subgroups: tuple[dict, ...] = ()
    version: dict | None = None  # the candidate model version (the one that will ship)
    # Gate item ids with an attached document valid for the candidate version, or a waiver.
    documents: frozenset[str] = frozenset()
    waivers: frozenset[str] = frozenset()
    deployments: tuple[dict, ...] = ()
    has_change_control_plan: bool = False
    # Plain data from the areas, keyed by area ("evaluations", "ethics", "monitoring", "reviews"):
    # what their gate items check. Built by each area's ``gate_facts`` in registry/services.
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Unmet:
    id: str
    title: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "detail": self.detail}


Check = Callable[[GateContext], str | None]
Applies = Callable[[GateContext], bool]


@dataclass(frozen=True)
class GateItem:
    id: str
    stage: Stage
    title: str
    # "device": evidence about the device; "version": must concern the shipping model version.
    scope: str = "version"
    check: Check | None = None  # None: satisfied by an attached document
    applies: Applies = field(default=lambda ctx: True)
    document: str = ""  # what document satisfies it, when it is a document item

    def evaluate(self, ctx: GateContext) -> Unmet | None:
        if not self.applies(ctx) or self.id in ctx.waivers:
            return None
        if self.check is not None:
            problem = self.check(ctx)
        elif self.id in ctx.documents:
            problem = None
        else:
            target = "the device" if self.scope == "device" else "the candidate model version"
            problem = f"attach {self.document} to {target} as evidence for {self.id}"
        return Unmet(self.id, self.title, problem) if problem else None


def _missing_fields(data: dict, names: dict[str, str]) -> list[str]:
    return [label for name, label in names.items() if not data.get(name)]


def _intended_purpose(ctx: GateContext) -> str | None:
    missing = _missing_fields(ctx.device, {
        "intended_purpose": "intended purpose", "medical_indication": "medical indication",
        "target_population": "target population", "intended_users": "intended users",
        "use_environment": "use environment", "output_role": "role of the output",
        "contraindications": "contra-indications (write 'none known' if none)",
    })
    return f"fill in: {', '.join(missing)}" if missing else None


def _primary_kpi(ctx: GateContext) -> str | None:
    if not any(k.get("is_primary") for k in ctx.kpis):
        return "declare at least one primary KPI (metric, comparator, threshold, dataset kind)"
    return None


def _subgroups(ctx: GateContext) -> str | None:
    if not ctx.subgroups:
        return "declare the subgroup variables (e.g. age band, sex, site) with a maximum gap"
    no_gap = [s["variable"] for s in ctx.subgroups if s.get("max_gap") is None]
    return f"give a maximum acceptable gap for: {', '.join(no_gap)}" if no_gap else None


def _classification(ctx: GateContext, *, final: bool) -> str | None:
    names = {"regulation": "regulation", "risk_class": "risk class",
             "classification_rule": "classification rule", "ai_act_category": "AI Act category"}
    if final:
        names["ai_act_reasoning"] = "AI Act Art. 6 reasoning"
    missing = _missing_fields(ctx.device, names)
    if final and not ctx.device.get("classification_final"):
        missing.append("mark the classification as final")
    return f"record: {', '.join(missing)}" if missing else None


def _adaptivity(ctx: GateContext) -> str | None:
    if ctx.device.get("adaptivity") == Adaptivity.adaptive and not ctx.device.get(
        "change_envelope"
    ):
        return "describe the intended change envelope of this adaptive device"
    return None


MODEL_CARD_FIELDS = {
    "algorithm": "architecture / algorithm family",
    "inputs": "inputs",
    "outputs": "outputs",
    "decision_threshold": "decision threshold(s) and how chosen",
    "dependencies": "software dependencies",
}


def _model_card(ctx: GateContext) -> str | None:
    if ctx.version is None:
        return "register a model version first"
    missing = _missing_fields(ctx.version.get("model_card") or {}, MODEL_CARD_FIELDS)
    return f"complete the model card of version {ctx.version['version']}: " \
           f"{', '.join(missing)}" if missing else None


def _needs_nb(ctx: GateContext) -> bool:
    return ctx.device.get("risk_class") in NOTIFIED_BODY_CLASSES


def _is_device(ctx: GateContext) -> bool:
    return ctx.device.get("regulation") != Regulation.none


def _conformity(ctx: GateContext) -> str | None:
    problems = []
    if "G5.2" not in ctx.documents:
        problems.append("attach the EU declaration of conformity")
    if _needs_nb(ctx) and not ctx.device.get("certificate_numbers"):
        problems.append("record the notified-body certificate number(s)")
    # Issue #5: a favourable decision signed in the registry on the candidate version is needed
    # to leave S5 (facts from registry/services/reviews.py). A class that needs a notified body
    # needs that body's decision (granted, with or without conditions); any other device needs
    # a favourable decision of a notified body or an HTA agency (sufficient service attendu). A
    # reviewer can still waive G5.2 like any gate item (e.g. a certificate issued outside the
    # registry), which lifecycle.md section 3 does not forbid.
    reviews = ctx.facts.get("reviews") or {}
    if _needs_nb(ctx) and not reviews.get("favourable_notified_body"):
        problems.append("obtain a favourable notified-body decision on the candidate version "
                        "(submit it for review)")
    elif not _needs_nb(ctx) and not (reviews.get("favourable_notified_body")
                                     or reviews.get("favourable_hta")):
        problems.append("obtain a favourable decision (notified body or HTA opinion) on the "
                        "candidate version (submit it for review)")
    return "; ".join(problems) or None


def _eudamed(ctx: GateContext) -> str | None:
    missing = _missing_fields(ctx.device, {
        "actor_srn": "actor SRN", "basic_udi_di": "Basic UDI-DI", "udi_di": "UDI-DI",
        "emdn_code": "EMDN code"})
    return f"record the EUDAMED identifiers: {', '.join(missing)}" if missing else None


# --- evaluations (issue #4): facts from registry/services/evaluations.py gate_facts ----------
# G3.3 and G4.1-G4.4 are satisfied by evaluations the registry computed from uploaded results of
# the accepted versions (a reviewer's waiver still counts); a document no longer does.
INDEPENDENT_KINDS = ("external", "prospective", "rct")
KIND_RANK = {"internal": 0, "external": 1, "prospective": 2, "rct": 3}


def _evaluations(ctx: GateContext, kinds: tuple[str, ...] | None = None) -> list[dict]:
    done = (ctx.facts.get("evaluations") or {}).get("evaluations") or []
    return [e for e in done if kinds is None or e["dataset_kind"] in kinds]


def _internal_validation(ctx: GateContext) -> str | None:
    if any((e.get("level") or 0) >= 0.95 for e in _evaluations(ctx, ("internal",))):
        return None
    return ("upload the internal validation results of the candidate version (dataset kind "
            "'internal'); the registry evaluates them with 95% confidence intervals")


def _independent_evaluation(ctx: GateContext) -> str | None:
    if _evaluations(ctx, INDEPENDENT_KINDS):
        return None
    return ("upload the candidate version's results on independent data (dataset kind "
            "external, prospective or rct) and let the registry evaluate them")


def _kpi_target(kpi: dict) -> str:
    if kpi.get("comparator") == "between":
        return f"{kpi['metric']} between {kpi.get('low')} and {kpi.get('high')}"
    return f"{kpi['metric']} {kpi.get('comparator')} {kpi.get('threshold')}"


def _kpis_met(ctx: GateContext) -> str | None:
    problems = []
    for kpi in ctx.kpis:
        kind = str(kpi.get("dataset_kind") or "external")
        verdicts = [v for e in _evaluations(ctx)
                    if KIND_RANK.get(e["dataset_kind"], 0) >= KIND_RANK.get(kind, 1)
                    for v in e["kpi_verdicts"] if v.get("kpi_id") == kpi.get("id")]
        target = _kpi_target(kpi)
        if not verdicts:
            problems.append(f"{target}: not evaluated on {kind} data yet (upload results and "
                            "let them be evaluated after declaring the KPI)")
        elif kpi.get("is_primary"):
            if any(v["verdict"] == "not_met" for v in verdicts):
                problems.append(f"primary KPI {target}: not met (its 95% CI lies below it)")
            elif not any(v["verdict"] == "met" for v in verdicts):
                problems.append(f"primary KPI {target}: not met with confidence (the 95% CI "
                                "crosses the threshold, or the cases are fewer than the "
                                "minimum to conclude; more cases are needed)")
        elif not all(v.get("point_estimate_meets") for v in verdicts):
            problems.append(f"secondary KPI {target}: the point estimate misses it; a reviewer "
                            "may accept a justification (waiver)")
    return "; ".join(problems) or None


def _subgroup_analysis(ctx: GateContext) -> str | None:
    problems = []
    for declared in ctx.subgroups:
        variable = declared["variable"]
        analysed = [e["subgroup_gaps"][variable] for e in _evaluations(ctx)
                    if variable in e["subgroup_gaps"]]
        metric, max_gap = declared.get("gap_metric"), declared.get("max_gap")
        if not analysed:
            problems.append(f"'{variable}': no subgroup analysis yet (map the column "
                            f"'{variable}' as a group column when uploading results)")
        elif metric and max_gap is not None:
            gaps = [g.get(metric) for g in analysed]
            known = [g for g in gaps if g is not None]
            if not known:
                problems.append(f"'{variable}': too few cases per level to compare {metric} "
                                "(insufficient data, not passed)")
            elif max(known) > max_gap:
                problems.append(f"'{variable}': {metric} gap {max(known):.3f} exceeds the "
                                f"declared maximum {max_gap}; a reviewer may accept a "
                                "justification (waiver)")
    return "; ".join(problems) or None


#: What an upload needs for the evaluation to compute calibration, per probabilistic task
#: (ordinal tasks are evaluated as multiclass: registry/services/evaluations.py LIBRARY_TASKS).
CALIBRATION_INPUT = {
    Task.binary: "the score column as probabilities",
    Task.risk: "the score column as probabilities",
    Task.multiclass: "a probability column for every class (class probability columns)",
    Task.ordinal: "a probability column for every class (class probability columns)",
}


def _calibration_reported(ctx: GateContext) -> str | None:
    if any(e.get("calibrated") for e in _evaluations(ctx)):
        return None
    task = ctx.device.get("task")
    return (f"no calibration computed: upload {CALIBRATION_INPUT[task]} ({task} task), or a "
            "reviewer may accept another calibration report")


def _pccp(ctx: GateContext) -> str | None:
    if not ctx.has_change_control_plan:
        return "record the predetermined change control plan of this adaptive device"
    return None


def _deployment(ctx: GateContext) -> str | None:
    if not any(d.get("go_live_at") for d in ctx.deployments):
        return "record at least one deployment of the candidate version with a go-live date"
    return None


# --- ethics (issue #6): facts from registry/services/ethics.py gate_facts -------------------
# Leaving a stage needs the ethics-grid criteria mapped to that stage answered (any maturity;
# ethics_grid.md section 4). For S1 that is G1.8 itself (lifecycle.md names it). Every other
# stage with criteria of its own gets one extra item "G<n>.E", instead of folding the check into
# an existing item: the unmet list then names the missing criteria under an item of their own,
# and a reviewer can waive it on its own. S5 has no criteria of its own (G5.8 checks the whole
# grid) and S7 is never left, so G2.E, G3.E, G4.E and G6.E are the only extra items.


def _ethics(ctx: GateContext) -> dict:
    return ctx.facts.get("ethics") or {}


def _ethics_missing(ctx: GateContext, stage: Stage) -> str | None:
    facts = _ethics(ctx)
    if not facts:
        return "start the device's ethics self-assessment (answer the ethics grid criteria)"
    missing = facts["missing"].get(stage.value, [])
    if missing:
        return f"answer the ethics criteria of {stage.value}: {', '.join(missing)}"
    return None


def _ethics_framing(ctx: GateContext) -> str | None:
    problems = [p for p in [_ethics_missing(ctx, Stage.S1_NEEDS)] if p]
    facts = _ethics(ctx)
    committee = facts.get("committee_criterion")
    if facts and committee and facts.get("committee_maturity") == 0:
        problems.append(f"name the scientific and ethics committee ({committee} is at "
                        "maturity 0)")
    return "; ".join(problems) or None


def _ethics_validation(ctx: GateContext) -> str | None:
    submitted = _ethics(ctx).get("submitted")
    if not submitted:
        return "submit the ethics self-assessment and have a reviewer review it"
    problems = []
    if submitted["unanswered"]:
        problems.append(f"answer every criterion (missing: {', '.join(submitted['unanswered'])})")
    if submitted["not_reviewed"]:
        problems.append(f"a reviewer must review {', '.join(submitted['not_reviewed'])}")
    if submitted["blocking_below"]:
        problems.append("blocking criteria below maturity 2: "
                        f"{', '.join(submitted['blocking_below'])}")
    if not problems:
        return None
    return f"self-assessment {submitted['number']}: " + "; ".join(problems)


def _ethics_item(number: int, stage: Stage) -> GateItem:
    return GateItem(f"G{number}.E", stage, "Ethics criteria of this stage answered", "device",
                    lambda ctx: _ethics_missing(ctx, stage))


def _monitoring_configured(ctx: GateContext) -> str | None:
    # Monitoring (issue #7): facts from registry/services/monitoring.py gate_facts.
    if not (ctx.facts.get("monitoring") or {}).get("configured_deployments"):
        return ("configure monitoring (batch schema, reference data, alert rules) for a "
                "deployment of the candidate version")
    return None


def _probabilistic(ctx: GateContext) -> bool:
    return ctx.device.get("task") in (Task.binary, Task.risk, Task.multiclass, Task.ordinal)


def _adaptive(ctx: GateContext) -> bool:
    return ctx.device.get("adaptivity") == Adaptivity.adaptive


S = Stage
GATE_ITEMS: tuple[GateItem, ...] = (
    GateItem("G1.1", S.S1_NEEDS, "Intended purpose record complete", "device", _intended_purpose),
    GateItem("G1.2", S.S1_NEEDS, "Clinical problem and needs analysis", "device",
             document="a needs analysis (burden, current pathway, gap the device fills)"),
    GateItem("G1.3", S.S1_NEEDS, "Feasibility note", "device",
             document="a feasibility note (data, integration, regulatory route)"),
    GateItem("G1.4", S.S1_NEEDS, "Primary KPI declared", "device", _primary_kpi),
    GateItem("G1.5", S.S1_NEEDS, "Subgroup variables declared", "device", _subgroups),
    GateItem("G1.6", S.S1_NEEDS, "Provisional regulatory qualification", "device",
             lambda ctx: _classification(ctx, final=False)),
    GateItem("G1.7", S.S1_NEEDS, "Locked or adaptive declared", "device", _adaptivity),
    GateItem("G1.8", S.S1_NEEDS, "Ethics framing started", "device", _ethics_framing),
    GateItem("G2.1", S.S2_DATA, "Datasheet per dataset", document="a datasheet per dataset"),
    GateItem("G2.2", S.S2_DATA, "Legal basis record",
             document="the legal basis record (GDPR Art. 6 and 9(2), DPIA, CNIL formality)"),
    GateItem("G2.3", S.S2_DATA, "Pseudonymisation and re-identification risk",
             document="the pseudonymisation method and re-identification risk assessment"),
    GateItem("G2.4", S.S2_DATA, "Hosting record", document="the hosting record (HDS host)"),
    GateItem("G2.5", S.S2_DATA, "Data quality report", document="a data quality report"),
    GateItem("G2.6", S.S2_DATA, "Representativeness table",
             document="a representativeness table per declared subgroup"),
    GateItem("G2.7", S.S2_DATA, "Split plan frozen",
             document="the frozen patient-level split manifest"),
    _ethics_item(2, S.S2_DATA),
    GateItem("G3.1", S.S3_MODEL, "Model card for the candidate version", check=_model_card),
    GateItem("G3.2", S.S3_MODEL, "Training record",
             document="the training record (data manifest hash, search space, seeds)"),
    GateItem("G3.3", S.S3_MODEL, "Internal validation with 95% CIs",
             check=_internal_validation),
    GateItem("G3.4", S.S3_MODEL, "Benchmark against the current standard",
             document="a benchmark against the current standard on the same data"),
    GateItem("G3.5", S.S3_MODEL, "Training energy record",
             document="the training energy record (kWh, kgCO2e, hardware, duration)"),
    GateItem("G3.6", S.S3_MODEL, "Explainability method described",
             document="the explainability method description"),
    _ethics_item(3, S.S3_MODEL),
    GateItem("G4.1", S.S4_VALIDATION, "Evaluation on independent data",
             check=_independent_evaluation),
    GateItem("G4.2", S.S4_VALIDATION, "KPIs evaluated; primary KPI met with confidence",
             check=_kpis_met),
    GateItem("G4.3", S.S4_VALIDATION, "Subgroup analysis", check=_subgroup_analysis),
    GateItem("G4.4", S.S4_VALIDATION, "Calibration reported", check=_calibration_reported,
             applies=_probabilistic),
    GateItem("G4.5", S.S4_VALIDATION, "Clinical evaluation by medical experts",
             document="the clinical evaluation report"),
    GateItem("G4.6", S.S4_VALIDATION, "Reporting-guideline checklist",
             document="the reporting-guideline checklist (TRIPOD+AI, STARD-AI, ...)"),
    GateItem("G4.7", S.S4_VALIDATION, "Error analysis",
             document="the error analysis of false negatives and false positives"),
    _ethics_item(4, S.S4_VALIDATION),
    GateItem("G5.1", S.S5_REGULATORY, "Final classification recorded", "device",
             lambda ctx: _classification(ctx, final=True)),
    GateItem("G5.2", S.S5_REGULATORY, "Conformity evidence", check=_conformity,
             applies=_is_device),
    GateItem("G5.3", S.S5_REGULATORY, "QMS evidence", "device", applies=_is_device,
             document="the ISO 13485 certificate (and AI Act Art. 17 statement)"),
    GateItem("G5.4", S.S5_REGULATORY, "Technical documentation index",
             document="the technical documentation index"),
    GateItem("G5.5", S.S5_REGULATORY, "Risk management file",
             document="the risk management file (ISO 14971, AI Act Art. 9)"),
    GateItem("G5.6", S.S5_REGULATORY, "Instructions for use",
             document="the instructions for use (subgroup performance, limits, oversight)"),
    GateItem("G5.7", S.S5_REGULATORY, "Post-market surveillance plan", "device",
             document="the post-market surveillance plan"),
    GateItem("G5.8", S.S5_REGULATORY, "Ethics validation", "device", _ethics_validation),
    GateItem("G5.9", S.S5_REGULATORY, "Change-control plan (adaptive devices)", "device",
             _pccp, applies=_adaptive),
    GateItem("G5.10", S.S5_REGULATORY, "Market-access records (EUDAMED)", "device", _eudamed,
             applies=_is_device),
    GateItem("G6.1", S.S6_DEPLOYMENT, "Deployment with go-live date", check=_deployment),
    GateItem("G6.2", S.S6_DEPLOYMENT, "Integration test report",
             document="the integration test report for the site"),
    GateItem("G6.3", S.S6_DEPLOYMENT, "Local acceptance evaluation",
             document="the local acceptance evaluation on site data"),
    GateItem("G6.4", S.S6_DEPLOYMENT, "Training of professionals",
             document="the training material and count of trained users"),
    GateItem("G6.5", S.S6_DEPLOYMENT, "Monitoring configured", check=_monitoring_configured),
    GateItem("G6.6", S.S6_DEPLOYMENT, "Patient information material",
             document="the patient information material (CSP L.4001-3)"),
    _ethics_item(6, S.S6_DEPLOYMENT),
)

ITEMS_BY_ID = {item.id: item for item in GATE_ITEMS}


def gate_items(stage: Stage) -> tuple[GateItem, ...]:
    return tuple(item for item in GATE_ITEMS if item.stage == stage)


def unmet_requirements(stage: Stage, ctx: GateContext) -> list[Unmet]:
    """The items of ``stage``'s exit gate that ``ctx`` does not satisfy (empty: may advance)."""
    return [u for item in gate_items(stage) if (u := item.evaluate(ctx)) is not None]


def next_stage(stage: Stage) -> Stage | None:
    index = STAGES.index(stage)
    return STAGES[index + 1] if index + 1 < len(STAGES) else None


@dataclass(frozen=True)
class Move:
    direction: str  # "forward" or "back"
    from_stage: Stage
    to_stage: Stage


def plan_move(current: Stage, target: Stage) -> Move:
    """Classify a requested move; raise ValueError when the state machine forbids it."""
    if target == current:
        if next_stage(current) is None:
            raise ValueError(f"{current.value} is a standing stage with no exit forward")
        raise ValueError(f"the device is already in {current.value}")
    if STAGES.index(target) < STAGES.index(current):
        return Move("back", current, target)
    if target != next_stage(current):
        raise ValueError(
            f"{current.value} can only move forward to {next_stage(current).value}, "
            f"not jump to {target.value}"
        )
    return Move("forward", current, target)


def reentry_stage(change_type: ChangeType) -> Stage:
    """Where a new version re-enters the lifecycle (lifecycle.md section 4)."""
    return REENTRY_STAGE[change_type]
