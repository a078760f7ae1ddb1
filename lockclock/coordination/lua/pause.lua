-- include: audit
-- Pause a schedule (or '*': all of them). While a pause holds, claim.lua claims no run
-- of it: each due tick goes into the pause's span, one history record per schedule.
-- Pausing what is paused updates the reason and the end, keeping the span.
local paused_key, audit_key = KEYS[1], KEYS[2]
local target, reason, actor, source, until_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
-- Returns {'paused' | 'updated', since_ms, now}
local now = now_ms()
local raw = redis.call('HGET', paused_key, target)
local pause, how
if raw then
  pause, how = cjson.decode(raw), 'updated'
  if type(pause.until_ms) == 'number' and pause.until_ms <= now then
    raw = nil  -- it had run out: a new pause
  end
end
if not raw then
  pause, how = {id = now, since_ms = now, spans = {}}, 'paused'
end
pause.reason, pause.actor, pause.source = reason, actor, source
if until_ms ~= '' then pause.until_ms = tonumber(until_ms) else pause.until_ms = nil end
redis.call('HSET', paused_key, target, cjson.encode(pause))
audit(audit_key, 'pause', target, {actor = actor, source = source, reason = reason,
  detail = until_ms ~= '' and ('until ' .. until_ms) or ''}, now)
return {how, pause.since_ms, now}
