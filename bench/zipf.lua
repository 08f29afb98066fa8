-- wrk: GET / with the token of a user drawn from Zipf(s = 1.0) over the first TOKENS_COUNT lines
-- of TOKENS_FILE (user k, 1-based, is drawn with probability (1/k) / H(N)): a few users send most
-- requests, most users send few. Each wrk thread has its own seeded generator (ZIPF_SEED).
local tokens = {}
local count = tonumber(os.getenv("TOKENS_COUNT") or "0")
for line in io.lines(os.getenv("TOKENS_FILE")) do
  if #line > 0 then tokens[#tokens + 1] = line end
  if count > 0 and #tokens >= count then break end
end
assert(#tokens > 0, "no tokens in " .. tostring(os.getenv("TOKENS_FILE")))

-- Cumulative distribution, built once per thread.
local cdf = {}
local total = 0.0
for k = 1, #tokens do total = total + 1.0 / k end
local acc = 0.0
for k = 1, #tokens do
  acc = acc + (1.0 / k) / total
  cdf[k] = acc
end
cdf[#tokens] = 1.0

local requests = {}
local thread_id = 0
local seed = tonumber(os.getenv("ZIPF_SEED") or "1")

setup = function(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

init = function(args)
  math.randomseed(seed + 7919 * (thread_id or 0))
  for n, token in ipairs(tokens) do
    requests[n] = wrk.format("GET", nil, { ["Host"] = wrk.headers["Host"], ["Authorization"] = "Bearer " .. token })
  end
end

request = function()
  local u = math.random()
  local lo, hi = 1, #cdf
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return requests[lo]
end
