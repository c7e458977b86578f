-- wrk script for SnapPass (bench/compare.py), through its own HTTP interface:
--   create  POST / with the form fields password and ttl, and Accept: application/json,
--           which answers {"link": ..., "ttl": ...} (SnapPass encrypts server-side)
--   pairs   each connection alternates: create, then POST the link's path (the reveal,
--           which answers the HTML page holding the password); `npairs` counts the reveals
-- Passwords are 32 random characters, the same size as the secrets ots sends.
-- Arguments (after --): mode

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")

local mode
local ready = {}
local CREATE_HEADERS = {
  ["Content-Type"] = "application/x-www-form-urlencoded",
  ["Accept"] = "application/json",
}
local REVEAL_HEADERS = { ["Content-Type"] = "application/x-www-form-urlencoded" }
local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

function init(args)
  mode = args[1]
  math.randomseed(os.time() + thread_index)
end

local function password()
  local out = {}
  for i = 1, 32 do
    local k = math.random(1, #ALPHABET)
    out[i] = ALPHABET:sub(k, k)
  end
  return table.concat(out)
end

function request()
  if mode == "pairs" and #ready > 0 then
    local r = ready[#ready]
    ready[#ready] = nil
    return r
  end
  return wrk.format("POST", "/", CREATE_HEADERS, "password=" .. password() .. "&ttl=hour")
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    return
  end
  good = good + 1
  if mode ~= "pairs" then return end
  if body:sub(1, 1) == "{" then
    local path = body:match('"link"%s*:%s*"https?://[^/"]+(/[^"]*)"')
    if path then
      ready[#ready + 1] = wrk.format("POST", path, REVEAL_HEADERS, "")
    else
      bad = bad + 1
    end
  else
    npairs = npairs + 1
  end
end
