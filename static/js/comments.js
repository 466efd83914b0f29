// Comments without page reloads. Everything works without this script: forms post and
// redirect back to the comment; this only keeps the reader where they are.
(function () {
  "use strict";
  const section = document.getElementById("comments");
  if (!section) return;
  const mainForm = document.getElementById("comment-form");

  function countUp() {
    const title = document.getElementById("comments-title");
    title.textContent = title.textContent.replace(/\((\d+)\)/, (_, n) => "(" + (Number(n) + 1) + ")");
  }

  async function submit(form, event) {
    event.preventDefault();
    const error = form.querySelector("[data-comment-error]");
    const button = form.querySelector("button[type=submit]");
    error.hidden = true;
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { "X-Requested-With": "fetch" },
        credentials: "same-origin",
      });
      const text = await response.text();
      if (!response.ok) {
        error.textContent = text || "Your comment could not be posted. Please try again.";
        error.hidden = false;
        return;
      }
      const item = document.createElement("li");
      item.innerHTML = text;
      const parent = form.querySelector("input[name=parent]");
      if (parent) {
        section.querySelector('[data-replies-for="' + parent.value + '"]').appendChild(item);
        form.remove();
      } else {
        item.className = "comment-thread";
        const replies = document.createElement("ol");
        replies.className = "comment-replies";
        replies.dataset.repliesFor = item.firstElementChild.id.replace("comment-", "");
        item.appendChild(replies);
        section.querySelector("[data-comment-list]").appendChild(item);
        const empty = section.querySelector("[data-comment-empty]");
        if (empty) empty.remove();
        form.reset();
      }
      countUp();
      item.scrollIntoView({ block: "nearest" });
    } catch (e) {
      error.textContent = "The network failed. Your text is still here; please try again.";
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  section.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.matches("[data-comment-form]")) submit(form, event);
  });

  section.addEventListener("click", function (event) {
    const link = event.target.closest("[data-reply]");
    if (!link || !mainForm) return;
    event.preventDefault();
    const id = link.dataset.reply;
    const existing = document.getElementById("reply-" + id);
    if (existing) { existing.querySelector("textarea").focus(); return; }
    const form = mainForm.cloneNode(true);
    form.id = "reply-" + id;
    form.reset();
    const parent = document.createElement("input");
    parent.type = "hidden";
    parent.name = "parent";
    parent.value = id;
    form.prepend(parent);
    const textarea = form.querySelector("textarea");
    const label = form.querySelector("label");
    textarea.id = "comment-body-" + id;
    textarea.rows = 3;
    label.htmlFor = textarea.id;
    label.textContent = "Your reply";
    form.querySelector("button[type=submit]").textContent = "Post reply";
    section.querySelector('[data-replies-for="' + id + '"]').after(form);
    textarea.focus();
  });
})();
