"""The translation catalogues themselves: complete, faithful to the source's placeholders and
plurals, and up to date with the code (`make messages`).

test_every_message_is_translated fails, naming the missing entries, until every catalogue is
fully translated: an English sentence in the middle of an Italian page is the bug it catches.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from meso import locales

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
LANGS = [lang for lang in locales.SUPPORTED if lang != locales.DEFAULT]

# %(name)s, %(num)d, %s, %d (Python's % formatting, which gettext and ngettext apply) and
# {name} (str.format, in a few texts handed to scripts). %% is a literal percent sign.
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdif]|%[sdif]|\{[a-z_]*\}")


def catalogue(lang: str) -> Catalog:
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=lang)


def template() -> Catalog:
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        return read_po(handle)


def placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple | list) else [message.string]


def sources(message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple | list) else [message.id]


def entries(cat: Catalog):
    return [m for m in cat if m.id]  # the header (msgid "") aside


def test_the_supported_languages_have_their_catalogues():
    for lang in LANGS:
        assert (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").is_file(), lang
        assert catalogue(lang).locale.language == lang


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_is_translated(lang):
    """No empty and no fuzzy entry: either would show English (or a wrong guess)."""
    missing = [f"  {m.id!r}" for m in entries(catalogue(lang))
               if not all(forms(m)) or m.fuzzy]
    assert not missing, (f"{len(missing)} untranslated or fuzzy entries in "
                         f"translations/{lang}/LC_MESSAGES/messages.po:\n" + "\n".join(missing))


@pytest.mark.parametrize("lang", LANGS)
def test_every_placeholder_survives_translation(lang):
    """A translation keeps every placeholder of its source and adds none: a lost one drops a
    date or a number from the patient's page, an unknown one is a KeyError at run time.

    A plural's forms for one, two... may leave out the count ("un giorno"); the last form
    (the one for most numbers) keeps it."""
    problems = []
    for message in entries(catalogue(lang)):
        wanted = placeholders(sources(message)[-1])
        translated = forms(message)
        for index, text in enumerate(translated):
            if not text:
                continue  # reported by test_every_message_is_translated
            found = placeholders(text)
            last = index == len(translated) - 1
            may_drop = {"%(num)d"} if isinstance(message.id, tuple | list) and not last else set()
            lost = [p for p in wanted if p not in found and p not in may_drop]
            extra = [p for p in found if p not in wanted]
            if lost or extra:
                problems.append(f"  {sources(message)[0]!r} → {text!r}: lost {lost}, "
                                f"unknown {extra}")
    assert not problems, f"placeholders changed in {lang}:\n" + "\n".join(problems)


@pytest.mark.parametrize("lang", LANGS)
def test_plurals_have_every_form_of_the_language(lang):
    cat = catalogue(lang)
    assert cat.num_plurals == get_plural(lang).num_plurals  # the header's Plural-Forms
    wrong = [f"  {m.id[0]!r}: {len(forms(m))} forms" for m in entries(cat)
             if isinstance(m.id, tuple | list) and len(forms(m)) != cat.num_plurals]
    assert not wrong, f"plurals in {lang} need {cat.num_plurals} forms:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", LANGS)
def test_babel_finds_no_format_error(lang):
    """Babel's own checks (python-format entries that would not format)."""
    errors = [f"  {message.id!r}: {'; '.join(map(str, problems))}"
              for message, problems in catalogue(lang).check() if message.string]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("lang", LANGS)
def test_each_catalogue_holds_exactly_the_templates_messages(lang):
    """`make messages` ran after the last change of a text: no message is missing from a
    catalogue (it would show in English) and none is left over."""
    wanted = {m.id if isinstance(m.id, str) else tuple(m.id) for m in entries(template())}
    have = {m.id if isinstance(m.id, str) else tuple(m.id) for m in entries(catalogue(lang))}
    assert sorted(map(str, wanted - have)) == [], "missing: run make messages"
    assert sorted(map(str, have - wanted)) == [], "left over: run make messages"


def test_the_template_holds_every_marked_string(tmp_path):
    """Every string marked in the code and templates is in translations/messages.pot (the
    same extraction `make messages` runs)."""
    out = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "--sort-output",
         "-o", str(out), "."],
        cwd=ROOT, check=True, capture_output=True)
    with out.open("rb") as handle:
        extracted = {m.id if isinstance(m.id, str) else tuple(m.id)
                     for m in read_po(handle) if m.id}
    kept = {m.id if isinstance(m.id, str) else tuple(m.id) for m in entries(template())}
    assert sorted(map(str, extracted - kept)) == [], "not in messages.pot: run make messages"
    assert sorted(map(str, kept - extracted)) == [], "gone from the code: run make messages"
