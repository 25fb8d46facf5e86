"""The yardstick: Flask's hello world, served by the same gunicorn as the app (bench/web.py)."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
