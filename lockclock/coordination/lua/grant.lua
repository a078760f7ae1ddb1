-- include: runs audit
-- The active clock carries out an operator's request for one schedule, under its lease:
-- a trigger (one manual run, keyed off the whole seconds, so it is no tick and never
-- moves the high-water mark), a resume (close the pause's span; with catch-up, run the
-- span's ticks at their own keys, which the pause left without records) or a backfill
-- (one run per tick given, each keyed off the whole seconds like a manual run and
-- naming the tick it replays in `for_tick`, one after another). Each run
-- gets its own fence, and the overlap policy holds unless the request forces it: a
-- run that has not ended refuses the request ('skip') or is waited for ('queue').
-- A retried call finds the schedule answered in the request and answers as before.
local lease_key, fence_key, runs_key, ticks_key, active_key, stream_key, worker_runs_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local request_key, requests_key = KEYS[8], KEYS[9]
local clock, epoch_s, request_id, schedule = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local policy, force, fence_floor = cjson.decode(ARGV[5]), ARGV[6] == '1', tonumber(ARGV[7])
local worker, span_key, final, plan = ARGV[8], ARGV[9], ARGV[10] == '1', ARGV[11]
local first_item = 12
local grant_keys = {runs = runs_key, fence = fence_key, active = active_key,
  stream = stream_key, worker_runs = worker_runs_key, ticks = ticks_key}
-- plan: a backfill's plan (JSON) to keep in the request, or ''
-- then the ticks to run (a resume's catch-up, a backfill), oldest first
-- Returns {'stale'}, {'gone'}, or {'done' | 'refused', now, error, tick, fence, note, ...}
--   runs as (key, fence, note, tick replayed or ''); note: 'started' (inline, started
--   by this call), 'queued' or 'waiting'
local ours = lease_holder(lease_key, clock, epoch_s)
if not ours then
  return {'stale'}
end
local now = now_ms()
local raw = redis.call('GET', request_key)
if not raw then
  redis.call('LREM', requests_key, 0, request_id)
  return {'gone'}
end
local req = cjson.decode(raw)
req.answers = req.answers or {}
local function finish(state)
  if final then
    req.state = state
    req.answered_ms = now
    req.clock = clock
    redis.call('LREM', requests_key, 0, request_id)
  end
  redis.call('SET', request_key, cjson.encode(req), 'KEEPTTL')
end
local function reply(ans)
  local out = {ans.state, now, ans.error or ''}
  for _, r in ipairs(ans.runs or {}) do
    out[#out + 1] = r.tick; out[#out + 1] = r.fence; out[#out + 1] = r.note
    out[#out + 1] = r.for_tick or ''
  end
  return out
end
local prior = req.answers[schedule]
if prior then
  if final and req.state == 'pending' then finish(prior.state) end
  return reply(prior)
end

if span_key ~= '' then
  local span = get_run(runs_key, tonumber(span_key))
  if span and span.status == 'paused' and not span.ended_ms then
    span.ended_ms = now
    span.resumed_by = req.actor
    span.catchup = req.catchup
    put_run(runs_key, span)
  end
end

if plan ~= '' then req.plan = cjson.decode(plan) end
local items = {}
local backfill = req.kind == 'backfill'
if req.kind == 'trigger' then
  items[1] = off_grid_key(runs_key, now)
elseif backfill then
  for i = first_item, #ARGV do items[#items + 1] = tonumber(ARGV[i]) end
else
  for i = first_item, #ARGV do
    local tick = tonumber(ARGV[i])
    -- a tick the pause swallowed has no record; one that has (run before the pause,
    -- recorded missed) is not run again
    if redis.call('HEXISTS', runs_key, string.format('%d', tick)) == 0 then
      items[#items + 1] = tick
    end
  end
end

local ans = {state = 'done', runs = {}}
local last = nil
if #items > 0 and policy.overlap ~= 'allow' and not force then
  local top = redis.call('ZREVRANGE', active_key, 0, 0)
  if #top > 0 then last = get_run(runs_key, tonumber(top[1])) end
  -- a backfill waits behind whatever runs; a trigger or catch-up follows the policy
  if last and not backfill and (policy.overlap == 'skip' or last.status == 'waiting'
      or last.next) then
    ans = {state = 'refused', runs = {},
      error = 'a run of ' .. schedule .. ' (' .. string.format('%d', last.tick) ..
        ') has not ended and its overlap policy is ' .. policy.overlap ..
        ': wait for it to end, or force it'}
    items = {}
  end
end

local epoch = tonumber(epoch_s)
if backfill and last and last.next then
  -- behind the end of the chain that waits there
  while last.next do
    local nxt = get_run(runs_key, last.next)
    if not nxt then break end
    last = nxt
  end
end
for _, item in ipairs(items) do
  local key, for_tick = item, nil
  if backfill then key, for_tick = off_grid_key(runs_key, now), item end
  local rec = {schedule = schedule, tick = key, clock = clock, epoch = epoch,
    claimed_ms = now, late_ms = math.max(now - key, 0), status = 'waiting'}
  local triggers = {trigger = 'manual', resume = 'resume', backfill = 'backfill'}
  rec.trigger = triggers[req.kind]
  rec.for_tick = for_tick
  rec.request = request_id
  rec.by = req.actor
  if req.reason and req.reason ~= '' then rec.reason = req.reason end
  -- lateness counts from now: the operator asked for these runs now
  rec.max_late_ms = math.max(now - key, 0) + policy.max_late_ms
  local note = grant_run(grant_keys, rec, policy, fence_floor, last, now, worker)
  fence_floor = rec.fence
  last = rec
  ans.runs[#ans.runs + 1] = {tick = key, fence = rec.fence, note = note, for_tick = for_tick}
end
req.answers[schedule] = ans
local state = ans.state
for _, a in pairs(req.answers) do
  if a.state == 'done' then state = 'done' end
end
finish(state)
return reply(ans)
