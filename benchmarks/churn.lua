-- wrk script: session churn. Each wrk thread owns one connection (-tN -cN) and runs sessions
-- back to back: initialize -> notifications/initialized -> tools/call echo -> DELETE
-- (the DELETE carries "Connection: close", so every session also opens a new TCP connection,
-- as a new client would). Every response is checked; a failed step abandons the session.
-- Arguments (after --): protocol-version mode   (mode: mcp | tiny)

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  version = args[1] or "2025-11-25"
  mode = args[2] or "mcp"
  step = 1
  n = 0
  sessions = 0
  failures = 0
  first_bad = ""
  sid = nil
  expect_text = nil
  base = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["Mcp-Protocol-Version"] = version,
  }
  init_body = '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"' ..
    version .. '","capabilities":{},"clientInfo":{"name":"churn","version":"0"}}}'
end

local function with_session(extra)
  local h = {}
  for k, v in pairs(base) do h[k] = v end
  h["Mcp-Session-Id"] = sid
  if extra then for k, v in pairs(extra) do h[k] = v end end
  return h
end

function request()
  if step == 1 then
    return wrk.format("POST", nil, base, init_body)
  elseif step == 2 then
    return wrk.format("POST", nil, with_session(),
      '{"jsonrpc":"2.0","method":"notifications/initialized"}')
  elseif step == 3 then
    n = n + 1
    local text = "c" .. tid .. "-" .. n .. "-" .. math.random(100000, 999999)
    expect_text = '"' .. text .. '"'
    local body
    if mode == "tiny" then
      body = '{"jsonrpc":"2.0","id":1,"method":"echo","params":{"text":"' .. text .. '"}}'
    else
      body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"' .. text .. '"}}}'
    end
    return wrk.format("POST", nil, with_session(), body)
  else
    return wrk.format("DELETE", nil, with_session({["Connection"] = "close"}), nil)
  end
end

local function fail(status, body)
  failures = failures + 1
  if first_bad == "" then
    first_bad = "step " .. step .. ": " .. status .. " " .. string.sub(body or "", 1, 200)
  end
  step = 1
  sid = nil
end

function response(status, hdrs, body)
  if step == 1 then
    local got = nil
    for k, v in pairs(hdrs) do
      if string.lower(k) == "mcp-session-id" then got = v end
    end
    if status ~= 200 or got == nil or string.find(body or "", '"protocolVersion"', 1, true) == nil then
      return fail(status, body)
    end
    sid = got
    step = 2
  elseif step == 2 then
    if status ~= 202 then return fail(status, body) end
    step = 3
  elseif step == 3 then
    if status ~= 200 or string.find(body or "", expect_text, 1, true) == nil
      or string.find(body, '"isError"%s*:%s*true') ~= nil then
      return fail(status, body)
    end
    step = 4
  else
    if status ~= 200 and status ~= 204 then return fail(status, body) end
    sessions = sessions + 1
    step = 1
    sid = nil
  end
end

function done(summary, latency, requests)
  local s, f, bad = 0, 0, ""
  for _, t in ipairs(threads) do
    s = s + t:get("sessions")
    f = f + t:get("failures")
    if bad == "" then bad = t:get("first_bad") or "" end
  end
  bad = string.gsub(bad, '[%c"\\]', " ")
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"sessions":%d,"failures":%d,"err_connect":%d,' ..
    '"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d,"lat_mean_us":%.1f,' ..
    '"lat_p50_us":%d,"lat_p99_us":%d,"first_bad":"%s"}\n',
    summary.requests, summary.duration, s, f, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency:percentile(50), latency:percentile(99), bad))
end
