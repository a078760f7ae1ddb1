-- include: runs audit
-- The safety core: claim ticks of one schedule, each at most once, ever.
-- A tick is claimed only if (1) the caller holds the lease with this epoch,
-- (2) the tick is not in the future by Redis time, (3) no record of it exists and
-- (4) it is above the schedule's high-water mark. All four are checked atomically.
-- A claimed run is enqueued (XADD) in the same step, so no run is ever claimed and
-- not queued, or queued twice: a retried call finds its record and answers as before.
-- The fence floor keeps fences strictly increasing when Redis lost the counter's last
-- writes. 'doubt' records a tick as missed that may have run already, its claim lost
-- with data Redis forgot: the record says so (doubt = true) instead of running it again;
-- it is the one action allowed at or below the high-water mark, where no record is.
-- Overlap: while a run of the schedule from an earlier claim has not ended, a newly due
-- tick ('run') is skipped (one record per streak), waits behind it ('queue', at most one
-- waiting), or runs anyway ('allow'). The runs of one claim (a failover's lag, an
-- outage's catch-up, 'catchup') run one after another, never skipped by each other.
-- Inline (mode 'inline'): a run that can start now is started by the claim itself,
-- owned by the clock's own worker identity, so no instant passes between the claim and
-- the start; the others wait, and the clock's consumer starts them from the stream.
-- Paused (lockclock pause): a due tick is not run but counted into the pause's span,
-- one record per schedule and pause, keyed off the whole seconds; the mark moves on.
local lease_key, fence_key, hwm_key, runs_key, ticks_key, next_key, outages_key, layout_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local active_key, stream_key, worker_runs_key, paused_key = KEYS[9], KEYS[10], KEYS[11], KEYS[12]
local clock, epoch_s, schedule = ARGV[1], ARGV[2], ARGV[3]
local history_limit, next_tick, outage_json = tonumber(ARGV[4]), ARGV[5], ARGV[6]
local fence_floor, layout, policy = tonumber(ARGV[7]), ARGV[8], cjson.decode(ARGV[9])
local worker = ARGV[10]
local first_item = 11
local grant_keys = {runs = runs_key, fence = fence_key, active = active_key,
  stream = stream_key, worker_runs = worker_runs_key, ticks = ticks_key}
-- policy: {mode, queue, overlap, max_deliveries, max_late_ms, retries, retry_backoff_ms}
-- worker: the inline clock's worker id ('' with workers)
-- then pairs (tick ms, 'run' | 'catchup' | 'missed' | 'doubt') from ARGV[11]
-- Returns {now_ms, tick, status, fence, note, tick, status, fence, note, ...}
--   status: 'run' (claimed, fence assigned; note 'started' (inline, started by this
--   claim), 'queued' or 'waiting'), 'missed' (recorded missed), 'paused' (counted into
--   the pause's span; note 'span' when it starts one), 'skipped' (overlap; note
--   'streak' when a new skip streak starts), 'dup' (already recorded by another claim),
--   'old' (at or below the high-water mark), 'early' (not due yet)
-- or {'stale', holder clock, holder epoch} when the caller no longer holds the lease,
-- or {'layout', the layout version recorded} when it is not ours.
local ours, cur = lease_holder(lease_key, clock, epoch_s)
if not ours then
  return {'stale', cur[1] or '', cur[2] or ''}
end
local other_layout = layout_mismatch(layout_key, layout)
if other_layout then
  return {'layout', other_layout}
end
local now = now_ms()
local epoch = tonumber(epoch_s)
local hwm = tonumber(redis.call('HGET', hwm_key, schedule) or '-1')
local out = {now}
local claimed = 0
local batch_tail = nil  -- the last run this claim granted: later ones chain behind it

-- the pause that holds this schedule now, if any (its own, else pause --all)
local pause_field, pause = nil, nil
for _, f in ipairs({schedule, '*'}) do
  local raw = redis.call('HGET', paused_key, f)
  if raw and not pause then
    local p = cjson.decode(raw)
    if not (type(p.until_ms) == 'number' and p.until_ms <= now) then
      pause_field, pause = f, p
    end
  end
end
local pause_changed = false

-- a retried call: the tick is already in the pause's span
local function covered_by_pause(tick)
  if not pause or not pause.spans[schedule] then return false end
  local span = get_run(runs_key, pause.spans[schedule])
  return span and span.first_ms <= tick and tick <= span.last_ms
end

local function into_span(tick)
  local span_key = pause.spans[schedule]
  local span = span_key and get_run(runs_key, span_key)
  if span and span.status == 'paused' and not span.ended_ms then
    span.last_ms = tick
    span.count = (span.count or 1) + 1
    put_run(runs_key, span)
    count_outcome(runs_key, span, 'paused', now)
    return ''
  end
  local key = off_grid_key(runs_key, now)
  span = {schedule = schedule, tick = key, clock = clock, epoch = tonumber(epoch_s),
    claimed_ms = now, late_ms = 0, status = 'paused', first_ms = tick, last_ms = tick,
    count = 1, reason = pause.reason, by = pause.actor, pause_id = pause.id}
  put_run(runs_key, span)
  redis.call('ZADD', ticks_key, key, string.format('%d', key))
  pause.spans[schedule] = key
  pause_changed = true
  count_outcome(runs_key, span, 'paused', now)
  return 'span'
end

local function answer(tick, status, fence, note)
  out[#out + 1] = tick; out[#out + 1] = status; out[#out + 1] = fence or 0
  out[#out + 1] = note or ''
end

-- the latest run of this schedule that has not ended, if any
local function tail()
  local top = redis.call('ZREVRANGE', active_key, 0, 0)
  if #top == 0 then return nil end
  return get_run(runs_key, tonumber(top[1]))
end

-- the newest record, when it is a skip streak behind `blocker` (to extend it)
local function open_streak(blocker)
  local top = redis.call('ZREVRANGE', ticks_key, 0, 0)
  if #top == 0 then return nil end
  local rec = get_run(runs_key, tonumber(top[1]))
  if rec and rec.status == 'skipped' and rec.blocked_by == blocker then return rec end
  return nil
end

local function covered_by_our_streak(tick)
  local top = redis.call('ZREVRANGE', ticks_key, 0, 0)
  if #top == 0 then return false end
  local rec = get_run(runs_key, tonumber(top[1]))
  return rec and rec.status == 'skipped' and rec.clock == clock and rec.epoch == epoch
    and rec.tick <= tick and tick <= (rec.last_ms or rec.tick)
end

-- a new record at `tick`, in the history's index too
local function record(rec)
  put_run(runs_key, rec)
  redis.call('ZADD', ticks_key, rec.tick, string.format('%d', rec.tick))
end

local function new_record(tick, status)
  return {schedule = schedule, tick = tick, clock = clock, epoch = epoch,
    claimed_ms = now, late_ms = now - tick, status = status}
end

for i = first_item, #ARGV, 2 do
  local tick = tonumber(ARGV[i])
  local action = ARGV[i + 1]
  local existing = get_run(runs_key, tick)
  if existing then
    if existing.clock == clock and existing.epoch == epoch then
      -- a retried call of ours: answer as the first time
      if existing.status == 'missed' or existing.status == 'skipped' then
        answer(tick, existing.status, 0)
      else
        local note = 'queued'
        if existing.status == 'waiting' then note = 'waiting' end
        if existing.status == 'running' and existing.owner == worker then note = 'started' end
        answer(tick, 'run', existing.fence, note)
      end
    else
      answer(tick, 'dup')
    end
  elseif tick <= hwm and action ~= 'doubt' then
    local covered = 'old'
    if covered_by_our_streak(tick) then covered = 'skipped'
    elseif covered_by_pause(tick) then covered = 'paused' end
    answer(tick, covered)
  elseif tick > now then
    answer(tick, 'early')
  else
    -- a tick in doubt may lie below the mark (a claim Redis lost): it is only recorded,
    -- never run, so it cannot be dispatched twice
    if tick > hwm then hwm = tick end
    claimed = claimed + 1
    if pause and (action == 'run' or action == 'catchup') then
      answer(tick, 'paused', 0, into_span(tick))
    elseif action == 'missed' or action == 'doubt' then
      local rec = new_record(tick, 'missed')
      if action == 'doubt' then rec.doubt = true end
      record(rec)
      count_outcome(runs_key, rec, 'missed', now)
      answer(tick, 'missed')
    else
      local last, chain, skip = nil, false, false
      if action == 'catchup' then
        last = batch_tail or tail()
        chain = last ~= nil
      elseif batch_tail ~= nil and policy.overlap ~= 'allow' then
        last, chain = batch_tail, true
      elseif policy.overlap ~= 'allow' then
        last = tail()
        if last ~= nil then
          if policy.overlap == 'queue' and last.status ~= 'waiting' and not last.next then
            chain = true
          else
            skip = true
          end
        end
      end
      if skip then
        local streak = open_streak(last.tick)
        if streak then
          streak.last_ms = tick
          streak.count = (streak.count or 1) + 1
          put_run(runs_key, streak)
          count_outcome(runs_key, streak, 'skipped', now)
          answer(tick, 'skipped')
        else
          local rec = new_record(tick, 'skipped')
          rec.blocked_by = last.tick
          rec.last_ms = tick
          rec.count = 1
          rec.reason = 'a run of ' .. string.format('%d', last.tick) .. ' had not ended'
          record(rec)
          count_outcome(runs_key, rec, 'skipped', now)
          answer(tick, 'skipped', 0, 'streak')
        end
      else
        local rec = new_record(tick, 'waiting')
        rec.max_late_ms = policy.max_late_ms
        local note = grant_run(grant_keys, rec, policy, fence_floor, chain and last or nil,
          now, worker)
        fence_floor = rec.fence
        batch_tail = rec
        answer(tick, 'run', rec.fence, note)
      end
    end
  end
end
if claimed > 0 then
  redis.call('HSET', hwm_key, schedule, string.format('%d', hwm))
  -- keep the newest history_limit records; a run that has not ended is never trimmed
  local n = redis.call('ZCARD', ticks_key)
  if n > history_limit then
    local old = redis.call('ZRANGE', ticks_key, 0, n - history_limit - 1)
    local drop = {}
    for j = 1, #old do
      if not redis.call('ZSCORE', active_key, old[j]) then drop[#drop + 1] = old[j] end
    end
    for j = 1, #drop, 500 do
      local last_j = math.min(j + 499, #drop)
      redis.call('HDEL', runs_key, unpack(drop, j, last_j))
      redis.call('ZREM', ticks_key, unpack(drop, j, last_j))
    end
  end
end
if pause_changed then
  redis.call('HSET', paused_key, pause_field, cjson.encode(pause))
end
if next_tick ~= '' then
  redis.call('HSET', next_key, schedule, next_tick)
end
if outage_json ~= '' and claimed > 0 then
  redis.call('LPUSH', outages_key, outage_json)
  redis.call('LTRIM', outages_key, 0, 99)
end
return out
