"""A logging filter that keeps bearer tokens (invite links) out of access logs."""

from __future__ import annotations

import logging
import re

# /i/<token> is the invite landing; its token must never reach a log file.
_INVITE_PATH = re.compile(r"(/i/)[A-Za-z0-9_\-]+")


def redact(text: str) -> str:
    return _INVITE_PATH.sub(r"\1[redacted]", text)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
