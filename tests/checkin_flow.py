"""A patient's daily check-in sent from Today in a browser, for the tests that need one sent.

The patient half of issue 10's scenario (a phone check-in, the advice it gets); the clinic's
half (the roster, the alert) builds on it: ``send_checkin_in_browser(page, base, ...)`` and
then the staff browser.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from playwright.sync_api import Locator, Page, expect


def send_checkin_in_browser(page: Page, base: str, *, feeling: int = 4,
                            signs: Mapping[str, str] | None = None, trend: str | None = None,
                            symptoms: Iterable[str] = ()) -> Locator:
    """Open Today, answer the check-in card (keys as in POST /checkins: feeling 1-5, signs
    {sign: level}, trend, red-flag keys), send it, wait until the server answered; return the
    answer (#advice, whose data-advice is the level the patient was told)."""
    page.goto(f"{base}/today")
    card = page.locator("#checkin")
    again = card.locator("details.again")
    if again.count():  # already checked in today: the form waits behind "Check in again"
        again.locator("summary").click()
    form = card.locator("form.checkin-form")
    form.locator(f'input[name="feeling"][value="{feeling}"]').check()
    for sign, level in (signs or {}).items():
        form.locator(f'input[name="sign_{sign}"][value="{level}"]').check()
    if trend is not None:
        form.locator(f'input[name="trend"][value="{trend}"]').check()
    for key in symptoms:
        form.locator(f'input[name="symptoms"][value="{key}"]').check()
    sent = card.get_attribute("data-t-sent")
    form.locator('button[type="submit"]').click()
    expect(card.locator(".checkin-status")).to_have_text(sent)
    answer = page.locator("#advice")
    expect(answer).not_to_have_attribute("data-advice", "")
    return answer
