// The web chat: post a line to ingress, then watch the key it hands back until
// the reply appears. Firestore: the Firebase JS SDK's onSnapshot. RTDB: the
// documented REST streaming API (EventSource on <path>.json), which the real
// service and the local server (infra/local/rtdb_server.py) both speak.
import { deleteApp, initializeApp } from "firebase/app";
import { connectFirestoreEmulator, doc, getFirestore, onSnapshot } from "firebase/firestore";

const config = await (await fetch("/config.json")).json();
const log = document.getElementById("log");
const form = document.getElementById("say");
const input = document.getElementById("line");
const userId = `web-${Math.random().toString(36).slice(2, 10)}`;
let conversationId = null;
let firestore = null;
let firestoreClients = 0;
// Feedback (the bandit learns from it): 👍/👎 rate a reply +1/-1; saying more
// within five minutes of an unrated reply rates it +0.5 ("continued"), as the
// terminal chat does (jobs/chat.py).
const CONTINUATION_WINDOW_MS = 5 * 60 * 1000;
const CONTINUATION_REWARD = 0.5;
let last = null; // { messageId, at, rated }
const EMULATOR_RELISTEN_MS = 2000;

// A Firestore client of its own (app, connection and cache); `fresh` retires
// the current one first.
function firestoreDb({ fresh = false } = {}) {
  if (firestore && fresh) {
    deleteApp(firestore.app);
    firestore = null;
  }
  if (!firestore) {
    const app = initializeApp({ projectId: config.project, apiKey: "local" }, `zatsudan-${firestoreClients++}`);
    firestore = getFirestore(app);
    if (config.firestoreHost) {
      const [host, port] = config.firestoreHost.split(":");
      connectFirestoreEmulator(firestore, host, Number(port));
    }
  }
  return firestore;
}

// Each watcher calls onReply(data) once, when the reply exists; returns a stop function.
const watchers = {
  firestore(path, onReply) {
    let unsubscribe = () => {};
    let relisten = null;
    let quietMs = EMULATOR_RELISTEN_MS;
    const listen = (db) => {
      unsubscribe = onSnapshot(doc(db, path), (snapshot) => {
        if (snapshot.exists()) onReply(snapshot.data());
      });
      // The Firestore emulator can stamp a write with a commit time earlier
      // than the read time at which a new listener was just told the document
      // is absent; the SDK then ignores the write as outdated, for good
      // (measured: about 1 page in 10; the gRPC clients never miss it). So on
      // the emulator a listener still quiet after a while is re-attached
      // through a fresh client, whose empty cache takes the document as it is.
      // Production Firestore keeps one listener.
      if (config.firestoreHost) {
        relisten = setTimeout(() => {
          unsubscribe();
          listen(firestoreDb({ fresh: true }));
        }, quietMs);
        quietMs *= 2;
      }
    };
    listen(firestoreDb());
    return () => { clearTimeout(relisten); unsubscribe(); };
  },
  rtdb(path, onReply) {
    const url = new URL(`${config.rtdbUrl}${path}.json`);
    if (config.rtdbNs) url.searchParams.set("ns", config.rtdbNs);
    const source = new EventSource(url);
    source.addEventListener("put", (event) => {
      const { path: at, data } = JSON.parse(event.data);
      if (at === "/" && data) onReply(data);
    });
    return () => source.close();
  },
};

function add(className, text) {
  const item = document.createElement("li");
  item.className = className;
  item.textContent = text;
  log.appendChild(item);
  return item;
}

async function rate(messageId, reward, source = "explicit") {
  const response = await fetch(`${config.ingressUrl}/v1/feedback`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message_id: messageId, reward, user_id: userId, source }),
  });
  const accepted = await response.json();
  if (response.status !== 202) throw new Error(`${response.status} ${accepted.error?.code}: ${accepted.error?.message}`);
  if (last && last.messageId === messageId) last.rated = true;
}

function ratingButtons(item, messageId) {
  const buttons = [["👍", 1, "rate-up"], ["👎", -1, "rate-down"]].map(([label, reward, className]) => {
    const button = document.createElement("button");
    button.className = className;
    button.textContent = label;
    button.addEventListener("click", () => {
      buttons.forEach((b) => { b.disabled = true; });
      rate(messageId, reward)
        .then(() => { item.dataset.rated = String(reward); })
        .catch((error) => add("error", `error: ${error.message}`));
    });
    return button;
  });
  return buttons;
}

function showReply(reply, elapsedMs, messageId) {
  const item = add("bot", "");
  item.dataset.algorithm = reply.algorithm;
  item.dataset.messageId = messageId;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = `bot> ${reply.text}`;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `[${reply.algorithm} · ${Math.round(elapsedMs)} ms · keywords: ${(reply.keywords || []).join(", ") || "-"}]`;
  item.append(text, meta, ...ratingButtons(item, messageId));
  last = { messageId, at: Date.now(), rated: false };
}

async function say(line) {
  const started = performance.now();
  add("you", `you> ${line}`);
  if (last && !last.rated && Date.now() - last.at < CONTINUATION_WINDOW_MS) {
    const previous = last.messageId;
    last.rated = true;
    rate(previous, CONTINUATION_REWARD, "continued").catch((error) => add("error", `error: ${error.message}`));
  }
  const body = { user_id: userId, text: line };
  if (conversationId) body.conversation_id = conversationId;
  const response = await fetch(`${config.ingressUrl}/v1/utterances`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const accepted = await response.json();
  if (response.status !== 202) throw new Error(`${response.status} ${accepted.error?.code}: ${accepted.error?.message}`);
  conversationId = accepted.conversation_id;
  const store = accepted.reply_path.startsWith("/") ? "rtdb" : "firestore"; // RTDB paths are absolute
  await new Promise((resolve, reject) => {
    let stop = () => {};
    const timer = setTimeout(() => { stop(); reject(new Error(`no reply at ${accepted.reply_path}`)); }, 20000);
    stop = watchers[store](accepted.reply_path, (reply) => {
      clearTimeout(timer);
      stop();
      showReply(reply, performance.now() - started, accepted.message_id);
      resolve();
    });
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = input.value.trim();
  input.value = "";
  if (line) say(line).catch((error) => add("error", `error: ${error.message}`));
});
document.getElementById("status").textContent = `replies from ${config.replyStore} · ingress ${config.ingressUrl}`;
document.body.dataset.ready = "true";
