"""gunicorn's settings, read by `gunicorn app:app` from this folder.

Only logging is set here (bind address and workers stay on the command line): gunicorn's
access and error lines go through the app's handler, so they are redacted like the app's own
and, unless MESO_LOG_FORMAT=text, are JSON lines; each access line carries the request id the
app returned in X-Request-ID.
"""

import os

from meso.logging_setup import ACCESS_LOG_FORMAT, choose_format, dict_config

logconfig_dict = dict_config(choose_format(os.environ.get("MESO_LOG_FORMAT"), False), gunicorn=True)
access_log_format = ACCESS_LOG_FORMAT
