"""The review round trip in Debian's Chromium: the manufacturer submits, the notified body asks
for information, the manufacturer answers, the reviewer scores every domain and signs; the
signed decision shows on the device page with its signature, and gate G5.2 accepts it."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select
from werkzeug.serving import make_server

from registry import db, jobs, migrate, signing, storage
from registry.app import create_app
from registry.auth import Actor
from registry.config import load_settings
from registry.models import OrganisationKind, Role, Stage, User
from registry.schemas import EvidenceIn, ModelVersionIn, OrganisationIn, UserIn
from registry.services import artifacts, devices, organisations
from tests.web.conftest import _seed

pytestmark = pytest.mark.browser

REVIEWER = "reviewer@nb.test"
SCORES = {"D1": "3", "D2": "3", "D3": "2", "D4": "2", "D5": "NA", "D6": "3", "D7": "3",
          "D8": "2"}


@dataclass(frozen=True)
class World:
    url: str
    maker: str
    reviewer: str
    password: str
    code: str


def seed_reviews(database: db.Database) -> World:
    """The web conftest's registry, plus a notified body with a reviewer, and the device at S5
    with its declaration of conformity attached."""
    base = _seed(database)
    with database.unit_of_work() as session:
        admin = Actor.from_user(session.exec(select(User).where(User.role == Role.admin)).one())
        body = organisations.create_organisation(session, admin, OrganisationIn(
            name="Organisme Notifié Test", kind=OrganisationKind.notified_body, city="Paris"))
        organisations.create_user(session, admin, UserIn(
            email=REVIEWER, name="Rita Reviewer", password=base.password,
            organisation_id=body.id, role=Role.reviewer))
        maker_user = session.exec(select(User).where(
            User.email == base.manufacturer_email)).one()
        maker = Actor.from_user(maker_user)
        devices.create_model_version(session, maker, base.s1_device,
                                     ModelVersionIn(version="1.0", change_type="initial"))
        device = devices.get_device(session, maker, base.s1_device)
        device.stage = Stage.S5_REGULATORY
        device.certificate_numbers = ["NB-2026-77"]
        session.add(device)
        declaration = artifacts.upload_artifact(
            session, maker, io.BytesIO(b"%PDF-1.4\n% EU declaration of conformity\n"),
            "declaration-of-conformity.pdf", "application/pdf")
        devices.attach_evidence(session, maker, base.s1_device,
                                EvidenceIn(gate_item="G5.2", artifact_id=declaration.id))
    return World("", base.manufacturer_email, REVIEWER, base.password, base.s1_device)


@pytest.fixture()
def review_server(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade(url)
    saved = (db._current, storage._current, signing._current, jobs._runner)
    app = create_app(load_settings(instance_dir=tmp_path, env="test", database_url=url,
                                   broker_url=None, artifact_dir=tmp_path / "artifacts"))
    world = seed_reviews(app.extensions["dmd"]["database"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="review-test-server",
                              daemon=True)
    thread.start()
    try:
        yield World(f"http://127.0.0.1:{server.server_port}", world.maker, world.reviewer,
                    world.password, world.code)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        app.extensions["dmd"]["database"].engine.dispose()
        db._current, storage._current, signing._current, jobs._runner = saved


def sign_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_submit_ask_answer_score_sign_round_trip(page: Page, review_server: World) -> None:
    base, code = review_server.url, review_server.code

    # The manufacturer submits the device to the notified body from the device page.
    sign_in(page, base, review_server.maker, review_server.password)
    page.goto(f"{base}/devices/{code}")
    page.get_by_role("link", name="Submit for review").click()
    page.get_by_label("Reviewing organisation").select_option(label=(
        "Organisme Notifié Test (notified body)"))
    expect(page.get_by_label("declaration-of-conformity.pdf")).to_be_checked()
    page.get_by_label("Cover note").fill("Initial Annex IX assessment request")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("status")).to_contain_text(f"{code} submitted for review")
    expect(page.get_by_text("first submission of")).to_be_visible()
    review_url = page.url
    sign_out(page)

    # The reviewer finds it in the queue and requests information.
    sign_in(page, base, review_server.reviewer, review_server.password)
    page.get_by_role("link", name="Reviews").click()
    waiting = page.get_by_role("table", name="Waiting submissions")
    expect(waiting).to_contain_text(code)
    waiting.get_by_role("link").first.click()
    page.get_by_label("Request information").fill("Send the error analysis of false negatives.")
    page.get_by_role("button", name="Send question").click()
    expect(page.get_by_role("status")).to_have_text("Question sent to the manufacturer.")
    expect(page.get_by_text("information requested")).to_be_visible()
    sign_out(page)

    # The manufacturer answers with a document.
    sign_in(page, base, review_server.maker, review_server.password)
    page.goto(review_url)
    page.get_by_label("Your answer to question").fill("Attached: 14 false negatives reviewed.")
    page.get_by_label("Supporting document (optional)").set_input_files(
        {"name": "fn-analysis.pdf", "mimeType": "application/pdf",
         "buffer": b"%PDF-1.4\n% false negatives\n"})
    page.get_by_role("button", name="Send answer").click()
    expect(page.get_by_role("status")).to_have_text("Answer sent to the reviewer.")
    expect(page.get_by_role("article", name="Question #1")).to_contain_text("14 false negatives")
    sign_out(page)

    # The reviewer scores every domain, then signs a favourable decision.
    sign_in(page, base, review_server.reviewer, review_server.password)
    page.goto(review_url)
    attached = page.get_by_role("article", name="Question #1").get_by_role(
        "link", name="fn-analysis.pdf")
    download = page.request.get(base + attached.get_attribute("href"))
    assert download.ok and download.body() == b"%PDF-1.4\n% false negatives\n"
    for domain, score in SCORES.items():
        page.get_by_label(f"Score {domain}", exact=True).select_option(score)
        page.get_by_label(f"Justification {domain}", exact=True).fill(
            f"{domain}: assessed on the submitted dossier")
    page.get_by_role("button", name="Save scores").click()
    expect(page.get_by_role("status")).to_have_text("8 domain score(s) saved.")
    expect(page.get_by_text("Rules of the scheme (hta.md 6.3) suggest")).to_contain_text(
        "favourable with conditions")

    page.get_by_label("Decision").select_option("granted")
    page.get_by_label("Certificate number").fill("NB-2026-77")
    page.get_by_label("Rationale").fill("Technical documentation meets the MDR requirements.")
    page.get_by_label("Your password (to sign)").fill("not my password")
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("password you re-entered does not match")
    page.get_by_label("Your password (to sign)").fill(review_server.password)
    page.get_by_role("button", name="Sign", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Opinion signed.")
    opinion = page.get_by_role("article", name="Opinion #1")
    expect(opinion).to_contain_text("Certificate granted")
    expect(opinion.get_by_label("Signature")).to_contain_text("Signed by Rita Reviewer")
    expect(opinion).to_contain_text("Approval: the signer issues this notified-body decision")
    expect(opinion).to_contain_text("signature verified")

    # The device page shows the signed decision with its signature, and G5.2 is met.
    page.goto(f"{base}/devices/{code}")
    panel = page.get_by_role("region", name="Reviews and opinions")
    expect(panel.get_by_role("article", name="Opinion #1")).to_contain_text(
        "Signed by Rita Reviewer")
    expect(page.get_by_role("list", name="Unmet requirements")).to_be_visible()
    unmet = page.get_by_role("list", name="Unmet requirements").locator(".item-id")
    assert "G5.2" not in unmet.all_inner_texts()
