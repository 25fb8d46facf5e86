"""The pages' shared pieces: the protocol by its name, the macros in templates/_macros.html, and
the page scripts' shared helpers and addresses (static/js/common.js, data-*-url attributes)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import jinja2.meta
import pytest
from bs4 import BeautifulSoup
from conftest import create_clinic, create_staff, enrol_patient, open_invite, sign_in
from flask import render_template_string
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from helpers import page_html, text_of, unhashed
from wtforms import IntegerField

from meso.models import Clinic

ROOT = Path(__file__).resolve().parent.parent
PAGE_SCRIPTS = sorted((ROOT / "static" / "js").glob("*.js"))
# The service worker's own files run where there is no page, no DOM and no ES module import:
# they keep their few addresses as named constants (static/js/sw-push.js).
WORKER_SCRIPTS = {"sw-push.js"}


def render(app, source: str, **context) -> BeautifulSoup:
    with app.test_request_context("/staff/"):
        return page_html(render_template_string(source, **context))


# -- the protocol ----------------------------------------------------------------------------

def test_templates_read_the_protocol_as_protocol(app):
    """The context processor names the module `protocol`; no template still says `p`."""
    env = app.jinja_env
    used = set()
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = path.relative_to(ROOT / "templates").as_posix()
        source = env.loader.get_source(env, name)[0]
        names = jinja2.meta.find_undeclared_variables(env.parse(source))
        assert "p" not in names, name
        used |= names
    assert "protocol" in used
    html = render(app, "{{ _(protocol.AREA_NAMES['scalp']) }} {{ protocol.RESTRICTIONS|length }}")
    assert text_of(html) == "Scalp 8"  # seven restrictions of DESIGN.md and the scalp's hair wash


# -- macros ----------------------------------------------------------------------------------

POST_BUTTON = '{% from "_macros.html" import post_button %}'


def test_post_button_is_a_small_form_with_the_csrf_token_and_one_button(app):
    with app.test_request_context("/staff/"):
        token = generate_csrf()
        html = page_html(render_template_string(
            POST_BUTTON + '{{ post_button("/staff/team/3/active", "Deactivate",'
            ' button_class="danger", form_class="inline", confirm="Deactivate ann@x?",'
            ' fields={"active": "0"}) }}'))
    [form] = html.select("form")
    assert (form["method"], form["action"]) == ("post", "/staff/team/3/active")
    assert form["class"] == ["inline"]
    assert form["data-confirm"] == "Deactivate ann@x?"
    hidden = {i["name"]: i["value"] for i in form.select('input[type="hidden"]')}
    assert hidden == {"csrf_token": token, "active": "0"}
    [button] = form.select("button")
    assert (button["type"], button["class"], text_of(button)) == (
        "submit", ["danger"], "Deactivate")


def test_post_button_without_options_asks_nothing(app):
    html = render(app, POST_BUTTON + '{{ post_button("/staff/patients/1/restore", "Restore") }}')
    [form] = html.select("form")
    assert not form.has_attr("data-confirm") and not form.has_attr("class")
    assert [i["name"] for i in form.select("input")] == ["csrf_token"]
    assert not form.select_one("button").has_attr("class")


def test_every_post_form_on_the_staff_pages_carries_the_csrf_token(app, client):
    clinic = create_clinic()
    create_staff(clinic, role="admin")
    create_staff(clinic, email="bea@clinic.example")
    patient, _ = enrol_patient(clinic)
    sign_in(client)
    for url in ("/staff/", f"/staff/patients/{patient.id}", f"/staff/patients/{patient.id}/invite",
                "/staff/team", "/staff/settings", "/staff/account"):
        forms = page_html(client.get(url)).select('form[method="post"]')
        assert forms, url
        for form in forms:
            token = form.select_one('input[name="csrf_token"]')
            assert token is not None and token["value"], (url, form.get("action"))


@pytest.mark.parametrize(("url", "current"), [
    ("/staff/", "Patients"), ("/staff/patients/new", "Enrol a patient"), ("/staff/team", "Team"),
    ("/staff/settings", "Settings"), ("/staff/audit", "Audit log"),
    ("/staff/account", "Your account"),
])
def test_staff_nav_marks_the_current_page(app, client, url, current):
    create_staff(create_clinic(), role="admin")
    sign_in(client)
    nav = page_html(client.get(url)).select_one("nav.staff-nav")
    assert [text_of(a) for a in nav.select('a[aria-current="page"]')] == [current]
    assert len(nav.select("a")) == 6


def test_patient_tabs_mark_the_current_page(app, client):
    _, token = enrol_patient(create_clinic())
    assert open_invite(client, token).status_code == 303
    for url, current in (("/today", "Today"), ("/timeline", "Timeline")):
        tabs = page_html(client.get(url)).select_one("nav.tabs")
        assert [text_of(a) for a in tabs.select('a[aria-current="page"]')] == [current]
        assert [a["href"] for a in tabs.select("a")] == ["/today", "/timeline"]


class HoursForm(FlaskForm):
    class Meta:
        csrf = False

    hours = IntegerField("Hours", description="From the session's start.")


FIELD = '{% from "_macros.html" import field %}'


def test_field_ties_its_input_to_help_and_errors(app):
    with app.test_request_context("/staff/"):
        form = HoursForm()
        calm = page_html(render_template_string(FIELD + '{{ field(f, inputmode="numeric") }}',
                                            f=form.hours))
        form.hours.errors = ["At most 2160."]
        wrong = page_html(render_template_string(
            FIELD + '{{ field(f, label="Sauna", help="Default 48 h") }}', f=form.hours))
    field = calm.select_one("div.field")
    assert field["class"] == ["field"]
    assert text_of(field.select_one('label[for="hours"]')) == "Hours"
    put = field.select_one("input#hours")
    assert (put["aria-describedby"], put["inputmode"]) == ("hours-help", "numeric")
    assert not put.has_attr("aria-invalid")
    assert text_of(field.select_one("p.help#hours-help")) == "From the session's start."
    assert field.select_one("p.error") is None

    field = wrong.select_one("div.field")
    assert field["class"] == ["field", "has-error"]
    assert text_of(field.select_one('label[for="hours"]')) == "Sauna"
    put = field.select_one("input#hours")
    assert (put["aria-describedby"], put["aria-invalid"]) == ("hours-help hours-error", "true")
    assert text_of(field.select_one("p.help#hours-help")) == "Default 48 h"
    assert text_of(field.select_one("p.error#hours-error")) == "At most 2160."


def test_control_alone_passes_its_attributes_and_points_at_its_error(app):
    with app.test_request_context("/staff/"):
        form = HoursForm()
        form.hours.errors = ["Whole hours only."]
        html = page_html(render_template_string(
            '{% from "_macros.html" import control, field_errors %}'
            '{{ control(f, inputmode="numeric", placeholder=48) }}{{ field_errors(f) }}',
            f=form.hours))
    put = html.select_one("input#hours")
    assert (put["placeholder"], put["aria-describedby"], put["aria-invalid"]) == (
        "48", "hours-error", "true")
    assert text_of(html.select_one("p.error#hours-error")) == "Whole hours only."


def test_error_summary_only_for_a_form_with_errors(app):
    source = '{% from "_macros.html" import error_summary %}{{ error_summary(form) }}'
    with app.test_request_context("/staff/"):
        form = HoursForm()
        assert page_html(render_template_string(source, form=form)).select_one("p") is None
        form.hours.errors = ["At most 2160."]
        alert = page_html(render_template_string(source, form=form)).select_one('p[role="alert"]')
    assert text_of(alert) == "Please correct the fields marked below."


PAGER = ('{% from "_macros.html" import pager %}'
         '{% macro href(n) %}/staff/?page={{ n }}{% endmacro %}'
         '{{ pager(page, pages, href, "Newer", "Older") }}')


def test_pager_links_the_pages_around_this_one(app):
    nav = render(app, PAGER, page=2, pages=3).select_one("nav.pager")
    links = [(a["rel"], a["href"], text_of(a)) for a in nav.select("a")]
    assert links == [(["prev"], "/staff/?page=1", "Newer"), (["next"], "/staff/?page=3", "Older")]
    assert text_of(nav.select_one("span")) == "Page 2 of 3"
    first = render(app, PAGER, page=1, pages=3).select_one("nav.pager")
    assert [text_of(a) for a in first.select("a")] == ["Older"]
    assert render(app, PAGER, page=1, pages=1).select_one("nav") is None


def test_course_position_says_where_the_patient_is(app):
    source = '{% from "_macros.html" import course_position %}{{ course_position(plan) }}'
    before = SimpleNamespace(day=-3, phase="preparation", sessions_done=0, sessions_planned=4)
    after = SimpleNamespace(day=2, phase="immediate", sessions_done=1, sessions_planned=4)
    assert text_of(render(app, source, plan=before)) == "3 days to go · Before your first session"
    assert text_of(render(app, source, plan=after)) == "Day 2 · Session 1 of 4"


def test_call_clinic_only_with_a_phone(app):
    source = '{% from "_macros.html" import call_clinic %}{{ call_clinic(clinic) }}'
    with_phone = Clinic(name="Clinica Roma", phone="+39 06 1234")
    link = render(app, source, clinic=with_phone).select_one("a")
    assert (link["class"], link["href"]) == (["button", "call"], "tel:+39061234")
    assert text_of(link) == "Call Clinica Roma · +39 06 1234"
    without = Clinic(name="Clinica Roma", phone=None)
    assert render(app, source, clinic=without).select_one("a") is None


# -- page scripts ----------------------------------------------------------------------------

def test_pages_hand_their_scripts_the_addresses_they_call(app, client):
    body = page_html(client.get("/staff/sign-in")).select_one("body")
    assert body["data-sw-url"] == "/sw.js?lang=en"
    assert body["data-checkins-url"] == "/checkins"
    assert body["data-checkin-form-url"] == "/checkins/new"


def test_page_scripts_hard_code_no_address(app):
    """Addresses come from data-*-url attributes rendered by url_for ("/" is the SW's scope)."""
    for path in PAGE_SCRIPTS:
        if path.name in WORKER_SCRIPTS:
            continue
        source = path.read_text()
        literals = re.findall(r"""(["'`])(/[^"'`]*)\1""", source)
        assert {value for _, value in literals} <= {"/"}, path.name


@pytest.mark.parametrize("helper", [
    "navigator.userAgent",  # iOS detection
    "display-mode: standalone",  # installed or not
    "serviceWorker.register(",
    'meta[name="csrf-token"]',
    '"X-CSRFToken"',
    "atob(",  # the VAPID key's bytes
    "window.localStorage",
])
def test_shared_helpers_live_only_in_common_js(helper):
    holders = [p.name for p in PAGE_SCRIPTS
               if p.name not in WORKER_SCRIPTS and helper in p.read_text()]
    assert holders == ["common.js"]


def test_page_scripts_are_modules_in_one_modern_style():
    for path in PAGE_SCRIPTS:
        source = path.read_text()
        assert not re.search(r"\bvar\s", source), f"{path.name}: var"
        assert not re.search(r"\bfunction\s*\(", source), f"{path.name}: function expression"
        assert not re.search(r"\.then\(", source), f"{path.name}: .then (await it)"
        if path.name in WORKER_SCRIPTS:
            assert source.count('"use strict";') == 1, path.name
        elif path.name != "common.js":
            assert 'from "./common.js";' in source, path.name


def test_the_worker_precaches_every_script_a_page_loads(app, client):
    """The shell is complete offline: a module missing from it would fail to import."""
    build = re.search(r"^const BUILD = (\{.*\});$", client.get("/sw.js").get_data(as_text=True),
                      re.MULTILINE)
    shell = set(json.loads(build.group(1))["shell"])
    clinic = create_clinic()
    create_staff(clinic)
    _, token = enrol_patient(clinic)
    assert open_invite(client, token).status_code == 303
    loaded = set()
    for url in ("/today", "/reminders", "/staff/sign-in"):
        html = page_html(client.get(url))
        for script in html.select("script[src]"):
            loaded.add(script["src"])
            served = client.get(script["src"])
            loaded |= {f"/static/js/{name}" for name in
                       re.findall(r'from "\./([\w.-]+\.js)"', served.get_data(as_text=True))}
            served.close()
    assert {"/static/js/common.js", "/static/js/app.js", "/static/js/checkins.js",
            "/static/js/countdown.js", "/static/js/reminders.js",
            "/static/js/staff.js"} <= {unhashed(url) for url in loaded}
    # Pages and imports name the same hashed files: each module loads once, under one name.
    assert loaded <= shell
