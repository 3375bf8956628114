-- wrk script: tools/call of an echo tool on one MCP session, every response checked.
-- Run with as many threads as connections (-t16 -c16), so that each wrk thread owns exactly
-- one connection: requests and responses then strictly alternate per thread and each response
-- is checked against the very request it answers (status 200, its own JSON-RPC id, its own
-- unique text, no error).
-- Arguments (after --): session-id protocol-version mode
--   (mode: mcp | modern | input | tiny | fixed)
--   mcp:    tools/call {"name":"echo","arguments":{"text":T}}  (the MCP servers, in a session)
--   modern: the same call on the 2026-07-28 wire: no session, the client's version,
--           capabilities and info in params._meta, Mcp-Method and Mcp-Name headers
--   input:  the input-required round trip on the 2026-07-28 wire: tools/call of confirm(T),
--           answered with resultType input_required (one elicitation, a requestState), then
--           the retry with inputResponses (accept, ok=true) and that requestState, answered
--           with T; both legs are checked, and a call completes when its retry is answered
--   tiny:  method "echo" {"text":T}                            (tests.helpers:TinyApp)
--   fixed: the ceiling app; only status 200 and a "result" member are checked

local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  session = args[1]
  version = args[2] or "2025-11-25"
  mode = args[3] or "mcp"
  n = 0
  checked = 0
  mismatches = 0
  first_bad = ""
  expect_text = nil
  expect_id = nil
  completed = 0
  retry = nil  -- input mode: the pending retry's inputResponses and requestState
  headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["Mcp-Protocol-Version"] = version,
  }
  if session ~= nil and session ~= "-" then headers["Mcp-Session-Id"] = session end
  if mode == "modern" or mode == "input" then
    headers["Mcp-Method"] = "tools/call"
    headers["Mcp-Name"] = mode == "input" and "confirm" or "echo"
  end
end

local META = ',"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",' ..
  '"io.modelcontextprotocol/clientCapabilities":{"elicitation":{}},' ..
  '"io.modelcontextprotocol/clientInfo":{"name":"bench","version":"0"}}'

function request()
  n = n + 1
  local rid = tid * 100000000 + n
  expect_id = rid
  if retry ~= nil then  -- input mode, second leg: the same call with the answer
    return wrk.format("POST", nil, headers, '{"jsonrpc":"2.0","id":' .. rid ..
      ',"method":"tools/call","params":{"name":"confirm","arguments":{"text":"' .. retry.text ..
      '"},"inputResponses":{"' .. retry.key .. '":{"action":"accept","content":{"ok":true}}},' ..
      '"requestState":"' .. retry.state .. '"' .. META .. '}}')
  end
  local text = "w" .. tid .. "-" .. n .. "-" .. math.random(100000, 999999)
  local body
  if mode == "input" then
    body = '{"jsonrpc":"2.0","id":' .. rid .. ',"method":"tools/call","params":{"name":"confirm","arguments":{"text":"' .. text .. '"}' .. META .. '}}'
  elseif mode == "tiny" then
    body = '{"jsonrpc":"2.0","id":' .. rid .. ',"method":"echo","params":{"text":"' .. text .. '"}}'
  else
    local meta = mode == "modern" and META or ""
    body = '{"jsonrpc":"2.0","id":' .. rid .. ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"' .. text .. '"}' .. meta .. '}}'
  end
  expect_text = '"' .. text .. '"'
  return wrk.format("POST", nil, headers, body)
end

local function id_matches(body)
  return string.find(body, '"id"%s*:%s*' .. expect_id .. '[,}%s]') ~= nil
end

-- input mode: is this an input_required answer (then note the retry) or the final one?
local function input_response(status, body)
  if retry ~= nil then
    local ok = string.find(body, expect_text, 1, true) ~= nil
      and string.find(body, '"resultType"%s*:%s*"complete"') ~= nil
    retry = nil
    if ok then completed = completed + 1 end
    return ok
  end
  local key = string.match(body, '"inputRequests"%s*:%s*{%s*"([^"]+)"')
  local state = string.match(body, '"requestState"%s*:%s*"([^"]+)"')
  if key == nil or state == nil or
     string.find(body, '"resultType"%s*:%s*"input_required"') == nil then
    return false
  end
  retry = {key = key, state = state, text = string.sub(expect_text, 2, -2)}
  return true
end

function response(status, hdrs, body)
  checked = checked + 1
  local ok = status == 200 and body ~= nil and string.find(body, '"result"', 1, true) ~= nil
  if ok and mode == "input" then
    ok = id_matches(body) and input_response(status, body)
  elseif ok and mode ~= "fixed" then
    ok = string.find(body, expect_text, 1, true) ~= nil
      and id_matches(body)
      and string.find(body, '"isError"%s*:%s*true') == nil
  end
  if not ok then retry = nil end
  if not ok then
    mismatches = mismatches + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 300) end
  end
end

function done(summary, latency, requests)
  local mism, chk, bad, comp = 0, 0, "", 0
  for _, t in ipairs(threads) do
    mism = mism + t:get("mismatches")
    comp = comp + t:get("completed")
    chk = chk + t:get("checked")
    if bad == "" then bad = t:get("first_bad") or "" end
  end
  bad = string.gsub(bad, '[%c"\\]', " ")
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"checked":%d,"mismatches":%d,' ..
    '"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d,' ..
    '"completed":%d,"first_bad":"%s"}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, chk, mism, latency.mean, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, comp, bad))
end
