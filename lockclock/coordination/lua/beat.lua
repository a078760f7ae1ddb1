-- A worker's lease on itself, one heartbeat for all its runs. The lease is a score in
-- {ns}:workers (Redis time of expiry), not a TTL key, which volatile-* eviction could
-- fake. A lapsed lease is renewed only while the reaper has not touched it (a Redis
-- outage longer than the lease cut the worker off, or it was paused, and nothing it
-- held has moved): once reaping began (score 0) or the worker was forgotten, its runs
-- are being handed to others, and it must come back under a new id.
local workers_key, info_key, seen_key, since_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local worker, ttl, info, register = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
-- Returns {1, now_ms} when the lease is ours until now + ttl, {0, now_ms} when it was
-- reaped or forgotten.
local now = now_ms()
note_reachable(seen_key, since_key, now, ttl)
if register ~= '1' then
  local score = tonumber(redis.call('ZSCORE', workers_key, worker) or '0')
  if score <= 0 then
    return {0, now}
  end
end
redis.call('ZADD', workers_key, now + ttl, worker)
redis.call('HSET', info_key, 'info', info, 'beat_ms', now)
return {1, now}
