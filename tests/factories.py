"""Test data: organisations, users and devices in given shapes (factory_boy on SQLModel)."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from registry import auth
from registry.auth import Actor
from registry.models import (
    AccessGrant,
    Adaptivity,
    AiActCategory,
    ChangeType,
    Comparator,
    DatasetKind,
    Deployment,
    Device,
    Kpi,
    ModelVersion,
    Organisation,
    OrganisationKind,
    OutputRole,
    Regulation,
    Role,
    Stage,
    SubgroupVariable,
    Task,
    Theme,
    User,
)

# Hashing with Argon2 is deliberately slow; tests share one hash.
PASSWORD = "correct horse battery"
_PASSWORD_HASH = auth.hash_password(PASSWORD)


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "flush"


class OrganisationFactory(Base):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = OrganisationKind.manufacturer


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.Sequence(lambda n: f"User {n}")
    password_hash = _PASSWORD_HASH
    role = Role.manufacturer
    organisation_id = factory.LazyAttribute(lambda o: OrganisationFactory(
        kind=ROLE_KIND[o.role]).id)


ROLE_KIND = {
    Role.admin: OrganisationKind.registry_operator,
    Role.manufacturer: OrganisationKind.manufacturer,
    Role.reviewer: OrganisationKind.hta_agency,
    Role.hospital: OrganisationKind.hospital,
    Role.auditor: OrganisationKind.auditor,
    Role.authority: OrganisationKind.authority,
}


class DeviceFactory(Base):
    """A device whose S1 record items are complete (documents are not attached)."""

    class Meta:
        model = Device

    code = factory.Sequence(lambda n: f"DEV-{n:04d}")
    name = factory.Sequence(lambda n: f"Device {n}")
    manufacturer_id = factory.LazyFunction(lambda: OrganisationFactory().id)
    theme = Theme.TECH_PLATFORM
    intended_purpose = "aid to detect a condition on images"
    medical_indication = "condition X"
    target_population = "adults 50-74"
    intended_users = "radiologists"
    use_environment = "hospital"
    output_role = OutputRole.drive
    contraindications = "none known"
    regulation = Regulation.MDR
    risk_class = "IIb"
    classification_rule = "Annex VIII Rule 11(a)"
    ai_act_category = AiActCategory.high_risk_art6_1
    adaptivity = Adaptivity.locked
    task = Task.binary
    stage = Stage.S1_NEEDS

    @factory.post_generation
    def scoping(obj, create, extracted, **kwargs):  # noqa: N805 (factory_boy's signature)
        if extracted is False:
            return
        session = DeviceFactory._meta.sqlalchemy_session
        session.add(Kpi(device_id=obj.id, metric="auc", comparator=Comparator.ge, threshold=0.9,
                        dataset_kind=DatasetKind.external, is_primary=True))
        session.add(SubgroupVariable(device_id=obj.id, variable="sex", levels=["F", "M"],
                                     gap_metric="auc", max_gap=0.05))
        session.add(ModelVersion(device_id=obj.id, version="1.0", change_type=ChangeType.initial,
                                 model_card={"algorithm": "cnn", "inputs": "image",
                                             "outputs": "score", "decision_threshold": "0.5",
                                             "dependencies": "onnx"}))
        session.flush()


def bind(session) -> None:
    for f in (OrganisationFactory, UserFactory, DeviceFactory):
        f._meta.sqlalchemy_session = session


def actor_for(role: Role, organisation_id: int | None = None) -> Actor:
    kwargs = {"role": role}
    if organisation_id is not None:
        kwargs["organisation_id"] = organisation_id
    return Actor.from_user(UserFactory(**kwargs))


def grant(session, device: Device, organisation_id: int, purpose: str = "review") -> None:
    session.add(AccessGrant(device_id=device.id, organisation_id=organisation_id,
                            purpose=purpose))
    session.flush()


def deploy(session, device: Device, hospital_id: int) -> Deployment:
    from sqlmodel import select

    version = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id)).first()
    row = Deployment(device_id=device.id, model_version_id=version.id, hospital_id=hospital_id,
                     site="main site")
    session.add(row)
    session.flush()
    return row


def answer_ethics(session, actor: Actor, device: Device, *stages: str, maturity: int = 1) -> None:
    """Answer the ethics-grid criteria of the given lifecycle stages (all stages by default)."""
    from registry.schemas.ethics import AnswerIn
    from registry.services import ethics

    grid = ethics.get_grid()
    for criterion in grid.criteria:
        if not stages or criterion.lifecycle_stage in stages:
            ethics.save_answer(session, actor, device.code, criterion.id, AnswerIn(
                maturity=maturity, explanation=f"{criterion.id} under way"))


def evaluation(session, actor: Actor, device: Device, *, dataset_kind: str = "internal",
               rows: int = 400, seed: int = 0, groups: tuple[str, ...] = ("sex",)):
    """A done evaluation of the device's candidate version on synthetic, calibrated results
    (AUC about 0.95), uploaded through the real service and evaluated at once."""
    import io

    import numpy as np
    import pandas as pd

    from registry.schemas.evaluations import EvaluationIn
    from registry.services import devices, evaluations

    rng = np.random.default_rng(seed)
    risk = 1 / (1 + np.exp(-(-1.5 + 5.0 * rng.standard_normal(rows))))
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], rows),
                          "truth": (rng.random(rows) < risk).astype(int),
                          "p": np.round(risk, 4)})
    version = devices.candidate_version(session, device)
    return evaluations.submit_evaluation(
        session, actor, device.code, version.id,
        EvaluationIn(dataset_kind=dataset_kind, label_column="truth", score_column="p",
                     positive_label="1", group_columns=list(groups)),
        io.BytesIO(frame.to_csv(index=False).encode()), "validation.csv", synchronous=True)
