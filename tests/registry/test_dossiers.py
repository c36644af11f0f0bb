"""Dossiers on the real database: who may build and download, what is recorded and audited,
the job, the API, the CLI, and the online half of verification."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from pypdf import PdfReader
from sqlmodel import select

from registry import audit, jobs, signing
from registry.errors import NotFoundError, PermissionDeniedError
from registry.models import AuditEvent, Job, OrganisationKind, Role, Task
from registry.models.dossiers import Dossier
from registry.services import dossiers
from reports import dossier as renderer
from reports import integrity, sealing
from tests import factories


@pytest.fixture(autouse=True)
def _sealer(settings):
    sealing.set_sealer(sealing.load_or_create(settings.instance_dir))


@pytest.fixture
def token_for(session):
    """An API token holding the role's permissions, for a new user of ``role``."""
    from registry.schemas import TokenIn
    from registry.services import organisations

    def make(role, organisation_id=None):
        actor = factories.actor_for(role, organisation_id)
        clear, _ = organisations.create_token(session, actor, TokenIn(name="t"),
                                              default_lifetime_days=1)
        session.flush()
        return {"Authorization": f"Bearer {clear}"}, actor

    return make


@pytest.fixture
def queued(monkeypatch):
    """Jobs the web and API queue, held back so the test runs them in its own thread (the
    in-process runner's thread would share the test's connection concurrently)."""
    held: list[str] = []
    monkeypatch.setattr(jobs.get_runner(), "dispatch", held.append)
    return held


def _text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def _maker_and_device():
    device = factories.DeviceFactory()
    return factories.actor_for(Role.manufacturer, device.manufacturer_id), device


def test_build_records_audits_and_verifies(session):
    maker, device = _maker_and_device()
    row = dossiers.build(session, maker, device.code)
    _, pdf = dossiers.download(session, maker, row.dossier_id)
    assert integrity.sha256(pdf) == row.pdf_sha256 and len(pdf) == row.size_bytes
    assert row.pages == len(PdfReader(io.BytesIO(pdf)).pages)
    text = " ".join(_text(pdf).split())
    for number, (_, title) in enumerate(dossiers.SECTIONS, start=1):
        assert f"{number}. {title}" in text
    for expected in (device.code, device.name, device.intended_purpose,
                     device.classification_rule, "Annex VIII Rule 11(a)", "1.0", "initial"):
        assert expected in text
    assert "Not recorded yet" in text  # areas without data say so
    result = dossiers.verify_file(session, pdf)
    assert result.ok, result.to_dict()
    assert [c.name for c in result.checks][-2:] == ["issued", "audit chain"]
    events = {e.action: e for e in audit.events_for_device(session, device.id)}
    assert events["dossier.build"].payload.find(row.pdf_sha256) > 0
    assert events["dossier.download"].actor_email == maker.email
    # The snapshot names the chain head it was taken at; the build event comes after it.
    assert row.audit_head_seq < events["dossier.build"].seq


def test_audit_section_lists_the_device_events(session):
    maker, device = _maker_and_device()
    first = dossiers.build(session, maker, device.code)
    second = dossiers.build(session, maker, device.code)
    _, pdf = dossiers.download(session, maker, second.dossier_id)
    audit_page = _text(pdf).split("Audit events of the device")[-1]
    assert "dossier.build" in audit_page  # the first build, before this snapshot
    assert second.audit_head_seq > first.audit_head_seq


@pytest.mark.parametrize(("role", "own", "expected"), [
    (Role.manufacturer, True, "allow"), (Role.manufacturer, False, "hidden"),
    (Role.admin, False, "allow"), (Role.authority, False, "allow"),
    (Role.auditor, True, "allow"), (Role.auditor, False, "hidden"),
    (Role.reviewer, True, "deny"), (Role.hospital, True, "deny"),
])
def test_who_may_build_and_read(session, role, own, expected):
    device = factories.DeviceFactory()
    if role is Role.manufacturer and own:
        actor = factories.actor_for(role, device.manufacturer_id)
    else:
        actor = factories.actor_for(role)
    if own and role in (Role.auditor, Role.reviewer):
        factories.grant(session, device, actor.organisation_id, "audit")
    if own and role is Role.hospital:
        factories.deploy(session, device, actor.organisation_id)
    before = session.exec(select(AuditEvent.id)).all()
    if expected == "allow":
        job = dossiers.request_build(session, actor, device.code)
        assert job.name == dossiers.BUILD_TASK
        assert dossiers.dossiers_of(session, actor, device.code) == []
        return
    error = NotFoundError if expected == "hidden" else PermissionDeniedError
    with pytest.raises(error):
        dossiers.request_build(session, actor, device.code)
    with pytest.raises(error):
        dossiers.dossiers_of(session, actor, device.code)
    assert session.exec(select(AuditEvent.id)).all() == before  # nothing written


def test_auditor_needs_a_grant_even_for_a_published_device(session):
    device = factories.DeviceFactory(is_published=True)
    auditor = factories.actor_for(Role.auditor)
    with pytest.raises(PermissionDeniedError, match="access grant"):
        dossiers.request_build(session, auditor, device.code)
    maker = factories.actor_for(Role.manufacturer, device.manufacturer_id)
    row = dossiers.build(session, maker, device.code)
    with pytest.raises(PermissionDeniedError):
        dossiers.download(session, auditor, row.dossier_id)
    factories.grant(session, device, auditor.organisation_id, "audit")
    assert dossiers.download(session, auditor, row.dossier_id)[0].id == row.id


def test_build_runs_as_a_job(session):
    maker, device = _maker_and_device()
    job = dossiers.request_build(session, maker, device.code)
    session.commit()
    jobs.get_runner().dispatch(job.id)
    jobs.get_runner().wait(job.id, timeout=120)
    session.expire_all()
    done = session.get(Job, job.id)
    assert done.status == "succeeded", done.error
    row = session.exec(select(Dossier).where(
        Dossier.dossier_id == done.result["dossier_id"])).one()
    assert row.built_by == maker.user_id and done.result["pdf_sha256"] == row.pdf_sha256
    assert [p.id for p in dossiers.pending_builds(session, device)] == []


def test_a_stored_pdf_that_changed_is_refused(session):
    maker, device = _maker_and_device()
    row = dossiers.build(session, maker, device.code)
    from registry import storage

    path = storage.get_store().path_for(row.pdf_sha256)
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="no longer matches its recorded SHA-256"):
        dossiers.download(session, maker, row.dossier_id)


def test_online_verification_names_a_dossier_never_issued_or_another_file(session):
    maker, device = _maker_and_device()
    row = dossiers.build(session, maker, device.code)
    # A genuine-looking dossier, signed with the registry's own keys but never recorded.
    snapshot = dossiers.assemble(session, device, "11111111-2222-4333-8444-555555555555", "x")
    stray = renderer.build(snapshot, signing.get_signer(), sealing.get_sealer()).pdf
    result = dossiers.verify_file(session, stray)
    assert [c.name for c in result.failures] == ["issued"]
    assert "never issued" in result.failures[0].message
    # Same dossier id as an issued one, different bytes (rebuilt): not the issued file.
    again = renderer.build(dossiers.assemble(session, device, row.dossier_id, "x"),
                           signing.get_signer(), sealing.get_sealer()).pdf
    failure = dossiers.verify_file(session, again).failures
    assert [c.name for c in failure] == ["issued", "audit chain"]
    assert "not the issued file" in failure[0].message
    assert f"registry recorded seq {row.audit_head_seq}" in failure[1].message


def test_api_build_list_download_and_verify(client, session, token_for, queued):
    device = factories.DeviceFactory()
    headers, maker = token_for(Role.manufacturer, device.manufacturer_id)
    response = client.post(f"/api/v1/devices/{device.code}/dossiers", headers=headers)
    assert response.status_code == 202 and response.get_json()["name"] == "dossier.build"
    assert queued == [response.get_json()["id"]]
    assert jobs.run_job(queued[0]) == "succeeded"
    job = client.get(response.headers["Location"], headers=headers).get_json()
    row = session.exec(select(Dossier).where(
        Dossier.dossier_id == job["result"]["dossier_id"])).one()
    listed = client.get(f"/api/v1/devices/{device.code}/dossiers", headers=headers).get_json()
    assert [d["dossier_id"] for d in listed] == [row.dossier_id]
    got = client.get(f"/api/v1/dossiers/{row.dossier_id}/pdf", headers=headers)
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert got.headers["X-Dossier-SHA256"] == integrity.sha256(got.data) == row.pdf_sha256
    ok = client.post("/api/v1/dossiers/verify", headers=headers,
                     data={"file": (io.BytesIO(got.data), "d.pdf")}).get_json()
    assert ok["ok"] and ok["dossier_id"] == row.dossier_id
    tampered = bytearray(got.data)
    tampered[len(tampered) // 2] ^= 1
    bad = client.post("/api/v1/dossiers/verify", headers=headers,
                      data={"file": (io.BytesIO(bytes(tampered)), "d.pdf")}).get_json()
    assert not bad["ok"] and bad["checks"][0]["name"] == "PAdES signature"
    assert bad["checks"][0]["ok"] is False
    reviewer, actor = token_for(Role.reviewer)
    factories.grant(session, device, actor.organisation_id)
    assert client.get(f"/api/v1/dossiers/{row.dossier_id}/pdf",
                      headers=reviewer).status_code == 403  # sees the device, not its dossiers
    stranger, _ = token_for(Role.manufacturer)
    assert client.get(f"/api/v1/dossiers/{row.dossier_id}",
                      headers=stranger).status_code == 404


def test_web_panel_build_download_and_public_verify_page(client, session, queued):
    device = factories.DeviceFactory()
    maker = factories.UserFactory(role=Role.manufacturer, organisation_id=device.manufacturer_id)
    client.post("/login", data={"email": maker.email, "password": factories.PASSWORD})
    page = client.get(f"/devices/{device.code}").get_data(as_text=True)
    assert "Build a dossier now" in page and "No dossier issued yet" in page
    built = client.post(f"/devices/{device.code}/dossiers")
    assert built.status_code == 302
    assert session.exec(select(Job).where(Job.id == queued[0])).one().name == \
        dossiers.BUILD_TASK
    page = client.get(f"/devices/{device.code}").get_data(as_text=True)
    assert f"Build {queued[0][:8]}: queued" in page
    assert jobs.run_job(queued[0]) == "succeeded"
    row = session.exec(select(Dossier).where(Dossier.device_id == device.id)).one()
    page = client.get(f"/devices/{device.code}").get_data(as_text=True)
    assert f"/dossiers/{row.dossier_id}.pdf" in page
    pdf = client.get(f"/dossiers/{row.dossier_id}.pdf").data
    assert integrity.sha256(pdf) == row.pdf_sha256
    client.post("/logout")
    answer = client.post("/dossiers/verify", data={"file": (io.BytesIO(pdf), "d.pdf")},
                         content_type="multipart/form-data").get_data(as_text=True)
    assert "is authentic and unchanged" in answer
    pdf = pdf[:-10] + b"%%EOF\n\n\n\n\n"[:10]
    answer = client.post("/dossiers/verify", data={"file": (io.BytesIO(pdf), "d.pdf")},
                         content_type="multipart/form-data").get_data(as_text=True)
    assert "Verification FAILED" in answer


def test_panel_is_hidden_from_roles_that_may_not_read(client, session):
    device = factories.DeviceFactory(is_published=True)
    reviewer = factories.UserFactory(role=Role.reviewer)
    client.post("/login", data={"email": reviewer.email, "password": factories.PASSWORD})
    page = client.get(f"/devices/{device.code}").get_data(as_text=True)
    assert device.name in page and "Build a dossier now" not in page


def test_cli_build_and_verify_offline_and_online(tmp_path):
    """The real command line in a fresh registry: build, verify (online, offline), tamper."""
    import os

    from registry.migrate import upgrade

    instance = tmp_path / "instance"
    env = {**os.environ, "DMD_INSTANCE_DIR": str(instance), "DMD_ENV": "dev"}
    env.pop("DMD_DATABASE_URL", None)
    instance.mkdir()
    upgrade(f"sqlite:///{instance / 'registry.db'}")
    setup = (
        "from registry.commands import runtime\n"
        "from registry.models import Organisation, OrganisationKind, Device, Theme\n"
        "from registry import signing\n"
        "_, database = runtime()\n"
        "with database.unit_of_work() as s:\n"
        "    o = Organisation(name='Maker', kind=OrganisationKind.manufacturer)\n"
        "    s.add(o); s.flush()\n"
        "    s.add(Device(code='CLI-1', name='Cli', manufacturer_id=o.id, theme=Theme.CARE))\n"
        "print(signing.get_signer().public_pem)\n"
    )
    public = subprocess.run([sys.executable, "-c", setup], env=env, capture_output=True,
                            text=True, check=True).stdout
    cli = [sys.executable, "-m", "registry.cli", "dossier"]
    subprocess.run([*cli, "public-key", "-o", str(tmp_path / "key.pem")], env=env, check=True)
    assert (tmp_path / "key.pem").read_text() == public.rstrip("\n") + "\n"
    out = tmp_path / "d.pdf"
    built = subprocess.run([*cli, "build", "CLI-1", "-o", str(out)], env=env,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert integrity.sha256(out.read_bytes()) in built.stdout
    online = subprocess.run([*cli, "verify", str(out), "--public-key", str(tmp_path / "key.pem")],
                            env=env, capture_output=True, text=True)
    assert online.returncode == 0, online.stdout + online.stderr
    assert "PASS  issued" in online.stdout and "PASS  audit chain" in online.stdout
    offline = subprocess.run([*cli, "verify", str(out), "--offline"], env=env,
                             capture_output=True, text=True)
    assert offline.returncode == 0 and "SKIP  registry" in offline.stdout
    assert "key embedded in the file" in offline.stdout
    data = bytearray(out.read_bytes())
    data[len(data) // 3] ^= 0x20
    out.write_bytes(bytes(data))
    broken = subprocess.run([*cli, "verify", str(out), "--offline"], env=env,
                            capture_output=True, text=True)
    assert broken.returncode == 1
    assert "FAIL  PAdES signature" in broken.stdout
    assert "dossier verification FAILED (PAdES signature" in broken.stderr
    unknown = subprocess.run([*cli, "build", "NOPE", "-o", str(out)], env=env,
                             capture_output=True, text=True)
    assert unknown.returncode == 1 and "device NOPE not found" in unknown.stderr


def test_organisation_kind_of_auditors_is_used(session):
    # The factories give auditors an "auditor" organisation: grants are per organisation.
    auditor = factories.actor_for(Role.auditor)
    from registry.models import Organisation

    assert session.get(Organisation, auditor.organisation_id).kind == OrganisationKind.auditor


def test_build_job_does_not_hold_the_sqlite_write_lock_while_rendering(tmp_path, monkeypatch):
    """On the embedded SQLite default, another writer gets in while the PDF renders."""
    import sqlite3

    from registry import db, storage
    from registry.app import configure_runtime
    from registry.config import load_settings
    from registry.migrate import upgrade
    from registry.models import Device, Organisation, Theme

    saved = (db._current, storage._current, signing._current, jobs._runner, sealing._current)
    path = tmp_path / "registry.db"
    upgrade(f"sqlite:///{path}")
    database = configure_runtime(load_settings(instance_dir=tmp_path, env="test",
                                               database_url=f"sqlite:///{path}"))
    try:
        with database.unit_of_work() as session:
            org = Organisation(name="Lock maker", kind=OrganisationKind.manufacturer)
            session.add(org)
            session.flush()
            session.add(Device(code="LOCK-1", name="Lock", manufacturer_id=org.id,
                               theme=Theme.CARE))
        attempts = []
        original = dossiers.render

        def render_while_writing(snapshot):
            other = sqlite3.connect(path, timeout=0.5, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if held
                other.execute("ROLLBACK")
                attempts.append("wrote")
            finally:
                other.close()
            return original(snapshot)

        monkeypatch.setattr(dossiers, "render", render_while_writing)
        with database.unit_of_work() as session:
            operator = dossiers.auth.Actor(None, "system-cli", "cli", Role.admin, None)
            job = dossiers.request_build(session, operator, "LOCK-1")
        jobs.get_runner().wait(job.id, timeout=300)
        with database.unit_of_work() as session:
            assert session.get(Job, job.id).status == "succeeded"
        assert attempts == ["wrote"]
    finally:
        database.engine.dispose()
        db._current, storage._current, signing._current, jobs._runner, sealing._current = saved


def test_multiclass_evaluation_draws_each_class_reliability_diagram(session):
    from reports import document
    from tests.registry.test_evaluations import RHYTHM_MAPPING, rhythm_csv, submit

    maker, device = _maker_and_device()
    device.task = Task.multiclass
    evaluation = submit(session, maker, device, rhythm_csv(), **RHYTHM_MAPPING)
    _, snapshot = dossiers.take_snapshot(session, maker, device.code)
    (chart,) = [c for c in document.chart_specs(snapshot) if "calibration" in c["kind"]]
    assert chart["kind"] == "class_calibration"
    per_class = evaluation.results["calibration"]["per_class"]
    assert chart["args"]["curves"] == [{"label": label, "bins": c["bins"]}
                                       for label, c in per_class.items()]
    svg = document.draw_charts({"sections": [{"blocks": [chart]}]})[chart["id"]]
    # matplotlib writes each text as glyph paths after a comment holding the text.
    assert svg.startswith("<svg") and all(f"<!-- {label} -->" in svg for label in per_class)
