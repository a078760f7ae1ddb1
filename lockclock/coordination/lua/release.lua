-- Give the lease up at once and wake a waiting standby (it blocks on the signal list).
local lease_key, signal_key, last_key = KEYS[1], KEYS[2], KEYS[3]
local clock, epoch, signal_ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- Returns 1 when released, 0 when the lease was not ours (already lapsed or taken).
if not lease_holder(lease_key, clock, epoch) then
  return 0
end
local now = now_ms()
redis.call('DEL', lease_key)
redis.call('HSET', last_key, 'released_ms', now, 'expires_ms', now)
redis.call('LPUSH', signal_key, epoch)
redis.call('LTRIM', signal_key, 0, 0)
redis.call('PEXPIRE', signal_key, signal_ttl)
return 1
