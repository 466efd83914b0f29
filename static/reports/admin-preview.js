// Live preview for the report admin: re-renders the teaser and body as an anonymous reader
// and as a subscriber would see them, through the staff-only preview endpoint, which uses
// the report page's own rendering and access rule. Without JavaScript the panes show the
// last saved text.
(() => {
  "use strict";
  const script = document.currentScript;
  const form = document.getElementById("report_form");
  const panes = document.querySelectorAll("[data-preview-variant]");
  if (!script || !form || panes.length === 0) return;

  const fields = ["title", "teaser", "body", "is_free", "video_minutes"];
  let timer = null;
  let controller = null;

  async function refresh() {
    if (controller) controller.abort();
    controller = new AbortController();
    const data = new FormData();
    for (const name of ["title", "teaser", "body", "video_minutes"]) {
      const field = form.elements.namedItem(name);
      data.append(name, field ? field.value : "");
    }
    const free = form.elements.namedItem("is_free");
    if (free && free.checked) data.append("is_free", "on");
    try {
      const response = await fetch(script.dataset.previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": form.elements.namedItem("csrfmiddlewaretoken").value },
        signal: controller.signal,
      });
      if (!response.ok) return;
      const html = await response.json();
      // The server returns HTML it has sanitized with the same allow-list as the site.
      for (const pane of panes) pane.innerHTML = html[pane.dataset.previewVariant] || "";
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }

  form.addEventListener("input", (event) => {
    if (!fields.includes(event.target.name)) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "is_free") refresh();
  });
})();
