"""Entry point: `flask --app app …` and `gunicorn app:app`."""

from meso import create_app

app = create_app()
