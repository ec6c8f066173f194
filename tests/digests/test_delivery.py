"""Delivery of the weekly digests to a real SMTP server: once per recipient and week, retried,
resumed after a crash, and never sent twice, even by two senders at once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from sqlalchemy import select

from app.auth.models import Role, User
from app.digests.delivery import Summary, process_due, send_week, week_status
from app.digests.models import DeliveryStatus, DigestDelivery, DigestPreference
from app.digests.weeks import IsoWeek
from app.extensions import db
from tests.factories import UserFactory

WEEK = IsoWeek.last_completed()


@pytest.fixture
def people(world: Any, session: Any) -> dict[str, User]:
    """Every user of the world with an e-mail address, plus one without and one inactive."""
    users = {
        "officer": world.officer,
        "officer2": world.other_officer,
        "manager": world.manager,
        "manager2": world.other_manager,
        "leader": world.leader,
        "admin": world.admin,
    }
    for user in users.values():
        user.email = f"{user.username}@crm.test"
    UserFactory(username="noemail", role=Role.OFFICER, email=None)
    UserFactory(username="gone", role=Role.OFFICER, email="gone@crm.test", active=False)
    session.flush()
    return users


def rows(session: Any, week: IsoWeek = WEEK) -> dict[str, DigestDelivery]:
    session.expire_all()
    found = session.execute(
        select(User.username, DigestDelivery)
        .join(User, User.id == DigestDelivery.user_id)
        .where(DigestDelivery.iso_year == week.year, DigestDelivery.iso_week == week.week)
    )
    return {name: row for name, row in found}


def test_each_recipient_gets_one_mail_with_text_and_html(
    session: Any, people: dict[str, User], inbox: Any
) -> None:
    summary = send_week(session, WEEK)

    assert summary.sent == 6, summary
    assert inbox.recipients == sorted(f"{name}@crm.test" for name in people)
    message = inbox.to("leader@crm.test")[0]
    assert message["Subject"] == f"招商周报 {WEEK.label}"
    assert "刘局长" in str(message["To"])
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert WEEK.label in text.get_content()
    assert "<html" in html.get_content().lower()
    assert message["X-CRM-Digest-Week"] == str(WEEK)
    logged = rows(session)
    assert set(logged) == set(people)
    assert {r.status for r in logged.values()} == {DeliveryStatus.SENT}
    assert all(r.attempts == 1 and r.sent_at is not None for r in logged.values())


def test_a_second_run_sends_nothing(session: Any, people: dict[str, User], inbox: Any) -> None:
    send_week(session, WEEK)
    again = send_week(session, WEEK)

    assert again.created == 0
    assert again.sent == 0
    assert len(inbox.messages) == 6


def test_the_current_week_cannot_be_sent_before_it_ends(session: Any, people: Any) -> None:
    with pytest.raises(ValueError, match="尚未结束"):
        send_week(session, IsoWeek.of(dt.date.today()).next())


def test_opted_out_and_empty_digests_are_skipped(
    session: Any, people: dict[str, User], inbox: Any, monkeypatch: Any
) -> None:
    session.add(DigestPreference(user_id=people["officer"].id, enabled=False))
    # The leader wants no "nothing new" mail, and (in this test) has nothing new.
    session.add(DigestPreference(user_id=people["leader"].id, send_when_empty=False))
    session.flush()
    import app.digests.content as content

    real = content.build_digest

    def build(session: Any, user: User, *args: Any, **kwargs: Any) -> Any:
        digest = real(session, user, *args, **kwargs)
        if user.username == "leader":
            digest.is_empty = True
        return digest

    monkeypatch.setattr(content, "build_digest", build)

    summary = send_week(session, WEEK)

    assert summary.skipped == 2
    assert inbox.to("officer@crm.test") == []
    assert inbox.to("leader@crm.test") == []
    assert len(inbox.messages) == 4
    logged = rows(session)
    assert logged["officer"].status is DeliveryStatus.SKIPPED
    assert logged["leader"].status is DeliveryStatus.SKIPPED
    assert send_week(session, WEEK).sent == 0


def test_refused_messages_are_retried_then_failed_and_nothing_is_lost(
    session: Any, people: dict[str, User], inbox: Any, set_config: Any
) -> None:
    set_config(DIGEST_MAX_ATTEMPTS=3)
    inbox.refuse_next = 2  # two temporary refusals: two digests go out on their second try
    inbox.refused_recipients.add("manager2@crm.test")  # refused every time

    summary = send_week(session, WEEK)

    logged = rows(session)
    failed = logged.pop("manager2")
    assert failed.status is DeliveryStatus.FAILED
    assert failed.attempts == 3
    assert "550" in failed.last_error
    assert failed.sent_at is None
    assert {r.status for r in logged.values()} == {DeliveryStatus.SENT}
    assert sorted(r.attempts for r in logged.values()) == [1, 1, 1, 2, 2]
    assert inbox.recipients == sorted(f"{name}@crm.test" for name in logged)
    assert summary.sent == 5
    assert summary.failed == 1
    assert summary.retrying == 4  # two temporary refusals, two of the three for manager2
    assert week_status(session, WEEK)[DeliveryStatus.FAILED] == 1


def test_back_off_waits_before_the_next_attempt(
    session: Any, people: dict[str, User], inbox: Any, set_config: Any
) -> None:
    set_config(DIGEST_RETRY_BASE_SECONDS=60)
    inbox.refuse_next = 1
    now = dt.datetime.now(dt.UTC)

    first = send_week(session, WEEK, now=now)
    assert (first.sent, first.retrying) == (5, 1)
    waiting = next(r for r in rows(session).values() if r.status is DeliveryStatus.PENDING)
    assert waiting.next_attempt_at == now + dt.timedelta(seconds=60)
    assert "451" in waiting.last_error

    assert process_due(session, now=now + dt.timedelta(seconds=59)).sent == 0
    later = process_due(session, now=now + dt.timedelta(seconds=61))

    assert later.sent == 1
    assert len(inbox.messages) == 6
    assert {r.status for r in rows(session).values()} == {DeliveryStatus.SENT}


def test_a_bug_in_one_digest_does_not_stop_the_others(
    session: Any, people: dict[str, User], inbox: Any, monkeypatch: Any, set_config: Any
) -> None:
    set_config(DIGEST_MAX_ATTEMPTS=2)
    import app.digests.content as content

    real = content.build_digest

    def build(session: Any, user: User, *args: Any, **kwargs: Any) -> Any:
        if user.username == "manager":
            raise RuntimeError("boom")
        return real(session, user, *args, **kwargs)

    monkeypatch.setattr(content, "build_digest", build)

    summary = send_week(session, WEEK)

    assert summary.sent == 5
    logged = rows(session)
    assert logged["manager"].status is DeliveryStatus.FAILED
    assert "RuntimeError: boom" in logged["manager"].last_error


def test_a_crashed_run_is_resumed_after_the_lease(
    session: Any, people: dict[str, User], inbox: Any, set_config: Any
) -> None:
    set_config(DIGEST_CLAIM_LEASE_SECONDS=600)
    now = dt.datetime.now(dt.UTC)
    crashed = DigestDelivery(
        user_id=people["officer"].id,
        iso_year=WEEK.year,
        iso_week=WEEK.week,
        status=DeliveryStatus.SENDING,
        attempts=1,
        claim_token="dead-process",
        claimed_at=now - dt.timedelta(minutes=30),
    )
    busy = DigestDelivery(
        user_id=people["manager"].id,
        iso_year=WEEK.year,
        iso_week=WEEK.week,
        status=DeliveryStatus.SENDING,
        attempts=1,
        claim_token="live-process",
        claimed_at=now - dt.timedelta(seconds=10),
    )
    session.add_all([crashed, busy])
    session.flush()

    summary = send_week(session, WEEK, now=now)

    logged = rows(session)
    assert logged["officer"].status is DeliveryStatus.SENT
    assert logged["officer"].attempts == 2
    # A claim inside its lease belongs to a sender still at work: left alone.
    assert logged["manager"].status is DeliveryStatus.SENDING
    assert logged["manager"].claim_token == "live-process"
    assert inbox.to("manager@crm.test") == []
    assert summary.sent == 5


def test_retry_of_a_failed_row_sends_it_once(
    session: Any, people: dict[str, User], inbox: Any, set_config: Any
) -> None:
    from app.digests.delivery import retry_failed

    set_config(DIGEST_MAX_ATTEMPTS=1)
    inbox.refused_recipients.add("leader@crm.test")
    send_week(session, WEEK)
    failed = rows(session)["leader"]
    assert failed.status is DeliveryStatus.FAILED

    inbox.refused_recipients.clear()
    assert retry_failed(session, failed.id)
    session.commit()
    assert not retry_failed(session, failed.id)  # only a failed row goes back to pending

    assert process_due(session).sent == 1
    assert len(inbox.to("leader@crm.test")) == 1
    assert rows(session)["leader"].status is DeliveryStatus.SENT


def test_two_concurrent_senders_send_each_digest_once(own_db_app: Any) -> None:
    app, inbox = own_db_app
    inbox.delay = 0.02  # keeps both senders busy at the same time
    with app.app_context():
        for n in range(12):
            role = (Role.OFFICER, Role.MANAGER, Role.LEADER, Role.ADMIN)[n % 4]
            db.session.add(
                User(
                    username=f"u{n}",
                    full_name=f"用户{n}",
                    email=f"u{n}@crm.test",
                    role=role,
                    password_hash="x",
                    active=True,
                )
            )
        db.session.commit()

    start = threading.Barrier(2)
    results: list[Summary] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(send_week(db.session, WEEK))
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert inbox.recipients == sorted(f"u{n}@crm.test" for n in range(12))
    assert sum(r.sent for r in results) == 12
    assert sum(r.created for r in results) == 12
    with app.app_context():
        statuses = db.session.scalars(select(DigestDelivery.status)).all()
        db.session.remove()
    assert statuses == [DeliveryStatus.SENT] * 12


def test_preferences_page_saves_the_choice(
    session: Any, people: dict[str, User], login_as: Any
) -> None:
    client = login_as(people["officer"])
    page = client.get("/digests/preferences")
    assert page.status_code == 200
    assert "接收每周周报邮件" in page.get_data(as_text=True)

    response = client.post("/digests/preferences", data={"send_when_empty": "y"})

    assert response.status_code == 302
    preference = session.get(DigestPreference, people["officer"].id)
    assert (preference.enabled, preference.send_when_empty) == (False, True)
    client.post("/digests/preferences", data={"enabled": "y"})
    session.expire_all()
    preference = session.get(DigestPreference, people["officer"].id)
    assert (preference.enabled, preference.send_when_empty) == (True, False)


def test_preview_shows_the_users_digest(
    session: Any, people: dict[str, User], login_as: Any
) -> None:
    client = login_as(people["leader"])
    response = client.get(f"/digests/preview?week={WEEK}")
    assert response.status_code == 200
    assert WEEK.label in response.get_data(as_text=True)
    assert client.get("/digests/preview?week=nonsense").status_code == 404


def test_admin_sees_failed_rows_and_queues_them_again(
    session: Any, people: dict[str, User], inbox: Any, set_config: Any, login_as: Any
) -> None:
    set_config(DIGEST_MAX_ATTEMPTS=1)
    inbox.refused_recipients.add("manager@crm.test")
    send_week(session, WEEK)
    failed = rows(session)["manager"]

    client = login_as(people["admin"])
    page = client.get(f"/admin/digests?week={WEEK}").get_data(as_text=True)
    assert WEEK.label in page
    assert "550 5.1.1 Mailbox unavailable" in page
    assert "重新发送" in page

    response = client.post(
        f"/admin/digests/retry?week={WEEK}", data={"delivery_id": str(failed.id)}
    )
    assert response.status_code == 302
    assert rows(session)["manager"].status is DeliveryStatus.PENDING
    # Posting again finds nothing to resend.
    client.post("/admin/digests/retry", data={"delivery_id": str(failed.id)})
    assert rows(session)["manager"].status is DeliveryStatus.PENDING

    inbox.refused_recipients.clear()
    assert process_due(session).sent == 1
    assert len(inbox.to("manager@crm.test")) == 1
