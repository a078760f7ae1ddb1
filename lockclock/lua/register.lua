-- On taking the lease: give each new schedule a high-water mark of "now" so a tick
-- that falls due before its first claim is caught by whichever clock is active then;
-- move paused schedules' marks to now so resuming them reports nothing as missed.
-- KEYS: lease, hwm hash
-- ARGV: clock id, epoch, then groups of (schedule name, 'new' | 'paused')
-- Returns {now_ms, hwm of each named schedule in order} or {'stale'}.
local cur = redis.call('HMGET', KEYS[1], 'clock', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return {'stale'}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {now}
for i = 3, #ARGV, 2 do
  local name, mode = ARGV[i], ARGV[i + 1]
  local hwm = tonumber(redis.call('HGET', KEYS[2], name) or '-1')
  if hwm < 0 or (mode == 'paused' and hwm < now) then
    hwm = now
    redis.call('HSET', KEYS[2], name, string.format('%d', now))
  end
  out[#out + 1] = hwm
end
return out
