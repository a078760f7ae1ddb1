-- Take the clock lease if nobody holds it, assigning a new fencing epoch.
-- KEYS: lease, epoch counter, release signal list, last-holder hash
-- ARGV: clock id, ttl ms, epoch floor (the highest epoch the caller has seen)
-- Returns {1, epoch, now_ms, prev_clock, prev_epoch, prev_renewed_ms, prev_expires_ms, prev_released_ms}
--      or {0, holder clock, holder pttl ms, now_ms}
-- Idempotent: a retried call by the holder gets its own epoch back.
-- The floor keeps epochs increasing when Redis lost the counter (a crash with AOF
-- everysec, a failover to a lagging replica, a flushed server).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
local cur = redis.call('HMGET', KEYS[1], 'clock', 'epoch')
if cur[1] then
  if cur[1] == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('HSET', KEYS[4], 'renewed_ms', now, 'expires_ms', now + ttl)
    return {1, tonumber(cur[2]), now, '', 0, 0, 0, 0}
  end
  return {0, cur[1], redis.call('PTTL', KEYS[1]), now}
end
local prev = redis.call('HMGET', KEYS[4], 'clock', 'epoch', 'renewed_ms', 'expires_ms', 'released_ms')
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[3] or '0')
if epoch <= floor then
  epoch = floor + 1
  redis.call('SET', KEYS[2], string.format('%d', epoch))
end
redis.call('HSET', KEYS[1], 'clock', ARGV[1], 'epoch', epoch, 'acquired_ms', now)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('DEL', KEYS[3])
redis.call('DEL', KEYS[4])
redis.call('HSET', KEYS[4], 'clock', ARGV[1], 'epoch', epoch, 'acquired_ms', now,
  'renewed_ms', now, 'expires_ms', now + ttl)
return {1, epoch, now, prev[1] or '', tonumber(prev[2] or '0'), tonumber(prev[3] or '0'),
  tonumber(prev[4] or '0'), tonumber(prev[5] or '0')}
