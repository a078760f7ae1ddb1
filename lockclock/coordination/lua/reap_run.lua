-- include: runs
-- The active clock hands a dead worker's run to another: a new attempt under a new
-- fence, in the stream at once. A worker that died max_deliveries times holding the
-- run makes it lost; a run started by an inline clock that died is lost at once (inline
-- execution is at most once). Checked atomically: the worker's lease has lapsed and it
-- still owns the run's current attempt.
local workers_key, worker_runs_key, runs_key, active_key, stream_key, fence_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local worker, schedule, tick, fence_floor = ARGV[1], ARGV[2], tonumber(ARGV[3]),
  tonumber(ARGV[4])
-- Returns {'alive'}, {'gone'} (nothing of the worker's to reap),
--   {'redelivered', attempt, fence} or {'lost', reason}.
local now = now_ms()
if not reap_lapsed(workers_key, worker, now) then
  return {'alive'}
end
local member = schedule .. '\t' .. string.format('%d', tick)
redis.call('SREM', worker_runs_key, member)
local rec = get_run(runs_key, tick)
if not rec or rec.status ~= 'running' or rec.owner ~= worker then
  return {'gone'}
end
end_attempt(rec, now, 'died')
return redeliver(runs_key, active_key, stream_key, fence_key, rec, now, fence_floor,
  'its clock stopped while it ran (crash or kill -9)', 'its worker died while running it')
