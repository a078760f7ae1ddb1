-- Shared by the scripts that move a run through its life (claim, start, finish, reap,
-- promote, handback): included after prelude.lua by scripts that start with
-- "-- include: runs".
--
-- A run record is JSON under {ns}:runs:<schedule>, field = tick. While a run has not
-- ended it is in {ns}:active:<schedule>, and its status is one of:
--   queued   an entry for its current attempt is in the queue stream (entry ~= ''), or
--            it waits in {ns}:delayed for a retry or a hand-back (entry == '')
--   waiting  it waits for the run before it to end (rec.after), not yet in a stream
--   running  a worker (rec.owner) started its current attempt
-- Every attempt has its own fence, above every earlier grant's; only the current one may
-- record anything. An entry id is never reused: each attempt is a new XADD, so a late
-- XACK of an old copy can only acknowledge that old copy, which is gone anyway.

local GROUP = 'lockclock'

-- Statistics, kept beside each schedule's runs in {ns}:stats:<schedule> (a hash; the key
-- is derived from the runs key, in the same slot): hourly counters by outcome
-- ('h:<hour>:<status>', 8 days kept), totals by outcome and trigger, the last success,
-- and histograms of start lateness and duration (bucket counts, sum, count). They live
-- in Redis, so they survive restarts, and any process can read the fleet's numbers.
local STATS_HOURS = 192
local LATE_BUCKETS = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300}
local DURATION_BUCKETS = {0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200}

local function stats_key_for(runs_key, schedule)
  return string.sub(runs_key, 1, #runs_key - #schedule - 6) .. ':stats:' .. schedule
end

local function observe(stats_key, name, value_s, buckets)
  local slot = #buckets + 1
  for i, bound in ipairs(buckets) do
    if value_s <= bound then slot = i; break end
  end
  redis.call('HINCRBY', stats_key, name .. ':b' .. slot, 1)
  redis.call('HINCRBYFLOAT', stats_key, name .. ':sum', value_s)
  redis.call('HINCRBY', stats_key, name .. ':count', 1)
end

-- drop hourly counters older than STATS_HOURS, at most once an hour
local function prune_hours(stats_key, hour)
  local done = tonumber(redis.call('HGET', stats_key, 'pruned_hour') or '0')
  if done >= hour then return end
  redis.call('HSET', stats_key, 'pruned_hour', hour)
  local cutoff = hour - STATS_HOURS
  local fields = redis.call('HKEYS', stats_key)
  local drop = {}
  for _, f in ipairs(fields) do
    local h = string.match(f, '^h:(%d+):')
    if h and tonumber(h) < cutoff then drop[#drop + 1] = f end
  end
  for j = 1, #drop, 500 do
    redis.call('HDEL', stats_key, unpack(drop, j, math.min(j + 499, #drop)))
  end
end

-- A run (or `count` ticks of a skip streak or a pause) ended with `status`.
local function count_outcome(runs_key, rec, status, now, count)
  local stats_key = stats_key_for(runs_key, rec.schedule)
  local hour = math.floor(now / 3600000)
  count = count or 1
  redis.call('HINCRBY', stats_key, 'h:' .. hour .. ':' .. status, count)
  redis.call('HINCRBY', stats_key, 'total:' .. status .. ':' .. (rec.trigger or 'tick'), count)
  if status == 'ok' then redis.call('HSET', stats_key, 'last_success_ms', now) end
  if rec.duration_ms and status ~= 'missed' and status ~= 'lost' then
    observe(stats_key, 'duration', rec.duration_ms / 1000, DURATION_BUCKETS)
  end
  prune_hours(stats_key, hour)
end

-- A run's first attempt started, `late_ms` after its tick.
local function count_start(runs_key, rec, late_ms)
  observe(stats_key_for(runs_key, rec.schedule), 'late', math.max(late_ms, 0) / 1000,
    LATE_BUCKETS)
end

local function get_run(runs_key, tick)
  local raw = redis.call('HGET', runs_key, string.format('%d', tick))
  if not raw then return nil end
  return cjson.decode(raw)
end

local function put_run(runs_key, rec)
  redis.call('HSET', runs_key, string.format('%d', rec.tick), cjson.encode(rec))
end

-- Acknowledge and delete a stream entry in one step (XACK alone keeps the entry).
local function drop_entry(stream_key, entry)
  if entry and entry ~= '' then
    redis.call('XACK', stream_key, GROUP, entry)
    redis.call('XDEL', stream_key, entry)
  end
end

-- Put the run's current attempt in the stream: a new entry, so a new copy.
local function enqueue(stream_key, rec, now)
  rec.status = 'queued'
  rec.owner = ''
  rec.enqueued_ms = now
  rec.entry = redis.call('XADD', stream_key, '*', 'schedule', rec.schedule,
    'tick', string.format('%d', rec.tick), 'attempt', rec.attempt, 'fence', rec.fence)
end

-- A new attempt of a run that has not ended: a fresh fence (above the caller's floor).
local function new_attempt(fence_key, rec, fence_floor)
  rec.attempt = (rec.attempt or 1) + 1
  rec.fence = next_above(fence_key, fence_floor)
  return rec.fence
end

-- The record's list of attempts: never set to an empty table, which cjson would
-- encode as {} rather than [].
local function begin_attempt(runs_key, rec, now, worker)
  if (rec.attempt or 1) == 1 then count_start(runs_key, rec, now - rec.tick) end
  local attempts = rec.attempts or {}
  attempts[#attempts + 1] = {attempt = rec.attempt, fence = rec.fence, worker = worker,
    started_ms = now}
  if #attempts > 20 then table.remove(attempts, 1) end
  rec.attempts = attempts
end

-- A new run, granted by a claim or by an operator's request: its first fence (above the
-- caller's floor), then chained behind `after` (a run of the schedule that has not
-- ended: it waits for it), started at once (inline: owned by `worker`, so no instant
-- passes between the grant and the start) or queued. The caller sets what differs:
-- the record's trigger fields and its max_late_ms. `keys` names the runs, fence,
-- active, stream, worker_runs and ticks keys. Returns 'waiting', 'started' or 'queued'.
local function grant_run(keys, rec, policy, fence_floor, after, now, worker)
  local key = string.format('%d', rec.tick)
  rec.status = 'waiting'
  rec.fence = next_above(keys.fence, fence_floor)
  rec.claim_fence = rec.fence  -- the first grant's, kept when attempts get new ones
  rec.attempt = 1
  rec.mode = policy.mode
  rec.queue = policy.queue
  rec.max_deliveries = policy.max_deliveries
  rec.retries = policy.retries
  rec.retry_backoff_ms = policy.retry_backoff_ms
  rec.deliveries = 0
  rec.entry = ''
  rec.owner = ''
  local note = 'queued'
  if after then
    rec.after = after.tick
    after.next = rec.tick
    put_run(keys.runs, after)
    note = 'waiting'
  elseif policy.mode == 'inline' then
    rec.status = 'running'
    rec.owner = worker
    rec.enqueued_ms = now
    rec.attempt_started_ms = now
    rec.started_ms = now
    begin_attempt(keys.runs, rec, now, worker)
    redis.call('SADD', keys.worker_runs, rec.schedule .. '\t' .. key)
    note = 'started'
  else
    enqueue(keys.stream, rec, now)
  end
  redis.call('ZADD', keys.active, rec.tick, key)
  put_run(keys.runs, rec)
  redis.call('ZADD', keys.ticks, rec.tick, key)
  return note
end

local function end_attempt(rec, now, how, err)
  local attempts = rec.attempts
  local last = attempts and attempts[#attempts]
  if last and last.attempt == rec.attempt and not last.ended_ms then
    last.ended_ms = now
    last['end'] = how
    if err then last.error = err end
  end
end

-- The run has ended: out of the active set, and the run waiting behind it (overlap
-- 'queue', or the next run of the same claim) goes on. Given `worker` (an inline clock
-- finishing a run), an inline successor is started for that worker at once and
-- returned, to run in the same process with no trip through the stream; otherwise it
-- goes into the stream.
local function release_next(runs_key, active_key, stream_key, rec, now, worker, worker_runs_key)
  redis.call('ZREM', active_key, string.format('%d', rec.tick))
  if not rec.next then return nil end
  local nxt = get_run(runs_key, rec.next)
  if not nxt or nxt.status ~= 'waiting' then return nil end
  if worker and nxt.mode == 'inline' then
    nxt.status = 'running'
    nxt.owner = worker
    nxt.enqueued_ms = now
    nxt.attempt_started_ms = now
    nxt.started_ms = nxt.started_ms or now
    begin_attempt(runs_key, nxt, now, worker)
    redis.call('SADD', worker_runs_key, nxt.schedule .. '\t' .. string.format('%d', nxt.tick))
    put_run(runs_key, nxt)
    return nxt
  end
  enqueue(stream_key, nxt, now)
  put_run(runs_key, nxt)
  return nil
end

-- End a run for good without a further attempt (lost, missed while queued).
local function end_run(runs_key, active_key, stream_key, rec, now, status, err, worker,
    worker_runs_key)
  drop_entry(stream_key, rec.entry)
  rec.entry = ''
  rec.owner = ''
  rec.status = status
  rec.finished_ms = now
  if err then rec.error = err end
  put_run(runs_key, rec)
  count_outcome(runs_key, rec, status, now)
  return release_next(runs_key, active_key, stream_key, rec, now, worker, worker_runs_key)
end

-- For the reaper: a worker is dead once its lease has lapsed (or it is gone). The first
-- reap marks the lease (score 0), so that the worker can no longer renew it: until
-- then, nothing it held has gone to anyone, and a worker cut off by a Redis outage
-- longer than its lease keeps its runs by beating again.
local function reap_lapsed(workers_key, worker, now)
  local score = tonumber(redis.call('ZSCORE', workers_key, worker) or '0')
  if score >= now then
    return false
  end
  if score > 0 then
    redis.call('ZADD', workers_key, 0, worker)
  end
  return true
end

-- A run whose worker died holding it (`died_reason` names how): its next attempt goes
-- into the stream under a new fence, or, inline or past max_deliveries, it ends lost.
-- Returns {'redelivered', attempt, fence} or {'lost', reason}.
local function redeliver(runs_key, active_key, stream_key, fence_key, rec, now, fence_floor,
    inline_reason, died_reason)
  drop_entry(stream_key, rec.entry)
  rec.entry = ''
  rec.deliveries = (rec.deliveries or 0) + 1
  local reason = nil
  if rec.mode == 'inline' and inline_reason and not rec.progress then
    -- inline execution is at most once, unless the run saved progress to resume from
    reason = inline_reason
  elseif rec.deliveries >= (rec.max_deliveries or 3) then
    reason = died_reason .. ' ' .. rec.deliveries .. ' times (max_deliveries)'
  end
  if reason then
    end_run(runs_key, active_key, stream_key, rec, now, 'lost', reason)
    return {'lost', reason}
  end
  new_attempt(fence_key, rec, fence_floor)
  enqueue(stream_key, rec, now)
  rec.redelivered_ms = now
  put_run(runs_key, rec)
  return {'redelivered', rec.attempt, rec.fence}
end
