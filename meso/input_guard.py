"""Input every request must pass before any view reads it: a bounded body, bounded JSON, no NUL
characters.

The body's size is bounded by MAX_CONTENT_LENGTH (config.py; Werkzeug answers 413), so
nothing large is parsed before anyone is signed in. A view that takes a file (a photo) says
how large with @body_limit, and that limit holds for its multipart/form-data bodies only: its
JSON and urlencoded bodies, like every other route's, keep the small limit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Request, abort, current_app, request
from flask.json.provider import DefaultJSONProvider

View = TypeVar("View", bound=Callable)


def body_limit(max_bytes: int) -> Callable[[View], View]:
    """Let one view's requests carry up to ``max_bytes`` instead of MAX_CONTENT_LENGTH.

    Put it right under the route decorator. The limit is found from the URL's endpoint before
    anything reads the body (the CSRF check reads the form first), so it holds from the start.
    Only a multipart/form-data body can carry a file, so only such a body gets the limit.
    """

    def mark(view: View) -> View:
        view.body_limit = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


class GuardedRequest(Request):
    """Flask's request, whose body limit is its view's own @body_limit for a file upload."""

    @property
    def max_content_length(self) -> int | None:
        view = current_app.view_functions.get(self.endpoint or "")
        own = getattr(view, "body_limit", None)
        if own is not None and self.mimetype == "multipart/form-data":
            return own
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

# Our deepest JSON is a check-in's {"signs": {...}}; anything far deeper is an attack.
MAX_JSON_DEPTH = 20


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, refusing documents nested deeper than MAX_JSON_DEPTH.

    A ValueError is what Flask's get_json turns into a 400 (or None when silent); Python's
    parser would instead raise RecursionError, a 500, for a few thousand "[" in a row.
    """

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if nesting_depth(value) > MAX_JSON_DEPTH:
            raise ValueError("JSON nested too deeply")
        return value


def nesting_depth(value) -> int:
    """Return how deeply lists and objects nest in a parsed JSON value (a scalar is 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:  # a loop, not recursion: the depth is what is being checked
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def has_nul(value) -> bool:
    """Return whether a string, or any key or value inside parsed JSON, holds a NUL."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def init_app(app: Flask) -> None:
    app.request_class = GuardedRequest
    app.json_provider_class = BoundedJSONProvider
    app.json = BoundedJSONProvider(app)

    @app.before_request
    def refuse_nul_characters():
        """Refuse NUL characters in any input with a 400: PostgreSQL cannot store them in
        text, so they would otherwise surface as a 500 deep inside a query."""
        # The path is left out: its variables are ints or tokens that are only ever hashed,
        # and a mangled invite link deserves the friendly "ask your clinic" page.
        values = [v for _, v in request.args.items(multi=True)]
        values += [v for _, v in request.form.items(multi=True)]
        if request.is_json:
            values.append(request.get_json(silent=True))
        if any(has_nul(v) for v in values):
            abort(400)
