-- include: runs
-- An entry a dead worker read but never started: deliver the run again as a new
-- attempt (each delivery has its own fence), or end it lost past max_deliveries.
local workers_key, runs_key, active_key, stream_key, fence_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local worker, entry, tick, fence_floor = ARGV[1], ARGV[2], tonumber(ARGV[3]),
  tonumber(ARGV[4])
-- Returns {'alive'}, {'gone'} (a stale copy: dropped), {'redelivered', attempt, fence}
--   or {'lost', reason}.
local now = now_ms()
if not reap_lapsed(workers_key, worker, now) then
  return {'alive'}
end
local rec = get_run(runs_key, tick)
if not rec or rec.status ~= 'queued' or rec.entry ~= entry then
  drop_entry(stream_key, entry)
  return {'gone'}
end
-- never started, so safe to deliver again whatever the mode
return redeliver(runs_key, active_key, stream_key, fence_key, rec, now, fence_floor, nil,
  'delivered to workers that died')
