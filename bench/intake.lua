-- wrk script: signed generic-intake webhooks, each with a fresh external id.
-- Env: BENCH_TOKEN (bearer), BENCH_PREFIX (external id prefix).
local counter = 0
local threads = {}
local token = os.getenv("BENCH_TOKEN")
local prefix = os.getenv("BENCH_PREFIX")
local comments = {
  "I waited on hold for forty minutes.",
  "Great support, friendly and quick.",
  "The invoice does not match the contract.",
  "It does the job.",
}

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  created = 0
  other = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  n = n + 1
  local id = string.format("%s-%d-%d", prefix, tid, n)
  local body = string.format(
    '{"external_id":"%s","customer":{"external_id":"wrk-%d","email":"wrk%d@bench.example"},"scores":{"nps":%d},"comment":"%s"}',
    id, n % 5000, n % 5000, n % 11, comments[(n % #comments) + 1])
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 201 or status == 200 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local ok, bad = 0, 0
  for _, t in ipairs(threads) do
    ok = ok + t:get("created")
    bad = bad + t:get("other")
  end
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"ok":%d,"bad":%d,"socket_errors":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"mean_us":%d}\n',
    summary.requests, summary.duration, ok, bad,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean))
end
