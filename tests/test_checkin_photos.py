"""A photo with the daily check-in: POST /checkins as multipart/form-data (the form, or the
offline queue asking for JSON), stored in the check-in's transaction and tied to it, refused
whole, never twice for a repeat; the large body for this route alone; the clinic's switch;
and the photo beside its check-in on the staff patient page."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient
from helpers import assert_no_inline_code, field_error, frozen, page_html, text_of
from photo_helpers import PDF, jpeg, noise_jpeg, opened, patient_client
from staff_helpers import signed_in_client

from meso import checkins, photo_store, photos
from meso.extensions import db
from meso.models import CheckIn, ClinicSettings, OutboundEmail, Photo

SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # Fri 10:00 in Rome
NOW = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)  # Sat 18:00 in Rome, day 1
KEY = "0f8fad5b-d9cb-469f-a165-70867728950e"
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def patient(clinic):
    return enrol_patient(clinic, first_session=SESSION)[0]


@pytest.fixture
def phone(app, patient):
    return patient_client(app, patient)


def fields(phone, **changes) -> dict:
    """A check-in as the form (or the queue's multipart) sends it: a bad day, one red flag."""
    return {"csrf_token": csrf_token(phone, "/today"), "key": KEY, "feeling": "2",
            "sign_swelling": "moderate", "sign_redness": "mild", "trend": "same",
            "symptoms": ["fever"], "at": "2026-11-21T17:59:00+01:00", **changes}


def send(phone, photo: bytes | None = None, *, json=False, filename="photo.jpg", **changes):
    """POST /checkins as multipart/form-data with the check-in's fields and the photo."""
    data = fields(phone, **changes)
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), filename, "image/jpeg")
    return phone.post("/checkins", data=data, content_type="multipart/form-data",
                      headers=JSON if json else {})


def stored() -> tuple[list[CheckIn], list[Photo]]:
    db.session.rollback()  # a fresh read of what the requests committed
    return (list(db.session.scalars(sa.select(CheckIn).order_by(CheckIn.id))),
            list(db.session.scalars(sa.select(Photo).order_by(Photo.id))))


def photos_off(clinic) -> None:
    settings = ClinicSettings.of(clinic.id)
    settings.photos_enabled = False
    db.session.add(settings)
    db.session.commit()


# -- the form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/today", "/checkins/new"])
def test_the_check_in_form_has_a_photo_field_for_camera_or_gallery(phone, url):
    html = phone.get(url).get_data(as_text=True)
    assert_no_inline_code(html)
    form = page_html(html).select_one('form.checkin-form[action="/checkins"]')
    assert form["enctype"] == "multipart/form-data" and form["method"] == "post"
    field = form.select_one('input[type="file"][name="photo"]')
    assert field["accept"] == photos.ACCEPT
    # No capture attribute: with it a phone opens only its camera, not the photos taken.
    assert not field.has_attr("capture")
    assert form.select_one('label[for="checkin-photo"]').get_text() == "Add a photo (optional)"
    assert field["aria-describedby"] == "checkin-photo-help checkin-photo-error"
    holder = field.find_parent(class_="checkin-photo")
    assert holder["data-max-bytes"] == str(photos.MAX_BYTES)
    assert holder["data-t-too-large"] == str(photos.TOO_LARGE)
    assert "%(reason)s" in holder["data-t-not-added"]
    # Before the button: the photo goes with this check-in.
    assert form.select("input, button")[-1].get_text() == "Send check-in"


def test_with_photos_off_the_form_has_no_photo_field(clinic, phone):
    photos_off(clinic)
    for url in ("/today", "/checkins/new"):
        assert not page_html(phone.get(url)).select('input[type="file"]'), url


# -- stored with the check-in, tied to it -------------------------------------------------------


def test_a_form_with_a_photo_stores_both_and_ties_them(phone, patient):
    response = send(phone, jpeg(gps=True, orientation=6))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Your check-in was sent to your clinic." in text_of(html)
    [checkin], [photo] = stored()
    sent = page_html(html).select_one(".checkin-photo-sent")
    assert "Your photo went with it" in text_of(sent)
    assert [img["src"] for img in sent.select("img")] == [f"/photos/{photo.id}/thumb"]
    assert (checkin.feeling, checkin.symptoms, checkin.advice) == (2, "fever", "call_clinic")
    assert (photo.patient_id, photo.check_in_id, photo.session_number) == (patient.id,
                                                                           checkin.id, 1)
    assert photo.local_date == checkin.local_date
    assert (photo.width, photo.height) == (40, 80)  # turned upright
    assert not opened(photo.data).getexif() and b"GPS" not in photo.data


def test_the_queue_s_multipart_gets_the_same_json_as_without_a_photo(app, clinic, patient,
                                                                   phone):
    owner = checkins.owner_pseudonym(patient)
    response = send(phone, jpeg(), json=True, owner=owner)
    assert response.status_code == 201
    with_photo = response.get_json()
    [checkin], [photo] = stored()
    assert photo.check_in_id == checkin.id
    # The same check-in as JSON, from another patient's phone: the same answer, key aside.
    other, _ = enrol_patient(clinic, name="Lucia Bianchi", first_session=SESSION)
    other_phone = patient_client(app, other)
    response = other_phone.post("/checkins", headers={"X-CSRFToken": csrf_token(other_phone,
                                                                                 "/today")},
                                json={"key": KEY, "feeling": 2, "symptoms": ["fever"],
                                      "signs": {"swelling": "moderate", "redness": "mild"},
                                      "trend": "same", "at": "2026-11-21T17:59:00+01:00"})
    assert response.status_code == 201
    assert response.get_json() == with_photo
    assert set(with_photo) == {"key", "date", "feeling", "symptoms", "signs", "trend", "advice",
                               "reasons", "guidance", "no_flags"}
    assert len(stored()[1]) == 1  # JSON never carries a photo


def test_an_empty_file_field_is_a_check_in_without_a_photo(phone):
    """A form sent without choosing a file still carries the field, empty and unnamed."""
    response = send(phone, b"", filename="")
    assert response.status_code == 200
    assert not page_html(response).select(".checkin-photo-sent")
    checkins_, photos_ = stored()
    assert len(checkins_) == 1 and photos_ == []


def test_a_photo_sent_later_is_filed_on_the_day_the_check_in_was_filled_in(phone):
    """Taken offline on day 1 evening, sent on day 3: the photo belongs to day 1."""
    with frozen(NOW + timedelta(days=2)):
        assert send(phone, jpeg(), json=True).status_code == 201
    [checkin], [photo] = stored()
    assert checkin.local_date.isoformat() == photo.local_date.isoformat() == "2026-11-21"


# -- exactly once -----------------------------------------------------------------------------


def test_a_repeat_of_the_same_key_stores_neither_twice(phone):
    first = send(phone, jpeg(), json=True)
    again = send(phone, jpeg(size=(60, 30)), json=True)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    [checkin], [photo] = stored()
    assert photo.check_in_id == checkin.id and (photo.width, photo.height) == (80, 40)
    # A repeat through the form, too.
    assert send(phone, jpeg()).status_code == 200
    assert [len(rows) for rows in stored()] == [1, 1]


def test_a_repeat_after_one_without_the_photo_adds_none(phone):
    """The queue sent it once without its photo (refused): that first answer stands."""
    assert send(phone, None, json=True).status_code == 201
    assert send(phone, jpeg(), json=True).status_code == 200
    assert [len(rows) for rows in stored()] == [1, 0]


# -- refused whole ----------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    (PDF, photos.NOT_A_PHOTO),
    (noise_jpeg(size=(400, 300))[:20_000], photos.DAMAGED),
    (b"\xff\xd8\xff" + b"\0" * photos.MAX_BYTES, photos.TOO_LARGE),  # within the body limit
])
def test_a_refused_photo_stores_nothing_and_says_why_next_to_the_field(app, phone, data,
                                                                       message):
    app.config["SMTP_URL"] = "smtp://127.0.0.1:2525"  # an alert check-in would e-mail the admins
    response = send(phone, data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, "checkin-photo") == str(message)
    page = page_html(html)
    assert page.select_one("#checkin-photo")["aria-invalid"] == "true"
    # The answers are still there to send again.
    assert page.select_one('input[name="feeling"][value="2"]').has_attr("checked")
    assert page.select_one('input[name="symptoms"][value="fever"]').has_attr("checked")
    response = send(phone, data, json=True)
    assert response.status_code == 400
    assert response.get_json() == {"error": str(message), "errors": {"photo": str(message)}}
    assert stored() == ([], [])
    assert db.session.scalar(sa.select(sa.func.count(OutboundEmail.id))) == 0


def test_the_check_in_s_own_errors_come_first(phone):
    response = send(phone, PDF, json=True, feeling="")
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"feeling"}
    assert stored() == ([], [])


def test_another_patient_s_queued_check_in_is_refused_with_its_photo(phone):
    response = send(phone, jpeg(), json=True, owner="someone-else-entirely")
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"owner"}
    assert stored() == ([], [])


def test_a_full_day_of_photos_refuses_the_photo_and_the_check_in_with_it(phone, patient):
    for _ in range(photo_store.MAX_PER_DAY):
        photo_store.add(patient, jpeg(), NOW)
    db.session.commit()
    response = send(phone, jpeg(), json=True)
    assert response.status_code == 400
    assert "10 photos today" in response.get_json()["errors"]["photo"]
    checkins_, photos_ = stored()
    assert checkins_ == [] and len(photos_) == photo_store.MAX_PER_DAY
    # The queue then sends the check-in alone (static/js/photo_queue.js): taken.
    assert send(phone, None, json=True).status_code == 201


def test_with_photos_off_a_photo_is_refused_and_the_check_in_alone_is_taken(clinic, phone):
    """Decided: refused, not silently dropped. The queue sends the check-in again without it
    and tells the patient; a form from before the switch shows why where the field was."""
    photos_off(clinic)
    response = send(phone, jpeg(), json=True)
    assert response.status_code == 400
    assert response.get_json()["errors"] == {"photo": str(photo_store.PHOTOS_OFF)}
    response = send(phone, jpeg())
    assert response.status_code == 400
    page = page_html(response)
    assert not page.select('input[type="file"]')
    alert = page.select_one("form.checkin-form #checkin-photo-error")
    assert alert["role"] == "alert" and alert.get_text() == str(photo_store.PHOTOS_OFF)
    assert stored() == ([], [])
    assert send(phone, None, json=True).status_code == 201
    assert [len(rows) for rows in stored()] == [1, 0]


# -- the body limit -----------------------------------------------------------------------------


def test_a_photo_larger_than_the_small_body_limit_is_taken_on_this_route(app, phone):
    big = noise_jpeg(size=(2400, 1800))
    assert len(big) > 10 * app.config["MAX_CONTENT_LENGTH"]
    assert send(phone, big, json=True).status_code == 201
    [_], [photo] = stored()
    assert (photo.width, photo.height) == (1600, 1200)


def test_a_40_mb_upload_is_a_413_that_says_the_limit(phone):
    huge = b"\xff\xd8\xff" + b"\0" * (40 * 1024 * 1024)
    response = send(phone, huge)
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert str(photos.TOO_LARGE) in text_of(response.get_data(as_text=True))
    response = send(phone, huge, json=True)
    assert response.status_code == 413
    assert response.get_json()["errors"] == {"photo": str(photos.TOO_LARGE)}
    assert stored() == ([], [])


def test_json_and_plain_forms_keep_the_small_limit_on_this_route(app, phone):
    small = app.config["MAX_CONTENT_LENGTH"]
    token = csrf_token(phone, "/today")
    response = phone.post("/checkins", headers={"X-CSRFToken": token},
                          json={"key": KEY, "feeling": 4, "note": "x" * small})
    assert response.status_code == 413
    assert response.get_json() == {
        "error": "That was more than this app accepts at once. Please send less."}
    response = phone.post("/checkins", data={"csrf_token": token, "key": KEY,
                                             "feeling": "4", "note": "x" * small})
    assert response.status_code == 413
    assert "Too much data" in text_of(response.get_data(as_text=True))
    assert stored() == ([], [])


def test_a_stale_token_is_a_json_400_without_field_errors(phone):
    """The queue renews its token on a 400 without errors: a multipart one too."""
    response = send(phone, jpeg(), json=True, csrf_token="stale")
    assert response.status_code == 400
    assert set(response.get_json()) == {"error"}
    assert stored() == ([], [])


# -- the clinic sees it beside the check-in ----------------------------------------------------


def test_the_staff_patient_page_shows_the_photo_beside_its_check_in(app, clinic, phone, patient):
    assert send(phone, jpeg(size=(600, 800)), json=True).status_code == 201  # an alert
    assert send(phone, None, json=True, key="a" * 32, symptoms=[]).status_code == 201
    apart = photo_store.add(patient, jpeg(), NOW)  # from the Timeline: no check-in
    db.session.commit()
    [alert, plain], [photo, _] = stored()
    staff = signed_in_client(app, clinic)
    html = staff.get(f"/staff/patients/{patient.id}").get_data(as_text=True)
    assert_no_inline_code(html)
    page = page_html(html)
    entry = page.select_one(f'#attention article[data-checkin="{alert.id}"]')
    assert "with-photo" in entry["class"]
    [link] = entry.select(".checkin-photos a")
    assert link["href"] == f"/photos/{photo.id}"
    image = link.select_one("img")
    assert image["src"] == f"/photos/{photo.id}/thumb"
    assert (image["width"], image["height"]) == ("240", "320")
    assert text_of(link) == "(full size)" and image["alt"].startswith("Photo of Sat 21 Nov")
    assert entry.select_one(".checkin-photos")["aria-label"] == "Photo sent with this check-in"
    assert not page.select(f'article[data-checkin="{plain.id}"] .checkin-photos')
    assert f"/photos/{apart.id}" not in {a["href"] for a in page.select(".checkin-photos a")}
    # The link opens the full photo for staff of the clinic.
    assert staff.get(link["href"]).status_code == 200
