// Small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Confirm buttons that carry data-confirm.
  document.querySelectorAll("[data-confirm]").forEach((el) => {
    el.addEventListener("click", (event) => {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });
  // Show the skipped-stage date inputs only for the stages the chosen target passes over.
  const target = document.querySelector("select[data-order]");
  if (target) {
    const update = () => {
      const order = JSON.parse(target.dataset.order || "[]");
      const current = target.dataset.current;
      const to = target.value;
      const from = order.indexOf(current);
      const upto = order.indexOf(to);
      document.querySelectorAll("[data-skip-stage]").forEach((row) => {
        const i = order.indexOf(row.dataset.skipStage);
        row.hidden = !(from >= 0 && upto >= 0 && i > from && i < upto);
      });
      const reason = document.querySelector("[data-reason-row]");
      if (reason) reason.hidden = to !== "dropped";
    };
    target.addEventListener("change", update);
    update();
  }
  // Owner pickers (the lists' filter, a record's new owner): suggestions while typing; choosing
  // one sets the hidden owner id.
  document.querySelectorAll("[data-owner-picker]").forEach(ownerPicker);
});

function ownerPicker(picker) {
  const input = picker.querySelector("[data-owner-name]");
  const hidden = picker.querySelector("[data-owner-id]");
  const menu = picker.querySelector("[data-owner-menu]");
  const form = input.form;
  const idName = hidden.name;
  const textName = input.name;
  // The name shown for the owner id in the hidden input; typing something else drops the id.
  let chosen = hidden.value ? input.value.trim() : "";
  let items = [];
  let active = -1;
  let timer = null;
  let controller = null;

  const close = () => {
    menu.classList.remove("show");
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    items.forEach((item, i) => {
      item.classList.toggle("active", i === index);
      item.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    active = index;
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };
  const choose = (item) => {
    input.value = item.dataset.name;
    hidden.value = item.dataset.id;
    chosen = item.dataset.name;
    close();
  };
  const show = (results) => {
    menu.replaceChildren();
    items = results.map((result, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "dropdown-item text-wrap";
      button.id = `owner-option-${i}`;
      button.tabIndex = -1;
      button.setAttribute("role", "option");
      button.dataset.id = String(result.id);
      button.dataset.name = result.name;
      const name = document.createElement("span");
      name.className = "fw-semibold";
      name.textContent = result.name;
      const label = document.createElement("small");
      label.className = result.active ? "d-block text-body-secondary" : "d-block text-danger-emphasis";
      label.textContent = result.label;
      button.append(name, label);
      button.addEventListener("click", () => choose(button));
      const li = document.createElement("li");
      li.append(button);
      menu.append(li);
      return button;
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "dropdown-item-text text-body-secondary small";
      li.textContent = picker.dataset.emptyText;
      menu.append(li);
    }
    active = -1;
    menu.classList.add("show");
    input.setAttribute("aria-expanded", "true");
  };
  const suggest = async (text) => {
    if (controller) controller.abort();
    controller = new AbortController();
    const url = new URL(picker.dataset.suggestUrl, window.location.href);
    url.searchParams.set("q", text);
    // A new record's owner: whom a record of the park chosen in the form may be given to.
    const park = picker.dataset.parkField && form.querySelector(picker.dataset.parkField);
    if (park && park.value) url.searchParams.set("park", park.value);
    try {
      const response = await fetch(url, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!response.ok) return;
      const data = await response.json();
      if (input.value.trim() === text && document.activeElement === input) show(data.results || []);
    } catch (error) {
      // Aborted by newer typing, or offline / logged out: no suggestions, the form still works.
    }
  };

  input.addEventListener("input", () => {
    const text = input.value.trim();
    if (text !== chosen) {
      hidden.value = "";
      chosen = "";
    }
    clearTimeout(timer);
    if (!text || text === chosen) {
      if (controller) controller.abort();
      close();
      return;
    }
    timer = setTimeout(() => suggest(text), 200);
  });
  input.addEventListener("keydown", (event) => {
    const open = menu.classList.contains("show");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!open || !items.length) return;
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + items.length) % items.length);
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault();
      choose(items[active]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close();
    }
  });
  // Keep the focus in the input while a suggestion is clicked; close when it leaves the picker.
  menu.addEventListener("mousedown", (event) => event.preventDefault());
  input.addEventListener("blur", close);
  // A chosen owner travels as the id alone; typed text without a choice goes to the server,
  // which looks for that exact name.
  form.addEventListener("submit", () => {
    const text = input.value.trim();
    if (!text) hidden.value = "";
    if (!hidden.value) hidden.removeAttribute("name");
    if (!text || (hidden.value && text === chosen)) input.removeAttribute("name");
  });
  // Coming back through the history (the page kept in memory): the fields have their names again.
  window.addEventListener("pageshow", () => {
    hidden.setAttribute("name", idName);
    input.setAttribute("name", textName);
  });
}
