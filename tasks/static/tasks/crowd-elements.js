// Crowd elements for custom task pages, shown in the labeling page's sandboxed frame.
//
// <crowd-form> wraps its content in a form with a Submit button (unless it holds a
// <crowd-button form-action="submit">). On submit, unless a handler of the template called
// preventDefault(), it collects the named controls into the answer (Ground Truth's answerContent)
// and posts {"type": "groundwork:answer", "answer": {...}} to the labeling page:
//   - a checkbox or radio button named x with value v (default "on"): {"x": {"v": <checked>}},
//     every control of that name in one object, as Ground Truth's crowd-checkbox and
//     crowd-radio-button give them;
//   - text inputs, hidden inputs, textareas and selects: {"x": "<value>"}; a select with
//     `multiple`: a list of the chosen values; several such controls with one name: a list;
//   - controls without a name, disabled ones, buttons and file inputs are left out.
// Also: <crowd-button form-action="submit">, <crowd-instructions> (collapsed), and native
// stand-ins for <crowd-radio-group>/<crowd-radio-button>, <crowd-checkbox>, <crowd-input> and
// <crowd-text-area>.
(function () {
  "use strict";
  const SKIPPED_TYPES = new Set(["submit", "reset", "button", "image", "file"]);
  const parentOrigin =
    (window.location.ancestorOrigins && window.location.ancestorOrigins[0]) || "*";
  let radioGroups = 0;

  function toParent(message) {
    window.parent.postMessage(message, parentOrigin);
  }

  class CrowdForm extends HTMLElement {
    submit() {
      const form = this.querySelector("form.crowd-form-body");
      if (form) form.requestSubmit();
    }
  }
  for (const name of [
    "crowd-button", "crowd-checkbox", "crowd-input", "crowd-instructions",
    "crowd-radio-button", "crowd-radio-group", "crowd-text-area",
  ]) {
    customElements.define(name, class extends HTMLElement {});
  }
  customElements.define("crowd-form", CrowdForm);

  function attributes(from, to, names) {
    for (const name of names) {
      if (from.hasAttribute(name)) to.setAttribute(name, from.getAttribute(name));
    }
  }

  function choice(type, element, nativeName) {
    const label = document.createElement("label");
    label.className = "crowd-choice";
    const input = document.createElement("input");
    input.type = type;
    input.name = nativeName;
    input.value = element.getAttribute("value") || "on";
    input.dataset.crowdName = element.getAttribute("name") || "";
    input.checked = element.hasAttribute("checked");
    input.disabled = element.hasAttribute("disabled");
    input.required = element.hasAttribute("required");
    label.append(input, " ", ...element.childNodes);
    element.replaceWith(label);
  }

  function upgradeControls(root) {
    for (const group of root.querySelectorAll("crowd-radio-group")) {
      radioGroups += 1;
      for (const button of group.querySelectorAll("crowd-radio-button")) {
        choice("radio", button, "crowd-radio-group-" + radioGroups);
      }
    }
    for (const button of root.querySelectorAll("crowd-radio-button")) {
      choice("radio", button, button.getAttribute("name") || "");
    }
    for (const box of root.querySelectorAll("crowd-checkbox")) {
      choice("checkbox", box, box.getAttribute("name") || "");
    }
    for (const element of root.querySelectorAll("crowd-input, crowd-text-area")) {
      const multiline = element.localName === "crowd-text-area";
      const label = document.createElement("label");
      label.className = "crowd-input";
      const control = document.createElement(multiline ? "textarea" : "input");
      attributes(element, control, [
        "name", "placeholder", "required", "disabled", "maxlength", "rows",
        ...(multiline ? [] : ["type", "min", "max", "step"]),
      ]);
      control.value = element.getAttribute("value") || element.textContent.trim() || "";
      if (element.hasAttribute("label")) {
        const caption = document.createElement("span");
        caption.textContent = element.getAttribute("label");
        label.append(caption, document.createElement("br"));
      }
      label.append(control);
      element.replaceWith(label);
    }
    for (const element of root.querySelectorAll("crowd-button")) {
      const button = document.createElement("button");
      button.className = "crowd-submit";
      button.type = element.getAttribute("form-action") === "submit" ? "submit" : "button";
      attributes(element, button, ["id", "disabled"]);
      button.append(...element.childNodes);
      element.replaceWith(button);
    }
  }

  function upgradeInstructions(root) {
    for (const element of root.querySelectorAll("crowd-instructions")) {
      const details = document.createElement("details");
      const summary = document.createElement("summary");
      summary.textContent = element.getAttribute("link-text") || "Instructions";
      details.append(summary, ...element.childNodes);
      element.append(details);
    }
  }

  function collect(form) {
    const answer = {};
    const listed = new Set();
    for (const control of form.elements) {
      const type = (control.type || "").toLowerCase();
      if (control.disabled || SKIPPED_TYPES.has(type) || control.localName === "fieldset") continue;
      if (type === "checkbox" || type === "radio") {
        const name = control.dataset.crowdName || control.name;
        if (!name) continue;
        const values = answer[name] && typeof answer[name] === "object" && !Array.isArray(answer[name])
          ? answer[name]
          : (answer[name] = {});
        values[control.value] = control.checked;
        continue;
      }
      if (!control.name) continue;
      const value = control.localName === "select" && control.multiple
        ? Array.from(control.selectedOptions, (option) => option.value)
        : control.value;
      if (!(control.name in answer)) {
        answer[control.name] = value;
      } else if (listed.has(control.name)) {
        answer[control.name].push(value);
      } else {
        answer[control.name] = [answer[control.name], value];
        listed.add(control.name);
      }
    }
    return answer;
  }

  function setUp(crowdForm) {
    const form = document.createElement("form");
    form.className = "crowd-form-body";
    form.append(...crowdForm.childNodes);
    crowdForm.append(form);
    upgradeControls(form);
    const status = document.createElement("p");
    status.className = "crowd-form-status";
    status.setAttribute("role", "alert");
    status.hidden = true;
    let submit = form.querySelector("button[type=submit], input[type=submit]");
    if (!submit) {
      const actions = document.createElement("div");
      actions.className = "crowd-form-actions";
      submit = document.createElement("button");
      submit.type = "submit";
      submit.className = "crowd-submit";
      submit.textContent = "Submit";
      actions.append(submit);
      form.append(actions);
    }
    form.append(status);
    window.addEventListener("message", (event) => {
      if (event.source !== window.parent || !event.data) return;
      if (event.data.type === "groundwork:answer-refused") {
        submit.disabled = false;
        status.textContent = String(event.data.detail || "The answer was not accepted.");
        status.hidden = false;
      }
    });
    // Listening on the window runs after every handler of the template (on the form, on the
    // crowd-form, on the document), so a template's preventDefault() cancels the submission.
    window.addEventListener("submit", (event) => {
      if (event.target !== form) return;
      const cancelled = event.defaultPrevented;
      event.preventDefault();
      if (cancelled || submit.disabled) return;
      submit.disabled = true;
      status.hidden = true;
      toParent({ type: "groundwork:answer", answer: collect(form) });
    });
  }

  function reportHeight() {
    toParent({ type: "groundwork:height", height: document.documentElement.scrollHeight });
  }

  document.addEventListener("DOMContentLoaded", () => {
    upgradeInstructions(document);
    const forms = document.querySelectorAll("crowd-form");
    forms.forEach(setUp);
    if (forms.length === 0) upgradeControls(document.body);
    new ResizeObserver(reportHeight).observe(document.body);
    window.addEventListener("load", reportHeight);
  });
})();
