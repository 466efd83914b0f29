// The total of a team licence, repeated while the seats change. The server priced the
// number shown when the page loaded and prices the order again on the page that confirms
// it; without this script the total is simply the one for the seats the page started with.
(function () {
  "use strict";

  function money(cents, currency) {
    const dollars = Math.floor(cents / 100);
    const rest = cents % 100;
    return currency + dollars.toLocaleString("en-US") + (rest ? "." + String(rest).padStart(2, "0") : "");
  }

  document.querySelectorAll("[data-team-total-form]").forEach(function (form) {
    const seats = form.querySelector("input[name=seats]");
    const total = form.querySelector("[data-team-total]");
    if (!seats || !total) return;
    const cents = Number(form.dataset.seatCents);
    const least = Number(form.dataset.minSeats);
    const most = Number(form.dataset.maxSeats);

    function update() {
      const count = Number(seats.value);
      if (!Number.isInteger(count) || count < least || count > most) {
        total.textContent = "choose from " + least + " to " + most + " seats";
        return;
      }
      total.textContent = money(count * cents, form.dataset.currency) + " a year for " + count + " seats";
    }
    seats.addEventListener("input", update);
  });
})();
