-- wrk: GET / with a different valid token on each request, cycling through TOKENS_FILE
-- (one token per line). Each wrk thread has its own copy and its own position.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if #line > 0 then tokens[#tokens + 1] = line end
end
local count = tonumber(os.getenv("TOKENS_COUNT") or "0")
if count > 0 and count < #tokens then
  for i = #tokens, count + 1, -1 do tokens[i] = nil end
end
assert(#tokens > 0, "no tokens in " .. tostring(os.getenv("TOKENS_FILE")))

-- Formatted once per thread in init (where wrk.format knows the Host header), not per request.
local requests = {}
local i = 0

init = function(args)
  for n, token in ipairs(tokens) do
    requests[n] = wrk.format("GET", nil, { ["Host"] = wrk.headers["Host"], ["Authorization"] = "Bearer " .. token })
  end
end

request = function()
  i = i % #requests + 1
  return requests[i]
end
