-- wrk script for `make bench`: MCP tools/call POSTs over Streamable HTTP (tests/bench/figures_http.py).
--
-- Environment (set by the bench): WRK_SESSIONS = comma-separated Mcp-Session-Id values opened
-- beforehand (requests rotate over them), WRK_PROTOCOL = MCP-Protocol-Version, WRK_PARAMS = the JSON
-- of tools/call params. Every request gets its own JSON-RPC id. A response counts as an error unless
-- it is HTTP 200 carrying a JSON-RPC result that is not a tool error. done() prints one line
-- "WRK_JSON {...}" with counts and latency percentiles in microseconds, and "WRK_BAD ..." with the
-- first bad response when there was one.

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("thread_id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  sessions = {}
  for sid in string.gmatch(os.getenv("WRK_SESSIONS") or "", "[^,]+") do
    table.insert(sessions, sid)
  end
  protocol = os.getenv("WRK_PROTOCOL") or "2025-11-25"
  params = os.getenv("WRK_PARAMS") or "{}"
  counter = 0
  errors = 0
  bad = ""
end

function request()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream",
    ["MCP-Protocol-Version"] = protocol,
  }
  if #sessions > 0 then
    headers["Mcp-Session-Id"] = sessions[((counter + thread_id) % #sessions) + 1]
  end
  local body = string.format(
    '{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":%s}', thread_id * 1000000000 + counter, params
  )
  return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"result"', 1, true) or string.find(body, '"isError":true', 1, true) then
    errors = errors + 1
    if bad == "" then
      bad = status .. " " .. string.sub(string.gsub(body, "%s+", " "), 1, 300)
    end
  end
end

function done(summary, latency, requests)
  local errs = 0
  local first = ""
  for _, thread in ipairs(threads) do
    errs = errs + thread:get("errors")
    if first == "" then
      first = thread:get("bad")
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"socket_errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errs, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max
  ))
  if first ~= "" then
    io.write("WRK_BAD " .. first .. "\n")
  end
end
