// The order page's live parts: its status (the customer's orders channel) and the conversation
// with the store (its channel: history first, then live messages; sending with `publish`).
import { connect } from "./live.js";

const order = document.getElementById("order");
if (order) {
  const store = location.pathname.split("/")[2];
  const statusEl = document.getElementById("order-status");
  const section = document.getElementById("conversation");
  const list = document.getElementById("messages");
  const form = document.getElementById("message-form");
  const input = document.getElementById("message-body");
  const conversation = section && section.dataset.channel;
  let lastSeq = Number((section && section.dataset.lastSeq) || 0);
  let live = null;
  const words = (status) => {
    const text = String(status || "").replace(/_/g, " ");
    return text.charAt(0).toUpperCase() + text.slice(1);
  };
  const append = (m) => {
    if (m.seq <= lastSeq) return;
    lastSeq = m.seq;
    const item = document.createElement("li");
    item.dataset.seq = String(m.seq);
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = m.sender_role === "customer" ? "You" : "Store";
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = new Date(m.sent_at_ms || Date.now()).toTimeString().slice(0, 5);
    const body = document.createElement("p");
    body.textContent = m.body; // text, never HTML
    item.append(who, when, body);
    list.append(item);
    list.scrollTop = list.scrollHeight;
    const empty = document.getElementById("no-messages");
    if (empty) empty.remove();
  };
  connect(`/s/${store}/live`, (socket) => {
    live = socket;
    socket.send(JSON.stringify({ type: "subscribe", id: 1, channel: order.dataset.ordersChannel }));
    if (conversation) {
      socket.send(JSON.stringify({ type: "subscribe", id: 2, channel: conversation, after_seq: lastSeq }));
    }
  }, (frame) => {
    if (frame.type === "event" && frame.data && frame.data.order_id === order.dataset.orderId && frame.data.status) {
      statusEl.textContent = words(frame.data.status);
      const refunded = Number(frame.data.refunded_minor || 0);
      const line = document.getElementById("order-refund-line");
      if (refunded > 0 && line) {
        const digits = ["JPY", "KRW", "CLP", "ISK", "VND"].includes(frame.data.currency) ? 0 : 2;
        const amount = digits ? (refunded / 100).toFixed(2) : String(refunded);
        document.getElementById("order-refunded").textContent = `${amount} ${frame.data.currency}`;
        line.hidden = false;
      }
    } else if (frame.type === "message" && frame.channel === conversation) {
      append(frame);
    }
  });
  // With a live connection and a conversation, a message is sent as a `publish` frame and
  // shown when the store's copy comes back; otherwise the form posts as plain HTML.
  if (form && conversation) {
    form.addEventListener("submit", (event) => {
      const body = input.value.trim();
      if (!live || live.readyState !== WebSocket.OPEN || !body) return;
      event.preventDefault();
      const id = `web-${Date.now()}-${Math.random().toString(36).slice(2, 10)}`;
      live.send(JSON.stringify({ type: "publish", id: 3, channel: conversation, client_msg_id: id, body }));
      input.value = "";
    });
  }
}
