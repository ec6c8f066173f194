"""An officer, on a phone, right after a visit: log in, open a lead, log the contact; a manager
at his desk reading his board, the list and a record (their screenshots are the README's)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.core.timeutil import today_local
from tests.e2e.conftest import log_in, shoot


def test_officer_logs_a_contact_from_a_phone(phone: Any) -> None:
    log_in(phone, "officer")
    assert phone.url.endswith("/my")
    assert phone.locator("h1").first.inner_text().startswith("我的工作")
    shoot(phone, "my-work-phone.png")

    phone.goto("/leads")
    phone.locator("table tbody tr a").first.click()
    phone.wait_for_load_state()
    title = phone.locator("h1").first.inner_text()

    phone.select_option("select[name=contact-contact_type]", "phone")
    phone.fill("textarea[name=contact-summary]", "电话回访：企业确认下周来园区考察。")
    phone.fill("input[name=contact-next_step]", "安排园区考察")
    phone.click("#log-contact button[type=submit]")
    phone.wait_for_load_state()

    assert "已记录联系" in phone.content()
    assert phone.locator("h1").first.inner_text() == title
    assert "电话回访：企业确认下周来园区考察。" in phone.locator(".timeline").inner_text()


def test_bad_amount_is_explained_next_to_the_field(phone: Any) -> None:
    log_in(phone, "officer")
    phone.goto("/leads/new")
    phone.fill("input[name=title]", "测试线索")
    phone.fill("input[name=enterprise]", "不存在的企业")
    phone.fill("input[name=estimated_investment]", "三个亿")
    phone.click("main form button[type=submit]")
    phone.wait_for_load_state()
    feedback = phone.locator(".invalid-feedback").all_inner_texts()
    assert any("无法识别的金额" in text for text in feedback)


def test_pages_fit_a_phone_screen(phone: Any) -> None:
    log_in(phone, "manager")
    for path in ("/board", "/leads", "/projects", "/enterprises/"):
        phone.goto(path)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone ({width}px)"


def test_signing_proposed_by_an_officer_is_confirmed_by_a_manager(
    browser: Any, live_server: str
) -> None:
    today = dt.date.today().isoformat()
    officer = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    page = officer.new_page()
    log_in(page, "officer")
    page.goto("/leads?stage=contacted")
    page.locator("table tbody tr a").first.click()
    page.wait_for_load_state()
    lead_url = page.url

    # Skipping 洽谈 on the way to 签约: the page asks for its date only once 签约 is chosen.
    skip_row = page.locator("[data-skip-stage=negotiating]")
    assert skip_row.is_hidden()
    page.select_option("select[name=stage-target]", "signed")
    assert skip_row.is_visible()
    page.fill("input[name=stage-skip_negotiating]", today)
    page.fill("input[name=stage-effective_on]", today)
    page.click("#change-stage button[type=submit]")
    page.wait_for_load_state()
    assert "等待园区负责人确认" in page.content()
    assert page.locator(".badge.stage").first.inner_text() == "接洽"
    officer.close()

    admin = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    page = admin.new_page()
    log_in(page, "admin")
    page.goto(lead_url)
    page.click("form[action$='/confirm'] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator(".badge.stage").first.inner_text() == "签约"
    timeline = page.locator(".timeline").inner_text()
    assert "张伟 记录" in timeline and "系统管理员 确认" in timeline
    admin.close()


def test_a_manager_reads_his_board_the_list_and_a_record(desktop: Any) -> None:
    log_in(desktop, "manager")
    desktop.goto("/board")
    assert desktop.locator("h1").first.inner_text().startswith("园区看板")
    shoot(desktop, "board.png")

    desktop.goto("/leads")
    rows = desktop.locator("table tbody tr")
    assert rows.count() > 1
    shoot(desktop, "leads.png")

    # A record with a long history: one in full production.
    desktop.goto("/leads?stage=full_production")
    desktop.locator("table tbody tr a").first.click()
    desktop.wait_for_load_state()
    assert desktop.locator(".timeline").count() == 1
    # The contact form starts on today in Asia/Shanghai (the machine's clock may be on UTC).
    assert desktop.input_value("input[name=contact-contact_on]") == today_local().isoformat()
    assert not desktop.errors, desktop.errors
    shoot(desktop, "lead-detail.png")


def test_officer_corrects_then_removes_a_contact_from_a_phone(phone: Any) -> None:
    log_in(phone, "officer")
    phone.goto("/leads")
    phone.locator("table tbody tr a").first.click()
    phone.wait_for_load_state()
    record = phone.url

    phone.fill("textarea[name=contact-summary]", "拜访：记错了企业的联系人。")
    phone.click("#log-contact button[type=submit]")
    phone.wait_for_load_state()
    entry = phone.locator(".timeline li", has_text="拜访：记错了企业的联系人。")

    # Correct it: the pencil opens the contact's own form, filled in.
    entry.locator("a[href*='/contacts/']").click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "更正联系记录"
    summary = phone.locator("textarea[name=summary]")
    assert summary.input_value() == "拜访：记错了企业的联系人。"
    summary.fill("拜访：与企业总经理面谈用地需求。")
    phone.click("main form button[type=submit]")
    phone.wait_for_load_state()
    assert phone.url.startswith(record) and "已更正联系记录" in phone.content()
    entry = phone.locator(".timeline li", has_text="拜访：与企业总经理面谈用地需求。")
    assert "已更正" in entry.inner_text()

    # Remove it: a dismissed confirmation keeps it, an accepted one removes it.
    phone.once("dialog", lambda dialog: dialog.dismiss())
    entry.locator("button[data-confirm]").click()
    assert entry.count() == 1
    phone.once("dialog", lambda dialog: dialog.accept())
    entry.locator("button[data-confirm]").click()
    phone.wait_for_load_state()
    assert "已删除联系记录" in phone.content()
    assert "与企业总经理面谈用地需求" not in phone.locator(".timeline").inner_text()
    # The record's change history keeps what the contact said.
    phone.locator("details summary", has_text="修改历史").click()
    assert "与企业总经理面谈用地需求" in phone.locator("details").inner_text()
