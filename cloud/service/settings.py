"""The service's settings: one pydantic-settings model read from the environment.

Secrets have no default. Outside `VIGIL_ENV=development` a missing or placeholder admin
token is refused at start-up (the full-stack-fastapi-template's `_check_default_secret`);
in development a random one is generated and printed once.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.messages import Id

PLACEHOLDER_SECRETS = frozenset({"changethis", "changeme", "change-me", "secret", "admin", "token"})
MIN_SECRET_LENGTH = 16


class SettingsError(ValueError):
    """The settings cannot be used; the message says which one and why."""


class Settings(BaseSettings):
    """Everything the cloud service reads from its environment (`VIGIL_*`, `DATABASE_URL`)."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="forbid", frozen=True)

    env: Literal["development", "production"] = Field(
        "production",
        description="production, or development: then a missing admin token is generated",
    )
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "VIGIL_DATABASE_URL"),
        description="SQLAlchemy URL; default: SQLite file in the data directory",
    )
    mqtt_url: str | None = Field(None, description="mqtt://[user:password@]host:port; none: off")
    mqtt_topic_root: Id = Field("vigil", description="first level of every topic")
    mqtt_share_group: Id | None = Field(None, description="MQTT shared-subscription group")
    mqtt_client_id: str | None = Field(
        None, description="fixed client id: a persistent session (none: random, clean session)"
    )
    admin_token: SecretStr | None = Field(None, description="the admin bearer token (secret)")
    admin_token_generated: bool = Field(
        False, description="set by the service when development generated the admin token"
    )
    data_dir: Path = Field(Path("vigil-data"), description="database, models, clips, jobs")
    public_base_url: str = Field(
        "http://127.0.0.1:8000",
        description="the URL devices reach this service at; model download links start with it",
    )
    dataset_roots: list[Path] = Field(
        default_factory=list, description="server folders a training job may read datasets from"
    )
    clip_max_bytes: int = Field(20_000_000, gt=0, description="largest clip upload accepted")
    run_ingest: bool = Field(True, description="run the MQTT ingest in the API process")
    run_worker: bool = Field(True, description="run the training worker in the API process")
    ingest_batch_size: int = Field(
        500, ge=1, le=10_000, description="MQTT messages stored per database transaction, at most"
    )
    worker_poll_s: float = Field(2.0, gt=0, le=60, description="how often a worker looks for jobs")
    job_stale_after_s: float = Field(
        600.0, gt=0, description="a running job whose worker stops reporting this long fails"
    )
    alert_escalate_after_s: float = Field(
        120.0,
        gt=0,
        description="an alert unacknowledged this long escalates: louder on every dashboard, "
        "and to the webhook when there is one",
    )
    alert_check_s: float = Field(
        5.0, gt=0, le=600, description="how often to look for alerts due for escalation"
    )
    alert_webhook_url: str | None = Field(
        None, description="escalations are POSTed here too; none: the dashboards only"
    )
    alert_webhook_retries: int = Field(3, ge=0, le=10, description="retries per escalation")
    alert_oncall_url: str | None = Field(
        None,
        description="stage 3: an escalated alert still unanswered alert_oncall_after_s later "
        "is POSTed here (a paging or SMS gateway's webhook); none: no stage 3",
    )
    alert_oncall_after_s: float = Field(
        120.0, gt=0, description="stage 3 comes this long after the escalation (4 min in all)"
    )
    device_offline_after_s: float = Field(
        30.0,
        ge=5,
        le=86_400,
        description="a device silent this long (three of the agent's 10 s heartbeats) is "
        "offline and opens a device_offline alert",
    )
    alert_budget_per_week: float = Field(
        1.0,
        gt=0,
        le=1000,
        description="the false alarms a room may raise a week: what calibrating a site "
        "(POST /api/v1/sites/{site}/calibrate) sets each room's fall threshold to",
    )
    calibrate_min_hours: float = Field(
        24.0,
        ge=0,
        le=8760,
        description="a room is calibrated once its agents have scored this much video "
        "(its learning phase); before that it keeps its threshold",
    )
    dashboard_mute_max_s: int = Field(
        300,
        ge=10,
        le=3600,
        description="a dashboard's Mute silences the open alerts this long at most; a new "
        "alert or a reload ends it sooner",
    )
    alert_webhook_backoff_s: float = Field(
        1.0, ge=0, le=60, description="first retry delay, doubled each retry"
    )
    alert_webhook_timeout_s: float = Field(
        5.0, gt=0, le=60, description="timeout of each webhook attempt"
    )
    sign_in_failures_per_min: float = Field(
        30.0,
        ge=0,
        description="bad tokens an address may try per minute after its burst (0: off); then 429",
    )
    sign_in_failure_burst: int = Field(
        30, ge=1, description="bad tokens an address may try at once, before the per-minute rate"
    )
    ingest_requests_per_s: float = Field(
        50.0,
        ge=0,
        description="HTTP ingest requests (events, heartbeats, clips) per device per second "
        "after its burst (0: off); then 429",
    )
    ingest_request_burst: int = Field(
        200, ge=1, description="HTTP ingest requests a device may send at once, before the rate"
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="before")
    @classmethod
    def _development_token(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("env") != "development":
            return data
        if data.get("admin_token"):
            return data
        return {**data, "admin_token": secrets.token_urlsafe(32), "admin_token_generated": True}

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.env == "development":
            return self
        check_secret("VIGIL_ADMIN_TOKEN", self.admin_token)
        return self

    @property
    def sqlalchemy_url(self) -> str:
        return normalise_database_url(self.database_url or f"sqlite:///{self.data_dir}/vigil.db")

    @property
    def admin_secret(self) -> str:
        assert self.admin_token is not None  # guaranteed by the validators
        return self.admin_token.get_secret_value()


def check_secret(name: str, value: SecretStr | None) -> None:
    """Refuse a missing, placeholder or short secret (outside development)."""
    if value is None:
        raise SettingsError(f"{name} is not set (set it, or VIGIL_ENV=development for a dev one)")
    secret = value.get_secret_value()
    if secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH:
        raise SettingsError(
            f"{name} is a placeholder or shorter than {MIN_SECRET_LENGTH} characters; "
            "use e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )


def normalise_database_url(url: str) -> str:
    """`postgresql://` and `postgres://` mean psycopg 3 here (psycopg2 is not installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
