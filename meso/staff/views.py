"""Staff blueprint: sign-in, roster, patients and their courses, invites, admin pages.

The routes live in one module per area; importing them here registers them on ``bp``.
"""

from meso.staff import admin, auth, course_views, patients, roster  # noqa: F401 - routes
from meso.staff.blueprint import bp

__all__ = ["bp"]
