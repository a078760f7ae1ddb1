-- include: audit
-- An operator's request for the active clock (a trigger): stored, queued and audited in
-- one step. With an idempotency key, a repeated request answers with the first one's id.
local requests_key, request_key, idem_key, audit_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local request_id, body, ttl_s, idem_ttl_s = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
-- Returns {'queued', id, now} or {'existing', the first request's id, now}
local now = now_ms()
if idem_ttl_s ~= '' then
  local first = redis.call('GET', idem_key)
  if first then return {'existing', first, now} end
  redis.call('SET', idem_key, request_id, 'EX', tonumber(idem_ttl_s))
end
local req = cjson.decode(body)
req.id, req.requested_ms, req.state = request_id, now, 'pending'
redis.call('SET', request_key, cjson.encode(req), 'EX', ttl_s)
redis.call('RPUSH', requests_key, request_id)
audit(audit_key, req.kind, req.schedule, {actor = req.actor, source = req.source,
  reason = req.reason, detail = req.force and 'force' or ''}, now)
return {'queued', request_id, now}
