"""One settings model for the whole product: CLI options override environment, which overrides defaults."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from actions.carrier import DEFAULT_RETURNS_ADDRESS
from actions.clock import Clock
from agent.app.settings_limits import LimitSettings, split_csv

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_STORE = PROJECT_ROOT / "examples" / "demo-store"

# Maps each setting to the CLI option that also sets it, so errors can name both.
CLI_OPTIONS = {
    "data": "--data",
    "kb": "--kb",
    "policy": "--policy",
    "now": "--now",
    "actions": "--actions",
    "host": "--host",
    "port": "--port",
    "model": "--model",
}


class Settings(LimitSettings):
    """Every knob shopdesk has. Environment variables are `SHOPDESK_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="SHOPDESK_", extra="ignore")

    data: Path = Field(Path(".shopdesk"), description="State directory: SQLite, Chroma, labels")
    kb: Path = Field(DEMO_STORE / "knowledge", description="Knowledge markdown directory")
    policy: Path = Field(DEMO_STORE / "policy.toml", description="Return policy TOML file")
    orders: Path | None = Field(
        DEMO_STORE / "orders.json",
        description="Orders imported by `serve` into an empty data directory (empty to skip)",
    )
    now: datetime | None = Field(
        None, description="What the clock reads at start-up (ISO-8601); it advances from there"
    )
    actions: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Extra action modules or .py paths, comma-separated"
    )
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite in the data directory"
    )

    model: str = Field("shopdesk/offline", description="Any litellm model string")
    model_fallbacks: Annotated[list[str], NoDecode] = Field(default_factory=list)
    model_timeout: float = Field(60.0, gt=0)
    model_retries: int = Field(1, ge=0, le=10)
    max_rounds: int = Field(6, ge=1, le=50)

    store_name: str = Field("Willow & Kiln", min_length=1, max_length=200)
    tone: str = Field("warm, brief and plain-spoken", max_length=500)
    confidence_threshold: float = Field(0.35, ge=0.0, le=1.0)
    index_threads: int | None = Field(
        None, ge=1, le=64, description="Threads for bulk embedding (default: by the machine's load)"
    )
    query_model: Literal["onnx", "torch"] = Field(
        "onnx",
        description="Query encoder: the checked ONNX export kept in <data>/models (made by "
        "`index`, or by the first `serve`), or torch",
    )
    order_id_pattern: str = Field(
        r"(?:#\s?\d{3,10}|\b[A-Za-z]{1,4}-\d{1,10}\b)",
        description="Regex that finds the store's order numbers in a message",
    )

    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)
    public_url: str | None = Field(
        None, description="Base URL of links the server hands out (labels); behind a proxy"
    )
    secret: str = Field(
        "willow-and-kiln-demo-secret",
        min_length=8,
        description="Store secret: signs shopper identities (HMAC-SHA256)",
    )
    admin_token: str = Field(
        "demo-admin-token", min_length=8, description="Bearer token for /v1 admin"
    )
    staff_password: str = Field("demo-staff-password", min_length=8)
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_message_chars: int = Field(4000, ge=1)
    messages_per_minute: int = Field(20, ge=1)
    max_frame_bytes: int = Field(65536, ge=1024)
    idle_timeout: float = Field(600.0, gt=0)
    verification_idle_minutes: float = Field(
        30.0, gt=0, description="A guest (order + email) verification ends after this idle time"
    )

    # Staff console (agent/console/app.py). Outside business hours a handoff asks for an email.
    business_hours: str = Field(
        "09:00-18:00", pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$", description="HH:MM-HH:MM, local"
    )
    business_days: str = Field(
        "mon,tue,wed,thu,fri,sat", description="Comma list of weekday abbreviations (mon..sun)"
    )
    business_timezone: str = Field("America/New_York", description="IANA zone of business_hours")
    staff_session_hours: float = Field(12.0, gt=0, description="Staff console sign-in lifetime")

    # The return portal at /returns (agent/portal): a visit's lifetime, and the store's colour.
    portal_session_minutes: float = Field(30.0, gt=0, le=24 * 60)
    portal_colour: str = Field("#2f5d50", pattern=r"^#[0-9A-Fa-f]{6}$")

    # Photo evidence (actions/evidence, agent/chat/uploads.py).
    evidence_dir: Path | None = Field(
        None, description="Where cleaned photo evidence is kept (default <data>/evidence)"
    )
    upload_token_minutes: float = Field(
        10.0, gt=0, le=120, description="How long an upload token from the chat stays valid"
    )

    # Return labels and webhooks (actions/carrier.py, actions/webhooks.py).
    returns_address: str = Field(
        "\n".join(DEFAULT_RETURNS_ADDRESS),
        description="Where return parcels go (the label's SHIP TO): 2–6 lines, separated by "
        "newlines or a literal \\n in one-line env files",
    )
    webhook_retry_base_seconds: float = Field(30.0, gt=0, le=3600, description="First retry wait")
    webhook_retry_max_delay_seconds: float = Field(8 * 3600.0, gt=0, le=86400)
    # What replicas share (issue 16, part B).
    files_store: Literal["directory", "database"] = Field(
        "directory",
        description="Where labels, stored emails and photos live: a directory, or the database",
    )
    files_dir: Path | None = Field(
        None, description="The files directory (every replica mounts it); default: the data one"
    )
    # Several replicas (agent/chat/bus.py, agent/chat/turn_locks.py): unset, everything live stays
    # in this process. A secret like the database URL (it may carry a password).
    redis_url: SecretStr | None = Field(
        None, description="redis://host:port/db: events, turn locks and limits shared by replicas"
    )
    redis_prefix: str = Field(
        "shopdesk:", min_length=1, max_length=64, description="Namespace of this store's keys"
    )
    turn_lease_seconds: float = Field(
        15.0, gt=0, le=300, description="A turn's lock lapses this long after its replica dies"
    )
    chroma_url: str | None = Field(
        None, description="A Chroma server (http://host:port): the shared knowledge index"
    )
    knowledge_dense_in_memory_max: int = Field(
        100_000, ge=0, description="Up to this many sections, dense ranking runs in memory"
    )  # in memory was faster at every size measured up to 50k (bench/chroma_crossover.py)
    webhook_max_attempts: int = Field(
        13, ge=1, le=50, description="Attempts per delivery (default: spread over ~24 hours)"
    )
    webhook_retry_jitter: float = Field(0.2, ge=0, le=0.5, description="± share of each wait")
    webhook_secret_grace_hours: float = Field(
        24.0, ge=0, le=720, description="How long a rotated-out secret still signs deliveries"
    )

    # The operator's kit (agent/app/logs.py, health.py, metrics.py).
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object a line"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO")
    metrics_token: SecretStr | None = Field(
        None, description="Bearer token for /metrics (the admin token works too)"
    )

    # Email (actions/email): SMTP when smtp_url is set, else each message an .eml file in
    # <data>/outbox. A secret: the URL carries the SMTP password and is never printed.
    smtp_url: SecretStr | None = Field(
        None, description="smtp://user:password@host:587[?starttls=1] or smtps://…:465"
    )
    mail_from: str = Field(
        "Willow & Kiln <returns@willowandkiln.example>", min_length=3, max_length=320
    )
    fulfilment_email: str | None = Field(
        None, max_length=320, description="The team that gets new returns and collections"
    )
    email_retry_base_seconds: float = Field(60.0, gt=0, description="First retry; then doubles")
    email_retry_max_seconds: float = Field(3600.0, gt=0)
    email_max_attempts: int = Field(8, ge=1, le=50)

    @field_validator("smtp_url", mode="before")
    @classmethod
    def _smtp_url(cls, value: Any) -> Any:
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        from actions.email.config import parse_smtp_url

        parse_smtp_url(str(raw))  # ValueError names the problem, never the password
        return raw

    @field_validator("mail_from", "fulfilment_email")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        from actions.email.config import address_ok

        if value is not None and value.strip() and not address_ok(value):
            raise ValueError("must be an email address, e.g. Shop <returns@example.com>")
        return value.strip() if value and value.strip() else None

    @field_validator("actions", "model_fallbacks", "allowed_origins", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return split_csv(value)

    @field_validator("now", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("now")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @field_validator("orders", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("returns_address")
    @classmethod
    def _address_lines(cls, value: str) -> str:
        lines = _split_address(value)
        if not 2 <= len(lines) <= 6 or any(len(line) > 60 for line in lines):
            raise ValueError("the returns address needs 2 to 6 lines of at most 60 characters each")
        return "\n".join(lines)

    @property
    def returns_address_lines(self) -> tuple[str, ...]:
        return tuple(_split_address(self.returns_address))

    @property
    def webhook_options(self) -> dict[str, float | int]:
        """The webhook sender's retry knobs, as `WebhookService` takes them."""
        return {
            "base_delay": self.webhook_retry_base_seconds,
            "max_delay": self.webhook_retry_max_delay_seconds,
            "max_attempts": self.webhook_max_attempts,
            "jitter": self.webhook_retry_jitter,
            "secret_grace": self.webhook_secret_grace_hours * 3600,
        }

    _clock: Clock = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._clock = Clock(self.now)

    # Derived locations -------------------------------------------------------------------
    @property
    def resolved_rate_limit_storage(self) -> str:
        if self.rate_limit_storage:
            return self.rate_limit_storage
        return self.redis_url.get_secret_value() if self.redis_url else "memory://"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data / 'shopdesk.db').resolve()}"

    @property
    def resolved_public_url(self) -> str:
        """Base URL for links the server hands out (labels): `public_url` when set, else the
        bound address. A wildcard bind address is not a place a browser can go: localhost."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "localhost" if self.host in {"0.0.0.0", "::", ""} else self.host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def clock(self) -> Clock:
        """The product's one clock: reads `now` at start-up (the wall clock when unset), then
        advances in real time. Copies of these settings share it."""
        return self._clock

    # Demo mode and a safe start --------------------------------------------------------------
    @property
    def demo_mode(self) -> bool:
        """The demo: the demo store's orders and no store secret set (SHOPDESK_SECRET). Only then
        may the store page sign in its demo shopper (widget/pages.py), since that signature is
        made with the store's secret and would verify as the real thing."""
        if "secret" in self.model_fields_set or self.orders is None:
            return False
        return Path(self.orders).resolve() == (DEMO_STORE / "orders.json").resolve()

    def demo_secrets(self) -> list[str]:
        """The settings still at the values the README documents, by environment variable."""
        return [
            f"SHOPDESK_{name.upper()}"
            for name, value in DEMO_SECRETS.items()
            if getattr(self, name) == value
        ]

    def unsafe_to_serve(self) -> str | None:
        """Why serving these settings is refused, in one line, or None. A demo secret is public
        (it is in the README), so on any address but loopback it would let anyone in."""
        if _is_loopback(self.host):
            return None
        names = self.demo_secrets()
        if not names:
            return None
        return (
            f"refusing to serve on {self.host}: {', '.join(names)} still "
            f"{'has its' if len(names) == 1 else 'have their'} demo "
            f"value{'' if len(names) == 1 else 's'} from the README; set "
            f"{'it' if len(names) == 1 else 'them'} to secret values of your own "
            "(or serve on 127.0.0.1)"
        )


# The documented demo values of the settings that guard the store (README, `make run`).
DEMO_SECRETS = {
    name: Settings.model_fields[name].default
    for name in ("admin_token", "staff_password", "secret")
}


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def _split_address(value: str) -> list[str]:
    lines = value.replace("\\n", "\n").splitlines()
    return [line.strip() for line in lines if line.strip()]


class SettingsError(Exception):
    """A setting has a bad value; the message names the setting, its env var and CLI option."""


def load_settings(**overrides: Any) -> Settings:
    clean = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            where = f"SHOPDESK_{name.upper()}"
            if name in CLI_OPTIONS:
                where += f" / {CLI_OPTIONS[name]}"
            problems.append(f"setting '{name}' ({where}): {error['msg']}")
        raise SettingsError("; ".join(problems)) from None
