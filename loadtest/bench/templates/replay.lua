-- written by `sessionlab bench`: one pre-formatted request per client session, sent in turn
local cookies = {{ "{" }}{{ cookies | map("lua") | join(", ") }}{{ "}" }}
local method, path, body = {{ method | lua }}, {{ path | lua }}, {{ "nil" if body is none else body | lua }}
local requests, i = {}, 0

init = function(args)
  for n, cookie in ipairs(cookies) do
    local headers = {}
    if cookie ~= "" then headers["Cookie"] = cookie end
    if body then headers["Content-Type"] = "application/json" end
    requests[n] = wrk.format(method, path, headers, body)
  end
end

request = function()
  i = i % #requests + 1
  return requests[i]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\n{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"non2xx": %d, "socket_errors": %d}\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
