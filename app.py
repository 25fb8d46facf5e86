"""Entry point: `flask --app app …` and `gunicorn app:app`."""

import sys

from meso import create_app
from meso.config import ConfigError

try:
    app = create_app()
except ConfigError as problem:
    # One line, no traceback. Status 4 is what gunicorn's master reads as "the app cannot
    # load": it stops instead of starting new workers that fail the same way forever.
    print(f"meso: {problem}", file=sys.stderr)
    raise SystemExit(4) from None
