-- On taking the lease: give each new schedule a high-water mark of "now" so a tick
-- that falls due before its first claim is caught by whichever clock is active then;
-- move paused schedules' marks to now so resuming them reports nothing as missed.
-- A caller's floors (the highest fence, and each schedule's highest tick, it has seen
-- claimed) restore what a Redis that lost recent writes forgot: ticks after the floor
-- are then caught up (and recorded) instead of claimed twice or silently skipped.
local lease_key, hwm_key, fence_key = KEYS[1], KEYS[2], KEYS[3]
local clock, epoch, fence_floor = ARGV[1], ARGV[2], tonumber(ARGV[3])
-- then groups of (schedule name, 'new' | 'paused', tick floor or 0) from ARGV[4]
-- Returns {now_ms, fence counter, hwm of each named schedule in order} or {'stale'}.
if not lease_holder(lease_key, clock, epoch) then
  return {'stale'}
end
local now = now_ms()
local fence = tonumber(redis.call('GET', fence_key) or '0')
if fence < fence_floor then
  fence = fence_floor
  redis.call('SET', fence_key, string.format('%d', fence))
end
local out = {now, fence}
for i = 4, #ARGV, 3 do
  local name, mode, floor = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  local stored = tonumber(redis.call('HGET', hwm_key, name) or '-1')
  local hwm = stored
  if mode == 'paused' and hwm < now then
    hwm = now
  elseif floor > 0 and hwm < floor then
    hwm = floor
  elseif hwm < 0 then
    hwm = now
  end
  if hwm ~= stored then
    redis.call('HSET', hwm_key, name, string.format('%d', hwm))
  end
  out[#out + 1] = hwm
end
return out
