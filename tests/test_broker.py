"""The one MQTT URL parser (shared/broker.py): credentials read and decoded, default ports,
clear refusals, and an address that never prints its password."""

from __future__ import annotations

import logging

import pytest

from shared.broker import BrokerAddress, BrokerUrlError, parse_mqtt_url, redact_urls


def test_credentials_are_read_and_percent_decoded() -> None:
    address = parse_mqtt_url("mqtt://vigil.cloud:p%40ss%3Aw%2Frd@broker:1884")
    assert address == BrokerAddress("broker", 1884, False, "vigil.cloud", "p@ss:w/rd")
    assert parse_mqtt_url("mqtt://room1@broker").username == "room1"
    assert parse_mqtt_url("mqtt://room1@broker").password is None


@pytest.mark.parametrize(
    ("url", "port", "tls"),
    [
        ("mqtt://broker", 1883, False),
        ("mqtts://broker", 8883, True),
        ("mqtt://broker:2000", 2000, False),
        ("mqtts://broker:443/", 443, True),
        ("MQTT://broker", 1883, False),
    ],
)
def test_ports_and_tls_follow_the_scheme(url: str, port: int, tls: bool) -> None:
    address = parse_mqtt_url(url)
    assert (address.host, address.port, address.tls) == ("broker", port, tls)
    assert address.username is None and address.password is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://user:hunter2@broker:1883", "the scheme must be mqtt:// or mqtts://"),
        ("broker:1883", "the scheme must be"),
        ("mqtt://user:hunter2@:1883", "no host"),
        ("mqtt://user:hunter2@broker:99999", "the port must be 1-65535"),
        ("mqtt://user:hunter2@broker:0", "the port must be 1-65535"),
        ("mqtt://user:hunter2@broker:port", "the port must be 1-65535"),
        ("mqtt://user:hunter2@broker:1883/vigil", "no path or query"),
        ("mqtt://user:hunter2@broker?x=1", "no path or query"),
    ],
)
def test_bad_urls_are_refused_saying_why_without_the_password(url: str, why: str) -> None:
    with pytest.raises(BrokerUrlError, match="invalid MQTT URL") as refused:
        parse_mqtt_url(url)
    assert why in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_the_address_prints_without_its_password(caplog: pytest.LogCaptureFixture) -> None:
    address = parse_mqtt_url("mqtts://vigil.cloud:hunter2@broker")
    assert address.redacted() == "mqtts://vigil.cloud:***@broker:8883"
    assert str(address) == address.redacted()
    assert repr(address) == "BrokerAddress('mqtts://vigil.cloud:***@broker:8883')"
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("broker %s (%r), %s", address, address, [address])
    assert "hunter2" not in caplog.text and "vigil.cloud:***@broker" in caplog.text
    assert address.password == "hunter2"  # still there for the client that connects


def test_without_credentials_or_with_a_user_only_nothing_is_hidden() -> None:
    assert parse_mqtt_url("mqtt://broker").redacted() == "mqtt://broker:1883"
    assert parse_mqtt_url("mqtt://room%201@[::1]:1884").redacted() == "mqtt://room%201@[::1]:1884"


def test_every_url_password_in_a_text_is_blanked() -> None:
    text = "url='mqtt://u:p@ss/x@broker:1' and https://a:b@cloud/path, mqtt://broker:1883 u@h"
    assert redact_urls(text) == (
        "url='mqtt://u:***@broker:1' and https://a:***@cloud/path, mqtt://broker:1883 u@h"
    )
