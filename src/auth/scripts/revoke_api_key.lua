--[[
  revoke_api_key: stop an api key from working, on the atomic idempotency path
  (defineAtomicScript of @onceql/idempotency puts its lua/atomic.lua and now_ms() in front).
  Every request reads the key record, so the next request on any instance is refused.

  KEYS[1]  idempotency record (see @onceql/idempotency lua/atomic.lua)
  KEYS[2]  apiKey  hash of the key
  KEYS[3]  the idempotency record's name before v2 (see atomic.lua)

  ARGV[1..4]  idempotency key, fingerprint, mutation, retention ms (see atomic.lua)

  Returns {envelope, apiKey}: the atomic envelope {idemStatus, ...} around (status constants
  from RevokeScriptStatus in src/auth/store.ts, defined in front of this file)
           {REVOKED, revokedAtMs}  revoked (now, or earlier: revoking twice keeps the first time)
           {NO_KEY}                no such key for this tenant (recorded: NOT_FOUND)
  and, when the key was revoked (now or on a replay), its hash as HGETALL pairs as it is at the end
  of this script, so the answer needs no second read (which could fail after the write committed).

  Atomicity: the revocation and the idempotency record are written together.
]]
local apiKeyKey = KEYS[2]

-- Adds the key's row to a revoked outcome (see the header).
local function with_key(envelope)
  if envelope[2] == REVOKED then
    return {envelope, redis.call('HGETALL', apiKeyKey)}
  end
  return {envelope}
end

local replay = idem_begin()
if replay then
  return with_key(replay)
end

local nowMs = now_ms()
if redis.call('EXISTS', apiKeyKey) == 0 then
  return {idem_finish(nowMs, {NO_KEY}, 'NOT_FOUND', '')}
end
local revokedAt = redis.call('HGET', apiKeyKey, 'revokedAt')
if not revokedAt then
  revokedAt = nowMs
  redis.call('HSET', apiKeyKey, 'revokedAt', revokedAt)
end
return with_key(idem_finish(nowMs, {REVOKED, tonumber(revokedAt)}, '', redis.call('HGET', apiKeyKey, 'id')))
