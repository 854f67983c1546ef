-- wrk script: GET /v1/profiles?phone=… cycling through real phones of the lake, written in the
-- formats services send (E.164, national, spaced, dashed), with a bearer token.
--
-- Every request is formatted once in init(), so that wrk spends its share of the two cores on
-- sending, not on Lua string building (wrk and the server share the machine).
-- MARQUE_BENCH_PHONES: file of E.164 phones, one a line; MARQUE_BENCH_TOKEN: bearer token;
-- MARQUE_BENCH_QUERY: extra query text appended to each request (e.g. "&include=mentions").
local token = os.getenv("MARQUE_BENCH_TOKEN") or ""
local file = os.getenv("MARQUE_BENCH_PHONES") or "phones.txt"
local extra = os.getenv("MARQUE_BENCH_QUERY") or ""
local formats = {
  function(p) return "%2B" .. p:sub(2) end,                              -- +8613912345678
  function(p) return p:sub(4) end,                                       -- 13912345678
  function(p) return "%2B86%20" .. p:sub(4, 6) .. "%20" .. p:sub(7, 10) .. "%20" .. p:sub(11) end,
  function(p) return p:sub(4, 6) .. "-" .. p:sub(7, 10) .. "-" .. p:sub(11) end,
}
local counter = 0
function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end
local requests = {}
local i = 0
function init(args)
  local phones = {}
  for line in io.lines(file) do
    if #line > 0 then phones[#phones + 1] = line end
  end
  local headers = { ["Authorization"] = "Bearer " .. token }
  -- Each thread starts elsewhere in the list and cycles through all of it.
  local start = ((thread_id or 0) * 7919) % #phones
  for k = 1, #phones do
    local n = (start + k) % #phones
    local p = phones[n + 1]
    local q = formats[(n % #formats) + 1](p)
    requests[k] = wrk.format("GET", "/v1/profiles?phone=" .. q .. extra, headers)
  end
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
