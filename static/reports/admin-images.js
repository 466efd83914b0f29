// Drop an image onto the report's body: it is uploaded into the image library through the
// staff-only endpoint, after the editor gave its alt text, and its Markdown is inserted
// where the cursor was. Without JavaScript the "Add an image to the body" fields do the same
// on save.
(() => {
  "use strict";
  const script = document.currentScript;
  const form = document.getElementById("report_form");
  const body = form && form.elements.namedItem("body");
  if (!script || !body) return;

  const status = document.createElement("p");
  status.className = "report-images__status";
  status.setAttribute("role", "status");
  body.insertAdjacentElement("afterend", status);
  const hint = document.createElement("p");
  hint.className = "help";
  hint.textContent = "Drop a JPEG, PNG or WebP image here to add it at the cursor.";
  status.insertAdjacentElement("beforebegin", hint);

  function insertAtCursor(text) {
    const start = body.selectionStart ?? body.value.length;
    const end = body.selectionEnd ?? start;
    const before = body.value.slice(0, start);
    const after = body.value.slice(end);
    // An image alone in its paragraph becomes a figure with its caption.
    const lead = before === "" || before.endsWith("\n\n") ? "" : before.endsWith("\n") ? "\n" : "\n\n";
    const trail = after.startsWith("\n\n") ? "" : after.startsWith("\n") ? "\n" : "\n\n";
    body.value = before + lead + text + trail + after;
    const cursor = (before + lead + text).length;
    body.setSelectionRange(cursor, cursor);
    // The live preview listens for input.
    body.dispatchEvent(new Event("input", { bubbles: true }));
  }

  async function upload(file) {
    const alt = (window.prompt(`Alt text for ${file.name}: what does the image show?`) || "").trim();
    if (!alt) {
      status.textContent = "Not added: an image needs alt text.";
      return;
    }
    const caption = (window.prompt("Caption (optional):") || "").trim();
    const data = new FormData();
    data.append("file", file);
    data.append("alt", alt);
    data.append("caption", caption);
    status.textContent = `Uploading ${file.name}…`;
    const response = await fetch(script.dataset.uploadUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": form.elements.namedItem("csrfmiddlewaretoken").value },
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (error) {
      answer = {};
    }
    if (!response.ok) {
      status.textContent = `Not added: ${answer.error || "the upload failed."}`;
      return;
    }
    insertAtCursor(answer.markdown);
    status.textContent = `Added ${file.name} to the body and the image library.`;
  }

  body.addEventListener("dragover", (event) => {
    if (event.dataTransfer && Array.from(event.dataTransfer.types).includes("Files")) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
    }
  });
  body.addEventListener("drop", async (event) => {
    const files = Array.from((event.dataTransfer && event.dataTransfer.files) || []);
    const images = files.filter((file) => file.type.startsWith("image/"));
    if (images.length === 0) return;
    event.preventDefault();
    for (const file of images) await upload(file);
  });
})();
