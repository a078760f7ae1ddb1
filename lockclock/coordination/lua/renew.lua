-- Extend the lease, only for the holder of this exact epoch.
local lease_key, last_key, seen_key, since_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local clock, epoch, ttl, worker_lease_ms = ARGV[1], ARGV[2], tonumber(ARGV[3]),
  tonumber(ARGV[4])
-- Returns {1, now_ms} when renewed, {0, now_ms} when the lease is no longer ours.
local now = now_ms()
note_reachable(seen_key, since_key, now, worker_lease_ms)
if not lease_holder(lease_key, clock, epoch) then
  return {0, now}
end
redis.call('PEXPIRE', lease_key, ttl)
redis.call('HSET', last_key, 'renewed_ms', now, 'expires_ms', now + ttl)
return {1, now}
