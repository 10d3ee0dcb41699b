-- One operation under load, for bench.py: `wrk ... -s wrk.lua URL -- METHOD KEY [JSON_BODY]`.
-- Counts every answer outside 2xx (wrk's own count leaves out 3xx) and prints one line,
-- "BENCH {json}", with the numbers bench.py reads.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = args[1]
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  local sandbox = os.getenv("BENCH_SANDBOX")  -- bench.py's "mock-sandbox" row
  if sandbox and sandbox ~= "" then
    wrk.headers["X-Mock-Sandbox"] = sandbox
  end
  if args[3] then
    wrk.body = args[3]
    wrk.headers["Content-Type"] = "application/json"
  end
  non2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local non2xx = 0
  for _, thread in ipairs(threads) do
    non2xx = non2xx + thread:get("non2xx")
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"non2xx": %d, "connect": %d, "read": %d, "write": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    non2xx, errors.connect, errors.read, errors.write, errors.timeout))
end
