-- Shared by the wrk scripts of bench/compare.py: thread numbering, per-thread counters, and a
-- machine-readable summary that done() prints on one line after the marker "WRKJSON ".
--
-- Counters, per thread: `good` (responses with the status the script expected), `bad` (any
-- other status, 3xx included, which wrk itself does not count as an error), `npairs`
-- (create+reveal pairs completed: the reveal of a secret this connection's create stored) and
-- `exhausted` (1 when the thread ran out of pre-built requests: the run is then invalid).

local threads = {}
local counter = 0
local COUNTERS = { "good", "bad", "npairs", "exhausted" }

function setup(thread)
  thread:set("thread_index", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

good, bad, npairs, exhausted = 0, 0, 0, 0

-- This thread's part [first, first + per) of `total` pool records starting at `start`.
function slice(start, total, nthreads)
  local per = math.floor(total / nthreads)
  return start + thread_index * per, per
end

function done(summary, latency, requests)
  local e = summary.errors
  local fields = {
    string.format('"duration_us":%d', summary.duration),
    string.format('"requests":%d', summary.requests),
    string.format('"bytes":%d', summary.bytes),
    string.format('"connect_errors":%d', e.connect),
    string.format('"read_errors":%d', e.read),
    string.format('"write_errors":%d', e.write),
    string.format('"status_errors":%d', e.status),
    string.format('"timeouts":%d', e.timeout),
    string.format('"latency_mean_us":%.1f', latency.mean),
    string.format('"latency_max_us":%d', latency.max),
    string.format('"p50_us":%d', latency:percentile(50)),
    string.format('"p90_us":%d', latency:percentile(90)),
    string.format('"p99_us":%d', latency:percentile(99)),
  }
  for _, name in ipairs(COUNTERS) do
    local sum = 0
    for _, t in ipairs(threads) do sum = sum + (t:get(name) or 0) end
    table.insert(fields, string.format('"%s":%d', name, sum))
  end
  io.write("WRKJSON {" .. table.concat(fields, ",") .. "}\n")
end
