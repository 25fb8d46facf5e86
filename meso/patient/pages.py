"""Rendering a patient page: the template, with what every page's layout shows loaded here.

The layout (templates/patient/_layout.html) names when the page was rendered, in the patient's
zone, for its offline note, and carries the check-in queue's owner pseudonym; a check-in's
answer may need the emergency number (MESO_EMERGENCY_NUMBER). The views pass everything
else. Templates only read: no helper of theirs queries the database.
"""

from __future__ import annotations

from flask import current_app, render_template

from meso import checkins, policy
from meso.models import Patient


def render(template: str, patient: Patient, **context) -> str:
    """Render a patient page (it extends the patient layout) for ``patient``."""
    return render_template(
        template, patient=patient, rendered_at=policy.local_now(patient),
        checkin_owner=checkins.owner_pseudonym(patient),
        emergency_number=current_app.config["MESO_EMERGENCY_NUMBER"], **context,
    )
