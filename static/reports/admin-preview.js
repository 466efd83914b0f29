// Live preview for the report admin: re-renders the report as an anonymous reader and as a
// subscriber would see it, through the staff-only preview endpoint, which uses the report
// page's own rendering and access rule and returns whole documents in the site's styles.
// Each is shown in a sandboxed frame (no script runs inside it). A newly chosen cover is
// read from the editor's disk and shown above the text before it is uploaded. Without
// JavaScript the frames show the last saved version.
(() => {
  "use strict";
  const script = document.currentScript;
  const form = document.getElementById("report_form");
  const frames = document.querySelectorAll("iframe[data-preview-variant]");
  if (!script || !form || frames.length === 0) return;

  const fields = ["title", "kind", "teaser", "body", "is_free", "video_minutes", "cover_alt"];
  const coverInput = form.elements.namedItem("cover_image");
  let chosenCover = null; // a data: URL (the CSP allows those for images, not blob:)
  let timer = null;
  let controller = null;

  function showChosenCover(frame) {
    const doc = frame.contentDocument;
    if (!doc || !chosenCover) return;
    const figure = doc.querySelector("[data-preview-cover]");
    const image = figure && figure.querySelector("img");
    if (!image) return;
    image.removeAttribute("width");
    image.removeAttribute("height");
    image.src = chosenCover;
    figure.hidden = false;
  }

  function fit(frame) {
    const doc = frame.contentDocument;
    if (!doc || !doc.documentElement) return;
    showChosenCover(frame);
    frame.style.height = `${doc.documentElement.scrollHeight}px`;
    // The cover arrives after the text: fit again once it has its size.
    for (const image of doc.images) {
      if (!image.complete) image.addEventListener("load", () => fit(frame), { once: true });
    }
  }

  for (const frame of frames) {
    frame.addEventListener("load", () => fit(frame));
    fit(frame);
  }

  async function refresh() {
    if (controller) controller.abort();
    controller = new AbortController();
    const data = new FormData();
    for (const name of ["title", "kind", "teaser", "body", "video_minutes", "cover_alt"]) {
      const field = form.elements.namedItem(name);
      data.append(name, field ? field.value : "");
    }
    const free = form.elements.namedItem("is_free");
    if (free && free.checked) data.append("is_free", "on");
    if (script.dataset.reportId) data.append("report", script.dataset.reportId);
    try {
      const response = await fetch(script.dataset.previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { "X-CSRFToken": form.elements.namedItem("csrfmiddlewaretoken").value },
        signal: controller.signal,
      });
      if (!response.ok) return;
      const documents = await response.json();
      // Documents the server rendered with the site's own sanitizer and templates.
      for (const frame of frames) frame.srcdoc = documents[frame.dataset.previewVariant] || "";
    } catch (error) {
      if (error.name !== "AbortError") throw error;
    }
  }

  if (coverInput && coverInput.type === "file") {
    coverInput.addEventListener("change", () => {
      const file = coverInput.files && coverInput.files[0];
      if (!file || !file.type.startsWith("image/")) {
        chosenCover = null;
        refresh();
        return;
      }
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        chosenCover = typeof reader.result === "string" ? reader.result : null;
        for (const frame of frames) fit(frame);
      });
      reader.readAsDataURL(file);
    });
  }

  form.addEventListener("input", (event) => {
    if (!fields.includes(event.target.name)) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "is_free" || event.target.name === "kind") refresh();
  });
})();
