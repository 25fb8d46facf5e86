"""POST buttons in Chromium: a button marked with a question (the post_button macro's confirm,
data-confirm) asks it first, from static/js/app.js; "no" sends nothing, "yes" sends the form;
an unmarked button asks nothing."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, PHONE, create_clinic, create_staff, enrol_patient, watch_console
from playwright.sync_api import expect

from meso.extensions import db

pytestmark = pytest.mark.browser


def test_a_marked_button_asks_first_and_an_unmarked_one_does_not(app, live_server, browser):
    clinic = create_clinic()
    create_staff(clinic)
    patient, _ = enrol_patient(clinic)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_console(page)
    page.goto(f"{live_server}/staff/sign-in")
    page.get_by_label("Email").fill("anna@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    page.goto(f"{live_server}/staff/patients/{patient.id}")
    asked: list[str] = []

    def answer(dialog, yes: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if yes else dialog.dismiss()

    # "No": the click returns once any navigation it started has begun, so nothing was sent.
    page.once("dialog", lambda dialog: answer(dialog, yes=False))
    page.get_by_role("button", name="Archive the patient").click()
    assert asked == ["Archive Maria Rossi?"]
    db.session.refresh(patient)
    assert patient.archived_at is None
    expect(page.locator(".notice-archived")).to_have_count(0)

    page.once("dialog", lambda dialog: answer(dialog, yes=True))
    page.get_by_role("button", name="Archive the patient").click()
    expect(page.locator(".notice-archived")).to_be_visible()
    assert asked == ["Archive Maria Rossi?", "Archive Maria Rossi?"]
    db.session.refresh(patient)
    assert patient.archived_at is not None

    # Restoring is undone as easily as it is done: no question.
    page.on("dialog", lambda dialog: answer(dialog, yes=False))
    page.get_by_role("button", name="Restore the patient").click()
    expect(page.locator(".notice-archived")).to_have_count(0)
    expect(page.get_by_role("button", name="Archive the patient")).to_be_visible()
    assert len(asked) == 2
    context.close()
    assert errors == []
