"""Progress photos over HTTP: the Timeline's form (POST /photos), serving to the patient and
their clinic's staff only, the body limit of the photo route alone, the clinic's switch, and
the photos on the Timeline and the staff patient page."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import create_clinic, csrf_token, enrol_patient
from helpers import assert_no_inline_code, field_error, frozen, page_html, text_of
from photo_helpers import PDF, jpeg, noise_jpeg, opened, patient_client, png_bomb
from staff_helpers import post, signed_in_client

from meso import courses, photo_store, photos
from meso.extensions import db
from meso.models import ClinicSettings, Photo

ROOT = Path(__file__).resolve().parent.parent
# The first session: Fri 2026-11-20 10:00 in Rome; the photos come that afternoon (day 0).
SESSION = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
DAY_0 = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(DAY_0):
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


def send(client, data: bytes, filename="photo.jpg", content_type="image/jpeg", json=False):
    """Send a file through the Timeline's form, as the browser does (multipart, CSRF)."""
    headers = {"Accept": "application/json"} if json else {}
    return client.post("/photos", headers=headers, content_type="multipart/form-data", data={
        "csrf_token": csrf_token(client, "/timeline"),
        "photo": (io.BytesIO(data), filename, content_type),
    })


def stored() -> list[Photo]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Photo).order_by(Photo.id)))


def photo_srcs(html) -> list[str]:
    return [img["src"] for img in page_html(html).select("section.photos img")]


# -- adding a photo ---------------------------------------------------------------------------


def test_a_photo_from_the_timeline_form_is_stored_clean_and_shown(phone, patient):
    timeline = page_html(phone.get("/timeline"))
    form = timeline.select_one("section.photos form.photo-form")
    assert form["action"] == "/photos" and form["enctype"] == "multipart/form-data"
    assert form.select_one('input[type="file"][name="photo"]')["accept"] == \
        "image/jpeg,image/png,image/heic,image/heif"
    assert form.select_one('input[name="csrf_token"]')
    assert "Add a progress photo" in text_of(form)

    response = send(phone, jpeg(gps=True, orientation=6))
    assert response.status_code == 303
    assert response.headers["Location"] == "/timeline#photos"
    [photo] = stored()
    assert (photo.patient_id, photo.session_number) == (patient.id, 1)
    assert photo.local_date.isoformat() == "2026-11-20"
    assert (photo.width, photo.height, photo.content_type) == (40, 80, "image/jpeg")
    assert not opened(photo.data).getexif() and b"GPS" not in photo.data
    assert photo_srcs(phone.get("/timeline")) == [f"/photos/{photo.id}/thumb"]


def test_a_script_gets_json(phone):
    response = send(phone, jpeg(), json=True)
    assert response.status_code == 201
    [photo] = stored()
    assert response.get_json() == {"id": photo.id, "url": f"/photos/{photo.id}",
                                   "thumb_url": f"/photos/{photo.id}/thumb"}
    response = send(phone, PDF, json=True)
    assert response.status_code == 400
    assert response.get_json()["errors"]["photo"] == str(photos.NOT_A_PHOTO)


def test_a_photo_larger_than_the_small_body_limit_is_taken(app, phone):
    big = noise_jpeg(size=(2400, 1800))
    assert len(big) > 10 * app.config["MAX_CONTENT_LENGTH"]
    assert send(phone, big).status_code == 303
    [photo] = stored()
    assert (photo.width, photo.height) == (1600, 1200)


@pytest.mark.parametrize(("data", "filename", "message"), [
    (PDF, "photo.jpg", photos.NOT_A_PHOTO),  # a PDF renamed .jpg
    (png_bomb(), "photo.png", photos.TOO_MANY_PIXELS),
    (noise_jpeg(size=(400, 300))[:20_000], "photo.jpg", photos.DAMAGED),  # truncated
    (b"", "photo.jpg", photos.EMPTY),
])
def test_bad_files_are_refused_next_to_the_field(phone, data, filename, message):
    response = send(phone, data, filename=filename)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert field_error(html, "photo") == str(message)
    assert page_html(html).select_one("#photo")["aria-invalid"] == "true"
    assert stored() == []


def test_no_file_at_all_is_refused(phone):
    response = phone.post("/photos", data={"csrf_token": csrf_token(phone, "/timeline")})
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "photo") == str(photos.EMPTY)


def test_a_40_mb_upload_is_a_413_that_says_the_limit(phone):
    response = send(phone, b"\xff\xd8\xff" + b"\0" * (40 * 1024 * 1024))
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert str(photos.TOO_LARGE) in text_of(response.get_data(as_text=True))
    assert stored() == []
    response = send(phone, b"\0" * (40 * 1024 * 1024), json=True)
    assert response.status_code == 413
    assert response.get_json()["error"] == str(photos.TOO_LARGE)


def test_just_over_15_mb_within_the_body_limit_is_refused_by_the_view(phone):
    data = b"\xff\xd8\xff" + b"\0" * photos.MAX_BYTES
    assert len(data) + 1024 < photos.MAX_BODY  # the form fits: the view itself says no
    response = send(phone, data)
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "photo") == str(photos.TOO_LARGE)


def test_every_other_route_keeps_the_small_body_limit(app, phone):
    small = app.config["MAX_CONTENT_LENGTH"]
    assert small * 200 < photos.MAX_BODY
    token = csrf_token(phone, "/timeline")
    # POST /checkins takes a photo too: tests/test_checkin_photos.py.
    for url in ("/me/erase", "/open", "/staff/sign-in"):
        response = phone.post(url, content_type="multipart/form-data", data={
            "csrf_token": token, "photo": (io.BytesIO(b"\0" * (small + 1)), "p.jpg")})
        assert response.status_code == 413, url
        assert "Too much data" in response.get_data(as_text=True)


def test_a_photo_needs_the_csrf_token(phone):
    response = phone.post("/photos", content_type="multipart/form-data",
                          data={"photo": (io.BytesIO(jpeg()), "photo.jpg")})
    assert response.status_code == 400
    assert stored() == []


def test_a_photo_needs_the_patient_s_device(app):
    response = app.test_client().post("/photos", data={"photo": (io.BytesIO(jpeg()), "p.jpg")})
    assert response.status_code in (400, 401)
    assert stored() == []


def test_ten_photos_a_day_then_a_clear_no(phone, patient):
    for _ in range(photo_store.MAX_PER_DAY):
        photo_store.add(patient, jpeg(), DAY_0)
    db.session.commit()
    response = send(phone, jpeg())
    assert response.status_code == 400
    assert "10 photos today" in field_error(response.get_data(as_text=True), "photo")
    with frozen(DAY_0 + timedelta(days=1)):
        assert send(phone, jpeg()).status_code == 303


# -- the clinic's switch ----------------------------------------------------------------------


def test_a_clinic_can_turn_photos_off_and_keeps_those_taken(app, clinic, phone, patient):
    photo = photo_store.add(patient, jpeg(), DAY_0)
    db.session.commit()
    admin = signed_in_client(app, clinic, email="boss@clinic.example", role="admin")
    settings = page_html(admin.get("/staff/settings"))
    assert settings.select_one("#photos_enabled").has_attr("checked")  # on by default
    form = {name["name"]: name.get("value", "") for name in settings.select("form input")
            if name.get("type") not in ("checkbox",) and name.get("name")}
    assert post(admin, "/staff/settings", form).status_code == 303
    assert db.session.get(ClinicSettings, clinic.id).photos_enabled is False

    timeline = phone.get("/timeline")
    assert not page_html(timeline).select("form.photo-form")
    assert photo_srcs(timeline) == [f"/photos/{photo.id}/thumb"]  # still theirs to see
    assert phone.get(f"/photos/{photo.id}").status_code == 200
    response = send(phone, jpeg())
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "photo") == str(photo_store.PHOTOS_OFF)
    assert len(stored()) == 1

    assert post(admin, "/staff/settings", {**form, "photos_enabled": "y"}).status_code == 303
    assert page_html(phone.get("/timeline")).select("form.photo-form")


def test_without_photos_and_with_photos_off_the_timeline_has_no_photo_card(app, clinic, phone):
    settings = ClinicSettings.of(clinic.id)
    settings.photos_enabled = False
    db.session.add(settings)
    db.session.commit()
    assert not page_html(phone.get("/timeline")).select("section.photos")


# -- serving ----------------------------------------------------------------------------------


@pytest.fixture
def photo(patient):
    photo = photo_store.add(patient, jpeg(size=(800, 600), gps=True), DAY_0)
    db.session.commit()
    return photo


@pytest.mark.parametrize("suffix", ["", "/thumb"])
def test_the_patient_gets_their_photo_never_cached(phone, photo, suffix):
    response = phone.get(f"/photos/{photo.id}{suffix}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    image = opened(response.data)
    assert image.size == ((800, 600) if not suffix else (320, 240))
    assert not image.getexif() and "exif" not in image.info


@pytest.mark.parametrize("suffix", ["", "/thumb"])
def test_the_clinic_s_staff_get_it_too(app, clinic, photo, suffix):
    staff = signed_in_client(app, clinic)
    response = staff.get(f"/photos/{photo.id}{suffix}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("suffix", ["", "/thumb"])
def test_nobody_else_gets_it(app, clinic, photo, suffix):
    other_patient, _ = enrol_patient(clinic, name="Lucia Bianchi", first_session=SESSION)
    other_clinic = create_clinic(name="Clinica Napoli", phone="+39 081 000")
    napoli_patient, _ = enrol_patient(other_clinic, name="Anna Esposito")
    napoli_photo = photo_store.add(napoli_patient, jpeg(), DAY_0)
    db.session.commit()
    url = f"/photos/{photo.id}{suffix}"
    for client in (patient_client(app, other_patient), patient_client(app, napoli_patient),
                   signed_in_client(app, other_clinic, email="napoli@clinic.example"),
                   app.test_client()):
        response = client.get(url)
        assert response.status_code == 404
        assert response.mimetype == "text/html"
        assert b"\xff\xd8" not in response.data
    # Staff see their own clinic's photos only: another clinic's patient's photo is a 404.
    staff = signed_in_client(app, clinic, email="roma@clinic.example")
    assert staff.get(f"/photos/{napoli_photo.id}{suffix}").status_code == 404
    assert staff.get(f"/photos/{napoli_photo.id + 100}{suffix}").status_code == 404


def test_a_signed_out_phone_no_longer_gets_it(app, phone, patient, photo):
    from meso import access

    access.sign_out_everywhere(patient, DAY_0)
    db.session.commit()
    assert phone.get(f"/photos/{photo.id}").status_code == 404


# -- before and after -------------------------------------------------------------------------


def photos_over_the_course(patient):
    """One photo before the first session, one on day 0, one on day 21 after session 2."""
    with frozen(SESSION - timedelta(days=1)):
        before = photo_store.add(patient, jpeg(), SESSION - timedelta(days=1))
    first = photo_store.add(patient, jpeg(), DAY_0)
    day_21 = DAY_0 + timedelta(days=21)
    with frozen(day_21):
        courses.record_session(patient, SESSION + timedelta(days=21), actor=None)
        latest = photo_store.add(patient, jpeg(), day_21)
    db.session.commit()
    return before, first, latest


def test_the_timeline_shows_photos_per_session_and_first_beside_latest(phone, patient):
    before, first, latest = photos_over_the_course(patient)
    with frozen(DAY_0 + timedelta(days=21)):
        response = phone.get("/timeline")
    html = page_html(response)
    assert_no_inline_code(response)
    compare = html.select("section.photos .compare figure")
    assert [f.img["src"] for f in compare] == [f"/photos/{before.id}", f"/photos/{latest.id}"]
    assert "First" in text_of(compare[0]) and "Latest" in text_of(compare[1])
    assert [int(compare[0].img["width"]), int(compare[0].img["height"])] == [80, 40]
    groups = html.select("section.photos .photo-session")
    assert [text_of(g.h3) for g in groups] == ["Before your first session", "After session 2"]
    assert [[img["src"] for img in g.select("img")] for g in groups] == [
        [f"/photos/{p.id}/thumb"] for p in (before, latest)]
    # A past session's photos are folded with its days, in its cycle's <details>.
    folded = html.select('section.cycle[data-session="1"] details .cycle-photos img')
    assert [img["src"] for img in folded] == [f"/photos/{first.id}/thumb"]
    assert all(img["alt"].startswith("Photo of ") for img in html.select("section.photos img"))


def test_one_photo_has_no_side_by_side(phone, photo):
    html = page_html(phone.get("/timeline"))
    assert not html.select(".compare")
    assert photo_srcs(html.decode()) == [f"/photos/{photo.id}/thumb"]


def test_the_staff_patient_page_shows_the_same(app, clinic, patient):
    before, first, latest = photos_over_the_course(patient)
    staff = signed_in_client(app, clinic)
    response = staff.get(f"/staff/patients/{patient.id}")
    assert response.status_code == 200
    assert_no_inline_code(response)
    section = page_html(response).select_one("section.photos")
    assert [img["src"] for img in section.select(".compare img")] == [
        f"/photos/{before.id}", f"/photos/{latest.id}"]
    assert [img["src"] for img in section.select(".photo-thumbs img")] == [
        f"/photos/{p.id}/thumb" for p in (before, first, latest)]
    assert "Before the first session" in text_of(section)
    for img in section.select("img"):
        assert staff.get(img["src"]).status_code == 200


def test_the_staff_page_says_when_there_are_none(app, clinic, patient):
    staff = signed_in_client(app, clinic)
    section = page_html(staff.get(f"/staff/patients/{patient.id}")).select_one("section.photos")
    assert "No photos yet." in text_of(section)


# -- the service worker -----------------------------------------------------------------------


def test_the_service_worker_never_answers_for_or_stores_photos():
    """The browser test (test_photos_browser.py) checks the caches; this names the rule."""
    source = (ROOT / "static/sw.js").read_text()
    assert (r"const NEVER_TOUCHED = [/^\/photos(\/|$)/, /^\/me\/export$/, "
            r"/^\/staff\/patients\/\d+\/export$/];") in source
    fetch = source[source.index('addEventListener("fetch"'):]
    fetch = fetch[:fetch.index("\n});")]
    assert fetch.index("if (neverTouched(url.pathname)) return;") < fetch.index("respondWith")
    assert "if (!KEPT.includes(path) || neverTouched(path)) return;" in source
