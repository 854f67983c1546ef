-- wrk script: GET /v1/profiles?phone=… cycling through real phones of the lake, written in the
-- formats services send (E.164, national, spaced, dashed), with a bearer token.
local phones = {}
local token = os.getenv("MARQUE_BENCH_TOKEN") or ""
local file = os.getenv("MARQUE_BENCH_PHONES") or "phones.txt"
for line in io.lines(file) do
  if #line > 0 then phones[#phones + 1] = line end
end
local formats = {
  function(p) return p end,                                              -- +8613912345678
  function(p) return p:sub(4) end,                                       -- 13912345678
  function(p) return "%2B86%20" .. p:sub(4, 6) .. "%20" .. p:sub(7, 10) .. "%20" .. p:sub(11) end,
  function(p) return p:sub(4, 6) .. "-" .. p:sub(7, 10) .. "-" .. p:sub(11) end,
}
local i = 0
local thread_id = 0
local counter = 0
function setup(thread)
  thread:set("thread_id", counter)
  counter = counter + 1
end
function init(args)
  i = thread_id * 7919
end
request = function()
  i = i + 1
  local p = phones[(i % #phones) + 1]
  local f = formats[(i % #formats) + 1]
  local q = f(p):gsub("^%+", "%%2B")
  return wrk.format("GET", "/v1/profiles?phone=" .. q, { ["Authorization"] = "Bearer " .. token })
end
