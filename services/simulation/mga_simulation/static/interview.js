// The interview page: countdown, polling, and sending answers without a page reload.
// The page works without this script: every form posts normally. Text from the server is
// inserted with textContent only, never as HTML.
(function () {
  "use strict";

  var root = document.getElementById("interview");
  if (!root) {
    return;
  }

  var POLL_INTERVAL_MS = 15000;
  var stateUrl = root.dataset.stateUrl;
  var remaining = document.getElementById("remaining");
  var transcript = document.getElementById("transcript");
  var speakerName = document.getElementById("speaker-name");
  var speakerRole = document.getElementById("speaker-role");
  var statusMessage = document.getElementById("status-message");
  var errorMessage = document.getElementById("answer-error");
  var answerForm = document.getElementById("answer-form");
  var retryForm = document.getElementById("retry-form");
  var finishForm = document.getElementById("finish-form");
  var answerField = document.getElementById("answer");
  var sendButton = document.getElementById("send-button");
  // Replaced by a live character count, which includes the maximum the hint states.
  var answerHint = document.getElementById("answer-hint");
  var turnField = answerForm.querySelector('input[name="turn"]');

  var turnCount = Number(turnField.value);
  var deadline = Date.now() + Number(remaining.dataset.remainingSeconds) * 1000;
  var ended = false;
  var sending = false;

  function formatClock(seconds) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = String(seconds % 60).padStart(2, "0");
    if (hours > 0) {
      return hours + ":" + String(minutes).padStart(2, "0") + ":" + rest;
    }
    return minutes + ":" + rest;
  }

  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    remaining.textContent = formatClock(left);
    remaining.classList.toggle("urgent", left <= 60);
    if (left === 0 && !ended) {
      ended = true;
      refresh();
    }
  }

  function updateCharacterCount() {
    answerHint.textContent = root.dataset.msgCharacterCount.replace(
      "{count}",
      String(answerField.value.length)
    );
  }

  function showError(text) {
    errorMessage.textContent = text;
    errorMessage.hidden = !text;
  }

  function makeTurn(turn) {
    var item = document.createElement("li");
    var speaker = document.createElement("p");
    var text = document.createElement("p");
    var isCandidate = turn.speaker === "candidate";
    item.className = "turn " + (isCandidate ? "turn-candidate" : "turn-interviewer");
    speaker.className = "turn-speaker";
    if (isCandidate) {
      speaker.textContent = root.dataset.msgCandidate;
    } else {
      var role = document.createElement("span");
      role.className = "turn-role";
      role.textContent = ", " + turn.role;
      speaker.textContent = turn.name;
      speaker.appendChild(role);
    }
    text.className = "turn-text";
    text.textContent = turn.text;
    item.appendChild(speaker);
    item.appendChild(text);
    return item;
  }

  function applyState(state) {
    if (state.status !== "started") {
      // The server renders the finished, expired or cancelled page.
      window.location.reload();
      return;
    }
    deadline = Date.now() + state.remainingSeconds * 1000;
    if (state.turnCount !== turnCount) {
      transcript.replaceChildren.apply(transcript, state.turns.map(makeTurn));
      turnCount = state.turnCount;
      turnField.value = String(turnCount);
      if (transcript.lastElementChild) {
        transcript.lastElementChild.scrollIntoView({ block: "nearest" });
      }
    }
    if (state.speaker) {
      speakerName.textContent = state.speaker.name;
      speakerRole.textContent = state.speaker.role;
    }
    answerForm.hidden = state.awaitingPanel;
    retryForm.hidden = !state.awaitingPanel || state.panelBusy;
    statusMessage.textContent =
      state.awaitingPanel && state.panelBusy ? root.dataset.msgThinking : "";
  }

  function refresh() {
    fetch(stateUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (state) {
        if (state) {
          applyState(state);
        }
      })
      .catch(function () {
        // Polling resumes at the next interval; the server keeps the deadline.
      });
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, data: data };
      });
    });
  }

  function send(url, body, button) {
    if (sending) {
      return;
    }
    sending = true;
    button.disabled = true;
    answerField.readOnly = true;
    showError("");
    statusMessage.textContent = root.dataset.msgSending;
    post(url, body)
      .then(function (result) {
        var state = result.ok ? result.data : result.data.state;
        var code = result.ok ? null : result.data.error.code;
        // The answer is stored unless it was rejected for its content or timing.
        if (result.ok || code === "panel_turn_failed") {
          answerField.value = "";
        }
        if (!result.ok) {
          showError(result.data.error.message);
        }
        statusMessage.textContent = "";
        if (state) {
          applyState(state);
        }
      })
      .catch(function () {
        statusMessage.textContent = "";
        showError(root.dataset.msgConnectionFailed);
      })
      .finally(function () {
        sending = false;
        button.disabled = false;
        answerField.readOnly = false;
        updateCharacterCount();
        if (!answerForm.hidden) {
          answerField.focus();
        }
      });
  }

  answerForm.addEventListener("submit", function (event) {
    event.preventDefault();
    send(answerForm.action, { answer: answerField.value, turn: turnCount }, sendButton);
  });

  retryForm.addEventListener("submit", function (event) {
    event.preventDefault();
    send(retryForm.action, {}, retryForm.querySelector("button"));
  });

  finishForm.addEventListener("submit", function (event) {
    if (!window.confirm(finishForm.dataset.confirm)) {
      event.preventDefault();
    }
  });

  answerField.addEventListener("input", updateCharacterCount);
  answerField.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      answerForm.requestSubmit();
    }
  });

  updateCharacterCount();
  tick();
  window.setInterval(tick, 1000);
  window.setInterval(refresh, POLL_INTERVAL_MS);
  if (transcript.lastElementChild) {
    transcript.lastElementChild.scrollIntoView({ block: "nearest" });
  }
})();
