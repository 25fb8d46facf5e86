"""Languages (issue 12): which language each request, patient and staff member gets; the
locale's own formats; the patient's switch on Today; staff choosing it at enrolment, on the
patient's page, in the clinic settings and for themselves; the command line and the CSV
import; the manifest, offline page and service worker; the printed card; reminders worded in
the patient's language at send time.

These tests hold without a single translated message: they check the language tags, the
dates and times (Babel's CLDR data, not our catalogues) and where each choice is stored. That
the words themselves are translated is test_i18n_pages.py's and test_i18n_catalogues.py's.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import create_clinic, enrol_patient, open_invite
from flask_babel import force_locale
from helpers import csrf_meta, field_error, frozen, page_html, text_of
from staff_helpers import actions, post, signed_in_client

from meso import calendar_feeds, formatting, locales
from meso.extensions import db
from meso.models import CalendarFeed, Clinic, Patient, PushSubscription, StaffUser

ROME = ZoneInfo("Europe/Rome")
SESSION = datetime(2026, 11, 20, 10, 0, tzinfo=ROME)  # a Friday
ENROLLED = SESSION + timedelta(hours=3)
EVENING = datetime(2026, 11, 20, 21, 5, tzinfo=ROME)


def html_lang(response) -> str:
    return page_html(response).select_one("html")["lang"]


def patient_client(app, patient, token):
    client = app.test_client()
    assert open_invite(client, token).status_code == 303
    return client


@pytest.fixture
def clinic(app):
    return create_clinic()


def italian(clinic, **options):
    with frozen(ENROLLED):
        patient, token = enrol_patient(clinic, first_session=SESSION.astimezone(UTC), **options)
    patient.lang = "it"
    db.session.commit()
    return patient, token


# -- the locale's own formats ---------------------------------------------------------------

FORMATS = {
    # lang: (when, weekday_time, day_month, day_short, clock)
    "en": ("Fri 20 Nov, 21:05", "Fri 21:05", "Fri 20 Nov", "20 Nov", "21:05"),
    "it": ("ven 20 nov, 21:05", "ven 21:05", "ven 20 nov", "20 nov", "21:05"),
    "fr": ("ven. 20 nov. 21:05", "ven. 21:05", "ven. 20 nov.", "20 nov.", "21:05"),
    "es": ("vie, 20 nov, 21:05", "vie, 21:05", "vie, 20 nov", "20 nov", "21:05"),
}


@pytest.mark.parametrize("lang", locales.SUPPORTED)
def test_dates_and_times_in_each_countrys_own_format_with_a_24_hour_clock(app, lang):
    with app.test_request_context(), force_locale(locales.locale_of(lang)):
        shown = (formatting.when(EVENING), formatting.weekday_time(EVENING),
                 formatting.day_month(EVENING), formatting.day_short(EVENING),
                 formatting.clock(EVENING))
        assert shown == FORMATS[lang]
        assert formatting.time_label(time(21, 0)) == "21:00"
        assert formatting.lang_tag() == {"en": "en-GB", "it": "it-IT", "fr": "fr-FR",
                                         "es": "es-ES"}[lang]


def test_formats_are_found_once_per_locale_not_per_call(app):
    formatting.pattern.cache_clear()
    with app.test_request_context():
        for lang in ("it", "fr", "it", "fr", "it"):
            with force_locale(locales.locale_of(lang)):
                formatting.day_month(EVENING)
    info = formatting.pattern.cache_info()
    assert (info.misses, info.hits) == (2, 3)


def test_unsupported_codes_are_refused_with_the_list():
    assert locales.check(" IT ") == "it"
    with pytest.raises(locales.UnsupportedLanguage, match="use one of en, it, fr, es"):
        locales.check("de")
    assert locales.supported("pt") is None and locales.supported(None) is None


def test_translations_are_read_from_the_repositorys_folder(app):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    assert app.config["BABEL_TRANSLATION_DIRECTORIES"] == str(root / "translations")


# -- which language a request gets ----------------------------------------------------------


def test_patient_pages_speak_the_patients_language_whatever_the_browser(app, clinic):
    patient, token = italian(clinic)
    client = patient_client(app, patient, token)
    for path in ("/today", "/timeline", "/checkins/new", "/reminders", "/calendar"):
        response = client.get(path, headers={"Accept-Language": "fr-FR,fr;q=0.9"})
        assert response.status_code == 200, path
        assert html_lang(response) == "it-IT", path
    # Italian dates on Today: the next session, three weeks after the first.
    with frozen(ENROLLED):
        assert "11 dic" in text_of(page_html(client.get("/today")))
    # The error pages of a patient's browser too.
    assert html_lang(client.get("/no-such-page")) == "it-IT"


def test_a_patient_without_a_language_of_their_own_reads_their_clinics(app):
    clinic = Clinic(name="Clínica Madrid", timezone="Europe/Madrid", lang="es")
    db.session.add(clinic)
    db.session.commit()
    patient, token = enrol_patient(clinic)
    patient.lang = None  # enrolled before languages: follows the clinic
    db.session.commit()
    client = patient_client(app, patient, token)
    assert html_lang(client.get("/today")) == "es-ES"


def test_the_invite_landing_speaks_the_invited_patients_language(app, clinic):
    _patient, token = italian(clinic)
    assert html_lang(app.test_client().get(f"/i/{token}")) == "it-IT"


@pytest.mark.parametrize(("accept", "expected"), [
    ("fr-CH, fr;q=0.9, en;q=0.5", "fr-FR"), ("es", "es-ES"), ("de-DE, de;q=0.9", "en-GB"),
    ("", "en-GB"),
])
def test_staff_pages_follow_the_browser_among_the_supported_languages(app, client, accept,
                                                                       expected):
    headers = {"Accept-Language": accept} if accept else {}
    assert html_lang(client.get("/staff/sign-in", headers=headers)) == expected


def test_a_staff_members_own_language_wins_over_the_browser(app, clinic):
    client = signed_in_client(app, clinic)
    page = client.get("/staff/account", headers={"Accept-Language": "fr"})
    assert html_lang(page) == "fr-FR"
    assert page_html(page).select_one("select#lang option[selected]")["value"] == ""
    assert post(client, "/staff/account", {"lang": "it"}).status_code == 303
    assert db.session.scalar(sa.select(StaffUser.lang)) == "it"
    assert html_lang(client.get("/staff/", headers={"Accept-Language": "fr"})) == "it-IT"
    assert "staff.language_changed" in actions()
    # Back to the browser's.
    assert post(client, "/staff/account", {"lang": ""}).status_code == 303
    assert html_lang(client.get("/staff/", headers={"Accept-Language": "es"})) == "es-ES"


def test_a_staff_language_not_offered_is_refused_next_to_the_field(app, clinic):
    client = signed_in_client(app, clinic)
    response = post(client, "/staff/account", {"lang": "de"})
    assert response.status_code == 400
    assert field_error(response, "lang")
    assert db.session.scalar(sa.select(StaffUser.lang)) is None


# -- the patient's own switch on Today -------------------------------------------------------


def test_today_has_the_small_language_form(app, clinic):
    patient, token = italian(clinic)
    page = page_html(patient_client(app, patient, token).get("/today"))
    form = page.select_one('form[action="/language"]')
    assert form["method"] == "post"
    assert form.select_one('input[name="csrf_token"]')["value"]
    options = {o["value"]: o for o in form.select('select[name="lang"] option')}
    assert list(options) == ["en", "it", "fr", "es"]
    assert options["it"].has_attr("selected") and options["fr"]["lang"] == "fr"
    assert form.select_one(f'label[for="{form.select_one("select")["id"]}"]')


def test_switching_language_on_today_changes_the_next_page_at_once(app, clinic):
    patient, token = italian(clinic)
    client = patient_client(app, patient, token)
    today = client.get("/today")
    assert html_lang(today) == "it-IT"
    version = patient.version
    response = client.post("/language", data={"lang": "fr", "csrf_token": csrf_meta(today)})
    assert (response.status_code, response.headers["Location"]) == (303, "/today")
    db.session.expire_all()
    patient = db.session.get(Patient, patient.id)
    assert patient.lang == "fr" and patient.version > version
    # The kept Today (meso/page_cache.py) of the Italian page is never served again.
    assert html_lang(client.get("/today")) == "fr-FR"
    with frozen(ENROLLED):
        assert "11 déc." in text_of(page_html(client.get("/today")))
    assert html_lang(client.get("/timeline")) == "fr-FR"
    assert "patient.language_changed" in actions(patient_id=patient.id)


def test_the_language_form_needs_its_csrf_token_and_a_supported_language(app, clinic):
    patient, token = italian(clinic)
    client = patient_client(app, patient, token)
    today = client.get("/today")
    assert client.post("/language", data={"lang": "fr"}).status_code == 400
    refused = client.post("/language", data={"lang": "de", "csrf_token": csrf_meta(today)})
    assert refused.status_code == 400
    # Said in the patient's own language, like every page of theirs.
    assert "Scelga una delle lingue dell'elenco." in text_of(page_html(refused))
    assert client.post("/language", data={"csrf_token": csrf_meta(today)}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Patient, patient.id).lang == "it"
    assert client.get("/language").status_code == 405


def test_only_a_signed_in_patient_can_switch(app, clinic):
    italian(clinic)
    client = app.test_client()
    token = csrf_meta(client.get("/staff/sign-in"))
    assert client.post("/language", data={"lang": "fr", "csrf_token": token}).status_code == 401


# -- staff choose it for the patient ---------------------------------------------------------


def test_enrolment_offers_the_clinics_language_first_and_stores_the_choice(app):
    clinic = Clinic(name="Clinique Lyon", timezone="Europe/Paris", lang="fr")
    db.session.add(clinic)
    db.session.commit()
    client = signed_in_client(app, clinic)
    form = page_html(client.get("/staff/patients/new"))
    assert form.select_one("select#lang option[selected]")["value"] == "fr"
    data = {"name": "Chiara Neri", "area": "face", "first_session": "2026-11-20T10:00",
            "planned_sessions": "4", "interval_weeks": "3", "timezone": "Europe/Rome"}
    assert post(client, "/staff/patients/new", {**data, "lang": "it"}).status_code == 303
    refused = post(client, "/staff/patients/new", {**data, "name": "X", "lang": "xx"})
    assert refused.status_code == 400 and field_error(refused, "lang")
    assert db.session.scalars(sa.select(Patient.lang)).all() == ["it"]


def test_staff_change_a_patients_language_on_their_page(app, clinic):
    patient, _ = italian(clinic)
    with frozen(ENROLLED):  # the staff session lives in the same (frozen) time
        client = signed_in_client(app, clinic)
        page = page_html(client.get(f"/staff/patients/{patient.id}"))
        assert page.select_one("#language-lang option[selected]")["value"] == "it"
        # What the patient will receive is shown as they will read it: Italian dates.
        assert "dom 10:00" in text_of(page.select_one("#planned-reminders"))
        url = f"/staff/patients/{patient.id}/language"
        assert post(client, url, {"language-lang": "es"}).status_code == 303
        assert db.session.get(Patient, patient.id).lang == "es"
        refused = post(client, url, {"language-lang": "de"})
    assert refused.status_code == 400 and field_error(refused, "language-lang")
    assert db.session.get(Patient, patient.id).lang == "es"


def test_staff_of_another_clinic_cannot_change_it(app, clinic):
    patient, _ = italian(clinic)
    other = signed_in_client(app, create_clinic(name="Clinica Napoli"), email="b@x.example")
    response = post(other, f"/staff/patients/{patient.id}/language", {"language-lang": "fr"})
    assert response.status_code == 404
    assert db.session.get(Patient, patient.id).lang == "it"


def test_the_clinics_language_is_a_setting_for_admins(app, clinic):
    client = signed_in_client(app, clinic, role="admin")
    page = page_html(client.get("/staff/settings"))
    assert page.select_one("select#lang option[selected]")["value"] == "en"
    form = {field["name"]: field.get("value", "") for field in page.select("form input")
            if field.get("name") and field.get("type") != "checkbox"}
    form.pop("csrf_token", None)
    response = post(client, "/staff/settings", {**form, "lang": "it"})
    assert response.status_code == 303, field_error(response, "lang")
    assert db.session.get(Clinic, clinic.id).lang == "it"
    patient, _ = enrol_patient(db.session.get(Clinic, clinic.id), name="Nuova Paziente")
    assert patient.lang == "it"  # new patients get it
    practitioner = signed_in_client(app, clinic, email="p@clinic.example")
    assert practitioner.get("/staff/settings").status_code == 403


# -- the command line and the CSV import -----------------------------------------------------


def enrol_cli(runner, *extra):
    return runner.invoke(args=["patients", "enroll", "--clinic", "Clinica Roma", "--name",
                               "Maria Rossi", "--area", "face", "--session", "2026-11-20T10:00",
                               "--tz", "Europe/Rome", *extra])


def test_patients_enroll_takes_lang(runner, clinic):
    with frozen(ENROLLED):
        result = enrol_cli(runner, "--lang", "fr")
        assert result.exit_code == 0, result.output
        assert db.session.scalar(sa.select(Patient.lang)) == "fr"
        refused = enrol_cli(runner, "--lang", "de")
    assert refused.exit_code == 1
    assert "--lang 'de' is not a supported language; use one of en, it, fr, es" in refused.output
    assert "Traceback" not in refused.output
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == 1


def test_patients_enroll_without_lang_gives_the_clinics(runner, clinic):
    clinic.lang = "es"
    db.session.commit()
    with frozen(ENROLLED):
        assert enrol_cli(runner).exit_code == 0
    assert db.session.scalar(sa.select(Patient.lang)) == "es"


def test_reminders_preview_takes_lang(runner):
    args = ["reminders", "preview", "--area", "face", "--session", "2026-11-20T10:00",
            "--tz", "Europe/Rome", "--json"]
    items = {i["key"]: i for i in json.loads(runner.invoke(args=[*args, "--lang", "it"]).output)}
    assert "dom 10:00" in items["session_day"]["body"]
    english = {i["key"]: i for i in json.loads(runner.invoke(args=args).output)}
    assert "Sun 10:00" in english["session_day"]["body"]
    refused = runner.invoke(args=[*args, "--lang", "klingon"])
    assert refused.exit_code == 1
    assert "is not a supported language; use one of en, it, fr, es" in refused.output


CSV = """name,area,first session,lang
Luca Bianchi,scalp,2026-11-21 20:30,it
Claire Martin,face,2026-11-22 10:00,FR
Ana García,body,2026-11-23 10:00,
"""


def test_the_csv_import_takes_a_lang_column(runner, tmp_path, clinic):
    path = tmp_path / "patients.csv"
    path.write_text(CSV, encoding="utf-8")
    with frozen(ENROLLED):
        result = runner.invoke(args=["patients", "import", str(path), "--clinic", clinic.name])
    assert result.exit_code == 0, result.output
    langs = dict(db.session.execute(sa.select(Patient.name, Patient.lang)).all())
    assert langs == {"Luca Bianchi": "it", "Claire Martin": "fr", "Ana García": "en"}


def test_the_csv_import_takes_lang_for_rows_without_one(runner, tmp_path, clinic):
    """`patients import … --lang es`: the rows that name no language get Spanish; a row's
    own language still wins."""
    path = tmp_path / "patients.csv"
    path.write_text(CSV, encoding="utf-8")
    args = ["patients", "import", str(path), "--clinic", clinic.name]
    refused = runner.invoke(args=[*args, "--lang", "de"])
    assert refused.exit_code == 1
    assert "--lang 'de' is not a supported language; use one of en, it, fr, es" in refused.output
    with frozen(ENROLLED):
        dry = runner.invoke(args=[*args, "--lang", "es", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "Ana García · body · 2026-11-23 10:00 Europe/Rome" in dry.output
        result = runner.invoke(args=[*args, "--lang", "es"])
    assert result.exit_code == 0, result.output
    langs = dict(db.session.execute(sa.select(Patient.name, Patient.lang)).all())
    assert langs == {"Luca Bianchi": "it", "Claire Martin": "fr", "Ana García": "es"}


def test_the_csv_import_refuses_an_unsupported_lang_and_imports_nothing(runner, tmp_path,
                                                                         clinic):
    path = tmp_path / "patients.csv"
    path.write_text(CSV.replace(",it\n", ",deutsch\n"), encoding="utf-8")
    with frozen(ENROLLED):
        result = runner.invoke(args=["patients", "import", str(path), "--clinic", clinic.name])
    assert result.exit_code == 1
    assert ("Row 2: lang: 'deutsch' is not a supported language; use one of en, it, fr, es"
            in result.output)
    assert db.session.scalar(sa.select(sa.func.count(Patient.id))) == 0


# -- the installable app: manifest, offline page, service worker -----------------------------


def test_pages_link_the_manifest_and_worker_of_their_language(app, clinic):
    patient, token = italian(clinic)
    page = page_html(patient_client(app, patient, token).get("/today"))
    assert page.select_one('link[rel="manifest"]')["href"] == "/manifest.webmanifest?lang=it"
    assert page.select_one("body")["data-sw-url"] == "/sw.js?lang=it"


@pytest.mark.parametrize("lang", ["it", "fr", "es"])
def test_the_manifest_and_offline_page_of_a_language(client, lang):
    manifest = json.loads(client.get(f"/manifest.webmanifest?lang={lang}").data)
    assert manifest["lang"] == locales.locale_of(lang).replace("_", "-")
    offline = client.get(f"/offline?lang={lang}", headers={"Accept-Language": "en"})
    assert html_lang(offline) == locales.locale_of(lang).replace("_", "-")


def build_of(client, url: str) -> dict:
    source = client.get(url).get_data(as_text=True)
    return json.loads(re.search(r"^const BUILD = (\{.*\});$", source, re.MULTILINE).group(1))


def test_the_service_worker_keeps_the_offline_page_of_the_language_it_was_given(client):
    italian_build = build_of(client, "/sw.js?lang=it")
    assert italian_build["offline"] == "/offline?lang=it"
    assert "/offline?lang=it" in italian_build["shell"]
    assert "/manifest.webmanifest?lang=it" in italian_build["shell"]
    french = build_of(client, "/sw.js?lang=fr")
    # Another language is another worker, with its own cache.
    assert french["offline"] == "/offline?lang=fr" and french["version"] != italian_build["version"]
    for url in italian_build["shell"]:
        assert client.get(url).status_code == 200, url


# -- the printed card, the calendar ----------------------------------------------------------


def test_the_printed_card_is_in_the_patients_language_on_an_english_staff_page(app, clinic):
    patient, _ = italian(clinic)
    client = signed_in_client(app, clinic)
    post(client, f"/staff/patients/{patient.id}/invite")
    page = page_html(client.get(f"/staff/patients/{patient.id}/invite",
                                headers={"Accept-Language": "en"}))
    assert page.select_one("html")["lang"] == "en-GB"
    card = page.select_one(".print-card")
    assert card["lang"] == "it-IT"
    assert card.select_one("svg.qr") is not None and "Maria" in text_of(card)


def test_a_language_change_is_a_new_revision_of_the_calendar_feed(app, clinic):
    patient, token = italian(clinic)
    calendar_feeds.issue(patient, datetime(2026, 11, 20, 13, 0, tzinfo=UTC))
    db.session.commit()
    before = db.session.scalar(sa.select(CalendarFeed.revision))
    client = patient_client(app, patient, token)
    today = client.get("/today")
    client.post("/language", data={"lang": "es", "csrf_token": csrf_meta(today)})
    db.session.expire_all()
    assert db.session.scalar(sa.select(CalendarFeed.revision)) == before + 1
    body = calendar_feeds.ical(db.session.get(Patient, patient.id), None,
                               datetime(2026, 11, 20, 13, 0, tzinfo=UTC)).decode()
    assert "X-WR-CALNAME" in body


# -- reminders at send time ------------------------------------------------------------------


def test_switching_on_today_switches_the_next_notification(app, clinic, fake_push, runner):
    """Done when: enrolled in Italian, a reminder in Italian; switched to French on Today,
    the next one in French (the push decrypted by the fake push service)."""
    patient, token = italian(clinic)
    client = patient_client(app, patient, token)
    phone = fake_push.subscription()
    keys = phone.json["keys"]
    db.session.add(PushSubscription(patient_id=patient.id, endpoint=phone.endpoint,
                                    p256dh=keys["p256dh"], auth=keys["auth"]))
    db.session.commit()
    with frozen(ENROLLED):
        assert runner.invoke(args=["reminders", "run", "--once"]).exit_code == 0
    [first] = fake_push.messages()
    shown = first.payload["notification"]
    assert (shown["tag"], shown["lang"]) == ("session_day", "it-IT")
    assert "dom 10:00" in shown["body"]  # until Sunday 10:00, the Italian way
    # Worded as `reminders preview --lang it` words it: one renderer, one language.
    preview = runner.invoke(args=["reminders", "preview", "--area", "face", "--session",
                                  "2026-11-20T10:00", "--tz", "Europe/Rome", "--lang", "it",
                                  "--json"])
    said = next(i for i in json.loads(preview.output) if i["key"] == "session_day")
    assert (shown["title"], shown["body"]) == (said["title"], said["body"])

    today = client.get("/today")
    assert client.post("/language", data={"lang": "fr", "csrf_token": csrf_meta(today)}
                       ).status_code == 303
    with frozen(datetime(2026, 11, 21, 18, 0, tzinfo=ROME)):
        assert runner.invoke(args=["reminders", "run", "--once"]).exit_code == 0
    later = [m.payload["notification"] for m in fake_push.messages()][1:]
    assert later and {n["lang"] for n in later} == {"fr-FR"}
    heat = next(n for n in later if n["tag"] == "heat_day1")
    assert "dim. 10:00" in heat["body"]
