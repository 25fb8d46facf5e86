"""Links that leave the app (invite links, QR codes, printed cards, set-password links, the CLI).

They are built on MESO_BASE_URL only, never on the Host header of the request being served: a
forged Host would otherwise put an attacker's address into a link staff hand to a patient.
"""

from __future__ import annotations

from flask import current_app

from meso.config import BASE_URL_MISSING, ConfigError

# Debug runs and tests without MESO_BASE_URL: the address `make run` and `flask run` serve on.
DEV_BASE_URL = "http://127.0.0.1:5000"


def public_base_url() -> str:
    """Return the public origin of the app (no trailing slash); ConfigError when it is unset
    outside debug and tests."""
    base = current_app.config["MESO_BASE_URL"]
    if base:
        return base
    if current_app.debug or current_app.testing:
        return DEV_BASE_URL
    raise ConfigError(BASE_URL_MISSING)


def external_url(endpoint: str, **values) -> str:
    """Return the absolute public URL of a route, in or outside a request."""
    # The URL map alone builds the path: no request, so no Host header, takes part.
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return public_base_url() + path
