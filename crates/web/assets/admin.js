// The admin's live parts: the home, the order list and an order page follow the store's staff
// channel (docs/realtime-protocol.md) and refetch their HTML when an order or the figures change.
//
// A page says what to follow on an element marked `data-live`:
//   data-live-socket   the WebSocket path (`/admin/{store}/live`: the server adds the token)
//   data-live-refresh  a URL answering the HTML that replaces the element's content
//   data-live-order    (optional) only this order's events refresh it
//   data-live-events   (optional) the event-name prefixes that refresh it, space-separated
//                      (default `order.`; the home adds `figures.` for `figures.changed`)
// The pages are plain HTML and work without this script; it only spares a reload.

function follow(region) {
  const socketPath = region.dataset.liveSocket;
  const refreshUrl = region.dataset.liveRefresh;
  const orderId = region.dataset.liveOrder || null;
  const prefixes = (region.dataset.liveEvents || "order.").split(" ").filter(Boolean);
  const status = document.getElementById("live-status");
  // What the page says while it listens, as the server wrote it.
  const listening = status ? status.textContent : "";
  let delay = 1000;
  let timer = null;
  let running = false;
  let pending = false;
  let subscribedOnce = false;

  const say = (text) => {
    if (status) status.textContent = text;
  };

  const ids = () => new Set([...region.querySelectorAll("[data-order-id]")].map((el) => el.dataset.orderId));

  // Someone typing in a form of the region (a refund's quantities) keeps what they typed: the
  // refresh waits until they leave it.
  const typing = () => {
    const active = document.activeElement;
    return active && region.contains(active) && ["INPUT", "SELECT", "TEXTAREA"].includes(active.tagName);
  };

  async function refresh() {
    if (typing()) {
      region.addEventListener("focusout", soon, { once: true });
      return;
    }
    if (running) {
      pending = true;
      return;
    }
    running = true;
    try {
      const before = ids();
      const response = await fetch(refreshUrl, {
        credentials: "same-origin",
        headers: { accept: "text/html" },
      });
      if (response.redirected || response.status === 401) {
        say("Live updates stopped: sign in again.");
        return;
      }
      if (!response.ok) return;
      const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
      region.replaceChildren(...parsed.body.childNodes);
      const fresh = [...region.querySelectorAll("[data-order-id]")].filter((el) => !before.has(el.dataset.orderId));
      for (const el of fresh) el.classList.add("is-new");
      if (fresh.length === 1) say(`New order ${fresh[0].dataset.orderLabel || ""}`.trim());
      else if (fresh.length > 1) say(`${fresh.length} new orders`);
      else if (orderId) say("Updated just now.");
    } catch (_) {
      // The next event tries again; the page stays as it was.
    } finally {
      running = false;
      if (pending) {
        pending = false;
        soon();
      }
    }
  }

  // Events come in bursts (placed, confirmed, …): one refresh per burst.
  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 250);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}${socketPath}`, "mercato.v1");
    let nextId = 1;
    socket.addEventListener("message", (message) => {
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch (_) {
        return;
      }
      if (frame.type === "connected" && frame.store_id && frame.user_id) {
        socket.send(JSON.stringify({ type: "subscribe", id: nextId++, channel: `staff:${frame.store_id}` }));
      } else if (frame.type === "subscribed") {
        delay = 1000;
        // As on the storefront: tests (and curious people) can tell when the page listens.
        document.body.dataset.live = "subscribed";
        say(listening);
        // Events are live only: after a reconnect, read what changed meanwhile.
        if (subscribedOnce) soon();
        subscribedOnce = true;
      } else if (frame.type === "event" && typeof frame.event === "string" && prefixes.some((p) => frame.event.startsWith(p))) {
        if (!orderId || (frame.data && frame.data.order_id === orderId)) soon();
      } else if (frame.type === "error" && frame.code === "forbidden") {
        say("Live updates are not available for this account.");
      }
    });
    socket.addEventListener("close", (event) => {
      delete document.body.dataset.live;
      say("Live updates paused, reconnecting…");
      // An expired token (4001): a page request refreshes the session's cookies first.
      const ready = event.code === 4001 ? fetch(refreshUrl, { credentials: "same-origin" }).catch(() => {}) : null;
      setTimeout(() => Promise.resolve(ready).then(connect), delay);
      delay = Math.min(delay * 2, 30000);
    });
  }

  connect();
}

for (const region of document.querySelectorAll("[data-live-socket]")) follow(region);
