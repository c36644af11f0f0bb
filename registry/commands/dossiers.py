"""Dossier build and verification (issue #9)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from registry.commands import runtime, settings
from registry.services import dossiers as dossier_service  # registers the dossier.build job

COMMANDS: list[click.Command] = []


@click.group()
def dossier() -> None:
    """Build and verify sealed auditor dossiers (PDF)."""


COMMANDS.append(dossier)


@dossier.command("build")
@click.argument("device_code")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="Where to write the PDF")
@click.option("--timeout", default=600, show_default=True, help="Seconds to wait for the job")
def build(device_code: str, output: str, timeout: int) -> None:
    """Build the dossier of DEVICE_CODE (as a job) and write the sealed PDF."""
    from sqlmodel import select

    from registry import auth, jobs, storage
    from registry.errors import RegistryError
    from registry.models import Job, Role
    from registry.models.dossiers import Dossier

    current, database = runtime()
    # The CLI runs with operator rights on the machine; its request is audited as "system-cli".
    operator = auth.Actor(None, "system-cli", "Command line", Role.admin, None)
    try:
        with database.unit_of_work() as session:
            job_id = dossier_service.request_build(session, operator, device_code).id
    except RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    if not current.broker_url:
        jobs.get_runner().wait(job_id, timeout=timeout)
    deadline = time.monotonic() + timeout
    while True:
        with database.unit_of_work() as session:
            job = session.get(Job, job_id)
            status, error, result = job.status, job.error, job.result
        if status in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if status != "succeeded":
        raise click.ClickException(f"dossier job {job_id} {status}: {error or 'timed out'}")
    with database.unit_of_work() as session:
        row = session.exec(select(Dossier).where(
            Dossier.dossier_id == result["dossier_id"])).one()
    with storage.get_store().open(row.pdf_sha256) as handle:
        Path(output).write_bytes(handle.read())
    click.echo(f"dossier {row.dossier_id} of {device_code}: {row.pages} pages, "
               f"{row.size_bytes} bytes, SHA-256 {row.pdf_sha256} -> {output}")


def _registry_configured(current) -> bool:
    """Online checks need a registry: an explicit database, or the instance's SQLite file."""
    return bool(current.database_url) or (current.instance_dir / "registry.db").exists()


@dossier.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False),
              help="The registry's published Ed25519 public key (PEM)")
@click.option("--sha256", "expected", default=None,
              help="The SHA-256 the registry published for this file")
@click.option("--offline", is_flag=True, help="Skip the checks against the registry")
def verify(file: str, public_key: str | None, expected: str | None, offline: bool) -> None:
    """Check FILE: PAdES seal, signed manifest, embedded files and sections, file hash; online
    (with a registry) that it was issued and the audit chain still holds its head."""
    data = Path(file).read_bytes()
    key = Path(public_key).read_text() if public_key else None
    current = settings()
    if offline or not _registry_configured(current):
        result = dossier_service.verify_file(None, data, key, expected)
    else:
        _, database = runtime()
        with database.unit_of_work() as session:
            result = dossier_service.verify_file(session, data, key, expected)
    for check in result.checks:
        mark = {True: "PASS", False: "FAIL", None: "SKIP"}[check.ok]
        click.echo(f"{mark}  {check.name}: {check.message}")
    if not result.ok:
        failed = ", ".join(c.name for c in result.failures) or "nothing could be checked"
        click.echo(f"dossier verification FAILED ({failed}): {file}", err=True)
        sys.exit(1)
    click.echo(f"dossier {result.manifest['dossier_id']} verified: SHA-256 {result.sha256}")


@dossier.command("public-key")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Write the PEM there instead of printing it")
def public_key(output: str | None) -> None:
    """The registry's Ed25519 public key (PEM), to publish for `dossier verify --public-key`."""
    from registry import signing
    from reports import sealing

    current, _ = runtime()
    pem = signing.get_signer().public_pem
    if output:
        Path(output).write_text(pem)
    else:
        click.echo(pem, nl=False)
    seal = sealing.load_or_create(current.instance_dir)
    click.echo(f"key id {signing.get_signer().key_id}; PDF seal certificate SHA-256 "
               f"{seal.fingerprint}", err=True)
