// The chat page: sends the conversation to /v1/chat/completions and shows the reply as its server-sent events arrive.
// Text is only ever set as textContent, so nothing a model writes becomes markup.
"use strict";

const messagesView = document.getElementById("messages");
const input = document.getElementById("input");
const sendButton = document.getElementById("send");
const stopButton = document.getElementById("stop");
const errorView = document.getElementById("error");

/** The conversation so far, as the API takes it. */
let conversation = [];
/** Aborts the reply being streamed, if any. */
let controller = null;

function apiHeaders() {
  const key = localStorage.getItem("modelgen-api-key");
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

/** Fetches from the API, asking for the API key (and trying again) when the server wants one. */
async function api(path, init = {}) {
  for (;;) {
    const response = await fetch(path, { ...init, headers: apiHeaders() });
    if (response.status !== 401) return response;
    const key = prompt("This server needs an API key:");
    if (!key) return response;
    localStorage.setItem("modelgen-api-key", key);
  }
}

function showError(message) {
  errorView.textContent = message;
  errorView.hidden = !message;
}

async function errorMessage(response) {
  try {
    return (await response.json()).error.message;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

function addMessage(role, text) {
  const view = document.createElement("div");
  view.className = `message ${role}`;
  view.textContent = text;
  messagesView.append(view);
  view.scrollIntoView({ block: "end" });
  return view;
}

function setStreaming(streaming) {
  sendButton.disabled = streaming;
  stopButton.disabled = !streaming;
  document.body.dataset.state = streaming ? "streaming" : "idle";
}

/** Yields the data of each server-sent event of a response body. */
async function* events(body, signal) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event.split("\n").filter(line => line.startsWith("data: ")).map(line => line.slice(6)).join("\n");
        if (data) yield data;
      }
    }
  } finally {
    if (!signal.aborted) reader.releaseLock();
  }
}

async function send(text) {
  showError("");
  conversation.push({ role: "user", content: text });
  addMessage("user", text);
  const reply = addMessage("assistant", "");
  reply.classList.add("streaming");
  controller = new AbortController();
  const signal = controller.signal;
  setStreaming(true);
  try {
    const response = await api("/v1/chat/completions", {
      method: "POST",
      body: JSON.stringify({ messages: conversation, stream: true }),
      signal,
    });
    if (!response.ok) {
      showError(await errorMessage(response));
      return;
    }

    for await (const data of events(response.body, signal)) {
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data);
      if (chunk.error) {
        showError(chunk.error.message);
        break;
      }

      const delta = chunk.choices[0]?.delta?.content;
      if (delta) {
        reply.textContent += delta;
        reply.scrollIntoView({ block: "end" });
      }
    }
  } catch (e) {
    if (signal.aborted) {
      reply.classList.add("stopped");
    } else {
      showError(`The request failed: ${e.message}`);
    }
  } finally {
    reply.classList.remove("streaming");
    // What was shown stays in the conversation, a stopped reply too, so the next message follows it.
    if (reply.textContent) conversation.push({ role: "assistant", content: reply.textContent });
    controller = null;
    setStreaming(false);
    input.focus();
  }
}

document.getElementById("composer").addEventListener("submit", event => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text || controller) return;
  input.value = "";
  send(text);
});

input.addEventListener("keydown", event => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    sendButton.click();
  }
});

stopButton.addEventListener("click", () => controller?.abort());

document.getElementById("clear").addEventListener("click", () => {
  controller?.abort();
  conversation = [];
  messagesView.replaceChildren();
  showError("");
});

(async () => {
  const name = document.getElementById("model-name");
  const response = await api("/v1/models");
  if (!response.ok) {
    name.textContent = "(unavailable)";
    showError(await errorMessage(response));
    return;
  }

  const model = (await response.json()).data[0].id;
  name.textContent = model;
  document.title = `${model} · ModelGen chat`;
})();
setStreaming(false);
