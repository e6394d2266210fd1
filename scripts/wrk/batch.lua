-- wrk: POST /v1/areas/batch with 1,000 one-page allocations per request (the areas stay
-- allocated). Used by scripts/http-bench.sh; see BENCHMARKS.md.
local ops = {}
for i = 1, 1000 do ops[i] = '{"op":"alloc","size":4096}' end
wrk.method = "POST"
wrk.body = '{"ops":[' .. table.concat(ops, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
