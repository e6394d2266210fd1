-- wrk: alternates POST /v1/areas (one page, a random node 0..15) with a DELETE of an area this
-- connection allocated. Used by scripts/http-bench.sh; see BENCHMARKS.md.
local addrs = {}
local n = 0
request = function()
  n = n + 1
  if #addrs > 0 and n % 2 == 0 then
    local a = table.remove(addrs)
    return wrk.format("DELETE", "/v1/areas/" .. a)
  end
  return wrk.format("POST", "/v1/areas", {["Content-Type"]="application/json"}, '{"size":4096,"node":' .. math.random(0,15) .. '}')
end
response = function(status, headers, body)
  if status == 201 then
    local a = body:match('"start"%s*:%s*"(0x%x+)"')
    if a then table.insert(addrs, a) end
  end
end
