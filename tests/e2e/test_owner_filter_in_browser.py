"""A park manager filters the lead list by owner: types part of a name, picks the suggestion."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.conftest import log_in

# The owner column of the list's table, whatever its position.
OWNER_CELLS = """() => {
  const heads = [...document.querySelectorAll("table thead th")].map((th) => th.innerText.trim());
  const column = heads.indexOf("负责人");
  return [...document.querySelectorAll("table tbody tr")]
    .map((tr) => tr.children[column])
    .filter((td) => td)
    .map((td) => td.innerText.trim());
}"""


@pytest.fixture
def desk(browser: Any, live_server: str) -> Any:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="zh-CN", base_url=live_server
    )
    page = context.new_page()
    yield page
    context.close()


def test_manager_picks_an_owner_from_the_suggestions(desk: Any) -> None:
    page = desk
    log_in(page, "manager")
    page.goto("/leads")
    box = page.locator("input[data-owner-name]")
    assert page.locator("select[name=owner]").count() == 0

    box.press_sequentially("娜")
    option = page.locator("[data-owner-menu] [role=option]", has_text="李娜")
    option.wait_for(state="visible")
    assert "招商专员" in option.inner_text()
    option.click()

    assert box.input_value() == "李娜"
    chosen = page.locator("input[data-owner-id]").input_value()
    assert chosen.isdigit()
    assert page.locator("[data-owner-menu]").is_hidden()

    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    args = parse_qs(urlsplit(page.url).query)
    assert args["owner"] == [chosen]
    assert "owner_name" not in args
    assert page.locator("input[data-owner-name]").input_value() == "李娜"
    owners = page.evaluate(OWNER_CELLS)
    assert owners
    assert set(owners) == {"李娜"}


def test_keyboard_choice_and_clearing(desk: Any) -> None:
    page = desk
    log_in(page, "admin")
    page.goto("/projects")
    box = page.locator("input[data-owner-name]")

    box.press_sequentially("海涛")
    page.locator("[data-owner-menu] [role=option]").first.wait_for(state="visible")
    manager = page.locator("[data-owner-menu] [role=option]", has_text="王海涛")
    assert "园区负责人" in manager.inner_text()
    assert "集成电路" in manager.inner_text()  # a manager shows his parks
    box.press("ArrowDown")
    box.press("Enter")  # chooses the highlighted suggestion
    assert box.input_value() == "王海涛"
    box.press("Enter")  # submits the form
    page.wait_for_load_state()
    assert "owner=" in page.url
    assert set(page.evaluate(OWNER_CELLS)) <= {"王海涛"}

    # Clearing the text clears the filter.
    page.locator("input[data-owner-name]").fill("")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    args = parse_qs(urlsplit(page.url).query)
    assert "owner" not in args
    assert "owner_name" not in args
    assert len(set(page.evaluate(OWNER_CELLS))) > 1


def test_suggestions_fit_a_phone_screen(phone: Any) -> None:
    log_in(phone, "manager")
    phone.goto("/leads")

    phone.locator("input[data-owner-name]").press_sequentially("o")
    phone.locator("[data-owner-menu] [role=option]").first.wait_for(state="visible")

    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the open suggestions scroll sideways on a phone ({width}px)"


def test_a_name_typed_in_full_without_choosing_still_filters(desk: Any) -> None:
    page = desk
    log_in(page, "leader")
    page.goto("/leads")

    page.locator("input[data-owner-name]").fill("陈晓东")
    page.click("main form button[type=submit]")
    page.wait_for_load_state()

    args = parse_qs(urlsplit(page.url).query)
    assert "owner_name" not in args
    assert args["owner"][0].isdigit()
    assert page.locator("input[data-owner-name]").input_value() == "陈晓东"
    assert set(page.evaluate(OWNER_CELLS)) == {"陈晓东"}


def test_manager_gives_a_lead_to_an_officer_picked_by_name(desk: Any) -> None:
    page = desk
    log_in(page, "manager")
    page.goto("/leads")
    page.locator("table tbody tr a").first.click()
    page.wait_for_load_state()
    form = page.locator("form[action$='/reassign']")
    box = form.locator("input[data-owner-name]")
    assert form.locator("select").count() == 0

    box.press_sequentially("娜")
    option = form.locator("[data-owner-menu] [role=option]", has_text="李娜")
    option.wait_for(state="visible")
    option.click()
    assert form.locator("input[data-owner-id]").input_value().isdigit()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()

    assert "负责人已变更为 李娜。" in page.locator(".alert-success").inner_text()


def test_the_new_lead_form_suggests_owners_for_the_chosen_park(desk: Any) -> None:
    page = desk
    log_in(page, "manager")
    page.goto("/leads/new")
    park = page.locator("select#park_id").input_value()
    with page.expect_request(lambda request: "/owners/suggest" in request.url) as asked:
        page.locator("input[data-owner-name]").press_sequentially("娜")
    assert f"park={park}" in asked.value.url
    option = page.locator("[data-owner-menu] [role=option]", has_text="李娜")
    option.wait_for(state="visible")
    option.click()
    assert page.locator("input[data-owner-id]").input_value().isdigit()
