-- include: audit
-- End a pause now. The span's ticks are dealt with by the active clock (a 'resume'
-- request): it closes each span and, for --catchup latest or all, runs those ticks.
local paused_key, audit_key, requests_key, request_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local target, catchup, actor, source, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local request_id, ttl_s = ARGV[6], tonumber(ARGV[7])
-- Returns {'resumed', request id, now} or {'not_paused', now}
local now = now_ms()
local raw = redis.call('HGET', paused_key, target)
if not raw then
  return {'not_paused', now}
end
local pause = cjson.decode(raw)
redis.call('HDEL', paused_key, target)
local req = {id = request_id, kind = 'resume', schedule = target, catchup = catchup,
  spans = pause.spans, pause_id = pause.id, paused_ms = pause.since_ms, actor = actor,
  source = source, reason = reason, requested_ms = now, state = 'pending'}
redis.call('SET', request_key, cjson.encode(req), 'EX', ttl_s)
redis.call('RPUSH', requests_key, request_id)
audit(audit_key, 'resume', target, {actor = actor, source = source, reason = reason,
  detail = 'catchup ' .. catchup}, now)
return {'resumed', request_id, now}
