-- wrk script: logged-in users reading a page; one session cookie per connection/thread.
-- Env: BENCH_COOKIES (comma-separated sessionid values), BENCH_PATH.
local counter = 0
local threads = {}
local cookies = {}
for c in string.gmatch(os.getenv("BENCH_COOKIES"), "[^,]+") do table.insert(cookies, c) end

function setup(thread)
  counter = counter + 1
  thread:set("cookie", cookies[((counter - 1) % #cookies) + 1])
  thread:set("seed", counter)
  table.insert(threads, thread)
end

function init(args)
  ok = 0
  other = 0
  -- Each thread has its own Lua state, all with the same default seed: unseeded, every user
  -- would think for the same time and all 20 would click at the same instant, every time.
  math.randomseed(os.time() * 1000 + seed)
  wrk.headers["Cookie"] = "sessionid=" .. cookie
  wrk.path = os.getenv("BENCH_PATH")
  -- BENCH_CLOSE=1: a new connection per request, so a warm-up reaches every gunicorn worker
  -- (a kept-alive connection stays with the worker that accepted it).
  if os.getenv("BENCH_CLOSE") == "1" then wrk.headers["Connection"] = "close" end
end

-- Think time between a user's page loads (BENCH_THINK_MS="min,max"; unset = none, i.e.
-- each connection fires again at once, which measures capacity rather than users).
local think = os.getenv("BENCH_THINK_MS") or ""
local think_min, think_max = string.match(think, "(%d+),(%d+)")
if think_min then
  think_min, think_max = tonumber(think_min), tonumber(think_max)
  function delay()
    return math.random(think_min, think_max)
  end
end

function response(status, headers, body)
  if status == 200 then ok = ok + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local good, bad = 0, 0
  for _, t in ipairs(threads) do
    good = good + t:get("ok")
    bad = bad + t:get("other")
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"socket_errors":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%d}\n',
    summary.requests, summary.duration, good, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
