-- wrk script: cycle through the request paths listed (one a line) in the file $PATHS_FILE,
-- each thread from its own offset, and print one machine-readable RESULT line at the end.
local paths = {}
for line in io.lines(os.getenv("PATHS_FILE")) do
  paths[#paths + 1] = line
end
local i = math.random(0, #paths - 1)

request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %.0f %.0f\n",
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
