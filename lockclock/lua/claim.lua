-- The safety core: claim ticks of one schedule, each at most once, ever.
-- A tick is claimed only if (1) the caller holds the lease with this epoch,
-- (2) the tick is not in the future by Redis time, (3) no record of it exists and
-- (4) it is above the schedule's high-water mark. All four are checked atomically.
-- KEYS: lease, fence counter, hwm hash, runs hash, ticks zset, next-tick hash, outages list
-- ARGV: clock id, epoch, schedule, history limit, next tick ms (or ''), outage JSON (or ''),
--       fence floor (the highest fence the caller has seen), then pairs
--       (tick ms, 'run' | 'missed' | 'doubt')
-- The floor keeps fences strictly increasing when Redis lost the counter's last writes.
-- 'doubt' records a tick as missed that may have run already, its claim lost with data
-- Redis forgot: the record says so (doubt = true) instead of running it a second time.
-- Returns {now_ms, tick, status, fence, tick, status, fence, ...}
--   status: 'run' (claimed, fence assigned), 'missed' (recorded missed), 'dup' (already
--   recorded by another claim), 'old' (at or below the high-water mark), 'early' (not due yet)
-- or {'stale', holder clock, holder epoch} when the caller no longer holds the lease.
local cur = redis.call('HMGET', KEYS[1], 'clock', 'epoch')
if cur[1] ~= ARGV[1] or cur[2] ~= ARGV[2] then
  return {'stale', cur[1] or '', cur[2] or ''}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local clock, epoch, schedule = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local hwm = tonumber(redis.call('HGET', KEYS[3], schedule) or '-1')
local fence_floor = tonumber(ARGV[7])
local out = {now}
local claimed = 0
for i = 8, #ARGV, 2 do
  local tick = tonumber(ARGV[i])
  local action = ARGV[i + 1]
  local field = string.format('%d', tick)
  local existing = redis.call('HGET', KEYS[4], field)
  if existing then
    local rec = cjson.decode(existing)
    if rec.clock == clock and rec.epoch == epoch then
      -- a retried call of ours: answer as the first time
      out[#out + 1] = tick; out[#out + 1] = rec.status == 'missed' and 'missed' or 'run'
      out[#out + 1] = rec.fence or 0
    else
      out[#out + 1] = tick; out[#out + 1] = 'dup'; out[#out + 1] = 0
    end
  elseif tick <= hwm then
    out[#out + 1] = tick; out[#out + 1] = 'old'; out[#out + 1] = 0
  elseif tick > now then
    out[#out + 1] = tick; out[#out + 1] = 'early'; out[#out + 1] = 0
  else
    local rec = {schedule = schedule, tick = tick, clock = clock, epoch = epoch,
      claimed_ms = now, late_ms = now - tick}
    local fence = 0
    if action == 'run' then
      fence = redis.call('INCR', KEYS[2])
      if fence <= fence_floor then
        fence = fence_floor + 1
        redis.call('SET', KEYS[2], string.format('%d', fence))
      end
      fence_floor = fence
      rec.fence = fence
      rec.status = 'running'
    else
      rec.status = 'missed'
      if action == 'doubt' then
        rec.doubt = true
        action = 'missed'
      end
    end
    redis.call('HSET', KEYS[4], field, cjson.encode(rec))
    redis.call('ZADD', KEYS[5], tick, field)
    hwm = tick
    claimed = claimed + 1
    out[#out + 1] = tick; out[#out + 1] = action; out[#out + 1] = fence
  end
end
if claimed > 0 then
  redis.call('HSET', KEYS[3], schedule, string.format('%d', hwm))
  local limit = tonumber(ARGV[4])
  local n = redis.call('ZCARD', KEYS[5])
  if n > limit then
    local old = redis.call('ZRANGE', KEYS[5], 0, n - limit - 1)
    for j = 1, #old, 500 do
      redis.call('HDEL', KEYS[4], unpack(old, j, math.min(j + 499, #old)))
    end
    redis.call('ZREMRANGEBYRANK', KEYS[5], 0, n - limit - 1)
  end
end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[6], schedule, ARGV[5])
end
if ARGV[6] ~= '' and claimed > 0 then
  redis.call('LPUSH', KEYS[7], ARGV[6])
  redis.call('LTRIM', KEYS[7], 0, 99)
end
return out
