"""One Settings object, read from the environment (prefix TEXTLINE_) or a .env file."""

from __future__ import annotations

from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Secrets that appear in tutorials and templates; a deployment using one is misconfigured.
PLACEHOLDER_SECRETS = frozenset(
    {"changeme", "change-me", "changethis", "secret", "password", "your-secret-key", "xxx", "test"}
)


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TEXTLINE_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///./textline.db"
    public_url: str = "http://127.0.0.1:8000"
    sms_provider: Literal["console", "twilio"] | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    secret_key: SecretStr | None = None
    routing_file: Path | None = None
    stations_file: Path | None = None
    wording_file: Path | None = None
    integration_url: str | None = None
    integration_secret: SecretStr | None = None
    silence_minutes: int = Field(10, ge=1, le=24 * 60)
    # Supervisors are alerted (banner, audit, metric, integration) by an open P1 nobody has
    # claimed for this many seconds, and by a claim with no operator text for this many minutes.
    p1_alert_seconds: int = Field(60, ge=5, le=24 * 3600)
    stale_claim_minutes: int = Field(10, ge=1, le=24 * 60)
    # Open cases one operator may hold at once; NENA advises a call-taker handle no more than
    # three text sessions together. A supervisor may go beyond it for one case, with a reason.
    max_claims: int = Field(3, ge=1, le=100)
    # Extensions beyond API.md section 1.
    timezone: str = "Europe/London"
    max_body_bytes: int = Field(16_384, ge=1024, le=1_048_576)  # the Twilio webhooks' own cap
    # Every other request body, counted as it arrives and refused (413) past this, before any
    # sign-in check or parsing: an unauthenticated body must not reach memory whole.
    max_request_bytes: int = Field(1_048_576, ge=16_384, le=64 * 1_048_576)
    # Live event streams (GET /events) one user may hold open in one server process.
    max_streams_per_user: int = Field(8, ge=1, le=1000)
    # GET /metrics wants "Authorization: Bearer <this>" when set; unset, it is open to anyone
    # who can reach the port (docs/security.md).
    metrics_token: SecretStr | None = None
    reopen_hours: int = Field(24, ge=0, le=24 * 30)
    # Reports at one place within this many minutes of each other may be one incident
    # (app/incidents/rules.py); within 10 minutes and naming the same risk, they are linked.
    incident_window_minutes: int = Field(30, ge=1, le=24 * 60)
    # Closed cases older than this lose phone numbers and message bodies (`textline retention run`).
    retention_days: int = Field(365, ge=1, le=100 * 365)
    # A user's repeat reads of one case's transcript (or one page of the case list) within this
    # many minutes are one audit event, so a page left open does not bury the log; 0 records
    # every read.
    read_audit_minutes: int = Field(5, ge=0, le=24 * 60)
    run_worker: bool = True  # drain the outbox and run timers in the server process
    # How long a claimed outbox row stays claimed before another worker may take it over
    # (app/sms/worker.py); well beyond one provider call. Tests of a crash shorten it.
    outbox_lease_seconds: int = Field(60, ge=5, le=3600)
    # Outbox sending loops per process (app/sms/worker.py); each claims and stores rows in
    # batches and shares out TEXTLINE_OUTBOX_IN_FLIGHT. One is enough for one database: the
    # sends, not the loop, wait on the network.
    outbox_senders: int = Field(1, ge=1, le=32)
    # Texts (and integration calls) in flight at once per process: a provider call takes a
    # round trip (about 150 ms to Twilio), and a burst of replies should not wait for each
    # other's. Two texts to one number are never in flight together, whatever this says.
    outbox_in_flight: int = Field(64, ge=1, le=256)
    # The queue and case pages also reload this often, whatever their event streams say: a case
    # or a text whose event never arrived (a stream that missed it, `textline worker` on SQLite,
    # which has no relay) still reaches the operator, and a P1's alarm still sounds.
    dashboard_refresh_seconds: int = Field(30, ge=1, le=3600)
    # The proxies in front of the server, by address or network ("10.0.0.5, 10.1.0.0/16"): only a
    # request whose direct peer is one of them has its X-Forwarded-For believed. None by default,
    # so a client cannot pick the address the sign-in throttle counts against.
    trusted_proxies: str = ""
    # An API token expires this many days after it is made unless `token create` says otherwise.
    token_days: int = Field(90, ge=1, le=3650)
    # Where the database is remote (PostgreSQL): a webhook whose text the inbox cannot commit
    # within this many milliseconds keeps it in a local spool file instead and answers 200; the
    # spool drains into the inbox when the database is back (docs/outage.md).
    spool_after_ms: int = Field(500, ge=10, le=10_000)
    # This process's spool directory (mode 0700, created when first needed). Each process takes
    # its own file in it; instances on one host may share it, but not with another database.
    spool_dir: Path = Path("textline-spool")
    # Where to send one OpenTelemetry trace per text (OTLP over HTTP, e.g.
    # http://collector:4318/v1/traces); unset, no tracing at all (docs/monitoring.md).
    otel_endpoint: str | None = None
    # How often each server process (with its background work) checks the whole audit hash
    # chain, for textline_audit_chain_broken; the first check runs at start.
    audit_check_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    # `textline worker` serves its own figures (reading, sends) at /metrics on this
    # "host:port" ("0.0.0.0:9108" for a scraper on another host); unset, it serves none.
    worker_metrics_address: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # auto: readable lines where the logs go to a terminal, JSON lines anywhere else (a file, a
    # pipe, a container's log collector).
    log_format: Literal["json", "text", "auto"] = "auto"

    @field_validator("otel_endpoint")
    @classmethod
    def _otel_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value or None

    @field_validator("worker_metrics_address")
    @classmethod
    def _host_port(cls, value: str | None) -> str | None:
        if not value:
            return None
        _host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be host:port, e.g. 0.0.0.0:9108")
        return value

    @field_validator("public_url", "twilio_api_base")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"{part.strip()!r} is not an address or network") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for name in ("secret_key", "twilio_auth_token", "integration_secret", "metrics_token"):
            secret = getattr(self, name)
            if secret is not None and secret.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"{name} is a placeholder value; set a real secret")
        if self.secret_key is not None and len(self.secret_key.get_secret_value()) < 16:
            raise ValueError("secret_key must be at least 16 characters")
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 16:
            raise ValueError("metrics_token must be at least 16 characters")
        if self.provider == "twilio":
            if self.twilio_auth_token is None:
                raise ValueError("sms_provider twilio needs TEXTLINE_TWILIO_AUTH_TOKEN")
            if not self.twilio_account_sid:
                raise ValueError("sms_provider twilio needs TEXTLINE_TWILIO_ACCOUNT_SID")
            if not (self.twilio_from or self.twilio_messaging_service_sid):
                raise ValueError(
                    "sms_provider twilio needs TEXTLINE_TWILIO_FROM or TEXTLINE_TWILIO_MESSAGING_SERVICE_SID"
                )
        if self.integration_url and self.integration_secret is None:
            raise ValueError("TEXTLINE_INTEGRATION_URL needs TEXTLINE_INTEGRATION_SECRET")
        return self

    @property
    def provider(self) -> str:
        """The SMS provider in force: explicit, else twilio when credentials are set."""
        if self.sms_provider:
            return self.sms_provider
        if self.twilio_account_sid and self.twilio_auth_token:
            return "twilio"
        return "console"

    @property
    def signatures_required(self) -> bool:
        return self.twilio_auth_token is not None

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(part.strip(), strict=False)
                     for part in self.trusted_proxies.split(",") if part.strip())

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one readable line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = f"TEXTLINE_{loc.upper()}: " if loc else ""
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{where}{msg}")
    return "invalid configuration: " + "; ".join(parts)
