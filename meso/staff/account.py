"""The staff member's own account page: the language of the staff pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from meso import audit, locale_selector
from meso.extensions import db
from meso.staff import bp
from meso.staff.forms import OwnLanguageForm


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    form = OwnLanguageForm(lang=current_user.lang or "")
    if form.validate_on_submit():
        lang = form.lang.data or None
        if lang != current_user.lang:
            audit.by(current_user, "staff.language_changed", lang=lang or "browser")
            current_user.lang = lang
        db.session.commit()
        locale_selector.forget()  # the message below in the language just chosen
        flash(_("Language saved."))
        return redirect(url_for("staff.account"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("staff/account.html", form=form), status
