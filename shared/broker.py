"""Where the MQTT broker is: `mqtt[s]://[user[:password]@]host[:port]`, read once for both sides.

The user and password are percent-decoded (RFC 3986 section 3.2.1: a password holding
`@`, `:` or `/` must be written encoded). The password never reaches a log: a
`BrokerAddress` prints (`str`, `repr`, `redacted()`) with it blanked, and a URL that is
refused is quoted blanked too, since the refusal ends up in a log or on stderr.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import SplitResult, quote, unquote, urlsplit

MQTT_PORT = 1883
MQTTS_PORT = 8883
HIDDEN = "***"
SCHEMES = {"mqtt": False, "mqtts": True}  # scheme -> TLS

# `scheme://user:password@` anywhere in a text, the password up to the last `@` before a
# space or quote: one holding an unencoded `/` or `?` is still hidden (hiding too much of
# a URL is harmless, too little is not).
_PASSWORD_IN_URL = re.compile(
    r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"/?#@:]*:)(?P<password>[^\s'\"]*)@"
)


class BrokerUrlError(ValueError):
    """An MQTT URL that cannot be used; the message says why, the password blanked."""


@dataclass(frozen=True)
class BrokerAddress:
    """A broker's host, port, TLS and credentials; it prints without the password."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def redacted(self) -> str:
        """The address as a URL fit for a log: the password, if there is one, as `***`."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = quote(self.username, safe="") if self.username else ""
        secret = f":{HIDDEN}" if self.password else ""
        userinfo = f"{user}{secret}@" if user or secret else ""
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal
        return f"{scheme}://{userinfo}{host}:{self.port}"

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return f"BrokerAddress({self.redacted()!r})"

    def with_credentials(self, username: str | None, password: str | None) -> BrokerAddress:
        return replace(self, username=username, password=password)


def redact_urls(text: str) -> str:
    """`text` with the password of every URL in it blanked (for messages and logs)."""
    return _PASSWORD_IN_URL.sub(rf"\g<head>{HIDDEN}@", text)


def parse_mqtt_url(url: str) -> BrokerAddress:
    """`mqtt://[user[:password]@]host[:1883]` or `mqtts://...[:8883]` (TLS) -> BrokerAddress."""
    shown = redact_urls(url)
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise BrokerUrlError(f"invalid MQTT URL {shown!r}: the scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise BrokerUrlError(f"invalid MQTT URL {shown!r}: no host (mqtt://host:port)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BrokerUrlError(f"invalid MQTT URL {shown!r}: a broker URL has no path or query")
    tls = SCHEMES[parts.scheme]
    return BrokerAddress(
        host=parts.hostname,
        port=_port(parts, shown) or (MQTTS_PORT if tls else MQTT_PORT),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _port(parts: SplitResult, shown: str) -> int | None:
    """The URL's port, if it names one (urlsplit takes 0 and raises its own error)."""
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise BrokerUrlError(f"invalid MQTT URL {shown!r}: the port must be 1-65535")
    return port
