-- include: runs audit
-- Ask a run that has not ended to stop (an operator's cancel): the worker running it
-- sees the request within a heartbeat and its job's `stop_requested` turns true. A run
-- not yet started ends `cancelled` here at once.
local runs_key, active_key, stream_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local tick, reason, by, source = tonumber(ARGV[1]), ARGV[2], ARGV[3], ARGV[4]
-- Returns 'requested' (running: asked), 'cancelled' (it had not started) or 'ended'.
local rec = get_run(runs_key, tick)
if not rec or (rec.status ~= 'running' and rec.status ~= 'queued' and rec.status ~= 'waiting') then
  return 'ended'
end
local now = now_ms()
audit(audit_key, 'cancel', rec.schedule, {actor = by, source = source, reason = reason,
  detail = 'tick ' .. string.format('%d', tick) .. ' ' .. rec.status}, now)
if rec.status == 'running' then
  rec.stop = {reason = reason, by = by, ms = now}
  put_run(runs_key, rec)
  return 'requested'
end
end_run(runs_key, active_key, stream_key, rec, now, 'cancelled', 'cancelled by ' .. by .. ': ' .. reason)
return 'cancelled'
