"""Staff patient pages: enrol, the patient's page, invite links with QR code, access codes,
devices and archiving. Course changes (sessions, plan, windows) are in course_views.py."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from meso import access, accesscode, audit, courses, locales, patient_email, policy
from meso.access import invite_url
from meso.extensions import db
from meso.links import external_url
from meso.models import Patient, utcnow
from meso.staff import bp, clinic_patient, patient_page
from meso.staff.forms import EnrolForm, PatientEmailForm


@bp.route("/patients/new", methods=["GET", "POST"])
@login_required
def enrol():
    form = EnrolForm(lang=current_user.clinic.lang)  # the clinic's, unless staff pick another
    if request.method == "GET":
        form.timezone.data = current_user.clinic.timezone
    if form.validate_on_submit():
        data = courses.Enrolment(
            name=form.name.data,
            area=form.area.data,
            first_session=form.instant,
            timezone=form.timezone.data,
            planned_sessions=form.planned_sessions.data,
            interval_weeks=form.interval_weeks.data,
            lang=form.lang.data,
        )
        patient, token = courses.enrol(
            current_user.clinic, data, current_app.config["INVITE_DAYS"], actor=current_user
        )
        if form.email.data:  # given at the desk, consent ticked (the form checked both)
            patient_email.set_at_desk(patient, form.email.data, current_user, utcnow())
        db.session.commit()
        remember_invite(patient, token)
        return redirect(url_for("staff.invite", patient_id=patient.id), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/enrol.html", form=form), status


def remember_invite(patient: Patient, token: str) -> None:
    """Keep the new link in the signed session so the invite page can show it after a redirect.

    Only its hash is in the database; the link is shown to the staff member who made it.
    """
    session["invite"] = {"patient_id": patient.id, "token": token}


@bp.get("/patients/<int:patient_id>")
@login_required
def patient(patient_id: int):
    patient = clinic_patient(patient_id)
    audit.by(current_user, "patient.viewed", patient, page="detail")
    response = patient_page.render(patient)
    db.session.commit()  # the view itself is audited; a missing access code is made
    return response


@bp.get("/patients/<int:patient_id>/invite")
@login_required
def invite(patient_id: int):
    patient = clinic_patient(patient_id)
    # Shown once, then gone from the (signed, not encrypted) session cookie: a reload or a
    # shared front-desk browser cannot bring the link back; "Make a new link" can.
    kept = session.get("invite") or {}
    link = None
    if kept.get("patient_id") == patient.id:
        link = invite_url(kept["token"])
        session.pop("invite")
    expired = not access.invite_is_live(patient, utcnow())
    code = accesscode.ensure(patient)
    audit.by(current_user, "patient.viewed", patient, page="invite")
    db.session.commit()
    return render_template(
        "staff/invite.html", patient=patient, link=link, expired=expired,
        plan=policy.plan_for(patient), qr=qr_svg(link) if link else None,
        print_card=print_card(patient, link, code), access_code=code,
        max_devices=access.INVITE_MAX_DEVICES,
    )


def print_card(patient: Patient, link: str | None, code: str) -> Markup:
    """The printable card, in the patient's language: it is theirs to keep."""
    with force_locale(locales.patient_locale(patient)):
        return Markup(render_template(  # noqa: S704 - our own template, autoescaped
            "staff/_print_card.html", patient=patient, access_code=code, open_url=open_url(),
            qr_print=qr_svg(link, element_id=None) if link else None))


def qr_svg(link: str, element_id: str | None = "invite-qr") -> Markup:
    """The link as an inline SVG QR code (segno draws with attributes, not style=)."""
    import segno  # loaded with the first QR code, not with every worker

    qr = segno.make(link, error="m", micro=False)
    svg = qr.svg_inline(scale=1, border=4, dark="#000", light="#fff", omitsize=True,
                        svgclass="qr", title=_("QR code of the patient's link"))
    attrs = 'role="img" ' + (f'id="{element_id}" ' if element_id else "")
    # segno's output is markup we trust: made here from our own link, escaped by segno.
    return Markup(svg.replace("<svg ", "<svg " + attrs, 1))  # noqa: S704


def open_url() -> str:
    """Where a patient types their access code, as printed on the card."""
    return external_url("access.enter_code")


@bp.post("/patients/<int:patient_id>/invite")
@login_required
def reissue_invite(patient_id: int):
    """Replace the patient's invite link: the old one stops working at once."""
    patient = clinic_patient(patient_id)
    token = patient.issue_invite(utcnow(), current_app.config["INVITE_DAYS"])
    audit.by(current_user, "invite.reissued", patient)
    db.session.commit()
    remember_invite(patient, token)
    return redirect(url_for("staff.invite", patient_id=patient.id), code=303)


@bp.post("/patients/<int:patient_id>/access-code")
@login_required
def rotate_code(patient_id: int):
    def change(patient: Patient) -> str:
        accesscode.issue(patient)
        audit.by(current_user, "access_code.rotated", patient)
        return _("New access code made. The old one no longer works.")

    return changed(patient_id, change)


@bp.post("/patients/<int:patient_id>/devices/revoke")
@login_required
def revoke_devices(patient_id: int):
    """A lost phone: every device, the invite link and the access code stop working."""

    def change(patient: Patient) -> str:
        count = access.sign_out_everywhere(patient, utcnow())
        audit.by(current_user, "devices.revoked", patient, devices=count)
        return ngettext("Signed out everywhere (%(num)d device). The link and the old access "
                        "code no longer work: make a new link to hand over.",
                        "Signed out everywhere (%(num)d devices). The link and the old access "
                        "code no longer work: make a new link to hand over.", count)

    return changed(patient_id, change)


@bp.post("/patients/<int:patient_id>/archive")
@login_required
def archive(patient_id: int):
    def change(patient: Patient) -> str:
        courses.archive(patient, current_user)
        return _("Archived: the patient's link, code and devices no longer work.")

    return changed(patient_id, change)


@bp.post("/patients/<int:patient_id>/restore")
@login_required
def restore(patient_id: int):
    def change(patient: Patient) -> str:
        courses.restore(patient, current_user)
        return _("Restored. Make a new link to hand over.")

    return changed(patient_id, change)


@bp.post("/patients/<int:patient_id>/email")
@login_required
def set_email(patient_id: int):
    """Record the e-mail address the patient gives at the desk, with their consent."""
    patient = clinic_patient(patient_id)
    form = PatientEmailForm(prefix="email")
    if not form.validate_on_submit():
        return patient_page.render(patient, 400, email=form)
    if patient_email.set_at_desk(patient, form.email.data, current_user, utcnow()):
        message = _("E-mail address saved: reminders go there when the app cannot notify the "
                    "patient's phone.")
    else:
        message = _("That is already the patient's e-mail address.")
    db.session.commit()
    flash(message)
    return redirect(url_for("staff.patient", patient_id=patient.id) + "#reminder-email",
                    code=303)


@bp.post("/patients/<int:patient_id>/email/remove")
@login_required
def remove_email(patient_id: int):
    def change(patient: Patient) -> str:
        if patient_email.remove(patient, current_user, via="staff"):
            return _("E-mail address removed: no more reminders by e-mail.")
        return _("The patient has no e-mail address on file.")

    return changed(patient_id, change)


def changed(patient_id: int, change: Callable[[Patient], str]):
    """Make a change to one of the clinic's patients, save it, and say so on their page."""
    patient = clinic_patient(patient_id)
    message = change(patient)
    db.session.commit()
    flash(message)
    return redirect(url_for("staff.patient", patient_id=patient.id), code=303)
