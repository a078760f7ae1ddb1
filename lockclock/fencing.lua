-- Write a value only if the writer's fencing token is not older than the last one seen.
-- KEYS: the guarded key, its fence key
-- ARGV: fence, value
-- Returns 1 when written, 0 when refused (the caller's token is stale).
local last = tonumber(redis.call('GET', KEYS[2]) or '-1')
local fence = tonumber(ARGV[1])
if fence < last then
  return 0
end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
return 1
