-- include: runs
-- A long job saves its progress under its attempt's fence: only the current attempt's
-- owner may write it, so a stale copy of the job (its worker presumed dead) cannot
-- overwrite what a newer attempt saved. Kept as JSON text in the run record (cjson
-- would round large numbers), for the next attempt to start from.
local runs_key = KEYS[1]
local tick, fence, worker, value, max_bytes = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3],
  ARGV[4], tonumber(ARGV[5])
-- Returns {'ok', now} | {'fenced'} | {'too_large'}.
if #value > max_bytes then
  return {'too_large'}
end
local rec = get_run(runs_key, tick)
if not rec or rec.fence ~= fence or rec.owner ~= worker or rec.status ~= 'running' then
  return {'fenced'}
end
local now = now_ms()
rec.progress = value
rec.progress_ms = now
rec.progress_fence = fence
put_run(runs_key, rec)
return {'ok', now}
