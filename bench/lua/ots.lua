-- wrk script for ots-server (bench/compare.py). Every request body is pre-built by
-- bench/pool.py with the real ots_cli.core.crypto: a pool file of fixed-size records
--   id (base64url) | create frame (u32 meta length, meta JSON, sealed blob) | reveal JSON
-- so reveals carry the real link proof of a secret this run created.
--
-- Arguments (after --): mode pool rec_size id_len create_len reveal_len start total nthreads
--   create  each request creates the next secret of this thread's slice
--   pairs   each connection alternates: create a secret, then (once its 201 has arrived,
--           parsed from the response) reveal that very secret; `npairs` counts the reveals
--   reveal  reveal the next pre-created secret; the thread stops after its slice (fixed count)
--           and creates the file named by a tenth argument, so the caller can end wrk (whose
--           main thread otherwise sleeps for the whole -d duration)

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

local mode, pool, rec, idlen, clen, left, stop_file
local ready = {}    -- reveal requests whose secret's create has been acknowledged
local pending = {}  -- id -> reveal request, for creates in flight
local CREATE_HEADERS = { ["Content-Type"] = "application/vnd.ots.secret" }
local REVEAL_HEADERS = { ["Content-Type"] = "application/json" }
local FALLBACK

function init(args)
  mode = args[1]
  rec, idlen, clen = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  local first, per = slice(tonumber(args[7]), tonumber(args[8]), tonumber(args[9]))
  pool = assert(io.open(args[2], "rb"))
  assert(pool:seek("set", first * rec))
  left = per
  stop_file = args[10]
  FALLBACK = wrk.format("GET", "/healthz")
end

local finished = false  -- reveal mode: the fixed count is done

local function finish()
  finished = true
  if stop_file then assert(io.open(stop_file, "w")):close() end
  wrk.thread:stop()
end

local function next_record()
  if left == 0 then
    -- A fixed-count reveal run ends here; any other mode ran out of secrets (invalid run).
    if mode == "reveal" then
      finish()
    else
      exhausted = 1
      wrk.thread:stop()
    end
    return nil
  end
  left = left - 1
  local data = pool:read(rec)
  return data:sub(1, idlen), data:sub(idlen + 1, idlen + clen), data:sub(idlen + clen + 1)
end

local function reveal_request(id, body)
  return wrk.format("POST", "/api/v1/secrets/" .. id .. "/reveal", REVEAL_HEADERS, body)
end

-- wrk (4.1) calls request() once per thread before any connection sends, and never sends what
-- that call returns: answer it with a request that consumes no secret. Should a wrk version
-- send it after all, its answer (the health check's) is ignored below.
local primed = false
local HEALTHZ_BODY = '{"status":"ok"}'

function request()
  if not primed then
    primed = true
    return FALLBACK
  end
  if mode == "pairs" and #ready > 0 then
    local r = ready[#ready]
    ready[#ready] = nil
    return r
  end
  local id, create, reveal = next_record()
  if not id then return FALLBACK end
  if mode == "reveal" then return reveal_request(id, reveal) end
  if mode == "pairs" then pending[id] = reveal_request(id, reveal) end
  return wrk.format("POST", "/api/v1/secrets", CREATE_HEADERS, create)
end

function response(status, headers, body)
  if finished or (status == 200 and body == HEALTHZ_BODY) then return end
  if mode == "create" then
    if status == 201 then good = good + 1 else bad = bad + 1 end
  elseif mode == "reveal" then
    if status == 200 then good = good + 1 else bad = bad + 1 end
    if left == 0 then finish() end
  elseif status == 201 then
    good = good + 1
    local id = body:match('"id"%s*:%s*"([%w_%-]+)"')
    local r = id and pending[id]
    if r then
      pending[id] = nil
      ready[#ready + 1] = r
    else
      bad = bad + 1
    end
  elseif status == 200 then
    good = good + 1
    npairs = npairs + 1
  else
    bad = bad + 1
  end
end
