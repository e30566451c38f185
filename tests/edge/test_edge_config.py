"""Edge settings: YAML, environment, command line; unknown keys and leaked secrets refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import overrides_from, register
from edge.config import ConfigError, EdgeSettings, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.yaml"
    path.write_text(text)
    return path


def test_defaults_need_no_file() -> None:
    settings = load_settings()
    assert settings.inference.hop_s == 0.5
    assert settings.mqtt.url is None and settings.device_token is None
    assert settings.clips.resolution is None  # privacy: clips at the model's input size


def test_yaml_then_environment_then_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        "site: home-a\ndevice_id: cam-1\nmqtt:\n  url: mqtt://a:1883\n"
        "  username: edge\nevents:\n  thresholds:\n    enter: 0.7\n",
    )
    monkeypatch.setenv("VIGIL_DEVICE_ID", "from-env")
    monkeypatch.setenv("VIGIL_INFERENCE__THREADS", "2")
    monkeypatch.setenv("VIGIL_DEVICE_TOKEN", "s3cret")
    settings = load_settings(path, mqtt={"url": "mqtt://b:1884"})
    assert settings.site == "home-a"
    assert settings.device_id == "from-env"
    assert settings.inference.threads == 2
    assert settings.mqtt.url == "mqtt://b:1884" and settings.mqtt.username == "edge"
    assert settings.events.thresholds.enter == 0.7
    assert settings.device_token is not None
    assert settings.device_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_the_fall_rule_comes_from_the_environment_as_whole_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VIGIL_EVENTS__THRESHOLDS__FALL_WINDOWS", "3")
    monkeypatch.setenv("VIGIL_EVENTS__THRESHOLDS__FALL_SPAN", "4")
    monkeypatch.setenv("VIGIL_EVENTS__THRESHOLDS__FALL_ENTER", "1")  # a whole number, a float
    thresholds = load_settings().events.thresholds
    assert (thresholds.fall_windows, thresholds.fall_span) == (3, 4)
    assert thresholds.fall_enter == 1.0
    monkeypatch.setenv("VIGIL_EVENTS__THRESHOLDS__FALL_WINDOWS", "2.5")
    with pytest.raises(ConfigError, match="fall_windows"):
        load_settings()


@pytest.mark.parametrize(
    "text",
    ["sight: typo\n", "mqtt:\n  urll: mqtt://x\n", "events:\n  thresholds:\n    entre: 0.5\n"],
)
def test_unknown_keys_are_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="invalid configuration"):
        load_settings(write(tmp_path, text))


@pytest.mark.parametrize("key", ["device_token", "mqtt_password"])
def test_secrets_in_the_file_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=f"VIGIL_{key.upper()}"):
        load_settings(write(tmp_path, f"{key}: hunter2\n"))


def test_invalid_values_name_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "site: 'Not A Valid Id'\n")
    with pytest.raises(ConfigError, match="edge.yaml"):
        load_settings(path)
    with pytest.raises(ConfigError, match="exit threshold"):
        load_settings(write(tmp_path, "events:\n  thresholds:\n    enter: 0.3\n    exit: 0.5\n"))


def test_urls_are_checked() -> None:
    with pytest.raises(ConfigError, match="invalid MQTT URL"):
        load_settings(mqtt={"url": "http://broker:1883"})
    with pytest.raises(ConfigError, match="cloud_url must be http"):
        load_settings(cloud_url="ftp://cloud")
    assert load_settings(mqtt={"url": "mqtts://broker"}).mqtt.url == "mqtts://broker"


@pytest.mark.parametrize(
    ("url", "username", "password", "expected"),
    [
        # The URL alone: its user and password.
        ("mqtt://room1:from-url@b", None, None, ("room1", "from-url")),
        # VIGIL_MQTT_PASSWORD wins over the URL's password.
        ("mqtt://room1:from-url@b", None, "from-env", ("room1", "from-env")),
        # mqtt.username wins over the URL's user, whose password is not sent to another.
        ("mqtt://room1:from-url@b", "room2", None, ("room2", None)),
        ("mqtt://room1:from-url@b", "room1", None, ("room1", "from-url")),
        ("mqtt://room1:from-url@b", "room2", "from-env", ("room2", "from-env")),
        # No credentials in the URL: the settings, as before.
        ("mqtt://b", "room1", "from-env", ("room1", "from-env")),
        ("mqtt://b", None, None, (None, None)),
    ],
)
def test_explicit_credentials_win_over_the_urls(
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    username: str | None,
    password: str | None,
    expected: tuple[str | None, str | None],
) -> None:
    monkeypatch.setenv("VIGIL_MQTT__URL", url)  # a password in the URL: environment only
    if password is not None:
        monkeypatch.setenv("VIGIL_MQTT_PASSWORD", password)
    mqtt = {"username": username} if username else {}
    address = load_settings(mqtt=mqtt).broker_address()
    assert address is not None and (address.username, address.password) == expected
    assert (address.host, address.port) == ("b", 1883)


def test_a_password_in_the_url_comes_from_the_environment_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mqtt.url holds a password") as in_file:
        load_settings(write(tmp_path, "mqtt:\n  url: mqtt://room1:hunter2@broker\n"))
    with pytest.raises(ConfigError, match="mqtt.url holds a password") as on_line:
        load_settings(mqtt={"url": "mqtt://room1:hunter2@broker"})
    assert "hunter2" not in str(in_file.value) + str(on_line.value)
    assert load_settings(mqtt={"url": "mqtt://room1@broker"}).mqtt.url == "mqtt://room1@broker"
    assert load_settings().broker_address() is None


def test_a_refused_url_is_quoted_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_MQTT__URL", "mqtt://room1:hunter2@broker:99999")
    monkeypatch.setenv("VIGIL_CLOUD_URL", "ftp://admin:s3cret@cloud")
    with pytest.raises(ConfigError, match="the port must be 1-65535") as refused:
        load_settings()
    assert "cloud_url must be http" in str(refused.value)
    assert "hunter2" not in str(refused.value) and "s3cret" not in str(refused.value)


def test_not_a_mapping_or_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path, "- a\n- b\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(write(tmp_path, "a: [\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.yaml")


def test_every_field_is_described() -> None:
    def walk(model: type) -> list[str]:
        missing = []
        for name, info in model.model_fields.items():  # type: ignore[attr-defined]
            if not info.description:
                missing.append(f"{model.__name__}.{name}")
            sub = info.annotation
            if (
                isinstance(sub, type)
                and hasattr(sub, "model_fields")
                and sub.__module__ == "edge.config"
            ):
                missing += walk(sub)
        return missing

    assert walk(EdgeSettings) == []


def test_command_line_maps_onto_settings() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(
        [
            "edge",
            "run",
            "--source",
            "v.mp4",
            "--model",
            "m.onnx",
            "--mqtt",
            "mqtt://h:1",
            "--site",
            "s",
            "--realtime",
        ]
    )
    assert overrides_from(args) == {
        "site": "s",
        "mqtt": {"url": "mqtt://h:1"},
        "capture": {"realtime": True},
    }


def test_the_example_config_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "edge" / "edge.example.yaml"
    settings = load_settings(example)
    assert settings.site == "rosewood" and settings.events.long_lie_s == 60
