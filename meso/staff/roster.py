"""The roster: the clinic's patients, who needs attention, and who is due next."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user, login_required

from meso import courses
from meso.models import utcnow
from meso.staff.blueprint import bp
from meso.staff.rosterdata import SORTS, roster_page


@bp.get("/")
@login_required
def roster():
    query = request.args.get("q", "")[:120]
    sort = request.args.get("sort", "next")
    sort = sort if sort in SORTS else "next"
    attention = request.args.get("attention") == "1"
    archived = request.args.get("archived") == "1"
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and len(page) < 7 else 1
    result = roster_page(
        current_user.clinic_id, courses.clinic_protocol(current_user.clinic), utcnow(),
        query=query, sort=sort, attention_only=attention, page=page, archived=archived,
    )
    return render_template(
        "staff/roster.html", result=result, query=query, sort=sort, attention=attention,
        archived=archived,
    )
