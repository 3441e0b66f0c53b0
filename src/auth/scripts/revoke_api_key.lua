--[[
  revoke_api_key: stop an api key from working, on the atomic idempotency path
  (idempotency/scripts/atomic.lua is included in front of this script). Every request reads the
  key record, so the next request on any instance is refused.

  KEYS[1]  idempotency record (see atomic.lua)
  KEYS[2]  apiKey  hash of the key

  ARGV[1..4]  idempotency key, fingerprint, mutation, retention ms (see atomic.lua)

  Returns the atomic envelope {idemStatus, ...} around
           {1, revokedAtMs}  revoked (now, or earlier: revoking twice keeps the first time)
           {2}               no such key for this tenant (recorded: NOT_FOUND)

  Atomicity: the revocation and the idempotency record are written together.
]]
local replay = idem_begin()
if replay then
  return replay
end

local apiKeyKey = KEYS[2]
local nowMs = idem_now_ms()
if redis.call('EXISTS', apiKeyKey) == 0 then
  return idem_finish(nowMs, {2}, 'FAILED', 'NOT_FOUND', '')
end
local revokedAt = redis.call('HGET', apiKeyKey, 'revokedAt')
if not revokedAt then
  revokedAt = nowMs
  redis.call('HSET', apiKeyKey, 'revokedAt', revokedAt)
end
return idem_finish(nowMs, {1, tonumber(revokedAt)}, 'SUCCEEDED', '', redis.call('HGET', apiKeyKey, 'id'))
