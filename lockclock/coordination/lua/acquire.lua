-- Take the clock lease if nobody holds it, assigning a new fencing epoch.
-- Idempotent: a retried call by the holder gets its own epoch back.
-- The floor keeps epochs increasing when Redis lost the counter (a crash with AOF
-- everysec, a failover to a lagging replica, a flushed server).
local lease_key, epoch_key, signal_key, last_key, layout_key, seen_key, since_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local clock, ttl, epoch_floor, layout, worker_lease_ms = ARGV[1], tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
-- Returns {1, epoch, now_ms, prev_clock, prev_epoch, prev_renewed_ms, prev_expires_ms,
--          prev_released_ms}
--      or {0, holder clock, holder pttl ms, now_ms}
--      or {'layout', the layout version recorded} when it is not ours
local other_layout = layout_mismatch(layout_key, layout)
if other_layout then
  return {'layout', other_layout}
end
local now = now_ms()
note_reachable(seen_key, since_key, now, worker_lease_ms)
local cur = redis.call('HMGET', lease_key, 'clock', 'epoch')
if cur[1] then
  if cur[1] == clock then
    redis.call('PEXPIRE', lease_key, ttl)
    redis.call('HSET', last_key, 'renewed_ms', now, 'expires_ms', now + ttl)
    return {1, tonumber(cur[2]), now, '', 0, 0, 0, 0}
  end
  return {0, cur[1], redis.call('PTTL', lease_key), now}
end
local prev = redis.call('HMGET', last_key, 'clock', 'epoch', 'renewed_ms', 'expires_ms',
  'released_ms')
local epoch = next_above(epoch_key, epoch_floor)
redis.call('HSET', lease_key, 'clock', clock, 'epoch', epoch, 'acquired_ms', now)
redis.call('PEXPIRE', lease_key, ttl)
redis.call('DEL', signal_key)
redis.call('DEL', last_key)
redis.call('HSET', last_key, 'clock', clock, 'epoch', epoch, 'acquired_ms', now,
  'renewed_ms', now, 'expires_ms', now + ttl)
return {1, epoch, now, prev[1] or '', tonumber(prev[2] or '0'), tonumber(prev[3] or '0'),
  tonumber(prev[4] or '0'), tonumber(prev[5] or '0')}
