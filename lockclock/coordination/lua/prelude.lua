-- Shared by every script: prepended when the script is loaded (scripts.py), because
-- Redis Functions, which could share code, need Redis 7.0 and we support 6.2.

-- Redis server time in epoch milliseconds: the one clock every decision uses.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- The lease holder's {clock, epoch} (strings, or false), and whether it is the caller.
local function lease_holder(lease_key, clock, epoch)
  local cur = redis.call('HMGET', lease_key, 'clock', 'epoch')
  return cur[1] == clock and cur[2] == epoch, cur
end

-- Increment a counter, never to a value at or below `floor` (the highest value the
-- caller has seen): a Redis that lost the counter's last writes cannot repeat one.
local function next_above(counter_key, floor)
  local value = redis.call('INCR', counter_key)
  if value <= floor then
    value = floor + 1
    redis.call('SET', counter_key, string.format('%d', value))
  end
  return value
end

-- Whether Redis was within reach, seen from Redis itself: every lease call and worker
-- beat notes its time (`seen_key`, one command). A gap between two of them longer than a worker's
-- beat interval (a third of its lease) means nobody reached Redis meanwhile (it was
-- stopped, restarting, cut off, or lost its last writes in a crash): long enough for a
-- worker lease to lapse with nobody dead. `since_key` marks the gap's end, and the reaper
-- spares every worker for one lease after it (reaping.py). An outage of O ms, or a
-- crash losing O ms of writes, can lapse a lease only if O exceeds the beat interval,
-- and then it leaves a gap of at least O. The active clock renews at least twice per
-- beat interval (leadership.py), so while one is active (only then does anyone reap)
-- no gap comes from quiet alone. A Redis that lost the note counts as a gap.
local function note_reachable(seen_key, since_key, now, worker_lease_ms)
  local seen = tonumber(redis.call('SET', seen_key, now, 'GET') or '0')
  if now - seen > worker_lease_ms / 3 then
    redis.call('SET', since_key, now)
  end
end

-- The namespace's key layout (keys.py): the version this script was written for is
-- recorded on first use; any other version recorded there is refused, so two versions
-- of lockclock never fire the same tick under different keys. Returns the version
-- found when it differs, else false.
local function layout_mismatch(layout_key, version)
  local found = redis.call('GET', layout_key)
  if not found then
    redis.call('SET', layout_key, version)
    return false
  end
  if found ~= version then
    return found
  end
  return false
end
