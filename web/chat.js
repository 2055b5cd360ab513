// The SupportAgent chat page: plain JavaScript, no build step, nothing loaded from elsewhere.
// Replies stream in the Vercel AI SDK's UI message stream protocol (Server-Sent Events over a POST), the same stream
// `useChat` reads. Signed in (the service answers GET /api/me/memories), the page chats as that user through
// /api/me/chat and lists what is remembered; otherwise it names the user with the "User id" field and POST /api/chat.
"use strict";

(() => {
  const api = String(window.SUPPORTAGENT_API || "").replace(/\/+$/, "");
  const url = (path) => api + path;
  const $ = (id) => document.getElementById(id);
  const USER_ID_KEY = "supportagent.userId";

  const els = {
    anonymous: $("anonymous"), userId: $("user-id"), signIn: $("sign-in"),
    signedIn: $("signed-in"), principalName: $("principal-name"), signOut: $("sign-out"),
    messages: $("messages"), status: $("status"), composer: $("composer"), message: $("message"),
    send: $("send"), stop: $("stop"), newSession: $("new-session"),
    memories: $("memories"), memoryList: $("memory-list"), memoriesEmpty: $("memories-empty"),
    memoriesMore: $("memories-more"), memoriesRefresh: $("memories-refresh"), forgetAll: $("forget-all"),
  };

  /** This session's turns, re-sent with every message (as the tutorial's frontend does); a reload starts a new one. */
  let conversation = [];
  let signedIn = false;
  let reply = null; // { controller } while a reply is being written
  let nextPage = null;

  // ---------------------------------------------------------------------------------------------------------------
  // Who is chatting
  // ---------------------------------------------------------------------------------------------------------------

  /** Static Web Apps ({clientPrincipal}) and App Service Authentication ([{user_claims}]) both answer /.auth/me. */
  async function platformPrincipal() {
    try {
      const response = await fetch("/.auth/me", { headers: { Accept: "application/json" } });
      if (!response.ok || !(response.headers.get("Content-Type") || "").includes("json")) {
        return { available: false, name: null };
      }
      const body = await response.json();
      if (body && typeof body === "object" && "clientPrincipal" in body) {
        return { available: true, name: body.clientPrincipal ? body.clientPrincipal.userDetails || null : null };
      }
      if (Array.isArray(body)) {
        const claims = body.length > 0 ? body[0].user_claims || [] : [];
        const claim = (...types) => (claims.find((c) => types.includes(c.typ)) || {}).val;
        return { available: true, name: body.length > 0 ? claim("name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name") || body[0].user_id || null : null };
      }
    } catch {
      // No platform sign-in in front of this page (the self host, a plain web server).
    }
    return { available: false, name: null };
  }

  async function detectSignIn() {
    const [platform, memories] = await Promise.all([platformPrincipal(), fetchMemories(null)]);
    signedIn = memories !== null;
    els.signedIn.hidden = !signedIn;
    els.anonymous.hidden = signedIn;
    els.memories.hidden = !signedIn;
    if (signedIn) {
      els.principalName.textContent = platform.name || "you";
      els.signOut.hidden = !platform.available;
      renderMemories(memories, false);
    } else {
      els.signIn.hidden = !platform.available;
      els.userId.value = storedUserId();
    }
  }

  function storedUserId() {
    let id = localStorage.getItem(USER_ID_KEY);
    if (!id) {
      id = "user-" + Array.from(crypto.getRandomValues(new Uint8Array(4)), (b) => b.toString(16).padStart(2, "0")).join("");
      localStorage.setItem(USER_ID_KEY, id);
    }
    return id;
  }

  els.userId.addEventListener("change", () => {
    const id = els.userId.value.trim();
    if (id) {
      localStorage.setItem(USER_ID_KEY, id);
    }
  });

  // ---------------------------------------------------------------------------------------------------------------
  // The conversation
  // ---------------------------------------------------------------------------------------------------------------

  function addMessage(role, text) {
    const item = document.createElement("li");
    item.className = `message ${role}`;
    item.dataset.role = role;
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text;
    item.append(body);
    els.messages.append(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function setStatus(text, isError = false) {
    els.status.textContent = text;
    els.status.classList.toggle("error", isError);
  }

  /** What memory did for this reply: shown under the assistant's message. */
  function showMemory(item, metadata) {
    if (!metadata) {
      return;
    }
    let meta = item.querySelector(".meta");
    if (!meta) {
      meta = document.createElement("small");
      meta.className = "meta";
      item.append(meta);
    }
    const used = metadata.memoriesUsed || 0;
    item.dataset.memory = metadata.memory;
    item.dataset.memoriesUsed = String(used);
    let text;
    if (metadata.memory === "ok") {
      text = used > 0 ? `Memory used: ${used} ${used === 1 ? "memory" : "memories"} about you` : "No memories used";
    } else if (metadata.memory === "timeout") {
      text = "Memory was too slow: answered without it";
    } else {
      text = "Memory unavailable: answered without it";
    }
    if (metadata.memorySaved === true) {
      text += " · this exchange will be remembered";
    } else if (metadata.memorySaved === false) {
      text += " · this exchange could not be saved";
    } else if (metadata.memorySaved === "pending") {
      text += " · storage is slow: this exchange is still being saved";
    }
    meta.textContent = text;
    meta.classList.toggle("used", metadata.memory === "ok" && used > 0);
  }

  function fail(item, text) {
    item.dataset.state = "failed";
    item.classList.add("failed");
    if (!item.querySelector(".text").textContent) {
      item.querySelector(".text").textContent = "(no reply)";
    }
    setStatus(text, true);
  }

  async function problemText(response) {
    try {
      const problem = await response.json();
      const text = problem.detail || problem.title || `The service answered ${response.status}.`;
      return response.status === 429 ? text + retryAt(response, problem) : text;
    } catch {
      return `The service answered ${response.status}.`;
    }
  }

  /**
   * When a refused request (429, a per-user limit) may be sent again, in the reader's local time: from Retry-After, or
   * the problem's retryAfterSeconds (a page on another origin cannot read the header).
   */
  function retryAt(response, problem) {
    const seconds = Number(response.headers.get("Retry-After") ?? problem.retryAfterSeconds);
    if (!Number.isFinite(seconds) || seconds <= 0) {
      return "";
    }
    const at = new Date(Date.now() + seconds * 1000);
    return ` You can send again at ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" })}.`;
  }

  /** Server-Sent Events from a fetch response body: each event's data, as it arrives. */
  async function* eventData(response) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(l.startsWith("data: ") ? 6 : 5)).join("\n");
        if (data) {
          yield data;
        }
      }
    }
  }

  async function send(text) {
    const userId = els.userId.value.trim();
    if (!signedIn && !userId) {
      setStatus("Enter a user id first: it is who the service remembers.", true);
      els.userId.focus();
      return;
    }
    conversation.push({ role: "user", content: text });
    addMessage("user", text);
    const item = addMessage("assistant", "");
    item.dataset.state = "waiting";
    const textEl = item.querySelector(".text");
    setStatus("Thinking…");
    setBusy(true);
    const controller = new AbortController();
    reply = { controller };

    try {
      const response = await fetch(url(signedIn ? "/api/me/chat" : "/api/chat"), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify(signedIn ? { messages: conversation } : { userId, messages: conversation }),
        signal: controller.signal,
      });
      if (!response.ok) {
        fail(item, await problemText(response));
        return;
      }
      let answer = "";
      let finished = false;
      for await (const data of eventData(response)) {
        if (data === "[DONE]") {
          break;
        }
        const event = JSON.parse(data);
        switch (event.type) {
          case "start":
            showMemory(item, event.messageMetadata);
            break;
          case "text-delta":
            answer += event.delta;
            textEl.textContent = answer;
            item.dataset.state = "streaming";
            setStatus("");
            break;
          case "finish":
            showMemory(item, event.messageMetadata);
            finished = true;
            break;
          case "error":
            fail(item, event.errorText || "The reply failed.");
            return;
        }
      }
      if (!finished) {
        fail(item, "The reply was cut off. Please try again.");
        return;
      }
      item.dataset.state = "done";
      conversation.push({ role: "assistant", content: answer });
      setStatus("");
      if (signedIn) {
        refreshMemories();
      }
    } catch (error) {
      if (controller.signal.aborted) {
        fail(item, "Stopped. What you wrote is still remembered.");
      } else {
        // fetch rejects without a status for network errors and for CORS refusals alike.
        fail(item, "Could not reach the service (it is down, or it does not allow this page's origin: see CORS_ALLOWED_ORIGINS).");
      }
    } finally {
      reply = null;
      setBusy(false);
    }
  }

  function setBusy(busy) {
    els.send.disabled = busy;
    els.stop.hidden = !busy;
    els.newSession.disabled = busy;
  }

  els.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = els.message.value.trim();
    if (!text || reply) {
      return;
    }
    els.message.value = "";
    send(text);
  });

  els.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      els.composer.requestSubmit();
    }
  });

  els.stop.addEventListener("click", () => reply && reply.controller.abort());

  els.newSession.addEventListener("click", () => {
    conversation = [];
    els.messages.replaceChildren();
    setStatus("New conversation: what the service remembers about you carries over.");
  });

  // ---------------------------------------------------------------------------------------------------------------
  // What we remember about you (signed in)
  // ---------------------------------------------------------------------------------------------------------------

  /** One page of the signed-in user's memories; null when not signed in (401), or the route does not exist. */
  async function fetchMemories(next) {
    try {
      const response = await fetch(url("/api/me/memories" + (next ? "?next=" + encodeURIComponent(next) : "")), { headers: { Accept: "application/json" } });
      return response.ok ? await response.json() : null;
    } catch {
      return null;
    }
  }

  function renderMemories(page, append) {
    if (!append) {
      els.memoryList.replaceChildren();
    }
    for (const memory of page.memories || []) {
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = memory.memory;
      text.id = "memory-" + memory.id;
      const forget = document.createElement("button");
      forget.type = "button";
      forget.className = "danger";
      forget.textContent = "Forget";
      forget.setAttribute("aria-describedby", text.id);
      forget.addEventListener("click", () => forgetOne(memory.id, item, forget));
      item.append(text, forget);
      els.memoryList.append(item);
    }
    nextPage = page.next || null;
    els.memoriesMore.hidden = !nextPage;
    els.memoriesEmpty.hidden = els.memoryList.children.length > 0;
  }

  async function refreshMemories() {
    const page = await fetchMemories(null);
    if (page) {
      renderMemories(page, false);
    }
  }

  async function forgetOne(id, item, button) {
    button.disabled = true;
    const response = await fetch(url("/api/me/memories/" + encodeURIComponent(id)), { method: "DELETE" }).catch(() => null);
    if (response && (response.ok || response.status === 404)) {
      item.remove();
      els.memoriesEmpty.hidden = els.memoryList.children.length > 0;
      setStatus("Forgotten.");
    } else {
      button.disabled = false;
      setStatus(response ? await problemText(response) : "Could not reach the service.", true);
    }
  }

  els.forgetAll.addEventListener("click", async () => {
    if (!window.confirm("Forget everything we remember about you? This cannot be undone.")) {
      return;
    }
    const response = await fetch(url("/api/me/memories"), { method: "DELETE" }).catch(() => null);
    if (response && response.ok) {
      renderMemories({ memories: [], next: null }, false);
      setStatus("Everything we remembered about you is forgotten.");
    } else {
      setStatus(response ? await problemText(response) : "Could not reach the service.", true);
    }
  });

  els.memoriesRefresh.addEventListener("click", refreshMemories);

  els.memoriesMore.addEventListener("click", async () => {
    const page = nextPage ? await fetchMemories(nextPage) : null;
    if (page) {
      renderMemories(page, true);
    }
  });

  detectSignIn().finally(() => {
    document.body.dataset.ready = "true";
  });
})();
