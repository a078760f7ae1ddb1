-- include: runs
-- An inline run recorded timed_out still ran, and counted as running for overlap, until
-- its thread ended (a thread cannot be killed): now it has, so the schedule is free.
local runs_key, active_key, stream_key, worker_runs_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local tick, worker = tonumber(ARGV[1]), ARGV[2]
-- Returns 'ok' or 'kept' (not such a run).
local rec = get_run(runs_key, tick)
if not rec or rec.held_by ~= worker then
  return 'kept'
end
rec.held_by = nil
put_run(runs_key, rec)
redis.call('SREM', worker_runs_key, rec.schedule .. '\t' .. string.format('%d', tick))
release_next(runs_key, active_key, stream_key, rec, now_ms())
return 'ok'
