"""Browser fixtures: Debian's Chromium, and a real server on a free port with its own database.

Each test gets a fresh registry (SQLite file, artifact folder, keys) in a temporary folder,
seeded through the service functions, and served by Werkzeug in a daemon thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from registry import auth, db, jobs, migrate, signing, storage
from registry.app import create_app
from registry.auth import Actor
from registry.config import load_settings
from registry.models import Organisation, OrganisationKind, OutputRole, Regulation, Role, User
from registry.schemas import (
    DeviceIn,
    KpiIn,
    OrganisationIn,
    SubgroupIn,
    UserIn,
)
from registry.services import devices, organisations

PASSWORD = "correct horse battery"

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium instead of a downloaded browser (style.md section 11, "Browser")."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("DMD_CHROMIUM", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


def pytest_configure(config: pytest.Config) -> None:
    # Keep a Playwright trace of every failing browser test (test-results/), unless the command
    # line already chose a tracing mode.
    if getattr(config.option, "tracing", None) == "off":
        config.option.tracing = "retain-on-failure"


@dataclass(frozen=True)
class Registry:
    url: str
    manufacturer_email: str
    hospital_email: str
    password: str
    s1_device: str  # at S1, record items complete, lacking the G1.2 and G1.3 documents


def _seed(database: db.Database) -> Registry:
    with database.unit_of_work() as session:
        operator = Organisation(name="Registry operator", kind=OrganisationKind.registry_operator)
        session.add(operator)
        session.flush()
        admin_user = User(email="admin@registry.test", name="Ada Admin", role=Role.admin,
                          password_hash=auth.hash_password(PASSWORD),
                          organisation_id=operator.id)
        session.add(admin_user)
        session.flush()
        admin = Actor.from_user(admin_user)

        maker = organisations.create_organisation(session, admin, OrganisationIn(
            name="Cardiolab SAS", kind=OrganisationKind.manufacturer, city="Lyon",
            actor_srn="FR-MF-000000123"))
        hospital = organisations.create_organisation(session, admin, OrganisationIn(
            name="CHU Nord", kind=OrganisationKind.hospital, city="Lille"))
        maker_user = organisations.create_user(session, admin, UserIn(
            email="maker@cardiolab.test", name="Marie Maker", password=PASSWORD,
            organisation_id=maker.id, role=Role.manufacturer))
        hospital_user = organisations.create_user(session, admin, UserIn(
            email="clinic@chu-nord.test", name="Hugo Hospital", password=PASSWORD,
            organisation_id=hospital.id, role=Role.hospital))

        manufacturer = Actor.from_user(maker_user)
        code = "CARDIO-ECG-1"
        devices.create_device(session, manufacturer, DeviceIn(
            code=code, name="ECG atrial fibrillation screener", theme="PREVENTION",
            intended_purpose="Flags probable atrial fibrillation on 12-lead resting ECGs.",
            medical_indication="Atrial fibrillation screening",
            target_population="Adults over 40 seen in primary care",
            intended_users="General practitioners and nurses",
            use_environment="Primary care practices", output_role=OutputRole.drive,
            contraindications="none known", regulation=Regulation.MDR, risk_class="IIa",
            classification_rule="Rule 11", ai_act_category="high_risk_art6_1"))
        devices.add_kpi(session, manufacturer, code, KpiIn(
            metric="sensitivity", comparator=">=", threshold=0.9, dataset_kind="external",
            is_primary=True))
        devices.set_subgroup(session, manufacturer, code, SubgroupIn(
            variable="sex", levels=["female", "male"], gap_metric="sensitivity", max_gap=0.05))
        # G1.8 reads the ethics self-assessment: the framing criteria are answered.
        from registry.schemas.ethics import AnswerIn
        from registry.services import ethics

        for criterion in ethics.get_grid().by_stage("S1_NEEDS"):
            ethics.save_answer(session, manufacturer, code, criterion.id,
                               AnswerIn(maturity=1, explanation="framing under way"))
        return Registry("", maker_user.email, hospital_user.email, PASSWORD, code)


@pytest.fixture()
def registry_server(tmp_path: Path) -> Iterator[Registry]:
    """A seeded registry served on 127.0.0.1 with a free port; its URL is ``.url``."""
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade(url)
    # create_app wires module-level runtime objects; put back whatever was there before.
    saved = (db._current, storage._current, signing._current, jobs._runner)
    app = create_app(load_settings(instance_dir=tmp_path, env="test", database_url=url,
                                   broker_url=None, artifact_dir=tmp_path / "artifacts"))
    seeded = _seed(app.extensions["dmd"]["database"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="web-test-server", daemon=True)
    thread.start()
    try:
        yield Registry(f"http://127.0.0.1:{server.server_port}", seeded.manufacturer_email,
                       seeded.hospital_email, seeded.password, seeded.s1_device)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["dmd"]["database"].engine.dispose()
        db._current, storage._current, signing._current, jobs._runner = saved
