-- wrk: every connection sends 10 GET requests back to back and waits for the 10 responses
-- (HTTP/1.1 pipelining), for measuring --http1-pipeline-flush:
--   wrk -c16 -d5s -s benchmarks/lua/pipeline.lua http://127.0.0.1:8000/b
-- wrk counts each response, so req/s are requests, not pipelines.
local depth = 10

init = function(args)
   local batch = {}
   for i = 1, depth do
      batch[i] = wrk.format(nil, wrk.path)
   end
   req = table.concat(batch)
end

request = function()
   return req
end
