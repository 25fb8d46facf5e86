"""Progress photos in Debian's Chromium at a phone viewport: added from the Timeline's form,
first and latest side by side (screenshots in test-artifacts/), never cached by the service
worker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, PHONE, create_clinic, create_staff, enrol_patient, watch_console
from helpers import screenshot, wait_until
from photo_helpers import encode, jpeg, opened
from PIL import Image, ImageDraw, ImageFilter
from playwright.sync_api import expect
from test_a11y import TAP_TARGETS, violations
from test_pwa_browser import CACHED_URLS, controlled, patient_phone

from meso import courses, photo_store
from meso.extensions import db
from meso.models import Photo

pytestmark = pytest.mark.browser


def skin(redness: int) -> bytes:
    """A portrait 'photo' of skin with a red patch that fades as the course goes on."""
    image = Image.new("RGB", (900, 1200), (226, 184, 160))
    draw = ImageDraw.Draw(image)
    draw.ellipse((250, 380, 650, 780), fill=(226, 184 - redness, 160 - redness))
    return encode(image.filter(ImageFilter.GaussianBlur(40)), "JPEG", quality=90)


@pytest.fixture
def clinic(app):
    clinic = create_clinic()
    create_staff(clinic)
    return clinic


@pytest.fixture
def course(clinic):
    """A patient three weeks into the course: session 1 on day 0, session 2 this morning."""
    start = datetime.now(UTC) - timedelta(days=21, hours=3)
    patient, token = enrol_patient(clinic, first_session=start)
    courses.record_session(patient, start + timedelta(days=21), actor=None)
    db.session.commit()
    return patient, token, start


def stored_ids(patient) -> list[int]:
    db.session.rollback()  # a fresh read: the live server commits in its own thread
    return list(db.session.scalars(sa.select(Photo.id).where(Photo.patient_id == patient.id)
                                   .order_by(Photo.id)))


def test_day_0_and_day_21_side_by_side_on_the_timeline(app, live_server, browser, course):
    patient, token, start = course
    first = photo_store.add(patient, skin(70), start + timedelta(hours=2))
    latest = photo_store.add(patient, skin(15), datetime.now(UTC))
    db.session.commit()
    context, page = patient_phone(browser, live_server, token)
    errors = watch_console(page)
    page.goto(f"{live_server}/timeline#photos")
    card = page.locator("section.photos")
    compare = card.locator(".compare figure")
    expect(compare).to_have_count(2)
    expect(compare.nth(0).locator("img")).to_have_attribute("src", f"/photos/{first.id}")
    expect(compare.nth(1).locator("img")).to_have_attribute("src", f"/photos/{latest.id}")
    expect(compare.nth(0)).to_contain_text("First")
    expect(compare.nth(1)).to_contain_text("Latest")
    images = card.locator("img")
    wait_until(lambda: page.evaluate(
        "() => [...document.querySelectorAll('section.photos img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"),
        message="every photo loaded", page=page)
    # The pair, and the current session's thumbnail; session 1's is folded in its cycle.
    assert images.count() == 3
    expect(page.locator('section.cycle[data-session="1"] .cycle-photos img')).to_have_attribute(
        "src", f"/photos/{first.id}/thumb")
    left, right = (compare.nth(i).bounding_box() for i in (0, 1))
    assert abs(left["y"] - right["y"]) < 1  # side by side, not stacked
    assert left["x"] + left["width"] <= right["x"]
    assert right["x"] + right["width"] <= PHONE["viewport"]["width"]
    assert left["width"] > 120  # each half of the phone's width, not postage stamps
    card.scroll_into_view_if_needed()
    screenshot(card, "timeline-photos.png")
    screenshot(page, "timeline-photos-phone.png")
    context.close()
    assert errors == []


def test_a_photo_added_from_the_phone_shows_up_without_its_location(app, live_server,
                                                                    browser, course, tmp_path):
    patient, token, _ = course
    context, page = patient_phone(browser, live_server, token)
    errors = watch_console(page)
    page.goto(f"{live_server}/timeline")
    picture = tmp_path / "IMG_0001.JPG"
    picture.write_bytes(jpeg(size=(1200, 900), gps=True, orientation=6))
    page.get_by_label("Add a progress photo").set_input_files(str(picture))
    page.get_by_role("button", name="Add photo").click()
    expect(page).to_have_url(f"{live_server}/timeline#photos")
    [photo_id] = stored_ids(patient)
    thumb = page.locator(f'section.photos img[src="/photos/{photo_id}/thumb"]')
    expect(thumb).to_be_visible()
    body = page.evaluate(f"""() => fetch('/photos/{photo_id}').then((r) => r.arrayBuffer())
        .then((b) => Array.from(new Uint8Array(b)))""")
    image = opened(bytes(body))
    assert image.size == (900, 1200) and not image.getexif()  # upright, no GPS

    # A PDF renamed .jpg: refused next to the field, the page otherwise as it was.
    fake = tmp_path / "scan.jpg"
    fake.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.get_by_label("Add a progress photo").set_input_files(str(fake))
    page.get_by_role("button", name="Add photo").click()
    expect(page.locator("#photo-error")).to_have_text(
        "This file is not a photo we can use. Please choose a JPEG, PNG or HEIC photo.")
    assert stored_ids(patient) == [photo_id]
    screenshot(page.locator("section.photos"), "timeline-photo-refused.png")
    context.close()
    # Chromium notes the refusal's status (400) on the console; nothing else went wrong.
    assert errors == ["Failed to load resource: the server responded with a status of 400 "
                      "(BAD REQUEST)"]


def test_the_service_worker_never_keeps_a_photo(app, live_server, browser, course):
    patient, token, start = course
    photo_store.add(patient, skin(70), start + timedelta(hours=2))
    photo_store.add(patient, skin(20), datetime.now(UTC))
    db.session.commit()
    ids = stored_ids(patient)
    context, page = patient_phone(browser, live_server, token)
    controlled(page, live_server)
    page.goto(f"{live_server}/timeline")
    wait_until(lambda: page.evaluate(
        "() => [...document.querySelectorAll('section.photos img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"),
        message="every photo loaded", page=page)
    for photo_id in ids:  # fetched by script too, as a later queue might
        assert page.evaluate(f"fetch('/photos/{photo_id}').then((r) => r.status)") == 200
    wait_until(lambda: "/timeline" in page.evaluate(CACHED_URLS)["meso-pages-v1"],
               message="the Timeline kept for offline use", page=page)
    cached = page.evaluate(CACHED_URLS)
    assert not [url for urls in cached.values() for url in urls if url.startswith("/photos")]
    # Offline, the Timeline's copy opens; its photos do not, as nothing kept them.
    context.set_offline(True)
    page.goto(f"{live_server}/timeline")
    expect(page.locator(".offline-note")).to_be_visible()
    assert page.evaluate(f"""fetch('/photos/{ids[0]}').then((r) => r.status,
                                                           () => 'network error')""") \
        == "network error"
    context.close()


def test_the_staff_page_shows_them_side_by_side(app, live_server, browser, course):
    patient, _, start = course
    photo_store.add(patient, skin(70), start + timedelta(hours=2))
    photo_store.add(patient, skin(15), datetime.now(UTC))
    db.session.commit()
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch_console(page)
    page.goto(f"{live_server}/staff/sign-in")
    page.get_by_label("Email").fill("anna@clinic.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/staff/patients/{patient.id}#photos")
    card = page.locator("section.photos")
    expect(card.locator(".compare img")).to_have_count(2)
    wait_until(lambda: page.evaluate(
        "() => [...document.querySelectorAll('section.photos img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"),
        message="every photo loaded", page=page)
    card.scroll_into_view_if_needed()
    screenshot(card, "staff-patient-photos.png")
    context.close()
    assert errors == []



# -- accessibility ----------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_and_tap_targets_on_the_photo_and_data_pages(app, live_server, browser, course,
                                                         scheme):
    patient, token, start = course
    photo_store.add(patient, skin(70), start + timedelta(hours=2))
    photo_store.add(patient, skin(15), datetime.now(UTC))
    db.session.commit()
    found, small = [], {}
    context, page = patient_phone(browser, live_server, token, color_scheme=scheme)
    stops = [("timeline", lambda: page.goto(f"{live_server}/timeline")),
             ("photo refused", lambda: refuse_a_pdf(page)),
             ("erase request", lambda: page.goto(f"{live_server}/me/erase")),
             ("erase unconfirmed", lambda: page.get_by_role(
                 "button", name="Ask my clinic to erase my data").click()),
             ("erase asked", lambda: ask_for_erasure(page))]
    for name, go in stops:
        go()
        found += violations(page)
        small[name] = page.evaluate(TAP_TARGETS)
    context.close()

    context = browser.new_context(**PHONE, color_scheme=scheme)
    page = context.new_page()
    admin = create_staff(patient.clinic, email="boss@clinic.example", role="admin")
    page.goto(f"{live_server}/staff/sign-in")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server}/staff/patients/{patient.id}")
    expect(page.locator(".notice-erasure")).to_be_visible()
    found += violations(page)
    page.get_by_role("link", name="Erase this patient…").click()
    found += violations(page)
    page.get_by_label("Type the patient's full name to confirm").fill("Someone Else")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.locator("#name-error")).to_be_visible()
    found += violations(page)
    screenshot(page, "staff-erase-refused.png")
    page.get_by_label("Type the patient's full name to confirm").fill("Maria Rossi")
    page.get_by_role("button", name="Erase for good").click()
    expect(page.locator(".flash")).to_contain_text("Nothing of this patient is left")
    context.close()
    assert found == []
    assert {name: targets for name, targets in small.items() if targets} == {}


def refuse_a_pdf(page) -> None:
    page.get_by_label("Add a progress photo").set_input_files(
        files=[{"name": "scan.jpg", "mimeType": "image/jpeg", "buffer": b"%PDF-1.4\n%%EOF\n"}])
    page.get_by_role("button", name="Add photo").click()
    expect(page.locator("#photo-error")).to_be_visible()


def ask_for_erasure(page) -> None:
    expect(page.locator("#confirm-error")).to_be_visible()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Ask my clinic to erase my data").click()
    expect(page.locator(".notice-done")).to_contain_text("You asked on")
    screenshot(page, "erase-asked.png")
