// The labeling page: claims a task through the API, shows it, submits the answer and shows the
// next task the submit returned. A custom task shows its page in a sandboxed frame, whose form
// posts the answer here.
(function () {
  "use strict";
  const root = document.getElementById("labeling");
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const el = (id) => document.getElementById(id);
  const custom = root.dataset.taskType === "custom";
  const multilabel = root.dataset.multilabel === "true";
  const text = root.dataset.text === "true";
  const frame = el("task-frame");
  const WARNING_SECONDS = 60;
  const ELEMENT = {
    image_classification: "crowd-image-classifier",
    image_classification_multilabel: "crowd-image-classifier-multi-select",
    text_classification: "crowd-classifier",
    text_classification_multilabel: "crowd-classifier-multi-select",
  };
  let assignment = null;
  let labels = [];
  let chosen = new Set();
  let timer = null;
  let busy = false;

  async function api(url, body) {
    let response;
    try {
      response = await fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (error) {
      return { status: 0, data: { detail: "The server could not be reached. Try again." } };
    }
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch (error) {
        data = null;
      }
    }
    return { status: response.status, data };
  }

  function assignmentUrl(template, suffix) {
    return root.dataset[template].replace("/0/", "/" + assignment.id + "/") + (suffix || "");
  }

  function showError(message) {
    el("error").textContent = message || "";
    el("error").hidden = !message;
  }

  function show(section) {
    for (const id of ["task", "done", "expired", "loading"]) {
      el(id).hidden = id !== section;
    }
  }

  function setBusy(value) {
    busy = value;
    el("task").setAttribute("aria-busy", String(value));
    for (const id of ["decline", "release"]) el(id).disabled = value;
    if (!custom) el("submit").disabled = value || chosen.size === 0;
  }

  // --- labels ---------------------------------------------------------------------------------

  function refreshLabels() {
    for (const button of el("labels").children) {
      button.setAttribute("aria-checked", String(chosen.has(button.dataset.label)));
    }
    el("submit").disabled = busy || chosen.size === 0;
  }

  function toggle(label) {
    if (busy) return;
    if (multilabel) {
      if (chosen.has(label)) chosen.delete(label);
      else chosen.add(label);
    } else {
      chosen = new Set([label]);
    }
    refreshLabels();
  }

  function buildLabels(names) {
    if (labels.length === names.length && labels.every((name, i) => name === names[i])) return;
    labels = names.slice();
    const box = el("labels");
    box.replaceChildren();
    labels.forEach((label, index) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "label";
      button.setAttribute("role", multilabel ? "checkbox" : "radio");
      button.setAttribute("aria-checked", "false");
      button.dataset.label = label;
      const key = document.createElement("kbd");
      key.textContent = index < 9 ? String(index + 1) : "";
      button.append(key, document.createTextNode(" " + label));
      button.addEventListener("click", () => toggle(label));
      box.append(button);
    });
  }

  function answer() {
    const element = ELEMENT[root.dataset.taskType];
    if (multilabel) {
      return { [element]: { labels: labels.filter((label) => chosen.has(label)) } };
    }
    return { [element]: { label: [...chosen][0] } };
  }

  // --- countdown ------------------------------------------------------------------------------

  function clearTimer() {
    clearInterval(timer);
    timer = null;
    el("timer").textContent = "";
    el("timer").classList.remove("urgent");
    el("timer-box").classList.remove("warning");
    el("timer-caption").textContent = "Time left";
    el("timer-status").textContent = "";
  }

  function startTimer(expiresAt) {
    clearTimer();
    const end = new Date(expiresAt).getTime();
    const tick = () => {
      const left = Math.max(0, Math.ceil((end - Date.now()) / 1000));
      el("timer").textContent =
        String(Math.floor(left / 60)).padStart(2, "0") + ":" + String(left % 60).padStart(2, "0");
      const warning = left < WARNING_SECONDS;
      if (warning && !el("timer-box").classList.contains("warning")) {
        el("timer-caption").textContent = "Less than a minute left";
        el("timer-status").textContent = "Less than a minute left for this task.";
      }
      el("timer").classList.toggle("urgent", warning);
      el("timer-box").classList.toggle("warning", warning);
      if (left === 0) timeRanOut();
    };
    tick();
    timer = setInterval(tick, 1000);
  }

  function timeRanOut() {
    clearTimer();
    assignment = null;
    busy = false;
    showError("");
    if (frame) frame.removeAttribute("src");
    show("expired");
    el("take-another").focus();
  }

  // --- showing a task -------------------------------------------------------------------------

  async function preload(url) {
    const image = new Image();
    image.src = url;
    try {
      await image.decode();
      return true;
    } catch (error) {
      return false;
    }
  }

  async function present(next) {
    if (next === null) {
      clearTimer();
      assignment = null;
      show("done");
      return;
    }
    const input = next.task_input || {};
    let problem = input.taskObjectError || "";
    if (!custom && !text && !(await preload(input.taskObject))) {
      problem = "The image of this task could not be loaded. Decline it or try again later.";
    }
    assignment = next;
    chosen = new Set();
    if (custom) {
      frame.src = input.taskPageUrl;
    } else {
      buildLabels(next.job.labels);
      if (text) {
        el("task-text").textContent = input.taskObject || "";
        el("task-text").scrollTop = 0;
      } else {
        el("task-image").src = input.taskObject;
      }
    }
    setBusy(false);
    if (!custom) refreshLabels();
    showError(problem);
    show("task");
    startTimer(next.expires_at);
  }

  async function claim() {
    setBusy(true);
    show("loading");
    showError("");
    const { status, data } = await api(root.dataset.claimUrl);
    if (status === 204) {
      await present(null);
      return;
    }
    if (status === 200 || status === 201) {
      await present(data);
      return;
    }
    busy = false;
    el("loading").hidden = true;
    showError((data && data.detail) || "Could not load a task. Reload the page to try again.");
  }

  async function submitAnswer(body) {
    const { status, data } = await api(assignmentUrl("submitUrlTemplate", "?next=1"), body);
    if (status === 200) {
      await present(data.next);
      return true;
    }
    if (status === 409 && data && data.code === "lease_ended") {
      timeRanOut();
      return true;
    }
    if (status === 409) {
      await claim();
      return true;
    }
    setBusy(false);
    showError((data && data.detail) || "The answer was not accepted.");
    return false;
  }

  async function submit() {
    if (!assignment || busy || chosen.size === 0) return;
    setBusy(true);
    await submitAnswer(answer());
  }

  async function decline() {
    if (!assignment || busy) return;
    setBusy(true);
    const { status, data } = await api(assignmentUrl("declineUrlTemplate"));
    if (status === 200) {
      await claim();
      return;
    }
    if (status === 409 && data && data.code === "lease_ended") {
      timeRanOut();
      return;
    }
    if (status === 409) {
      await claim();
      return;
    }
    setBusy(false);
    showError((data && data.detail) || "The task could not be declined. Try again.");
  }

  async function release() {
    if (!assignment || busy) return;
    setBusy(true);
    const { status, data } = await api(assignmentUrl("releaseUrlTemplate"));
    if (status === 200 || status === 409) {
      clearTimer();
      window.location.assign(root.dataset.boardUrl);
      return;
    }
    setBusy(false);
    showError((data && data.detail) || "The task could not be given back. Try again.");
  }

  // --- custom tasks ---------------------------------------------------------------------------

  function isPlainObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  async function submitCustom(body) {
    if (!assignment || busy) return;
    setBusy(true);
    if (!(await submitAnswer(body))) {
      const detail = el("error").textContent;
      frame.contentWindow.postMessage({ type: "groundwork:answer-refused", detail }, "*");
    }
  }

  window.addEventListener("message", (event) => {
    if (!frame || event.source !== frame.contentWindow || !isPlainObject(event.data)) return;
    if (event.data.type === "groundwork:answer" && isPlainObject(event.data.answer)) {
      submitCustom(event.data.answer);
    } else if (event.data.type === "groundwork:height" && Number.isFinite(event.data.height)) {
      frame.style.height = Math.min(Math.max(event.data.height, 240), 6000) + "px";
    }
  });

  // --- wiring ---------------------------------------------------------------------------------

  el("decline").addEventListener("click", decline);
  el("release").addEventListener("click", release);
  el("take-another").addEventListener("click", claim);
  if (!custom) {
    el("submit").addEventListener("click", submit);
    document.addEventListener("keydown", (event) => {
      if (!assignment || el("task").hidden || event.metaKey || event.ctrlKey || event.altKey) {
        return;
      }
      const target = event.target;
      const onOtherControl =
        target instanceof Element &&
        target.closest("a, summary, input, textarea, select, button") &&
        !target.closest(".label, #submit");
      if (/^[1-9]$/.test(event.key)) {
        const label = labels[Number(event.key) - 1];
        if (label !== undefined) toggle(label);
      } else if (event.key === "Enter" && !onOtherControl) {
        event.preventDefault();
        submit();
      }
    });
  }
  claim();
})();
