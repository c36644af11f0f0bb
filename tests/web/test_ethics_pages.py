"""Filling and submitting the ethics grid, then reviewing it, in Debian's Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from registry import db
from registry.auth import Actor
from registry.models import AuditEvent, Device, Organisation, OrganisationKind, Role, User
from registry.schemas import GrantIn, OrganisationIn, UserIn
from registry.services import devices, organisations
from tests.web.test_journey import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def reviewer_email(registry_server):
    """A reviewer of an HTA agency the device's manufacturer granted access to."""
    from sqlmodel import select

    with db.get_database().unit_of_work() as session:
        admin = Actor.from_user(session.exec(select(User).where(User.role == Role.admin)).first())
        agency = organisations.create_organisation(session, admin, OrganisationIn(
            name="HTA agency", kind=OrganisationKind.hta_agency))
        organisations.create_user(session, admin, UserIn(
            email="reviewer@hta.test", name="Rita Reviewer", password=registry_server.password,
            organisation_id=agency.id, role=Role.reviewer))
        device = session.exec(select(Device).where(
            Device.code == registry_server.s1_device)).first()
        maker = session.exec(select(User).where(
            User.organisation_id == device.manufacturer_id)).first()
        devices.grant_access(session, Actor.from_user(maker), device.code,
                             GrantIn(organisation_id=agency.id, purpose="review"))
        assert session.get(Organisation, agency.id) is not None
    return "reviewer@hta.test"


def test_manufacturer_fills_and_submits_the_grid_and_a_reviewer_reviews_it(
        page: Page, registry_server, reviewer_email) -> None:
    base, code = registry_server.url, registry_server.s1_device
    sign_in(page, base, registry_server.manufacturer_email, registry_server.password)
    page.goto(f"{base}/devices/{code}/ethics")
    page.get_by_role("link", name="Answer S2_DATA").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("S2_DATA")

    # A not-applicable answer without its justification is refused and nothing is kept.
    page.locator("#maturity-ETH-08").select_option("2")
    page.locator("#evidence-ETH-08").fill("https://dpo.example.org/dpia.pdf")
    page.locator("#na-ETH-09").check()
    page.get_by_role("button", name="Save answers of S2_DATA").click()
    expect(page.get_by_role("alert")).to_contain_text("ETH-09: a not-applicable answer needs "
                                                      "a justification")
    page.locator("#justification-ETH-09").fill("no personal data: synthetic ECGs only")
    for cid, level in (("ETH-10", "1"), ("ETH-11", "3"), ("ETH-12", "2"), ("ETH-13", "0")):
        page.locator(f"#maturity-{cid}").select_option(level)
        page.locator(f"#explanation-{cid}").fill(f"{cid} explained")
    page.get_by_role("button", name="Save answers of S2_DATA").click()
    expect(page.get_by_role("status")).to_contain_text("Saved 6 answer(s) of S2_DATA")
    # The saved draft comes back in the form.
    expect(page.locator("#evidence-ETH-08")).to_have_value("https://dpo.example.org/dpia.pdf")

    page.goto(f"{base}/devices/{code}/ethics")
    expect(page.locator("#ethics-draft")).to_contain_text("13 of 44 criteria answered")
    expect(page.get_by_role("row").filter(has_text="S2_DATA")).to_contain_text("all answered")
    page.get_by_role("button", name="Submit draft 1").click()
    expect(page.get_by_role("status")).to_contain_text("Self-assessment 1 submitted")
    expect(page.locator("#ethics-side-by-side")).to_contain_text("not reviewed")
    # The radar and the heat map are drawn by the locally served Plotly.
    expect(page.locator(".plotly-chart .main-svg").first).to_be_visible()
    expect(page.locator(".plotly-chart")).to_have_count(2)
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base, reviewer_email, registry_server.password)
    page.goto(f"{base}/devices/{code}/ethics")
    page.get_by_role("link", name="Review the submitted self-assessment").click()
    page.get_by_label("Verdict on ETH-08").select_option("agree")
    page.get_by_label("Verdict on ETH-11").select_option("disagree")
    page.get_by_role("button", name="Save verdicts").click()
    expect(page.get_by_role("alert")).to_contain_text("ETH-11: a disagreement needs a comment")
    page.get_by_label("Comment on ETH-11").fill("subgroup counts only for one site")
    page.get_by_label("Your maturity for ETH-11").select_option("2")
    page.get_by_role("button", name="Save verdicts").click()
    expect(page.get_by_role("status")).to_contain_text("Saved 2 review verdict(s)")
    row = page.locator('#ethics-side-by-side tr[data-criterion="ETH-11"]')
    expect(row).to_contain_text("disagree")
    expect(row).to_contain_text("subgroup counts only for one site")
    expect(row.locator("td").nth(3)).to_have_text("2")

    from sqlmodel import select

    with db.get_database().unit_of_work() as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq))]
    # 7 framing answers from the seed, then the 6 of S2_DATA (the refused batch left nothing).
    assert actions.count("ethics.answer") == 7 + 6
    assert actions.count("ethics.submit") == 1 and actions.count("ethics.review") == 2


def test_a_second_tab_saving_a_criterion_someone_changed_is_refused(
        page: Page, registry_server) -> None:
    """Two forms of the same stage open (two tabs): the first save changes ETH-03; the second,
    which still holds ETH-03's old answer, is refused with the reason and saves nothing."""
    base, code = registry_server.url, registry_server.s1_device
    sign_in(page, base, registry_server.manufacturer_email, registry_server.password)
    form = f"{base}/devices/{code}/ethics/answer?stage=S1_NEEDS"
    page.goto(form)
    other = page.context.new_page()
    other.goto(form)

    page.locator("#maturity-ETH-03").select_option("2")
    page.get_by_role("button", name="Save answers of S1_NEEDS").click()
    expect(page.get_by_role("status")).to_contain_text("Saved 7 answer(s) of S1_NEEDS")

    other.locator("#maturity-ETH-05").select_option("3")
    other.get_by_role("button", name="Save answers of S1_NEEDS").click()
    alert = other.get_by_role("alert")
    expect(alert).to_contain_text(f"ETH-03: the answer to ETH-03 on device {code} changed "
                                  "since you read it")
    expect(alert).not_to_contain_text("ETH-05:")
    other.goto(form)  # reloaded: the current answers, and the change can be applied again
    expect(other.locator("#maturity-ETH-03")).to_have_value("2")
    expect(other.locator("#maturity-ETH-05")).to_have_value("1")
    other.locator("#maturity-ETH-05").select_option("3")
    other.get_by_role("button", name="Save answers of S1_NEEDS").click()
    expect(other.get_by_role("status")).to_contain_text("Saved 7 answer(s) of S1_NEEDS")
    expect(other.locator("#maturity-ETH-03")).to_have_value("2")
