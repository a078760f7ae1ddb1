-- include: runs
-- A live worker gives up a stream entry it read long ago and never started (its start
-- was lost with writes Redis forgot): the run's next attempt goes through
-- {ns}:delayed, where the active clock gives it a new fence.
local runs_key, stream_key, delayed_key = KEYS[1], KEYS[2], KEYS[3]
local tick, entry, member = tonumber(ARGV[1]), ARGV[2], ARGV[3]
-- Returns 'released' or 'dropped' (a stale copy).
local now = now_ms()
local rec = get_run(runs_key, tick)
drop_entry(stream_key, entry)
if not rec or rec.status ~= 'queued' or rec.entry ~= entry then
  return 'dropped'
end
rec.entry = ''
rec.deliverable_ms = now
redis.call('ZADD', delayed_key, now, member)
put_run(runs_key, rec)
return 'released'
