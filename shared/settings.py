"""Configuration from `DUBAN_*` environment variables: one base class, a subclass per service."""

import dataclasses
from typing import Any, Literal, TypeVar

from arq.connections import RedisSettings
from pydantic import (
    Field,
    PostgresDsn,
    RedisDsn,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "DUBAN_"
_DEV_SECRET = "development-only-secret-change-me"


class SettingsError(Exception):
    """Start-up configuration is missing or malformed; the message names each variable."""


class DubanSettings(BaseSettings):
    """Settings every service reads."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    environment: Literal["development", "test", "production"] = "development"
    database_url: PostgresDsn
    redis_url: RedisDsn
    redis_sentinels: str = Field(
        default="",
        description="host:port of each Redis Sentinel, comma-separated: the primary named "
        "DUBAN_REDIS_SENTINEL_MASTER is found through them, and found again after a failover "
        "(DUBAN_REDIS_URL then gives only the database number and the password)",
    )
    redis_sentinel_master: str = Field(default="mymaster", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    queue_prefix: str = Field(default="duban", pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    db_pool_size: int = Field(default=20, ge=1, le=200)
    db_ping_idle_seconds: float = Field(
        default=1.0,
        ge=0,
        le=3600,
        description="a pooled database connection unused for longer than this is checked with one round "
        "trip before a request gets it (0: before every use)",
    )

    @field_validator("redis_sentinels")
    @classmethod
    def _sentinels_are_addresses(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            host, _, port = entry.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"{entry!r} is not host:port; write e.g. 10.0.0.1:26379,10.0.0.2:26379")
        return value

    def redis(self) -> RedisSettings:
        """How arq (the api's pool and the workers) reaches Redis: DUBAN_REDIS_URL, or the primary
        the sentinels name."""
        direct = RedisSettings.from_dsn(str(self.redis_url))
        entries = [e.strip() for e in self.redis_sentinels.split(",") if e.strip()]
        if not entries:
            return direct
        sentinels = [(host, int(port)) for host, _, port in (e.rpartition(":") for e in entries)]
        return dataclasses.replace(
            direct, host=sentinels, sentinel=True, sentinel_master=self.redis_sentinel_master
        )

    @property
    def notifier_queue(self) -> str:
        return f"{self.queue_prefix}:queue:notifier"

    @property
    def ranker_queue(self) -> str:
        return f"{self.queue_prefix}:queue:ranker"


class ApiSettings(DubanSettings):
    """Settings of the HTTP api."""

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    secret_key: SecretStr = SecretStr(_DEV_SECRET)
    relay_interval_seconds: float = Field(default=2.0, gt=0, le=300)
    idempotency_ttl_hours: int = Field(default=48, ge=24)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    access_token_minutes: int = Field(default=30, ge=1, le=1440)
    jwt_issuer: str = "duban"
    jwt_audience: str = "duban-api"
    signin_max_failures: int = Field(default=5, ge=1, le=100)
    signin_lockout_seconds: int = Field(default=900, ge=1, le=86400)
    path_index: bool = Field(
        default=True,
        description="route requests through services.api.routing.PathIndex (false: Starlette's own "
        "routing, which answers the same; make bench measures both)",
    )
    principal_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=60,
        description="how long a checked token is trusted without reading its account again; a change "
        "to an account or unit through this process forgets them at once, other api processes within "
        "this time (0: read the account on every request)",
    )
    # Evidence from phones (services/api/visits): the file store and its limits
    file_store: str = Field(
        default=".data/files",
        description="a directory for evidence files (content-addressed), or s3://bucket/prefix",
    )
    s3_endpoint: str | None = Field(
        default=None, description="an S3-compatible service, e.g. http://minio:9000"
    )
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_region: str = "us-east-1"
    evidence_max_file_mb: int = Field(default=20, ge=1, le=200, description="a photo or document, at most")
    evidence_max_visit_mb: int = Field(default=100, ge=1, le=10_000, description="a visit's files together")
    evidence_far_meters: int = Field(
        default=1000, ge=10, le=100_000, description="a photo taken further from its project is flagged"
    )

    @model_validator(mode="after")
    def _secret_outside_development(self) -> "ApiSettings":
        _check_secret(self.environment, self.secret_key)
        return self


def _check_secret(environment: str, secret_key: SecretStr) -> None:
    secret = secret_key.get_secret_value()
    if environment == "production" and (secret == _DEV_SECRET or len(secret) < 32):
        raise ValueError("DUBAN_SECRET_KEY must be a random secret of at least 32 characters in production")


class MigrateSettings(DubanSettings):
    """`duban migrate` and `duban audit verify` need only the database."""

    redis_url: RedisDsn | None = None  # type: ignore[assignment]


class BootstrapSettings(ApiSettings):
    """`duban bootstrap` needs the database and the api's secret, not Redis."""

    redis_url: RedisDsn | None = None  # type: ignore[assignment]


class WorkerSettingsBase(DubanSettings):
    """Settings shared by the arq workers."""

    job_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    max_tries: int = Field(default=5, ge=1, le=50)
    max_jobs: int = Field(default=20, ge=1, le=1000)
    # jobs the bulk lane (announcements, sweeps) runs at once: few, so urgent jobs in the same
    # process keep the event loop and the database to themselves
    bulk_max_jobs: int = Field(default=4, ge=1, le=1000)
    poll_delay_seconds: float = Field(default=0.05, gt=0, le=5)
    health_check_interval_seconds: float = Field(default=5, gt=0, le=300)
    reconcile_interval_seconds: int = Field(default=15, ge=1, le=3600)
    shutdown_grace_seconds: int = Field(default=10, ge=0, le=300)
    # An outbox row unsent this long is relayed by the reconciler; one sent but
    # not in the inbox after `outbox_redeliver_seconds` is enqueued again.
    outbox_grace_seconds: float = Field(default=10, ge=0)
    outbox_redeliver_seconds: float = Field(default=120, ge=1)
    outbox_max_attempts: int = Field(default=10, ge=1)
    # Prometheus metrics (queue depth, job timings) on this port; 0 turns them off.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    @model_validator(mode="after")
    def _interval_fits_the_clock(self) -> "WorkerSettingsBase":
        i = self.reconcile_interval_seconds
        if (i < 60 and 60 % i) or (i >= 60 and (i % 60 or 60 % (i // 60))):
            raise ValueError("DUBAN_RECONCILE_INTERVAL_SECONDS must divide a minute or an hour evenly")
        return self


class NotifierSettings(WorkerSettingsBase):
    """Settings of the notifier worker (it opens webhook secrets with the api's secret)."""

    secret_key: SecretStr = SecretStr(_DEV_SECRET)
    webhook_timeout_seconds: float = Field(default=10, gt=0, le=60)
    webhook_max_attempts: int = Field(default=8, ge=1, le=30)
    webhook_interval_seconds: int = Field(default=15, ge=1, le=3600)
    # How often the sweep issues what is due (it must divide a minute or an hour).
    sweep_interval_seconds: int = Field(default=300, ge=1, le=3600)
    # Where the daily digests go, comma-separated: `log`, `email` (the SMTP settings below), or
    # `package.module:factory` of another gateway; each person gets each channel they can be
    # reached through (an e-mail address, a mobile number).
    notice_channels: str = Field(default="log", min_length=1, max_length=400)
    # A digest to one person through one channel: tried again after a temporary failure (the
    # server away, throttled) 1, 2, 4 … minutes later, at most this many times in all.
    delivery_max_attempts: int = Field(default=6, ge=1, le=30)
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True  # upgrade a plain connection (port 587); off with smtp_tls
    smtp_tls: bool = False  # TLS from the first byte (port 465)
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_from: str = ""  # 督办系统 <duban@example.gov.cn>
    smtp_timeout_seconds: float = Field(default=30, gt=0, le=300)
    # The `sms` channel: the provider's SDK (aliyun or tencent), its account and templates.
    sms_provider: Literal["", "aliyun", "tencent"] = ""
    sms_access_key_id: str = ""  # Alibaba's AccessKey ID, Tencent's SecretId
    sms_access_key_secret: SecretStr = SecretStr("")  # AccessKey secret, SecretKey: never logged
    sms_sign_name: str = ""  # 签名, as the provider approved it
    sms_app_id: str = ""  # Tencent's SmsSdkAppId
    sms_region: str = "ap-guangzhou"  # Tencent's region
    sms_templates: dict[str, str] = Field(
        default_factory=dict,
        description='notice kind → the provider\'s template id, with a "default": {"default": "SMS_1"}',
    )
    sms_endpoint: str = ""  # the provider's API host; http://127.0.0.1:port in tests
    sms_daily_cap: int = Field(default=10, ge=1, le=1000)  # messages a day to one person
    sms_per_second: float = Field(default=10, gt=0, le=1000)  # requests a second from one notifier
    # The office pages' address: a digest links each notice there when it is set.
    base_url: str = Field(default="", pattern=r"^(https?://[^\s]+)?$")

    @field_validator("notice_channels")
    @classmethod
    def _channels_are_known(cls, value: str) -> str:
        names = [n.strip() for n in value.split(",")]
        for name in names:
            if name not in {"log", "email", "sms"} and not (name.count(":") == 1 and all(name.split(":"))):
                raise ValueError(f"{name!r} is not a channel: log, email, sms, or package.module:factory")
        if len(set(names)) != len(names):
            raise ValueError("each channel may be named once")
        return ",".join(names)

    @model_validator(mode="after")
    def _secret_outside_development(self) -> "NotifierSettings":
        _check_secret(self.environment, self.secret_key)
        if "email" in self.notice_channels.split(",") and not (self.smtp_host and self.smtp_from):
            raise ValueError("the email channel needs DUBAN_SMTP_HOST and DUBAN_SMTP_FROM")
        if "sms" in self.notice_channels.split(","):
            missing = [
                f"DUBAN_{name.upper()}"
                for name in ("sms_provider", "sms_access_key_id", "sms_sign_name")
                + (("sms_app_id",) if self.sms_provider == "tencent" else ())
                if not getattr(self, name)
            ]
            if not self.sms_access_key_secret.get_secret_value():
                missing.append("DUBAN_SMS_ACCESS_KEY_SECRET")
            if "default" not in self.sms_templates:
                missing.append('DUBAN_SMS_TEMPLATES (with a "default")')
            if missing:
                raise ValueError(f"the sms channel needs {', '.join(missing)}")
        if self.smtp_tls and self.smtp_starttls:
            raise ValueError("DUBAN_SMTP_TLS and DUBAN_SMTP_STARTTLS exclude each other: set one")
        return self


class RankerSettings(WorkerSettingsBase):
    """Settings of the ranker worker."""

    # How often closed rounds without results are ranked (it must divide a minute or an hour).
    rank_interval_seconds: int = Field(default=60, ge=1, le=3600)
    # A province's round (1M scores) takes tens of seconds; the default leaves room.
    rank_timeout_seconds: int = Field(default=900, ge=10, le=3600)


S = TypeVar("S", bound=DubanSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Read settings, turning validation failures into one message naming each variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = [str(p) for p in err["loc"]]
            name = ENV_PREFIX + loc[0].upper() if loc else "configuration"
            problems.append(f"{name}: {'missing' if err['type'] == 'missing' else err['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(problems)) from None
