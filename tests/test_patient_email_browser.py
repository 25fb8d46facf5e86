"""An iPhone patient who never installs the app asks for reminders by e-mail, in Chromium: the
card on the reminders page, its error next to the field, the link from the real SMTP server's
inbox, the confirmation page's button; axe finds nothing on the way."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from conftest import PHONE, create_clinic, enrol_patient, open_invite_in_browser
from fakesmtp import LocalSmtp
from playwright.sync_api import expect
from test_a11y import IPHONE_UA, violations

pytestmark = pytest.mark.browser
ADDRESS = "lucia.bianchi@mail.example"


def test_an_iphone_patient_adds_and_confirms_an_address(app, live_server, browser, runner):
    _, token = enrol_patient(create_clinic(), name="Lucia Bianchi",
                             first_session=datetime.now(UTC) - timedelta(hours=3))
    with LocalSmtp() as smtp:
        app.config["SMTP_URL"] = smtp.url()
        context = browser.new_context(**PHONE, user_agent=IPHONE_UA)
        page = context.new_page()
        open_invite_in_browser(page, live_server, token)
        page.goto(f"{live_server}/reminders")
        card = page.locator("#reminder-email")
        field = card.get_by_label("Your e-mail address")
        field.fill("lucia at mail.example")
        card.get_by_role("button", name="Send me the link").click()
        expect(page.locator("#email-email-error")).to_have_text(
            re.compile("Enter an e-mail address like"))
        expect(page.locator("#email-email")).to_have_attribute("aria-invalid", "true")
        found = violations(page)
        page.locator("#email-email").fill(ADDRESS)
        card.get_by_role("button", name="Send me the link").click()
        expect(page.locator("#email-pending")).to_contain_text(ADDRESS)
        expect(page).to_have_url(f"{live_server}/reminders#reminder-email")
        found += violations(page)

        result = runner.invoke(args=["reminders", "run", "--once"])
        assert result.exit_code == 0, result.output
        [mail] = smtp.received
        body = mail.message.get_body(("plain",)).get_content()
        link = re.search(r"https?://\S+/email/confirm/\S+", body).group(0)
        path = link.split("/email/confirm/", 1)[1]

        desktop = browser.new_context()  # opened on a computer: no device cookie
        other = desktop.new_page()
        other.goto(f"{live_server}/email/confirm/{path}")
        expect(other.get_by_role("heading", name="Confirm your e-mail address")).to_be_visible()
        found += violations(other)
        other.get_by_role("button", name="Confirm this address").click()
        expect(other.get_by_role("heading", name="Address confirmed")).to_be_visible()
        expect(other).to_have_url(f"{live_server}/email/confirmed")
        found += violations(other)
        desktop.close()

        page.goto(f"{live_server}/reminders")
        expect(page.locator("#email-on-file")).to_contain_text(ADDRESS)
        page.get_by_role("button", name="Stop reminder e-mails").click()
        expect(page.locator("#reminder-email .saved")).to_have_text(
            "Done: no more reminders by e-mail.")
        context.close()
    assert found == []
