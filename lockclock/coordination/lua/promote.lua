-- include: runs
-- A run waiting in {ns}:delayed (a retry after an error, or a hand-back) is due: its
-- next attempt goes into the stream under a new fence.
local delayed_key, runs_key, stream_key, fence_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local member, tick, fence_floor = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
-- Returns {'queued', attempt, fence}, {'notdue'} or {'gone'}.
local now = now_ms()
local due = redis.call('ZSCORE', delayed_key, member)
if not due then
  return {'gone'}
end
if tonumber(due) > now then
  return {'notdue'}
end
redis.call('ZREM', delayed_key, member)
local rec = get_run(runs_key, tick)
if not rec or rec.status ~= 'queued' or (rec.entry and rec.entry ~= '') then
  return {'gone'}
end
new_attempt(fence_key, rec, fence_floor)
enqueue(stream_key, rec, now)
rec.deliverable_ms = nil
put_run(runs_key, rec)
return {'queued', rec.attempt, rec.fence}
