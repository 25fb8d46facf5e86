"""`flask db …`: Flask-Migrate's commands, with Alembic loaded only when one of them runs.

A gunicorn worker never migrates, nor does the reminder worker (itself a `flask` command):
Flask-Migrate set up in every process would cost each ~10 MB and 80 ms at start.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask

from meso.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def init_migrate(app: Flask) -> None:
    """Set up Flask-Migrate (its commands replace the stand-in ``db`` group)."""
    if "migrate" not in app.extensions:
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)


class MigrateCommands(click.Group):
    """`flask db`: a stand-in that loads Flask-Migrate's group when it is used."""

    def __init__(self, app: Flask):
        super().__init__("db", help="Database migrations (Flask-Migrate, Alembic).")
        self.app = app

    def commands_of_flask_migrate(self) -> click.Group:
        init_migrate(self.app)
        from flask_migrate.cli import db as group

        return group

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        # Click runs the context's own command: Flask-Migrate's group, options and all.
        return self.commands_of_flask_migrate().make_context(info_name, args, parent, **extra)
