"""Effective settings: defaults < settings.toml < --config FILE < environment.

Every key can be overridden by an environment variable `MARKETSYNC_<SECTION>__<KEY>`.
"""

from __future__ import annotations

import os
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from canonical.errors import MarketsyncError

REPO_DEFAULTS = Path(__file__).resolve().parent.parent / "settings.toml"


class SettingsError(MarketsyncError):
    """Settings could not be read or are invalid; the message names the key and the fix."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSettings(Section):
    home: str = ".marketsync"


class DatabaseSettings(Section):
    url: str = ""
    busy_timeout_ms: int = Field(15000, ge=0)


class RedisSettings(Section):
    url: str = ""


class WorkerSettings(Section):
    count: int = Field(2, ge=1, le=64)
    job_timeout_s: int = Field(600, ge=1)
    # Waits before each RQ retry of a job that failed transiently; one retry per entry.
    retry_intervals_s: list[int] = Field(default_factory=lambda: [10, 30, 120, 600, 1800], min_length=1)


class HttpSettings(Section):
    timeout_s: float = Field(30.0, gt=0)
    max_attempts: int = Field(6, ge=1, le=20)
    max_backoff_s: float = Field(30.0, gt=0)


class SyncSettings(Section):
    order_poll_interval_s: int = Field(60, ge=1)
    # Accounts whose platform sends the hub no order events (拼多多, 京东): the poll is how a sale is heard.
    polled_only_interval_s: int = Field(5, ge=1)
    order_lookback_s: int = Field(600, ge=0)
    order_overlap_s: int = Field(30, ge=0)
    order_deep_poll_interval_s: int = Field(600, ge=1)
    reconcile_interval_s: int = Field(300, ge=1)
    sweep_interval_s: int = Field(30, ge=1)
    event_pull_interval_s: int = Field(5, ge=1)
    stale_check_delay_s: float = Field(3.0, ge=0)  # a refused compare waits this long for the sale's event
    push_coalesce_s: float = Field(0.25, ge=0, le=10)  # an account's drains start at least this far apart
    events_coalesce_s: float = Field(0.2, ge=0, le=10)  # an account's webhook drain rounds, likewise


class QuantityRules(Section):
    buffer: int = Field(0, ge=0)
    percent: int = Field(100, ge=0, le=100)
    max_qty: int = Field(0, ge=0)
    end_when: int = Field(-1, ge=-1)
    list: bool = True


class StockSettings(Section):
    safety_stock: int = Field(0, ge=0)
    drift_policy: Literal["revert", "adopt", "conflict"] = "revert"
    rules: QuantityRules = QuantityRules()


class WebhookSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8787, ge=0, le=65535)
    max_body_bytes: int = Field(1_048_576, ge=1024)
    replay_window_s: int = Field(86_400, ge=0)
    read_timeout_s: float = Field(10.0, gt=0)


class MappingSettings(Section):
    normalised_sku: bool = True


class PrivacySettings(Section):
    purge_after_days: int = Field(365, ge=0)


class ReportSettings(Section):
    currency: str = ""
    rates: dict[str, Decimal] = {}
    dead_stock_days: int = Field(60, ge=1)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.strip().upper()
        if value and (len(value) != 3 or not value.isalpha()):
            raise ValueError(f"must be a 3-letter ISO-4217 code or empty (got {value!r})")
        return value

    @field_validator("rates")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in value.items():
            if len(code) != 3 or not code.isalpha():
                raise ValueError(f"{code!r} is not a 3-letter ISO-4217 code")
            if not rate.is_finite() or rate <= 0:
                raise ValueError(f"the rate of {code} must be above 0 (got {rate})")
        return {code.upper(): rate for code, rate in value.items()}


class SupplierSettings(Section):
    lead_time_days: int | None = Field(None, ge=0)
    safety_stock: int | None = Field(None, ge=0)


class PlanningSettings(Section):
    window_days: int = Field(56, ge=7, le=365)
    half_life_days: float = Field(14.0, gt=0)
    lead_time_days: int = Field(14, ge=0)
    service_level: float = Field(0.95, gt=0.5, lt=1)
    safety_stock_mode: Literal["fixed", "dynamic"] = "fixed"
    refresh_interval_s: int = Field(3600, ge=60)
    suppliers: dict[str, SupplierSettings] = {}


class AlertDestination(Section):
    """One outbound webhook for alerts: `[alerts.destinations.NAME]`."""

    webhook_url: str
    format: str = "generic"  # one of connectors.notify.FORMATS (checked where alerts are evaluated)
    secret: str = ""
    kinds: list[str] = []
    events: list[Literal["opened", "closed"]] = ["opened", "closed"]

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value


class AlertSettings(Section):
    cover_days: float = Field(7.0, gt=0)
    evaluate_interval_s: int = Field(300, ge=10)
    disabled: list[str] = []
    destinations: dict[str, AlertDestination] = {}


class _TomlSource(PydanticBaseSettingsSource):
    """Reads the TOML files in order; later files override earlier ones key by key."""

    def __init__(self, settings_cls: type[BaseSettings], files: list[Path]) -> None:
        super().__init__(settings_cls)
        self.files = files

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for path in self.files:
            _deep_merge(merged, read_toml(path))
        return merged


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist; pass an existing TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path} is not valid TOML ({exc}); fix the syntax") from None


def _deep_merge(into: dict[str, Any], new: dict[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MARKETSYNC_", env_nested_delimiter="__", extra="forbid")

    workspace: WorkspaceSettings = WorkspaceSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    workers: WorkerSettings = WorkerSettings()
    http: HttpSettings = HttpSettings()
    sync: SyncSettings = SyncSettings()
    stock: StockSettings = StockSettings()
    webhooks: WebhookSettings = WebhookSettings()
    mapping: MappingSettings = MappingSettings()
    privacy: PrivacySettings = PrivacySettings()
    reports: ReportSettings = ReportSettings()
    planning: PlanningSettings = PlanningSettings()
    alerts: AlertSettings = AlertSettings()
    # Per-account quantity rules and drift policy: [accounts.NAME] buffer = 2, drift_policy = "adopt"
    accounts: dict[str, dict[str, Any]] = {}
    # Per-SKU rule overrides: [skus."SKU-1"] max_qty = 5, or [skus."SKU-1".accounts.NAME] ...
    skus: dict[str, dict[str, Any]] = {}

    _toml_files: list[Path] = []

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _TomlSource(settings_cls, cls._toml_files)


def load_settings(config_file: str | os.PathLike[str] | None = None, *, home: str | None = None) -> Settings:
    """The effective settings; raises SettingsError with a one-line explanation."""
    files = [REPO_DEFAULTS] if REPO_DEFAULTS.exists() else []
    if config_file:
        files.append(Path(config_file))
    Settings._toml_files = files
    try:
        settings = Settings()
    except ValidationError as exc:
        raise SettingsError(describe_validation_error(exc)) from None
    finally:
        Settings._toml_files = []
    home = home or os.environ.get("MARKETSYNC_HOME")
    if home:
        settings.workspace.home = home
    return settings


def describe_validation_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(part) for part in first["loc"])
    env = "MARKETSYNC_" + "__".join(str(part).upper() for part in first["loc"])
    return f"setting {key} is invalid: {first['msg']} (fix it in your config file or {env})"


SECRET_WORDS = ("password", "secret", "token", "key")


def masked(settings: Settings) -> dict[str, Any]:
    """Settings as plain data with passwords in URLs and secret-looking keys masked."""
    data = settings.model_dump(mode="json")
    return _mask(data)


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v) for v in value]
    if isinstance(value, str) and value:
        if any(word in key.lower() for word in SECRET_WORDS):
            return "********"
        if key == "url":
            return mask_url(value)
        if key == "webhook_url":  # robot URLs carry their token in the path or the query
            scheme, _, rest = value.partition("://")
            return f"{scheme}://{rest.split('/', 1)[0]}/********"
    return value


def mask_url(url: str) -> str:
    """`scheme://user:secret@host/db?password=x` → `scheme://user:********@host/db?password=********`:
    the password in the credentials and every query parameter named like a secret are masked."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    rest, question, query = rest.partition("?")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        user, has_password, _ = credentials.partition(":")
        rest = f"{user}{':********' if has_password else ''}@{host}"
    if question:
        query = "&".join(_mask_parameter(part) for part in query.split("&"))
    return f"{scheme}://{rest}{question}{query}"


def _mask_parameter(part: str) -> str:
    name, equals, value = part.partition("=")
    secret = any(word in name.lower() for word in (*SECRET_WORDS, "pass", "auth", "credential"))
    return f"{name}=********" if equals and value and secret else part
