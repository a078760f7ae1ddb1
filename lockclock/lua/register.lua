-- On taking the lease: give each new schedule a high-water mark of "now" so a tick
-- that falls due before its first claim is caught by whichever clock is active then;
-- move paused schedules' marks to now so resuming them reports nothing as missed.
-- KEYS: lease, hwm hash, fence counter
-- A caller's floors (the highest fence, and each schedule's highest tick, it has seen
-- claimed) restore what a Redis that lost recent writes forgot: ticks after the floor
-- are then caught up (and recorded) instead of claimed twice or silently skipped.
-- ARGV: clock id, epoch, fence floor, then groups of (schedule name, 'new' | 'paused',
--       tick floor or 0)
-- Returns {now_ms, fence counter, hwm of each named schedule in order} or {'stale'}.
local cur = redis.call('HMGET', KEYS[1], 'clock', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return {'stale'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local fence = tonumber(redis.call('GET', KEYS[3]) or '0')
if fence < tonumber(ARGV[3]) then
  fence = tonumber(ARGV[3])
  redis.call('SET', KEYS[3], string.format('%d', fence))
end
local out = {now, fence}
for i = 4, #ARGV, 3 do
  local name, mode, floor = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local stored = tonumber(redis.call('HGET', KEYS[2], name) or '-1')
  local hwm = stored
  if mode == 'paused' and hwm < now then
    hwm = now
  elseif floor > 0 and hwm < floor then
    hwm = floor
  elseif hwm < 0 then
    hwm = now
  end
  if hwm ~= stored then
    redis.call('HSET', KEYS[2], name, string.format('%d', hwm))
  end
  out[#out + 1] = hwm
end
return out
