// The web chat: sign in (Firebase Auth, anonymously), post a line to ingress
// with the user's ID token, then watch the key it hands back until the reply
// appears. Firestore: the Firebase JS SDK's onSnapshot. RTDB: the documented
// REST streaming API (EventSource on <path>.json), which the real service and
// the local server (infra/local/rtdb_server.py) both speak.
import { initializeApp } from "firebase/app";
import { connectAuthEmulator, getAuth, onAuthStateChanged, signInAnonymously } from "firebase/auth";
import { connectFirestoreEmulator, doc, getFirestore, onSnapshot, terminate } from "firebase/firestore";

const config = await (await fetch("/config.json")).json();
const log = document.getElementById("log");
const form = document.getElementById("say");
const input = document.getElementById("line");
const status = document.getElementById("status");
let conversationId = null;
let firestore = null;
// Feedback (the bandit learns from it): 👍/👎 rate a reply +1/-1; saying more
// within five minutes of an unrated reply rates it +0.5 ("continued"), as the
// terminal chat does (jobs/chat.py).
const CONTINUATION_WINDOW_MS = 5 * 60 * 1000;
const CONTINUATION_REWARD = 0.5;
let last = null; // { messageId, at, rated }
const EMULATOR_RELISTEN_MS = 2000;

// One app, signed in: ingress takes the user's ID token (AUTH_MODE=required)
// and the security rules let the user read the replies of their own
// conversations. config.json gives the Firebase web config (apiKey,
// authDomain, projectId) and, locally, the Auth emulator's address.
const app = initializeApp(config.firebase);
let auth = null;

// The signed-in user, once Auth has restored a session or made a new anonymous one.
async function signIn() {
  auth = getAuth(app); // throws on a missing or malformed apiKey
  if (config.authEmulatorHost) connectAuthEmulator(auth, `http://${config.authEmulatorHost}`, { disableWarnings: true });
  const restored = await new Promise((resolve) => {
    const stop = onAuthStateChanged(auth, (user) => { stop(); resolve(user); });
  });
  return restored || (await signInAnonymously(auth)).user;
}

// Headers of a post to ingress: the current ID token, which the SDK refreshes
// shortly before it expires (an hour after it was issued).
async function authorized() {
  const token = await auth.currentUser.getIdToken();
  return { "content-type": "application/json", authorization: `Bearer ${token}` };
}

// The Firestore client; `fresh` retires the current one first, so the next
// starts with an empty cache (same app, same signed-in user).
function firestoreDb({ fresh = false } = {}) {
  if (firestore && fresh) {
    terminate(firestore);
    firestore = null;
  }
  if (!firestore) {
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
  rtdb(path, onReply, token) {
    const url = new URL(`${config.rtdbUrl}${path}.json`);
    if (config.rtdbNs) url.searchParams.set("ns", config.rtdbNs);
    url.searchParams.set("auth", token); // the REST API's credential: the rules see the user
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
    headers: await authorized(),
    body: JSON.stringify({ message_id: messageId, reward, user_id: auth.currentUser.uid, source }),
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
  const body = { user_id: auth.currentUser.uid, text: line };
  if (conversationId) body.conversation_id = conversationId;
  const headers = await authorized();
  const response = await fetch(`${config.ingressUrl}/v1/utterances`, { method: "POST", headers, body: JSON.stringify(body) });
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
    }, headers.authorization.slice("Bearer ".length));
  });
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const line = input.value.trim();
  input.value = "";
  if (line) say(line).catch((error) => add("error", `error: ${error.message}`));
});

// Nothing can be said before the user is signed in: the form stays disabled,
// and a failed sign-in says so (the page is then of no use, by design).
form.querySelectorAll("input, button").forEach((element) => { element.disabled = true; });
try {
  const user = await signIn();
  form.querySelectorAll("input, button").forEach((element) => { element.disabled = false; });
  status.textContent = `signed in (${user.isAnonymous ? "anonymous" : user.uid}) · replies from ${config.replyStore} · ingress ${config.ingressUrl}`;
  document.body.dataset.uid = user.uid;
  document.body.dataset.ready = "true";
} catch (error) {
  status.textContent = `sign-in failed: ${error.code || error.message}. Nothing can be sent: check the Firebase config (config.json) or the Auth emulator.`;
  status.className = "error";
  document.body.dataset.ready = "signin-failed";
}
