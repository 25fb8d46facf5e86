"""Meso aftercare: the application factory."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, abort, render_template, request
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from meso.config import load_config
from meso.extensions import babel, csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Create and configure the app: config, extensions, blueprints, CLI, errors, headers."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config or {})
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],
                                x_proto=app.config["PROXY_HOPS"], x_host=app.config["PROXY_HOPS"])
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    register_errors(app)
    register_input_guard(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_log_redaction()
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "staff.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    from meso import models  # noqa: F401 - every table registered for Flask-Migrate

    @login_manager.user_loader
    def load_staff(user_id: str):
        from meso.staff.auth import load_staff_user

        return load_staff_user(user_id)  # refuses inactive and outdated sessions


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Set WAL, a busy timeout and foreign keys on every SQLite connection."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    from meso import pwa
    from meso.patient import checkin_views, push_views
    from meso.patient.open_views import bp as open_bp
    from meso.patient.views import bp as patient_bp
    from meso.staff import bp as staff_bp

    app.register_blueprint(staff_bp)
    app.register_blueprint(patient_bp)
    app.register_blueprint(open_bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(checkin_views.bp)
    app.register_blueprint(push_views.bp)


def register_cli(app: Flask) -> None:
    from meso.cli import init_app

    init_app(app)


def register_errors(app: Flask) -> None:
    def page(code: int, title: str, message: str):
        if request.path.startswith("/api/") or request.is_json:
            return {"error": message}, code
        return render_template("error.html", title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return page(400, gettext("Page expired"),
                    gettext("This form was open too long. Please go back, reload and try again."))

    @app.errorhandler(400)
    def bad_request(error):
        return page(400, gettext("Bad request"), gettext("Something in that request was wrong."))

    @app.errorhandler(403)
    def forbidden(error):
        return page(403, gettext("Not allowed"), gettext("You do not have access to this page."))

    @app.errorhandler(404)
    def not_found(error):
        return page(404, gettext("Not found"), gettext("There is nothing at this address."))

    @app.errorhandler(405)
    def not_allowed(error):
        return page(405, gettext("Not allowed"), gettext("That action is not available here."))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return page(500, gettext("Something went wrong"),
                    gettext("Sorry, that did not work. Please try again in a moment."))


def register_input_guard(app: Flask) -> None:
    """Refuse NUL characters in any input with a 400: PostgreSQL cannot store them in text,
    so they would otherwise surface as a 500 deep inside a query."""

    def has_nul(value) -> bool:
        if isinstance(value, str):
            return "\x00" in value
        if isinstance(value, dict):
            return any(has_nul(k) or has_nul(v) for k, v in value.items())
        if isinstance(value, list):
            return any(has_nul(v) for v in value)
        return False

    @app.before_request
    def refuse_nul_characters():
        # The path is left out: its variables are ints or tokens that are only ever hashed,
        # and a mangled invite link deserves the friendly "ask your clinic" page.
        values = [v for _, v in request.args.items(multi=True)]
        values += [v for _, v in request.form.items(multi=True)]
        if request.is_json:
            values.append(request.get_json(silent=True))
        if any(has_nul(v) for v in values):
            abort(400)


# A strict policy now, so no inline script or style can creep in.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin: no address ever leaks to another site, while our own HTTPS form posts
        # keep the Referer that Flask-WTF's strict CSRF check requires. The invite landing,
        # whose URL holds a token, sends no-referrer.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Permissions-Policy", "camera=(), microphone=(), geolocation=()"
        )
        if request.endpoint != "static":
            # Patient health data and staff pages must not sit in shared caches.
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def register_template_helpers(app: Flask) -> None:
    from meso import formatting, protocol, timeutil

    app.jinja_env.filters["when"] = formatting.when
    app.jinja_env.filters["weekday_time"] = formatting.weekday_time
    app.jinja_env.filters["day_month"] = formatting.day_month
    app.jinja_env.filters["clock"] = formatting.clock
    app.jinja_env.filters["iso"] = timeutil.iso
    app.jinja_env.filters["duration"] = formatting.duration

    @app.context_processor
    def template_globals():
        return {"lang": formatting.lang_tag(), "protocol": protocol}


def register_log_redaction() -> None:
    from meso.logredact import RedactTokens

    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
