"""A web worker loads only what serving pages needs: the libraries for photos, calendar
files, QR codes and push keys come with the first request that uses them, Alembic with
`flask db` (RSS, issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import ROOT

ON_DEMAND = ("PIL", "pillow_heif", "icalendar", "segno", "cryptography", "py_vapid",
             "pywebpush", "http_ece", "aiohttp", "requests", "alembic")

SERVE = """
import json, sys, tempfile

from meso import create_app
from meso.extensions import db
folder = tempfile.mkdtemp()
app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/lean.sqlite3",
                  "SECRET_KEY": "lean", "MESO_BASE_URL": "http://localhost"},
                 instance_path=folder)
with app.app_context():
    db.create_all()
client = app.test_client()
paths = ("/today", "/staff/sign-in", "/manifest.webmanifest")
statuses = [client.get(path).status_code for path in paths]
print(json.dumps({"statuses": statuses,
                  "loaded": sorted({name.split(".")[0] for name in sys.modules})}))
"""


def test_a_web_worker_loads_photo_calendar_qr_and_push_libraries_only_on_demand():
    out = subprocess.run([sys.executable, "-c", SERVE], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert all(status < 500 for status in found["statuses"]), found["statuses"]
    assert "flask" in found["loaded"] and "meso" in found["loaded"]
    assert [name for name in ON_DEMAND if name in found["loaded"]] == []
