-- include: runs
-- A stopping worker gives back an attempt it cannot finish: the run waits in
-- {ns}:delayed for delay_ms (long enough for this process to be gone, so two attempts
-- never execute at once), then the active clock delivers it again under a new fence.
-- A hand-back is not a death: it does not count towards max_deliveries.
local runs_key, stream_key, worker_runs_key, delayed_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local tick, fence, worker, delay_ms, why = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3],
  tonumber(ARGV[4]), ARGV[5]
-- Returns 'ok' or 'fenced' (the attempt is not ours, or ended).
local rec = get_run(runs_key, tick)
if not rec or rec.fence ~= fence or rec.owner ~= worker or rec.status ~= 'running' then
  return 'fenced'
end
local now = now_ms()
local member = rec.schedule .. '\t' .. string.format('%d', tick)
end_attempt(rec, now, why)
drop_entry(stream_key, rec.entry)
redis.call('SREM', worker_runs_key, member)
rec.status = 'queued'
rec.owner = ''
rec.entry = ''
rec.stop = nil
rec.deliverable_ms = now + delay_ms
rec.handed_back = (rec.handed_back or 0) + 1
redis.call('ZADD', delayed_key, now + delay_ms, member)
put_run(runs_key, rec)
return 'ok'
