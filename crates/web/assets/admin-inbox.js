// The conversations inbox's live parts, over /admin/{store}/live (the realtime protocol,
// docs/realtime-protocol.md; the server adds the staff member's token, this script never sees
// one). The pages are plain HTML and work without it; it adds:
//   - staff presence: this staff member is announced online (away while the tab is hidden),
//     and the "Staff online" list follows everyone's;
//   - the inbox: follows the store's staff feed, and when any conversation gets a message
//     (`conversation.message`) fetches its rows again (new conversations, unread counts and
//     the newest message, as the server renders them);
//   - a conversation: new messages appear as they are sent, "typing" is shown, the reply is
//     sent as a `publish` frame (the form posts as usual when there is no connection), and
//     what is read is acknowledged.
// Text from users is only ever put in the page with textContent.
import { connect } from "./live.js";

const STATUS = { online: "Online", away: "Away", offline: "Offline" };

function presenceList() {
  const list = document.getElementById("staff-presence");
  const rows = new Map();
  if (list) {
    for (const li of list.querySelectorAll("li[data-user-id]")) rows.set(li.dataset.userId, li);
  }
  return {
    set(userId, status) {
      const span = rows.get(userId)?.querySelector(".presence-status");
      if (!span) return;
      span.dataset.status = status;
      span.textContent = STATUS[status] || STATUS.offline;
    },
    name(userId) {
      return rows.get(userId)?.querySelector(".who")?.textContent || "Staff";
    },
  };
}

function start(root) {
  const presence = presenceList();
  const presenceChannel = root.dataset.presenceChannel;
  const conversation = root.dataset.conversationChannel || null;
  let lastSeq = Number(root.dataset.lastSeq || 0);
  let me = null;
  let nextId = 1;
  const messages = document.getElementById("messages");
  const liveNote = document.getElementById(conversation ? "live-messages" : "inbox-live");
  const say = (text) => {
    if (liveNote) liveNote.textContent = text;
  };
  const list = document.getElementById("conversation-rows");
  const refreshUrl = list?.dataset.refresh || null;

  const send = (socket, frame) => {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ id: nextId++, ...frame }));
      return true;
    }
    return false;
  };

  const announce = (socket) => {
    send(socket, { type: "presence", status: document.hidden ? "away" : "online" });
  };

  function appendMessage(frame) {
    if (!messages || frame.seq <= lastSeq) return;
    lastSeq = frame.seq;
    messages.querySelector("li.empty")?.remove();
    const li = document.createElement("li");
    li.dataset.seq = String(frame.seq);
    const fromCustomer = frame.sender_role === "customer";
    li.className = fromCustomer ? "from-customer" : "from-staff";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = fromCustomer ? root.dataset.customer || "Customer" : presence.name(frame.sender_id);
    const when = document.createElement("span");
    when.className = "muted";
    when.textContent = new Date(frame.sent_at_ms).toISOString().slice(0, 16).replace("T", " ") + " UTC";
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = frame.body;
    li.append(who, " ", when, body);
    messages.append(li);
    messages.scrollTop = messages.scrollHeight;
    if (fromCustomer) say(`New message from ${who.textContent}`);
  }

  // The inbox's rows again, as the server renders them (the HTML is this site's own, its user
  // text escaped there); one fetch at a time, and one more if messages came meanwhile.
  let fetching = false;
  let again = false;
  async function refreshRows(fromCustomer) {
    if (!refreshUrl || !list) return;
    if (fetching) {
      again = true;
      return;
    }
    fetching = true;
    try {
      const response = await fetch(refreshUrl, { credentials: "same-origin", headers: { accept: "text/html" } });
      if (response.redirected || !response.ok) {
        if (response.redirected || response.status === 401) say("Live updates stopped: sign in again.");
        return;
      }
      const parsed = new DOMParser().parseFromString(await response.text(), "text/html");
      // Rows that did not change stay as they are: replacing them under a pointer would eat
      // the click being made on one.
      const fresh = document.createElement("ul");
      fresh.replaceChildren(...parsed.body.childNodes);
      if (fresh.innerHTML === list.innerHTML) return;
      list.replaceChildren(...fresh.childNodes);
      if (fromCustomer) say(`New message: ${list.querySelector("a")?.textContent || ""}`);
    } catch (_) {
      // The next message tries again.
    } finally {
      fetching = false;
      if (again) {
        again = false;
        refreshRows(false);
      }
    }
  }

  let typingTimer = null;
  let opened = false;
  const getSocket = connect(
    root.dataset.inboxSocket,
    (socket) => {
      // The page's own channel first, so that the first `subscribed` (which live.js marks on
      // <body data-live>) is the one that matters; presence after.
      if (conversation) {
        // Resume after what the page shows: the server sends what came since, then live.
        send(socket, { type: "subscribe", channel: conversation, after_seq: lastSeq });
      } else if (refreshUrl) {
        send(socket, { type: "subscribe", channel: root.dataset.staffChannel });
        // After a reconnect, whatever came while the socket was down.
        if (opened) refreshRows(false);
      }
      opened = true;
      send(socket, { type: "subscribe", channel: presenceChannel });
      announce(socket);
    },
    (frame, socket) => {
      switch (frame.type) {
        case "connected":
          me = frame.user_id || null;
          break;
        case "presence":
          presence.set(frame.user_id, frame.status);
          break;
        case "message":
          if (conversation && frame.channel === conversation) {
            appendMessage(frame);
            if (!document.hidden) send(socket, { type: "ack", channel: conversation, seq: frame.seq });
          }
          break;
        case "event":
          if (!conversation && frame.event === "conversation.message") {
            refreshRows(frame.data?.sender_role === "customer");
          }
          break;
        case "typing":
          if (conversation && frame.channel === conversation && frame.user_id !== me) {
            say(frame.role === "customer" ? "The customer is typing…" : "A colleague is typing…");
            clearTimeout(typingTimer);
            typingTimer = setTimeout(() => say(""), 4000);
          }
          break;
        case "published":
          say("Sent.");
          break;
        case "error":
          if (frame.code === "forbidden" || frame.code === "unauthenticated") {
            say("Live updates stopped: reload the page or sign in again.");
          }
          break;
        default:
          break;
      }
    },
  );

  document.addEventListener("visibilitychange", () => announce(getSocket()));

  const form = document.getElementById("reply");
  const textarea = document.getElementById("reply-body");
  if (conversation && form && textarea) {
    let lastTyping = 0;
    textarea.addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping > 2000 && send(getSocket(), { type: "typing", channel: conversation })) lastTyping = now;
    });
    form.addEventListener("submit", (event) => {
      const body = textarea.value.trim();
      if (!body) return;
      const clientMsgId = `admin-${crypto.randomUUID()}`;
      // Without a connection the form is posted as it is (POST, then back to this page).
      if (!send(getSocket(), { type: "publish", channel: conversation, client_msg_id: clientMsgId, body })) return;
      event.preventDefault();
      textarea.value = "";
      say("Sending…");
    });
  }
}

const root = document.getElementById("conversation") || document.getElementById("inbox");
if (root && root.dataset.inboxSocket) start(root);
