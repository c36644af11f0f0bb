"""Settings from environment variables (prefix ``DMD_``), built once by create_app or the CLI."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry.errors import ConfigError

DEFAULT_INSTANCE = Path.cwd() / "instance"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DMD_", extra="forbid")

    # "dev" generates and keeps a secret key in the instance folder; anything else requires one.
    env: Literal["dev", "test", "prod"] = "dev"
    # Folder for the embedded default: SQLite file, artifacts, signing key, secret key.
    instance_dir: Path = DEFAULT_INSTANCE
    # SQLAlchemy URL; default is an SQLite file under the instance folder.
    database_url: str = ""
    # Celery broker (e.g. redis://127.0.0.1:6379/0); unset runs jobs in-process.
    broker_url: str | None = None
    # Where content-addressed artifacts live; default <instance>/artifacts.
    artifact_dir: Path | None = None
    # Flask session and CSRF secret.
    secret_key: str | None = None
    # Largest accepted upload, in bytes.
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, gt=0)
    # Lifetime of a new API token when none is asked for, in days.
    token_lifetime_days: int = Field(default=90, gt=0, le=3650)
    # "text" for people, "json" for log collectors.
    log_format: Literal["text", "json"] = "text"
    # Days an uploaded validation file (patient-level rows) is kept after its evaluation; then
    # `dmd-registry evaluations purge` deletes it and keeps the results, hashes and audit trail.
    raw_retention_days: int = Field(default=365, gt=0, le=36500)
    # Monitoring alerts and incidents are also POSTed as JSON to this URL (unset: only the
    # registry's inbox); e.g. a hospital's alerting gateway or a chat webhook.
    alert_webhook_url: str | None = Field(default=None, pattern=r"^https?://")
    # Jobs measure their own energy with CodeCarbon (offline); the country sets the carbon
    # intensity (ISO 3166-1 alpha-3). Set DMD_ENERGY_TRACKING=false to skip the measurement.
    energy_tracking: bool = True
    # Password sign-in attempts allowed per client address and per account (limits syntax).
    login_rate_limit: str = "10 per minute; 100 per day"
    # Where rate-limit counters live: memory:// (one process) or redis://... (shared).
    ratelimit_storage_url: str = "memory://"
    # Anonymous visitors' catalogue pages are served from a per-worker cache for this many
    # seconds (0: off); signed-in users always get a fresh page.
    public_cache_seconds: int = Field(default=60, ge=0, le=3600)
    # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    proxy_hops: int = Field(default=0, ge=0, le=5)
    energy_country: str = Field(default="FRA", pattern=r"^[A-Z]{3}$")

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return value

    @field_validator("broker_url")
    @classmethod
    def _known_broker(cls, value: str | None) -> str | None:
        if value == "":
            return None
        if value and not value.startswith(("redis://", "rediss://", "memory://")):
            raise ValueError("must start with redis:// (or be unset for in-process jobs)")
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.instance_dir / 'registry.db'}"

    @property
    def resolved_artifact_dir(self) -> Path:
        return self.artifact_dir or self.instance_dir / "artifacts"

    @property
    def signing_key_path(self) -> Path:
        return self.instance_dir / "signing_key.pem"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ConfigError naming the bad variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = "DMD_" + str(err["loc"][0]).upper() if err["loc"] else "DMD_*"
            problems.append(f"{name}={err.get('input')!r}: {err['msg']}")
        raise ConfigError("invalid setting: " + "; ".join(problems)) from None
    if not settings.secret_key:
        if settings.env == "prod":
            raise ConfigError("DMD_SECRET_KEY is required when DMD_ENV=prod")
        settings.secret_key = _kept_secret(settings.instance_dir)
    return settings


def _kept_secret(instance_dir: Path) -> str:
    """A generated secret kept in the instance folder so demo sessions survive restarts."""
    path = instance_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
