"""Keep bearer tokens out of the logs: the live stream takes `?token=` (a browser's
EventSource cannot set headers), and uvicorn's access log prints every request's query."""

from __future__ import annotations

import logging
import re

# `token=` in a query string, and anything shaped like a Vigil token (auth.TOKEN_PREFIX).
SECRETS = re.compile(r"(?<=[?&]token=)[^&\s\"']+|vgl_[A-Za-z0-9_-]{16,}")
REDACTED = "[redacted]"


def redact(text: str) -> str:
    return SECRETS.sub(REDACTED, text)


class RedactTokens(logging.Filter):
    """Rewrite a record's message and string arguments with the tokens blanked out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once; uvicorn configures it first)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
