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
});
