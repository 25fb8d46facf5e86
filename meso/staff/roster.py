"""The roster: the clinic's patients, who needs attention, and who is due next."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from meso import policy, reach
from meso.attention import ALERT_BADGES
from meso.extensions import db
from meso.models import utcnow
from meso.roster_query import DEFAULT_SORT, SORTS, roster_page
from meso.staff import bp, requested_page


@bp.get("/")
@login_required
def roster():
    query = request.args.get("q", "")[:120]
    sort = request.args.get("sort", DEFAULT_SORT)
    sort = sort if sort in SORTS else DEFAULT_SORT
    attention = request.args.get("attention") == "1"
    archived = request.args.get("archived") == "1"
    result = roster_page(
        current_user.clinic_id, policy.clinic_protocol(current_user.clinic), utcnow(),
        query=query, sort=sort, attention_only=attention, page=requested_page(),
        archived=archived,
    )
    db.session.commit()  # next sessions that passed, refreshed by roster_page
    return render_template(
        "staff/roster.html", result=result, query=query, sort=sort, attention=attention,
        archived=archived, alert_badges=ALERT_BADGES, default_sort=DEFAULT_SORT,
        channel_names=reach.CHANNEL_NAMES,
    )
