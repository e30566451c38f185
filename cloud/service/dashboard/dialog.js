// A modal confirmation (<dialog>): Escape or Cancel says no.

import { h } from "./dom.js";

/** A modal confirmation; resolves to null (cancelled) or {reason}. */
export function confirmDialog({ title, message, confirmText, reason = null }) {
  return new Promise((resolve) => {
    const input =
      reason === null ? null : h("input", { id: "confirm-reason", value: reason, maxlength: 2000 });
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "confirm-title", text: title }),
        h("p", { text: message }),
        input ? [h("label", { for: "confirm-reason", text: "Reason (recorded)" }), input] : null,
        h(
          "div",
          { class: "dialog-buttons" },
          h("button", { type: "submit", value: "cancel", class: "secondary", text: "Cancel" }),
          h("button", { type: "submit", value: "confirm", class: "primary", text: confirmText }),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      const ok = dialog.returnValue === "confirm";
      dialog.remove();
      resolve(ok ? { reason: input ? input.value.trim() : null } : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** One question with a button per answer; resolves to the chosen value or null (Escape or
 * Cancel: nothing is recorded). */
export function choiceDialog({ title, message, choices }) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm question", "aria-labelledby": "choice-title" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "choice-title", text: title }),
        message ? h("p", { text: message }) : null,
        h(
          "div",
          { class: "answers" },
          choices.map(({ value, text }) =>
            h("button", { type: "submit", value, class: "primary", text }),
          ),
        ),
        h(
          "div",
          { class: "dialog-buttons" },
          h("button", { type: "submit", value: "", class: "secondary", text: "Cancel" }),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      const value = dialog.returnValue;
      dialog.remove();
      resolve(value ? value : null);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
