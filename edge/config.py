"""The edge agent's configuration: one pydantic-settings model, YAML file plus environment.

Priority, highest first: command-line overrides, environment (`VIGIL_`, nested with `__`,
e.g. `VIGIL_MQTT__URL`), the YAML file, the defaults here. Unknown keys are refused at
every level. Secrets (the device token, the MQTT password, a password inside `mqtt.url`)
come from the environment only: a YAML file or a command line that carries them is
refused, so they never end up in a config repo or a process list.
Labels and preprocessing are NOT configured here: they travel inside the model.
"""

from __future__ import annotations

from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from edge.events import CONFIRM_S
from shared.broker import BrokerAddress, parse_mqtt_url, redact_urls
from shared.messages import Id, Label, Thresholds
from shared.topics import DEFAULT_ROOT

SECRET_KEYS = ("device_token", "mqtt_password")


class ConfigError(ValueError):
    """The configuration file or values cannot be used; the message says which and why."""


def _number_or_text(value: Any) -> Any:
    if isinstance(value, str):
        for number in (int, float):
            try:
                return number(value)
            except ValueError:
                pass
    return value  # refused by the model, which names the setting


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttConfig(Section):
    url: str | None = Field(
        default=None,
        description="mqtt://[user[:password]@]host:port or mqtts://...; none: off "
        "(a password in it only from the environment, VIGIL_MQTT__URL)",
    )
    username: str | None = Field(
        default=None,
        description="broker user; wins over the URL's user (password: VIGIL_MQTT_PASSWORD, "
        "which wins over the URL's; the URL's goes only to the URL's own user)",
    )
    ca_file: Path | None = Field(default=None, description="CA bundle for TLS (mqtts://)")
    topic_root: Id = Field(default=DEFAULT_ROOT, description="first level of every topic")
    keepalive_s: int = Field(
        default=30,
        ge=5,
        le=600,
        description="MQTT keepalive (s): the broker drops a silent agent (last will) at 1.5x this",
    )
    reconnect_min_s: float = Field(default=1.0, gt=0, le=60, description="first reconnect delay")
    reconnect_max_s: float = Field(
        default=30.0, gt=0, le=600, description="longest reconnect delay"
    )
    ack_timeout_s: float = Field(
        default=10.0, gt=0, le=120, description="wait this long for a PUBACK"
    )

    @field_validator("url")
    @classmethod
    def _url_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_mqtt_url(value)
        return value


class HttpConfig(Section):
    timeout_s: float = Field(default=10.0, gt=0, le=300, description="per-request timeout")
    retries: int = Field(
        default=3, ge=0, le=10, description="retries per request on network/5xx errors"
    )
    backoff_s: float = Field(
        default=0.5, gt=0, le=60, description="first retry delay, doubled each time"
    )
    fallback_after_s: float = Field(
        default=5.0,
        ge=0,
        le=3600,
        description="send events over HTTP once the broker is down this long",
    )
    model_poll_s: float | None = Field(
        default=None, gt=0, le=86_400, description="without MQTT, poll the current model this often"
    )


class CaptureConfig(Section):
    realtime: bool = Field(default=False, description="pace a file source at its frame rate")
    start_time: AwareDatetime | None = Field(
        default=None,
        description="wall-clock time of the first frame (replaying recorded footage); "
        "default: when the agent starts",
    )
    queue_size: int = Field(default=64, ge=2, le=10_000, description="frames waiting for inference")
    reconnect_min_s: float = Field(
        default=1.0, gt=0, le=60, description="first camera reopen delay"
    )
    reconnect_max_s: float = Field(
        default=30.0, gt=0, le=600, description="longest camera reopen delay"
    )


class InferenceConfig(Section):
    hop_s: float = Field(
        default=0.5, gt=0, le=60, description="run the model every hop of video time"
    )
    threads: int = Field(default=1, ge=1, le=64, description="onnxruntime intra-op threads")


class EventConfig(Section):
    thresholds: Thresholds = Field(default_factory=Thresholds, description="decision thresholds")

    @field_validator("thresholds", mode="before")
    @classmethod
    def _numbers_from_text(cls, value: Any) -> Any:
        """`VIGIL_EVENTS__THRESHOLDS__FALL_ENTER=0.7` arrives as text; the message model is
        strict about numbers (as the wire must be), so text that is a number becomes one."""
        if isinstance(value, dict):
            return {key: _number_or_text(v) for key, v in value.items()}
        return value

    smoothing_windows: int = Field(
        default=3, ge=1, le=64, description="activities are decided on the mean of these windows"
    )
    min_start_s: float = Field(
        default=1.0,
        ge=0,
        le=600,
        description="an activity starts after leading at the enter threshold this long",
    )
    min_end_s: float = Field(
        default=1.0, ge=0, le=600, description="an activity below the exit threshold this long ends"
    )
    fall_hold_s: float = Field(
        default=5.0, ge=0, le=600, description="a fall ends after its score is below exit this long"
    )
    update_interval_s: float = Field(
        default=10.0, gt=0, le=3600, description="an open event sends an update event this often"
    )
    long_lie_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="lying on the floor this long after a fall raises a critical long_lie event",
    )
    confirm_s: float = Field(
        default=CONFIRM_S,
        ge=0,
        le=120,
        description="a fall starts as possible (a warning) and is confirmed (the alarm) when "
        "the person is still down this long after; 0 = the alarm at once, in one stage",
    )
    confirm_share: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="confirmed when at least this share of the windows after a possible fall "
        "with somebody in view showed the person down; else it ends as recovered",
    )
    lying_labels: tuple[Label, ...] = Field(
        default=("lying_on_floor", "lying"), description="labels that mean lying on the floor"
    )
    no_person_label: Label = Field(
        default="no_person", description="the empty room's label: ends activities, never reported"
    )


class ClipResolution(Section):
    width: int = Field(default=320, ge=8, le=1920, description="clip width in pixels")
    height: int = Field(default=240, ge=8, le=1080, description="clip height in pixels")


class ClipConfig(Section):
    enabled: bool = Field(default=True, description="upload unsure windows (needs a cloud URL)")
    max_per_hour: int = Field(
        default=6, ge=0, le=3600, description="at most this many clips in any hour"
    )
    dedup_s: float = Field(
        default=120.0,
        ge=0,
        le=86_400,
        description="no second clip predicted as the same label within this many seconds",
    )
    min_gap_s: float = Field(
        default=30.0, ge=0, le=86_400, description="no two clips closer than this"
    )
    pre_s: float = Field(default=1.0, ge=0, le=30, description="context before the window")
    post_s: float = Field(default=1.0, ge=0, le=30, description="context after the window")
    resolution: ClipResolution | None = Field(
        default=None,
        description="privacy opt-in: keep frames at this size for clips (default: input)",
    )


class OutboxConfig(Section):
    max_items: int = Field(
        default=10_000,
        ge=10,
        le=10_000_000,
        description="bound on queued events and clips: the oldest non-critical go first when full",
    )
    flush_timeout_s: float = Field(
        default=15.0, ge=0, le=3600, description="at the end of a run, wait this long for delivery"
    )


class HeartbeatConfig(Section):
    interval_s: float = Field(default=10.0, gt=0, le=3600, description="seconds between heartbeats")


class ModelConfig(Section):
    public_key: str | None = Field(
        default=None,
        description="Ed25519 public key (PEM or base64 raw) that signs model artifacts",
    )


class EdgeSettings(BaseSettings):
    """Everything an edge agent needs, except the model (which describes itself)."""

    model_config = SettingsConfigDict(
        env_prefix="VIGIL_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    device_id: Id = Field(default="edge0", description="this device's id (topics, events)")
    site: Id = Field(default="default", description="the care home / site id")
    camera: str = Field(default="cam0", min_length=1, max_length=64, description="camera name")
    cloud_url: str | None = Field(
        default=None, description="cloud base URL, e.g. https://vigil.example"
    )
    data_dir: Path = Field(
        default=Path("vigil-edge-data"), description="outbox, clips and model cache"
    )
    device_token: SecretStr | None = Field(
        default=None, description="bearer token; environment only"
    )
    mqtt_password: SecretStr | None = Field(
        default=None, description="broker password; environment only"
    )
    mqtt: MqttConfig = Field(default_factory=MqttConfig, description="broker connection")
    http: HttpConfig = Field(default_factory=HttpConfig, description="cloud HTTP client")
    capture: CaptureConfig = Field(default_factory=CaptureConfig, description="video capture")
    inference: InferenceConfig = Field(default_factory=InferenceConfig, description="model runs")
    events: EventConfig = Field(default_factory=EventConfig, description="event state machine")
    clips: ClipConfig = Field(default_factory=ClipConfig, description="unsure-window clips")
    outbox: OutboxConfig = Field(default_factory=OutboxConfig, description="durable queue")
    heartbeat: HeartbeatConfig = Field(default_factory=HeartbeatConfig, description="health")
    model: ModelConfig = Field(default_factory=ModelConfig, description="model verification")

    @field_validator("cloud_url")
    @classmethod
    def _cloud_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"cloud_url must be http:// or https://, got {value!r}")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlSource(settings_cls))

    def broker_address(self) -> BrokerAddress | None:
        """The broker of `mqtt.url` with its credentials; none when MQTT is off.

        The explicit settings win over the URL's user part: `mqtt.username` over its user,
        VIGIL_MQTT_PASSWORD over its password. The URL's password goes only to the URL's
        own user, never to another one named by `mqtt.username`.
        """
        if self.mqtt.url is None:
            return None
        address = parse_mqtt_url(self.mqtt.url)
        username = self.mqtt.username or address.username
        if self.mqtt_password is not None:
            password: str | None = self.mqtt_password.get_secret_value()
        else:
            password = address.password if username == address.username else None
        return address.with_credentials(username, password)


# The YAML of the settings being loaded; a context variable keeps concurrent loads apart.
_YAML_DATA: ContextVar[dict[str, Any] | None] = ContextVar("vigil_edge_yaml", default=None)


class _YamlSource(PydanticBaseSettingsSource):
    """The YAML file given to `load_settings`, already parsed and checked for secrets."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return (_YAML_DATA.get() or {}).get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_YAML_DATA.get() or {})


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML config file; refuse secrets in it and anything that is not a mapping."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values")
    leaked = [key for key in SECRET_KEYS if key in data]
    if leaked:
        names = ", ".join(f"VIGIL_{k.upper()}" for k in leaked)
        raise ConfigError(f"{path}: secrets {leaked} must come from the environment ({names})")
    _refuse_url_password(data, f"{path}: ")
    return data


def _refuse_url_password(values: dict[str, Any], where: str) -> None:
    """A password inside `mqtt.url` is a secret too: from the environment only."""
    mqtt = values.get("mqtt")
    url = mqtt.get("url") if isinstance(mqtt, dict) else None
    if isinstance(url, str) and urlsplit(url).password:
        raise ConfigError(
            f"{where}mqtt.url holds a password: give it in VIGIL_MQTT_PASSWORD "
            "(or the whole URL in VIGIL_MQTT__URL)"
        )


def load_settings(path: Path | None = None, **overrides: Any) -> EdgeSettings:
    """Build the settings from a YAML file, the environment and command-line overrides."""
    leaked = [key for key in SECRET_KEYS if key in overrides]
    if leaked:
        raise ConfigError(f"secrets {leaked} must come from the environment")
    _refuse_url_password(overrides, "")
    token = _YAML_DATA.set(read_yaml(path) if path else {})
    try:
        return EdgeSettings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        where = f"{path}: " if path else ""
        # pydantic quotes each refused value: a URL's password must not go with it.
        raise ConfigError(redact_urls(f"{where}invalid configuration: {exc}")) from exc
    finally:
        _YAML_DATA.reset(token)
