// Run by tests/e2e/test_client_helpers.py against the running ingress (AUTH_MODE=required):
// INGRESS_URL, WEBHOOK_SECRET, CALLBACK_SECRET, USER_ID, and a signature Python made
// (EXPECTED_SIGNATURE of EXPECTED_BODY at EXPECTED_T) so both helpers sign alike.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { Client, sign, verifyCallback } from "../index.mjs";

const env = process.env;

test("signs exactly as the Python helper does", () => {
  assert.equal(sign(env.WEBHOOK_SECRET, env.EXPECTED_BODY, Number(env.EXPECTED_T)), env.EXPECTED_SIGNATURE);
});

function receiver() {
  const calls = [];
  let arrived;
  const first = new Promise((resolve) => (arrived = resolve));
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      calls.push({ headers: request.headers, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
      arrived(calls[0]);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, calls, first })));
}

test("posts a signed utterance, gets its reply by callback and by GET", async () => {
  const { server, calls, first } = await receiver();
  try {
    const client = new Client(env.INGRESS_URL, env.WEBHOOK_SECRET);
    const callback_url = `http://127.0.0.1:${server.address().port}/zatsudan`;
    const posted = await client.post("/v1/utterances", { user_id: env.USER_ID, text: "Do you like cats?", callback_url });
    assert.equal(posted.status, 202, await posted.clone().text());
    const { message_id } = await posted.json();

    const call = await Promise.race([first, new Promise((_, fail) => setTimeout(() => fail(new Error("no callback")), 30000))]);
    const document = verifyCallback(env.CALLBACK_SECRET, call.body, call.headers);
    assert.equal(call.headers["webhook-id"], message_id);
    assert.equal(document.type, "reply.created");
    assert.equal(document.data.message_id, message_id);
    assert.throws(() => verifyCallback(env.CALLBACK_SECRET, call.body.replace("reply", "Reply"), call.headers));

    const got = await client.get(`/v1/replies/${message_id}?wait=10`);
    assert.equal(got.status, 200);
    assert.deepEqual((await got.json()).reply, document.data.reply);
    assert.equal(calls.length, 1);
  } finally {
    server.close();
  }
});

test("an unsigned GET is refused with a JSON error", async () => {
  const response = await fetch(`${env.INGRESS_URL}/v1/replies/01KB0000000000000000000000`);
  assert.equal(response.status, 401);
  assert.equal((await response.json()).error.code, "unauthenticated");
});
