"""Input every request must pass before any view reads it: bounded JSON, no NUL characters.

The body's size is bounded by MAX_CONTENT_LENGTH (config.py; Werkzeug answers 413), so
nothing large is parsed before anyone is signed in.
"""

from __future__ import annotations

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider

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
