// The Copy button beside each gift link. Without this script the button stays hidden and
// the link sits in a read-only field, where it can be selected and copied by hand.
(function () {
  "use strict";
  const buttons = document.querySelectorAll("[data-copy]");

  async function copy(field) {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(field.value);
      return;
    }
    // Plain http (a local run): the clipboard API is off, the older command still works.
    field.select();
    if (!document.execCommand("copy")) throw new Error("copy refused");
  }

  buttons.forEach(function (button) {
    const field = document.getElementById(button.dataset.copy);
    const status = button.parentElement.querySelector(".gift-copy__status");
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", async function () {
      try {
        await copy(field);
        status.textContent = "Copied.";
      } catch (e) {
        field.select();
        status.textContent = "Press Ctrl+C (⌘C on a Mac) to copy the selected link.";
      }
    });
  });
  // Focusing a link's field selects it whole, ready to copy by hand as well.
  document.querySelectorAll(".gift-copy input[readonly]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
