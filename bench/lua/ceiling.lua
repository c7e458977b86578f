-- wrk script for the bare Starlette endpoint (bench/ceiling.py): GET /json, small JSON.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

local REQUEST

function init(args)
  REQUEST = wrk.format("GET", "/json")
end

function request()
  return REQUEST
end

function response(status, headers, body)
  if status == 200 then good = good + 1 else bad = bad + 1 end
end
