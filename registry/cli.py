"""The ``dmd-registry`` command line."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from registry.commands import runtime as _runtime
from registry.commands import settings as _settings
from registry.errors import RegistryError

logger = logging.getLogger(__name__)


@click.group()
def main() -> None:
    """DMD Registry: AI-enabled digital medical devices, from needs to post-market."""


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations)."""
    from registry.migrate import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    click.echo(f"database at {_safe_url(settings.resolved_database_url)} is up to date")


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@main.command("seed-demo")
def seed_demo() -> None:
    """Fill an empty registry with the demo organisations, users and devices."""
    _seed_and_print()


def _seed_and_print() -> None:
    from registry import demo

    _, database = _runtime()
    try:
        with database.unit_of_work() as session:
            accounts = demo.seed(session)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    from registry.jobs import get_runner

    get_runner().drain()  # the demo's jobs finish before the command returns
    click.echo(f"Demo accounts (password for all: {demo.DEMO_PASSWORD}):")
    for email, role, org in accounts:
        click.echo(f"  {role:<13} {email:<42} {org}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the web pages and API (development server; see README for production)."""
    from werkzeug.serving import run_simple

    from registry.app import create_app

    app = create_app(_settings())
    _reap_lost_jobs()
    click.echo(f"DMD Registry on http://{host}:{port}/")
    run_simple(host, port, app, threaded=True, use_reloader=False)


@main.command()
@click.option("--port", default=5000, show_default=True, type=int)
def demo(port: int) -> None:
    """Initialise, seed (if empty) and serve the demo registry on http://127.0.0.1:5000."""
    from registry.migrate import upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    from sqlmodel import select

    from registry.models import Organisation

    _, database = _runtime()
    with database.unit_of_work() as session:
        empty = session.exec(select(Organisation)).first() is None
    if empty:
        _seed_and_print()
    else:
        from registry import demo as demo_data

        click.echo(f"Registry already seeded; demo password: {demo_data.DEMO_PASSWORD}")
        click.echo("  e.g. manufacturer@demo-01.demo.example, reviewer@has.demo.example, "
                   "admin@registry.demo.example")
    serve.callback(host="127.0.0.1", port=port)


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--organisation", "organisation_name", required=True,
              help="Existing organisation name, or a new one with --kind")
@click.option("--kind", default=None, help="Kind of a new organisation (e.g. registry_operator)")
@click.option("--role", required=True)
@click.password_option()
def create_user(email, name, organisation_name, kind, role, password) -> None:
    """Create a user (and its organisation if --kind is given); the first admin starts here."""
    from sqlmodel import select

    from registry import auth
    from registry.models import Organisation, OrganisationKind, Role
    from registry.schemas import OrganisationIn, UserIn
    from registry.services import organisations

    _, database = _runtime()
    # The CLI runs with operator rights on the machine; its writes are audited as "system-cli".
    operator = auth.Actor(None, "system-cli", "Command line", Role.admin, None)
    try:
        with database.unit_of_work() as session:
            org = session.exec(select(Organisation).where(
                Organisation.name == organisation_name)).first()
            if org is None:
                if kind is None:
                    raise click.ClickException(
                        f"no organisation named '{organisation_name}'; pass --kind to create it")
                org = organisations.create_organisation(session, operator, OrganisationIn(
                    name=organisation_name, kind=OrganisationKind(kind)))
            user = organisations.create_user(session, operator, UserIn(
                email=email, name=name, password=password, organisation_id=org.id,
                role=Role(role)))
            click.echo(f"created user {user.email} ({role}) in {org.name}")
    except RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def audit() -> None:
    """Verify and export the tamper-evident audit trail."""


@audit.command("verify")
@click.option("--file", "export_file", type=click.Path(exists=True, dir_okay=False),
              help="Verify an exported chain offline instead of the database")
@click.option("--public-key", type=click.Path(exists=True, dir_okay=False),
              help="The registry's published Ed25519 public key (PEM) to check checkpoints with")
def audit_verify(export_file, public_key) -> None:
    """Check the whole chain; name the first altered, removed or reordered event."""
    from registry import audit as audit_trail

    key = Path(public_key).read_text() if public_key else None
    if export_file:
        try:
            document = json.loads(Path(export_file).read_text())
            report = audit_trail.verify_export(document, key)
        except (ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"{export_file} is not an audit export: {exc}") from None
    else:
        _, database = _runtime()
        with database.unit_of_work() as session:
            report = audit_trail.verify(session)
    if report.ok:
        click.echo(f"audit chain OK: {report.events} events, {report.checkpoints} signed "
                   f"checkpoints, head {report.head_hash}")
        return
    click.echo(f"audit chain BROKEN: {report.first_problem}", err=True)
    sys.exit(1)


@audit.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
def audit_export(output) -> None:
    """Write the chain, its signed checkpoints and the public key to a JSON file."""
    from registry import audit as audit_trail

    _, database = _runtime()
    with database.unit_of_work() as session:
        document = audit_trail.export(session)
    Path(output).write_text(json.dumps(document, indent=1, ensure_ascii=False))
    click.echo(f"wrote {len(document['events'])} events and {len(document['checkpoints'])} "
               f"checkpoints to {output}")


@main.command()
@click.option("--concurrency", default=1, show_default=True, type=int)
def worker(concurrency: int) -> None:
    """Run a Celery worker for jobs (needs DMD_BROKER_URL)."""
    settings, _ = _runtime()
    if not settings.broker_url:
        raise click.ClickException("DMD_BROKER_URL is not set; jobs run in-process without it")
    from registry.jobs import get_runner

    _reap_lost_jobs()
    celery = get_runner().celery
    celery.worker_main(["worker", "--loglevel=INFO", f"--concurrency={concurrency}",
                        "--pool=solo" if concurrency == 1 else "--pool=prefork"])


def _reap_lost_jobs() -> None:
    """Jobs left "running" by a dead process of this host are marked failed (retryable)."""
    from registry import db, jobs

    with db.unit_of_work() as session:
        jobs.reap_lost_jobs(session)


@main.command("check-config")
def check_config() -> None:
    """Validate the settings and say what the registry will use."""
    settings = _settings()
    click.echo(f"env: {settings.env}")
    click.echo(f"database: {_safe_url(settings.resolved_database_url)}")
    jobs = f"celery via {settings.broker_url}" if settings.broker_url else "in-process"
    click.echo(f"jobs: {jobs}")
    click.echo(f"artifacts: {settings.resolved_artifact_dir}")


def _add_area_commands() -> None:
    from registry.commands import dossiers, ethics, evaluation, monitoring, operations

    for module in (evaluation, monitoring, ethics, dossiers, operations):
        for command in module.COMMANDS:
            main.add_command(command)


_add_area_commands()

if __name__ == "__main__":
    main()
