"""The languages the app speaks, and which one a patient or a staff member gets.

A language is stored as its code ("en", "it", "fr", "es": Clinic.lang, Patient.lang,
StaffUser.lang). Pages are rendered in a full locale, the country's, so that dates and times
come in its own formats: English is en_GB (24-hour clock, day before month, as European
clinics write), Italian it_IT, French fr_FR, Spanish es_ES. Their catalogues are found by the
language alone (translations/it/...).

Who decides for a request (meso/locale_selector.py, Flask-Babel's locale selector):
- patient pages and the patient's APIs: the patient's language, else their clinic's;
- staff pages: the staff member's own choice, else the browser's Accept-Language among the
  supported languages, else English;
- the manifest, the offline page and the service worker: the ``lang`` they were asked with
  (the pages name it in their links, so an installed app keeps the patient's language);
- anything else: Accept-Language, else English.
"""

from __future__ import annotations

from flask import request

DEFAULT = "en"
# The locale each language is rendered in (its dates, times and plural rules).
LOCALES = {"en": "en_GB", "it": "it_IT", "fr": "fr_FR", "es": "es_ES"}
SUPPORTED = tuple(LOCALES)
# Each language named in itself, so a patient finds their own in a list they cannot read.
NAMES = {"en": "English", "it": "Italiano", "fr": "Français", "es": "Español"}


class UnsupportedLanguage(ValueError):
    """A language code the app has no catalogue for; the message says which it has."""


def check(code: str | None) -> str:
    """Return a supported language code ('IT ' → 'it'), or raise UnsupportedLanguage."""
    value = (code or "").strip().lower().replace("_", "-")
    if value in LOCALES:
        return value
    raise UnsupportedLanguage(
        f"{code!r} is not a supported language; use one of {', '.join(SUPPORTED)}")


def supported(code: str | None) -> str | None:
    """Return the code if it is a supported language, else None."""
    try:
        return check(code)
    except UnsupportedLanguage:
        return None


def locale_of(lang: str | None) -> str:
    """The locale a language is rendered in ('it' → 'it_IT'); unknown → the default's."""
    return LOCALES.get(lang or DEFAULT, LOCALES[DEFAULT])


def language_of(locale) -> str:
    """The language code of a locale ('it_IT' → 'it')."""
    return str(locale).split("_")[0].split("-")[0]


def patient_lang(patient) -> str:
    """The language a patient reads: their own, else their clinic's."""
    return lang_of(patient.lang, patient.clinic.lang)


def lang_of(patient_lang: str | None, clinic_lang: str | None) -> str:
    return supported(patient_lang) or supported(clinic_lang) or DEFAULT


def patient_locale(patient) -> str:
    return locale_of(patient_lang(patient))


def choices() -> list[tuple[str, str]]:
    """(code, name) for a select, each language in its own words."""
    return [(code, NAMES[code]) for code in SUPPORTED]


def browser_lang() -> str:
    """The best supported language of the request's Accept-Language, else the default."""
    return request.accept_languages.best_match(SUPPORTED) or DEFAULT
