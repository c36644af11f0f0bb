"""Production operations: backup, restore (issue #11)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []


@click.command("backup")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="The .tar.gz to write")
def backup_command(output: str) -> None:
    """Back up the registry: every table, every artifact and the signing key (keep it secret)."""
    from pathlib import Path

    from registry import backup, db
    from registry.commands import runtime
    from registry.errors import RegistryError

    runtime()
    try:
        with db.unit_of_work() as session:
            summary = backup.backup(session, Path(output))
    except RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(f"backup written to {summary.path}: schema {summary.revision}, "
               f"{sum(summary.rows.values())} rows in {len(summary.rows)} tables, "
               f"{summary.artifacts} artifacts, audit head {summary.audit_head[:16]}")


@click.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
def restore_command(backup_file: str) -> None:
    """Restore a backup into an empty registry (run dmd-registry init-db first)."""
    from pathlib import Path

    from registry import backup, db
    from registry.commands import runtime
    from registry.errors import RegistryError

    settings, _ = runtime()
    try:
        with db.unit_of_work() as session:
            summary = backup.restore(session, Path(backup_file))
    except RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    backup.install_key(summary["key_pem"], settings.signing_key_path)
    click.echo(f"restored {sum(summary['rows'].values())} rows and {summary['artifacts']} "
               f"artifacts; audit chain verified up to {summary['audit_head'][:16]}")


COMMANDS.extend([backup_command, restore_command])


@click.command("sweep-artifacts")
@click.option("--older-than-minutes", default=60.0, show_default=True, type=float,
              help="Leave younger files alone: they may belong to an upload in progress")
def sweep_artifacts_command(older_than_minutes: float) -> None:
    """Delete artifact files no committed row accounts for (left by a killed process)."""
    from registry import db
    from registry.commands import runtime
    from registry.services import artifacts

    runtime()
    with db.unit_of_work() as session:
        removed = artifacts.sweep_orphans(session, older_than_minutes * 60)
    for path in removed:
        click.echo(f"removed {path}")
    click.echo(f"{len(removed)} orphan file(s) removed")


COMMANDS.append(sweep_artifacts_command)


@click.group("jobs")
def jobs_group() -> None:
    """Jobs whose process died, and retries."""


@jobs_group.command("reap")
def jobs_reap() -> None:
    """Mark jobs left running by dead processes of this host as failed (and retryable)."""
    from registry import db, jobs
    from registry.commands import runtime

    runtime()
    with db.unit_of_work() as session:
        lost = jobs.reap_lost_jobs(session)
        for job in lost:
            click.echo(f"{job.id} {job.name}: {job.error.split(';')[0]}")
    click.echo(f"{len(lost)} lost job(s) marked failed")


@jobs_group.command("retry")
@click.argument("job_id")
def jobs_retry(job_id: str) -> None:
    """Queue a failed job again with the same arguments (as the system)."""
    from registry import db, jobs
    from registry.commands import runtime
    from registry.errors import RegistryError
    from registry.models import Job

    runtime()
    try:
        with db.unit_of_work() as session:
            job = session.get(Job, job_id)
            if job is None:
                raise click.ClickException(f"job {job_id} not found")
            jobs.requeue(session, job)
    except RegistryError as exc:
        raise click.ClickException(exc.detail) from None
    jobs.get_runner().wait(job_id, timeout=3600)
    with db.unit_of_work() as session:
        job = session.get(Job, job_id)
        click.echo(f"job {job_id} {job.status}" + (f": {job.error}" if job.error else ""))


COMMANDS.append(jobs_group)
