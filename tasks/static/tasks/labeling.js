// The labeling page: claims a task through the API, shows it, submits the answer, repeats.
// A custom task shows its page in a sandboxed frame, whose form posts the answer here.
(function () {
  "use strict";
  const root = document.getElementById("labeling");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const el = (id) => document.getElementById(id);
  const custom = root.dataset.taskType === "custom";
  const frame = el("task-frame");
  let assignment = null;
  let chosen = null;
  let timer = null;
  let submitting = false;

  async function api(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const data = response.status === 204 ? null : await response.json();
    return { status: response.status, data };
  }

  function showError(message) {
    el("error").textContent = message;
    el("error").hidden = !message;
  }

  function choose(label) {
    chosen = label;
    for (const button of el("labels").children) {
      button.setAttribute("aria-checked", String(button.dataset.label === label));
    }
    el("submit").disabled = false;
  }

  function renderLabels(labels) {
    const box = el("labels");
    box.replaceChildren();
    labels.forEach((label, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "label";
      button.setAttribute("role", "radio");
      button.setAttribute("aria-checked", "false");
      button.dataset.label = label;
      const key = document.createElement("kbd");
      key.textContent = index < 9 ? String(index + 1) : "";
      button.append(key, document.createTextNode(" " + label));
      button.addEventListener("click", () => choose(label));
      box.append(button);
    });
  }

  function startTimer(expiresAt) {
    clearInterval(timer);
    const end = new Date(expiresAt).getTime();
    const tick = () => {
      const left = Math.max(0, Math.round((end - Date.now()) / 1000));
      el("timer").textContent =
        String(Math.floor(left / 60)).padStart(2, "0") + ":" + String(left % 60).padStart(2, "0");
      el("timer").classList.toggle("urgent", left < 30);
      if (left === 0) {
        clearInterval(timer);
        showError("Time ran out for this task. Loading another one.");
        claim();
      }
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  function renderCustom(next) {
    assignment = next;
    submitting = false;
    showError("");
    frame.src = next.task_input.taskPageUrl;
    el("loading").hidden = true;
    el("task").hidden = false;
    startTimer(next.expires_at);
  }

  function render(next) {
    if (custom) {
      renderCustom(next);
      return;
    }
    assignment = next;
    chosen = null;
    el("submit").disabled = true;
    showError("");
    renderLabels(next.job.labels);
    el("task-image").src = next.task_input.taskObject;
    el("loading").hidden = true;
    el("task").hidden = false;
    startTimer(next.expires_at);
  }

  async function claim() {
    el("loading").hidden = false;
    const { status, data } = await api(root.dataset.claimUrl);
    el("loading").hidden = true;
    if (status === 204) {
      clearInterval(timer);
      el("task").hidden = true;
      el("timer").textContent = "";
      el("done").hidden = false;
      return;
    }
    if (status === 200 || status === 201) {
      render(data);
      return;
    }
    showError((data && data.detail) || "Could not load a task. Try again.");
  }

  async function submit() {
    if (!assignment || chosen === null) return;
    el("submit").disabled = true;
    const url = root.dataset.submitUrlTemplate.replace("/0/", "/" + assignment.id + "/");
    const { status, data } = await api(url, { "crowd-image-classifier": { label: chosen } });
    if (status === 200 || status === 409) {
      claim();
      return;
    }
    el("submit").disabled = false;
    showError((data && data.detail) || "The answer was not accepted.");
  }

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  async function submitCustom(answer) {
    if (!assignment || submitting) return;
    submitting = true;
    const url = root.dataset.submitUrlTemplate.replace("/0/", "/" + assignment.id + "/");
    const { status, data } = await api(url, answer);
    if (status === 200 || status === 409) {
      claim();
      return;
    }
    submitting = false;
    const detail = (data && data.detail) || "The answer was not accepted.";
    showError(detail);
    frame.contentWindow.postMessage({ type: "groundwork:answer-refused", detail }, "*");
  }

  window.addEventListener("message", (event) => {
    if (!frame || event.source !== frame.contentWindow || !isPlainObject(event.data)) return;
    if (event.data.type === "groundwork:answer" && isPlainObject(event.data.answer)) {
      submitCustom(event.data.answer);
    } else if (event.data.type === "groundwork:height" && Number.isFinite(event.data.height)) {
      frame.style.height = Math.min(Math.max(event.data.height, 240), 6000) + "px";
    }
  });

  if (custom) {
    claim();
    return;
  }
  el("submit").addEventListener("click", submit);
  document.addEventListener("keydown", (event) => {
    if (!assignment || el("task").hidden || event.metaKey || event.ctrlKey || event.altKey) return;
    if (/^[1-9]$/.test(event.key)) {
      const label = assignment.job.labels[Number(event.key) - 1];
      if (label !== undefined) choose(label);
    } else if (event.key === "Enter") {
      event.preventDefault();
      submit();
    }
  });
  claim();
})();
