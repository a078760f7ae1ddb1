-- Extend the lease, only for the holder of this exact epoch.
-- KEYS: lease, last-holder hash
-- ARGV: clock id, epoch, ttl ms
-- Returns {1, now_ms} when renewed, {0, now_ms} when the lease is no longer ours.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'clock', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return {0, now}
end
local ttl = tonumber(ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('HSET', KEYS[2], 'renewed_ms', now, 'expires_ms', now + ttl)
return {1, now}
