"""Flask-Babel's locale selector: the language of this request (see meso/locales.py).

Resolved once per request and kept in ``g``: templates ask for the locale many times, and
after a view's commit the patient's or staff member's row would be read again for each.
A view that changes who or what decides (patient_required, a language just saved) calls
``forget``.
"""

from __future__ import annotations

from flask import g, has_request_context, request
from flask_babel import refresh

from meso import access, locales

# Endpoints that take their language from the address (?lang=it): they are fetched by the
# browser or the service worker, not opened by a person, and are the same for everyone.
BY_ADDRESS = frozenset({"pwa.manifest", "pwa.offline", "pwa.service_worker"})


def select_locale() -> str | None:
    if not has_request_context():
        return None  # the default (the worker and the CLI use force_locale)
    if "request_lang" not in g:
        g.request_lang = request_lang()
    return locales.locale_of(g.request_lang)


def forget() -> None:
    """Resolve the request's language again at its next use."""
    g.pop("request_lang", None)
    refresh()


def request_lang() -> str:
    # The patient behind the page: patient_required's, or the invite landing's.
    patient = g.get("patient") or g.get("locale_patient")
    if patient is not None:
        return locales.patient_lang(patient)
    if request.endpoint in BY_ADDRESS:
        return locales.supported(request.args.get("lang")) or locales.browser_lang()
    if request.blueprint == "staff" or request.path.startswith("/staff"):
        from flask_login import current_user

        own = locales.supported(getattr(current_user, "lang", None))
        return own or locales.browser_lang()
    # An error page, or another page without a patient loaded: the browser's patient, if any
    # (no query without a device cookie).
    device = access.device_from_request()
    return locales.patient_lang(device.patient) if device is not None else locales.browser_lang()
