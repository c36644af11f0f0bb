"""The public catalogue, the national view and use-case scoring in Debian's Chromium, on desktop
and at a phone's width (375 px)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from registry import auth, db
from registry.models import (
    Adaptivity,
    AiActCategory,
    Organisation,
    OrganisationKind,
    Regulation,
    Role,
    Theme,
    User,
)
from registry.schemas import DeploymentIn, DeviceIn, ModelVersionIn
from registry.services import devices, usecases
from tests.web.test_journey import sign_in

pytestmark = pytest.mark.browser

AUTHORITY = "authority@authority.test"


@pytest.fixture
def catalogue_server(registry_server, tmp_path: Path):
    """The journey registry plus two published devices (one deployed), a private one, and an
    authority account; seeded through the services into the server's own database."""
    database = db.Database(f"sqlite:///{tmp_path / 'registry.db'}")
    with database.unit_of_work() as session:
        maker_user = session.exec(select(User).where(
            User.email == registry_server.manufacturer_email)).one()
        maker = auth.Actor.from_user(maker_user)
        hospital = session.exec(select(Organisation).where(
            Organisation.kind == OrganisationKind.hospital)).one()
        specs = [("MAMMO-1", "MammoSight Test", Theme.TECH_PLATFORM, "IIb", "deep learning (CNN)",
                  Adaptivity.locked, True),
                 ("CARDIO-RISK", "CardioRisk Test", Theme.PREVENTION, "IIa", "penalised Cox model",
                  Adaptivity.adaptive, True),
                 ("HIDDEN-9", "Zanzibar Private", Theme.TECH_PLATFORM, "III", "3D CNN",
                  Adaptivity.locked, False)]
        for code, name, theme, risk_class, technique, adaptivity, published in specs:
            devices.create_device(session, maker, DeviceIn(
                code=code, name=name, theme=theme, regulation=Regulation.MDR,
                risk_class=risk_class, ai_technique=technique, adaptivity=adaptivity,
                ai_act_category=AiActCategory.high_risk_art6_1,
                intended_purpose=f"{name}: an aid whose intended purpose is described here, "
                                 "long enough to wrap on a narrow phone screen without overflow.",
                medical_indication="screening", target_population="adults"))
            devices.create_model_version(session, maker, code, ModelVersionIn(
                version="1.0.0", change_type="initial", model_card={"algorithm": technique}))
            if published:
                devices.set_published(session, maker, code, True)
        devices.create_deployment(session, maker, "MAMMO-1", DeploymentIn(
            model_version_id=devices.candidate_version(
                session, devices.get_device(session, maker, "MAMMO-1")).id,
            hospital_id=hospital.id, site="main site", status="live"))
        authority_org = Organisation(name="Health authority", kind=OrganisationKind.authority,
                                     region="Île-de-France")
        session.add(authority_org)
        session.flush()
        session.add(User(email=AUTHORITY, name="Alice Authority", role=Role.authority,
                         password_hash=auth.hash_password(registry_server.password),
                         organisation_id=authority_org.id))
    database.engine.dispose()
    return registry_server


def no_horizontal_overflow(page: Page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page scrolls sideways by {overflow}px at {page.url}"


def test_public_visitor_filters_the_catalogue_and_reports_a_problem(page: Page,
                                                                     catalogue_server):
    base = catalogue_server.url
    page.goto(f"{base}/")
    page.goto(f"{base}/login")
    page.get_by_role("link", name="Public catalogue").click()
    expect(page.get_by_role("heading", name="Public catalogue", level=1)).to_be_visible()
    entries = page.get_by_role("list", name="Published devices").get_by_role("listitem")
    expect(entries).to_have_count(2)
    expect(page.locator("body")).not_to_contain_text("Zanzibar Private")
    expect(page.locator("body")).not_to_contain_text("HIDDEN-9")

    page.get_by_label("Locked or adaptive").select_option("adaptive")
    page.get_by_role("button", name="Filter").click()
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("CardioRisk Test")
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("AI technique").fill("deep learning")
    page.get_by_role("button", name="Filter").click()
    expect(entries).to_have_count(1)
    entries.first.get_by_role("link", name="MammoSight Test").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("MammoSight Test")
    expect(page.get_by_text("1 at 1 hospital")).to_be_visible()
    form = page.get_by_role("form", name="Report a problem")
    form.get_by_label("What kind of problem?").select_option("performance")
    form.get_by_label("You are").select_option("professional")
    form.get_by_label("What happened?").fill("too short")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        form.get_by_role("button", name="Send the report").click()
    assert refused.value.status == 422
    expect(page.get_by_text("at least 20 characters")).to_be_visible()
    page.get_by_label("What happened?").fill(
        "Dense-breast exams kept very low scores although the second reader recalled them.")
    page.get_by_role("button", name="Send the report").click()
    expect(page.get_by_role("status")).to_contain_text(re.compile(r"your report PR-\d+ was sent"))

    # The manufacturer finds it and acknowledges it.
    sign_in(page, base, catalogue_server.manufacturer_email, catalogue_server.password)
    page.goto(f"{base}/problem-reports")
    report = page.get_by_role("region", name=re.compile(r"Report PR-\d+"))
    expect(report).to_contain_text("Dense-breast exams")
    report.get_by_label("Note").fill("checking the density subgroup")
    report.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("acknowledged")


@pytest.mark.parametrize("path", ["/catalogue", "/catalogue/MAMMO-1"])
def test_public_pages_fit_a_phone_screen(page: Page, catalogue_server, path):
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(catalogue_server.url + path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    no_horizontal_overflow(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    no_horizontal_overflow(page)


def test_authority_reads_the_national_view_and_scores_a_use_case(page: Page, catalogue_server):
    base = catalogue_server.url
    sign_in(page, base, AUTHORITY, catalogue_server.password)
    page.get_by_role("link", name="National view").click()
    matrix = page.get_by_role("table", name="Devices at each stage")
    expect(matrix).to_be_visible()
    # Two TECH_PLATFORM devices at S1 (MammoSight and the private one): click through.
    matrix.get_by_role("link", name="2 Technical platforms devices at S1_NEEDS").click()
    expect(page.get_by_role("heading", name="Devices", level=1)).to_be_visible()
    expect(page.get_by_role("table").get_by_role("row")).to_have_count(3)  # header + 2
    page.go_back()

    page.set_viewport_size({"width": 375, "height": 800})
    no_horizontal_overflow(page)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("link", name="Use-case prioritisation").first.click()
    page.get_by_label("Code", exact=True).fill("UC-MAMMO")
    page.get_by_label("Title", exact=True).fill("Breast cancer screening aid")
    page.get_by_label("Theme", exact=True).select_option("TECH_PLATFORM")
    page.get_by_label("Registered device serving it (code, optional)").fill("MAMMO-1")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_contain_text("Use case UC-MAMMO registered")

    for criterion, score in zip(usecases.CRITERIA, (5, 5, 5, 3, 3, 5), strict=True):
        group = page.get_by_role("group", name=criterion["name"])
        group.get_by_role("radio", name=re.compile(rf"^{score} ")).check()
        group.get_by_role("textbox").fill(f"strategy grid for {criterion['code'].lower()}")
    page.get_by_role("button", name="Save my scores").click()
    expect(page.get_by_role("status")).to_contain_text("total 26")
    scores = page.get_by_role("table", name="Scores by assessor")
    expect(scores).to_contain_text("Alice Authority")
    page.get_by_role("link", name="Use-case prioritisation").click()
    ranking = page.get_by_role("table", name="Ranking")
    expect(ranking.get_by_role("row").nth(1)).to_contain_text("26.0")
    no_horizontal_overflow(page)
