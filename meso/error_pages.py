"""Error answers by status: a page for people, {"error": message} for scripts.

The factory registers them for the whole app; a blueprint with a handler of its own (the
check-in's photo too large) falls back on them for everything else.
"""

from __future__ import annotations

from flask import render_template, request
from flask_babel import lazy_gettext as _l

# (title, message) by status.
ERROR_PAGES = {
    400: (_l("Bad request"), _l("Something in that request was wrong.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Not found"), _l("There is nothing at this address.")),
    405: (_l("Not allowed"), _l("That action is not available here.")),
    413: (_l("Too much data"),
          _l("That was more than this app accepts at once. Please send less.")),
    500: (_l("Something went wrong"),
          _l("Sorry, that did not work. Please try again in a moment.")),
}


def wants_json() -> bool:
    """Whether a script asked: the API, a JSON body, or a request that accepts JSON first (the
    check-in queue sends a check-in with its photo as a form, and reads JSON back)."""
    return (request.path.startswith("/api/") or request.is_json
            or request.accept_mimetypes.best == "application/json")


def page(code: int, title, message):
    """The error page (or JSON) with this title and message."""
    if wants_json():
        return {"error": str(message)}, code
    return render_template("error.html", title=title, message=message), code


def for_status(code: int):
    """The app's own answer for a status of ERROR_PAGES."""
    return page(code, *ERROR_PAGES[code])
