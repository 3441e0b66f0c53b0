--[[
  create_tenant: register a tenant together with its first api key (optional), so a crash can
  never leave a tenant that no key can reach. The plaintext key never reaches Redis.

  KEYS[1]  tenant   hash of the tenant
  KEYS[2]  apiKey   hash of the first key (ignored when ARGV[3] is "")
  KEYS[3]  apiKeys  sorted set of the tenant's key ids, scored by creation time (ms)

  ARGV[1]  tenantId     new random id (lower-case letters and digits)
  ARGV[2]  name         the tenant's display name
  ARGV[3]  keyId        the first key's new random id, "" for a tenant without a key
  ARGV[4]  keyName      the key's display name
  ARGV[5]  prefix       the key's public prefix (oq_<tenant>_<keyId>)
  ARGV[6]  hash         hex SHA-256 of the whole key
  ARGV[7]  scopes       comma-separated: read, write, admin
  ARGV[8]  ipAllowlist  comma-separated normalized CIDRs, "" for no restriction
  ARGV[9]  ipRanges     the same as "first-last" 32-hex-digit ranges, checked by admit.lua
  ARGV[10] rateLimitPerSecond  the key's own request rate, "" for the tenant's

  Returns  {CREATED, createdAtMs}  created (the tenant, and the key when one was given)
           {EXISTS}                a tenant with this id exists already (nothing written)
  (status codes: constants of CREATE_TENANT_STATUS in src/auth/scripts.ts; now_ms() from
  @onceql/redis-script CLOCK_LUA, included in front)

  Atomicity: the tenant, its key and the key's index entry are written together or not at all;
  createdAtMs is Redis server time and is the creation time of both.
]]
local tenantKey = KEYS[1]
local apiKeyKey = KEYS[2]
local apiKeysKey = KEYS[3]

if redis.call('EXISTS', tenantKey) == 1 then
  return {EXISTS}
end
local createdAtMs = now_ms()
redis.call('HSET', tenantKey, 'id', ARGV[1], 'name', ARGV[2], 'createdAt', createdAtMs)
if ARGV[3] ~= '' then
  -- A new tenant has no keys, so the key id cannot collide.
  redis.call('HSET', apiKeyKey,
    'id', ARGV[3],
    'name', ARGV[4],
    'prefix', ARGV[5],
    'hash', ARGV[6],
    'scopes', ARGV[7],
    'ipAllowlist', ARGV[8],
    'ipRanges', ARGV[9],
    'rateLimitPerSecond', ARGV[10],
    'createdAt', createdAtMs)
  redis.call('ZADD', apiKeysKey, createdAtMs, ARGV[3])
end
return {CREATED, createdAtMs}
