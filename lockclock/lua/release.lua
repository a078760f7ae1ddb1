-- Give the lease up at once and wake a waiting standby (it blocks on the signal list).
-- KEYS: lease, release signal list, last-holder hash
-- ARGV: clock id, epoch, signal ttl ms
-- Returns 1 when released, 0 when the lease was not ours (already lapsed or taken).
local cur = redis.call('HMGET', KEYS[1], 'clock', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[3], 'released_ms', now, 'expires_ms', now)
redis.call('LPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], 0, 0)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]))
return 1
