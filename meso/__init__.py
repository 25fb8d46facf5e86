"""Meso aftercare: the application factory."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import get_locale, gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix

from meso import (
    assets,
    attention_watch,
    error_pages,
    input_guard,
    kept_pages,
    locale_selector,
    locales,
    migrate_cli,
    page_cache,
    page_versions,
)
from meso.config import load_config, require_base_url
from meso.extensions import babel, compress, csrf, db, login_manager
from meso.host_header import LowercaseHost

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    """Create and configure the app: config, extensions, blueprints, CLI, errors, headers.

    Raise meso.config.ConfigError (one line) for a setting it cannot start with.
    """
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    load_config(app, test_config or {})
    require_base_url(app)
    # Hashed static files, served before the app sees the request: inside the host and
    # proxy handling below, so they answer only for the app's own host, as pages do.
    # Innermost: a kept patient page answered before Flask's request machinery, with the
    # host and scheme as the wrappers below leave them.
    app.wsgi_app = kept_pages.KeptPages(  # type: ignore[method-assign]
        app, app.wsgi_app, security_headers(app))
    assets.init_app(app, security_headers(app))
    # Inside ProxyFix, so a forwarded host is lower-cased too.
    app.wsgi_app = LowercaseHost(app.wsgi_app)  # type: ignore[method-assign]
    if app.config["PROXY_HOPS"]:
        # Flask's documented way to wrap the WSGI app; mypy sees a method being replaced.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["PROXY_HOPS"],
            x_proto=app.config["PROXY_HOPS"], x_host=app.config["PROXY_HOPS"])
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    register_errors(app)
    input_guard.init_app(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_log_redaction(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    # `flask db …` is Flask-Migrate's; Alembic is loaded when one of its commands runs. A
    # gunicorn worker never migrates, nor does the reminder worker: ~10 MB each.
    app.cli.add_command(migrate_cli.MigrateCommands(app))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=locale_selector.select_locale)
    # Pages and JSON in brotli or gzip, as the browser accepts; static files come
    # precompressed (meso/assets.py). Brotli at quality 2: Today in 0.07 ms and 5.1 KB, where
    # quality 4 takes 0.17 ms for 4.9 KB (and gzip -6 0.15 ms for 4.9 KB).
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 2)
    app.config.setdefault("COMPRESS_MIMETYPES", [
        "text/html", "application/json", "application/manifest+json", "text/javascript"])
    app.config.setdefault("COMPRESS_STREAMS", False)  # files sent by Flask stay as they are
    compress.init_app(app)
    page_versions.init_app(app)
    attention_watch.init_app(app)
    page_cache.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "staff.sign_in"
    login_manager.login_message = None
    # Flask-Login's own protection keys on X-Forwarded-For as the client sends it, so anyone
    # can forge it. The user loader checks the session's network instead, as MESO_PROXY_HOPS
    # resolves it (meso/staff_sessions.py).
    login_manager.session_protection = None

    from meso import models  # noqa: F401 - every table registered for Flask-Migrate

    @login_manager.user_loader
    def load_staff(user_id: str):
        from meso.staff.auth import load_staff_user

        return load_staff_user(user_id)  # refuses ended, moved and outdated sessions


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
    from meso.patient import (
        calendar_views,
        checkin_views,
        data_views,
        email_views,
        photo_views,
        push_views,
    )
    from meso.patient.open_views import bp as open_bp
    from meso.patient.views import bp as patient_bp
    from meso.staff import bp as staff_bp

    app.register_blueprint(staff_bp)
    app.register_blueprint(patient_bp)
    app.register_blueprint(open_bp)
    app.register_blueprint(pwa.bp)
    app.register_blueprint(checkin_views.bp)
    app.register_blueprint(push_views.bp)
    app.register_blueprint(photo_views.bp)
    app.register_blueprint(data_views.bp)
    app.register_blueprint(calendar_views.bp)
    app.register_blueprint(email_views.bp)


def register_cli(app: Flask) -> None:
    from meso.cli import init_app

    init_app(app)


def register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return error_pages.page(400, gettext("Page expired"),
                                gettext("This form was open too long. Please go back, reload "
                                        "and try again."))

    @app.errorhandler(SecurityError)
    def unknown_host(error):
        # A Host that is not MESO_BASE_URL's (TRUSTED_HOSTS): no URL can be built for such a
        # request, so no page template either.
        message = gettext("This server does not answer for that address.")
        if error_pages.wants_json():
            return {"error": message}, 400
        return message, 400, {"Content-Type": "text/plain; charset=utf-8"}

    def handler(code: int):
        def handle(error):
            if code == 500:
                db.session.rollback()
            return error_pages.for_status(code)
        return handle

    for code in error_pages.ERROR_PAGES:
        app.register_error_handler(code, handler(code))


# A strict policy now, so no inline script or style can creep in.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'"
)


# Browsers keep to HTTPS for a year once they have seen this over HTTPS (they ignore it on
# plain http, so `make run` on 127.0.0.1 is unaffected).
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


def security_headers(app: Flask) -> dict[str, str]:
    """The headers every response carries (pages, JSON, static files, /sw.js, errors)."""
    headers = {} if app.debug else {"Strict-Transport-Security": STRICT_TRANSPORT_SECURITY}
    return {
        **headers,
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        # same-origin: no address ever leaks to another site, while our own HTTPS form posts
        # keep the Referer that Flask-WTF's strict CSRF check requires. The invite landing,
        # whose URL holds a token, sends no-referrer.
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
        # Nothing here is for search engines: a patient's pages, staff pages and links that
        # carry tokens alike (Lighthouse found Today "crawlable").
        "X-Robots-Tag": "noindex, nofollow",
    }


def register_security_headers(app: Flask) -> None:
    headers = security_headers(app)

    # after_request runs for every response Flask makes: pages, JSON, static files, /sw.js
    # and the error handlers' pages alike (hashed static files get them from meso/assets.py).
    @app.after_request
    def add_security_headers(response):
        # One pass over the response's headers (each setdefault would be another): a view's
        # own value (the invite landing's Referrer-Policy) stays.
        present = {name.lower() for name, _ in response.headers}
        for name, value in headers.items():
            if name.lower() not in present:
                response.headers.add(name, value)
        if request.endpoint != "static" and "cache-control" not in present:
            # Patient health data and staff pages must not sit in shared caches.
            response.headers.add("Cache-Control", "no-store")
        return response


def register_template_helpers(app: Flask) -> None:
    from meso import formatting, protocol, timeutil

    app.jinja_env.filters["when"] = formatting.when
    app.jinja_env.filters["weekday_time"] = formatting.weekday_time
    app.jinja_env.filters["day_month"] = formatting.day_month
    app.jinja_env.filters["day_short"] = formatting.day_short
    app.jinja_env.filters["full_day"] = formatting.full_day
    app.jinja_env.filters["window_words"] = formatting.window_words
    app.jinja_env.filters["day_range"] = formatting.day_range
    app.jinja_env.filters["week_of"] = formatting.week_of
    app.jinja_env.filters["clock"] = formatting.clock
    app.jinja_env.filters["iso"] = timeutil.iso
    app.jinja_env.filters["moment"] = formatting.moment
    app.jinja_env.filters["time_left"] = formatting.time_left
    app.jinja_env.filters["time_label"] = formatting.time_label
    app.jinja_env.globals["countdown_texts"] = formatting.countdown_texts
    app.jinja_env.globals["evening_hour"] = formatting.EVENING_HOUR
    app.jinja_env.globals["language_choices"] = locales.choices()
    app.jinja_env.globals["language_names"] = locales.NAMES
    app.jinja_env.globals["patient_lang"] = locales.patient_lang

    @app.context_processor
    def template_globals():
        # lang: the page's language tag (<html lang>); lang_code: its language, which the
        # manifest and service worker addresses carry (meso/pwa.py).
        return {"lang": formatting.lang_tag(), "lang_code": locales.language_of(get_locale()),
                "protocol": protocol}


def register_log_redaction(app: Flask) -> None:
    """Redact every log line; JSON lines with a request id in production (logging_setup)."""
    from meso import logging_setup

    logging_setup.init_app(app)
