--[[
  create_tenant: register a tenant.

  KEYS[1]  tenant  hash of the tenant

  ARGV[1]  tenantId  new random id (lower-case letters and digits)
  ARGV[2]  name      display name

  Returns  {1, createdAtMs}  created
           {2}               a tenant with this id exists already

  Atomicity: one HSET guarded by EXISTS; createdAtMs is Redis server time.
]]
local tenantKey = KEYS[1]

if redis.call('EXISTS', tenantKey) == 1 then
  return {2}
end
local now = redis.call('TIME')
local createdAtMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('HSET', tenantKey, 'id', ARGV[1], 'name', ARGV[2], 'createdAt', createdAtMs)
return {1, createdAtMs}
