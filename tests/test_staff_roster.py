"""The roster at /staff/: columns, attention badges, search, sorting and pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from conftest import create_clinic, enrol_patient
from helpers import assert_no_inline_code, frozen, page_html, text_of
from staff_helpers import signed_in_client

from meso import access
from meso.extensions import db
from meso.models import CheckIn
from meso.roster_query import PER_PAGE

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    with frozen(NOW):
        yield


@pytest.fixture
def clinic(app):
    return create_clinic()


@pytest.fixture
def client(app, clinic):
    return signed_in_client(app, clinic, "anna@clinic.example")


def rows(html: str) -> list[str]:
    """The text of each patient row of the roster table."""
    return [text_of(row) for row in page_html(html).select("tbody tr:has(td)")]


def names(html: str) -> list[str]:
    """The patients' names, in the roster's order, each linking to the patient's page."""
    links = page_html(html).select("tbody td.name > a")
    assert all(a["href"].removeprefix("/staff/patients/").isdigit() for a in links), links
    return [a.get_text() for a in links]


def enrol(clinic, name, days_ago, **kwargs):
    return enrol_patient(clinic, name=name, first_session=NOW - timedelta(days=days_ago),
                         **kwargs)[0]


def test_roster_columns(client, clinic):
    opened = enrol(clinic, "Giulia Verdi", 0.125, area="body")
    access.add_device(opened, NOW)
    db.session.add(CheckIn(patient_id=opened.id, local_date=date(2026, 11, 25), feeling=4,
                           symptoms="", idempotency_key="k1", created_at=NOW))
    enrol(clinic, "Luca Bianchi", 30, area="scalp")
    enrol(clinic, "Sofia Neri", -3)
    db.session.commit()
    html = client.get("/staff/").get_data(as_text=True)
    assert_no_inline_code(html)
    table = rows(html)
    # Each needs attention, so by next session: the overdue one first, then by date. Nobody
    # turned reminders on; the two enrolled or treated within 48 h are "not reached".
    assert table == [
        "Luca Bianchi Scalp 1 of 4 30 Over your course Mon 16 Nov overdue No check-in yet "
        "Nothing Reminders off Session overdue Link not opened",
        "Sofia Neri Face 0 of 4 -3 Preparation Sat 28 Nov 13:00 No check-in yet "
        "Nothing Reminders off Link not opened Not reached in the first 48 h",
        "Giulia Verdi Body 1 of 4 0 Immediate Wed 16 Dec (planned) Wed 25 Nov "
        "Nothing Reminders off Not reached in the first 48 h",
    ]
    assert "3 patients" in html


def test_alerts_and_missed_check_ins(client, clinic):
    flagged = enrol(clinic, "Flag Person", 3)
    db.session.add(CheckIn(patient_id=flagged.id, local_date=date(2026, 11, 24), feeling=2,
                           symptoms="fever", advice="call_clinic", idempotency_key="k",
                           created_at=NOW - timedelta(1)))
    enrol(clinic, "Quiet Person", 4)
    for patient in (flagged,):
        access.add_device(patient, NOW)
    db.session.commit()
    page = page_html(client.get("/staff/"))
    table = {row.select_one("td.name a").get_text(): text_of(row)
             for row in page.select("tbody tr")}
    # Day 3: day 2 has its check-in, day 1 none. Day 4: days 1 to 3 passed without one.
    assert table["Flag Person"].startswith("Flag Person ☎ Call back")
    assert table["Flag Person"].endswith("Waiting since Tue 24 Nov, 13:00 No check-in day 1")
    assert "No check-in days 1, 2, 3" in table["Quiet Person"]
    assert "Call back" not in table["Quiet Person"]


def test_search_by_name(client, clinic):
    for name in ("Maria Rossi", "Mario Bianchi", "Anna 100% Verdi", "Anna_Neri"):
        enrol(clinic, name, 5)
    assert names(client.get("/staff/?q=mari").get_data(as_text=True)) == [
        "Maria Rossi", "Mario Bianchi"]
    assert names(client.get("/staff/?q=100%25").get_data(as_text=True)) == ["Anna 100% Verdi"]
    # "_" is a literal underscore, not any character ("Anna 100%" would match otherwise).
    assert names(client.get("/staff/?q=nna_").get_data(as_text=True)) == ["Anna_Neri"]
    html = client.get("/staff/?q=nobody").get_data(as_text=True)
    assert "No patient matches." in html


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("next", ["Due Soon", "Due Later", "Done Course"]),
     ("name", ["Done Course", "Due Later", "Due Soon"]),
     ("recent", ["Done Course", "Due Later", "Due Soon"]),
     ("bogus", ["Due Soon", "Due Later", "Done Course"])],
)
def test_sort(client, clinic, sort, expected):
    enrol(clinic, "Due Soon", 20)
    with frozen(NOW + timedelta(minutes=1)):
        enrol(clinic, "Due Later", 5)
    with frozen(NOW + timedelta(minutes=2)):
        enrol(clinic, "Done Course", 5, sessions=1)
    assert names(client.get(f"/staff/?sort={sort}").get_data(as_text=True)) == expected


def test_pages(client, clinic):
    for n in range(PER_PAGE + 10):
        enrol(clinic, f"Patient {n:03d}", 5)
    first = client.get("/staff/?sort=name").get_data(as_text=True)
    assert len(names(first)) == PER_PAGE and "Page 1 of 2" in first
    assert 'href="/staff/?sort=name&amp;page=2"' in first
    second = client.get("/staff/?sort=name&page=2").get_data(as_text=True)
    assert names(second) == [f"Patient {n:03d}" for n in range(PER_PAGE, PER_PAGE + 10)]
    for page in ("999", "abc", "-1", "0"):
        assert client.get(f"/staff/?sort=name&page={page}").status_code == 200


def test_attention_filter(client, clinic):
    calm = enrol(clinic, "Calm Person", 10)
    access.add_device(calm, NOW)
    db.session.add(CheckIn(patient_id=calm.id, local_date=date(2026, 11, 24), feeling=5,
                           symptoms="", idempotency_key="k", created_at=NOW - timedelta(1)))
    enrol(clinic, "Overdue Person", 30)
    db.session.commit()
    assert names(client.get("/staff/?attention=1").get_data(as_text=True)) == ["Overdue Person"]


def test_other_clinics_and_archived_patients_are_not_listed(client, clinic):
    enrol(clinic, "Maria Rossi", 5)
    archived = enrol(clinic, "Old Patient", 5)
    archived.archived_at = NOW
    other = create_clinic(name="Clinica Napoli", phone="+39 081 000")
    enrol(other, "Luca Napoli", 5)
    db.session.commit()
    assert names(client.get("/staff/").get_data(as_text=True)) == ["Maria Rossi"]
    assert names(client.get("/staff/?archived=1").get_data(as_text=True)) == ["Old Patient"]
    assert "Luca Napoli" not in client.get("/staff/?q=Luca").get_data(as_text=True)
