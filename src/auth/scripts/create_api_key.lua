--[[
  create_api_key: store a new api key of a tenant, as a hash of the key only.

  KEYS[1]  tenant   hash of the tenant (must exist)
  KEYS[2]  apiKey   hash of the new key
  KEYS[3]  apiKeys  sorted set of the tenant's key ids, scored by creation time (ms)

  ARGV[1]  keyId      new random id (lower-case letters and digits)
  ARGV[2]  name       display name
  ARGV[3]  prefix     the key's public prefix (shown in listings, never enough to use the key)
  ARGV[4]  hash       hex SHA-256 of the whole key; the key itself is never stored
  ARGV[5]  scopes     comma-separated scopes, e.g. "read,write,admin"

  Returns  {1, createdAtMs}  created
           {2}               the tenant does not exist
           {3}               a key with this id exists already

  Atomicity: the key hash and its index entry are written together or not at all.
]]
local tenantKey = KEYS[1]
local apiKeyKey = KEYS[2]
local apiKeysKey = KEYS[3]

if redis.call('EXISTS', tenantKey) == 0 then
  return {2}
end
if redis.call('EXISTS', apiKeyKey) == 1 then
  return {3}
end
local now = redis.call('TIME')
local createdAtMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('HSET', apiKeyKey,
  'id', ARGV[1],
  'name', ARGV[2],
  'prefix', ARGV[3],
  'hash', ARGV[4],
  'scopes', ARGV[5],
  'createdAt', createdAtMs)
redis.call('ZADD', apiKeysKey, createdAtMs, ARGV[1])
return {1, createdAtMs}
