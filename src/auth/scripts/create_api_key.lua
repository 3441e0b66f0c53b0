--[[
  create_api_key: store a new api key of a tenant, as the hash of the key only, on the atomic
  idempotency path (defineAtomicScript of @onceql/idempotency puts its lua/atomic.lua and
  now_ms() in front). The plaintext key never reaches Redis, so a replay cannot reveal it.

  KEYS[1]  idempotency record (see @onceql/idempotency lua/atomic.lua)
  KEYS[2]  tenant   hash of the tenant (must exist)
  KEYS[3]  apiKey   hash of the new key
  KEYS[4]  apiKeys  sorted set of the tenant's key ids, scored by creation time (ms)
  KEYS[5]  the idempotency record's name before v2 (see atomic.lua)

  ARGV[1..4]  idempotency key, fingerprint, mutation, retention ms (see atomic.lua)
  ARGV[5]   keyId               new random id (lower-case letters and digits)
  ARGV[6]   name                display name
  ARGV[7]   prefix              the key's public prefix (oq_<tenant>_<keyId>)
  ARGV[8]   hash                hex SHA-256 of the whole key
  ARGV[9]   scopes              comma-separated: read, write, admin
  ARGV[10]  ipAllowlist         comma-separated normalized CIDRs, "" for no restriction
  ARGV[11]  ipRanges            the same as "first-last" 32-hex-digit ranges, checked by admit.lua
  ARGV[12]  rateLimitPerSecond  the key's own request rate, "" for the tenant's
  ARGV[13]  kind                "publishable" (runs only the tenant's trusted documents), "" for a secret key
  ARGV[14]  maxKeys             keys a tenant may hold, revoked ones included (apiKeys lists them all)

  Returns {envelope}: the atomic envelope {idemStatus, ...} around (status constants from
  ApiKeyScriptStatus in src/auth/store.ts, defined in front of this file)
           {CREATED, keyId, createdAtMs}  created (or, replayed, the key created first)
           {NO_TENANT}              the tenant does not exist (nothing recorded)
           {ID_TAKEN}               a key with this id exists (a random-id collision; nothing recorded)
           {TOO_MANY_KEYS}          the tenant holds maxKeys keys already (recorded: it depends on stored data)

  Atomicity: the key hash, its index entry and the idempotency record are written together.
]]
local replay = idem_begin()
if replay then
  return {replay}
end

local tenantKey = KEYS[2]
local apiKeyKey = KEYS[3]
local apiKeysKey = KEYS[4]

if redis.call('EXISTS', tenantKey) == 0 then
  return {{IDEM_NONE, NO_TENANT}}
end
if redis.call('EXISTS', apiKeyKey) == 1 then
  return {{IDEM_NONE, ID_TAKEN}}
end
if redis.call('ZCARD', apiKeysKey) >= tonumber(ARGV[14]) then
  return {idem_finish(now_ms(), {TOO_MANY_KEYS}, 'BAD_USER_INPUT', '')}
end
local createdAtMs = now_ms()
redis.call('HSET', apiKeyKey,
  'id', ARGV[5],
  'name', ARGV[6],
  'prefix', ARGV[7],
  'hash', ARGV[8],
  'scopes', ARGV[9],
  'ipAllowlist', ARGV[10],
  'ipRanges', ARGV[11],
  'rateLimitPerSecond', ARGV[12],
  'kind', ARGV[13],
  'createdAt', createdAtMs)
redis.call('ZADD', apiKeysKey, createdAtMs, ARGV[5])
return {idem_finish(createdAtMs, {CREATED, ARGV[5], createdAtMs}, '', ARGV[5])}
