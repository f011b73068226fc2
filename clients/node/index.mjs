// Node helpers for a zatsudan webhook caller (the Python ones: shared/client.py).
//
//   import { Client, verifyCallback } from "./index.mjs";
//   const client = new Client(INGRESS_URL, WEBHOOK_SECRET);
//   const accepted = await (await client.post("/v1/utterances",
//       { user_id: "u1", text: "猫が好きです", callback_url: "https://bot.example/zatsudan" })).json();
//   const reply = await (await client.get(`/v1/replies/${accepted.message_id}?wait=10`)).json();
//   // the callback's receiver (throws WebhookVerificationError if it is not ours):
//   const document = verifyCallback(CALLBACK_SECRET, rawBody, request.headers);
//
// The request signature is ingress's (shared/auth.py): X-Zatsudan-Signature:
// t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">; a GET signs its path and
// query in place of a body. Callbacks are Standard Webhooks (npm standardwebhooks);
// webhook-id is the message id: de-duplicate by it.
import { createHmac } from "node:crypto";
import { Webhook } from "standardwebhooks";

export const SIGNATURE_HEADER = "X-Zatsudan-Signature";

/** The X-Zatsudan-Signature value for `body` (a string or bytes: exactly what is sent). */
export function sign(secret, body, timestamp = Math.floor(Date.now() / 1000)) {
  const digest = createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
  return `t=${timestamp},v1=${digest}`;
}

/** The callback's document if its Standard Webhooks signature is good; throws otherwise. */
export function verifyCallback(secret, body, headers) {
  const lower = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
  return new Webhook(secret).verify(body, lower);
}

export class Client {
  constructor(baseUrl, secret) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.secret = secret;
  }

  /** POST `document` as JSON, signed; the fetch Response. */
  post(path, document, headers = {}) {
    const body = JSON.stringify(document);
    return fetch(this.baseUrl + path, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", [SIGNATURE_HEADER]: sign(this.secret, body), ...headers },
    });
  }

  /** GET `pathAndQuery` (e.g. `/v1/replies/<id>?wait=5`), signed; the fetch Response. */
  get(pathAndQuery) {
    return fetch(this.baseUrl + pathAndQuery, { headers: { [SIGNATURE_HEADER]: sign(this.secret, pathAndQuery) } });
  }
}
