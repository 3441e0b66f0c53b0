--[[
  admit: everything a request needs before execution, in one round trip: authenticate the api key,
  check the caller's address against the key's allowlist, then take one request from the rate
  limit and the query's cost from the tenant's budget. Composed at load time (src/auth/scripts.ts)
  from now_ms() (@onceql/redis-script CLOCK_LUA), rl_gcra and rl_budget (@onceql/ratelimit's
  GCRA_LUA and BUDGET_LUA, the package's composition point) and this file; status codes are
  constants defined in TypeScript (ADMIT_STATUS) in front of it. Refused requests charge nothing
  they were refused for; a request with a bad key charges no tenant at all. A query refused for
  its shape before this script still comes here with charge "1" and cost 0: a refusal of a valid
  key takes a request from its rate.

  KEYS[1]  apiKey        hash of the presented key's record
  KEYS[2]  tenantRate    string: the tenant's request-rate GCRA state
  KEYS[3]  keyRate       string: the key's own request-rate state (when the key has a rate, charged
                         besides the tenant's: both must admit the request)
  KEYS[4]  tenantCost    hash: the tenant's query-cost budget

  ARGV[1]  keyHash            hex SHA-256 of the presented key
  ARGV[2]  clientIp           32 hex digits: the client address as IPv6 (IPv4 mapped to ::ffff:0:0/96)
  ARGV[3]  charge             "1" to charge rate and cost, "0" to only authenticate and report
  ARGV[4]  ratePerSecond      the tenant's request rate
  ARGV[5]  burst              requests allowed on top of the rate
  ARGV[6]  cost               the query's estimated cost (points)
  ARGV[7]  costBudget         maximum points of the tenant's budget
  ARGV[8]  costRestore        points restored per second

  Returns  {status, keyRecord, rate, remaining, resetMs, costAvailable, retryAfterMs}
    status  UNAUTHENTICATED  unknown or revoked key, or a hash that does not match (keyRecord {})
            ADMITTED         charged (or, with charge "0", only looked at)
            RATE_LIMITED     nothing charged
            COST_THROTTLED   the request was charged to the rate limit, not to the budget
            FORBIDDEN_IP     the address is outside the key's allowlist; nothing charged
    keyRecord  the key's HGETALL, for the caller to build the principal (and re-check the hash in
               constant time)
    rate       the request rate that applied (the key's own, else the tenant's; the tenant's when
               the tenant's bucket refused)

  Atomicity: one script; concurrent requests of all instances are serialized, so neither limit can
  be overshot. lastUsedAt is refreshed here, at most once a minute.
]]
local apiKeyKey = KEYS[1]
local tenantRateKey = KEYS[2]
local keyRateKey = KEYS[3]
local tenantCostKey = KEYS[4]

local keyHash = ARGV[1]
local clientIp = ARGV[2]
local charge = ARGV[3] == '1'
local ratePerSecond = tonumber(ARGV[4])
local burst = tonumber(ARGV[5])
local cost = tonumber(ARGV[6])
local costBudget = tonumber(ARGV[7])
local costRestore = tonumber(ARGV[8])

local record = redis.call('HGETALL', apiKeyKey)
local fields = {}
for i = 1, #record, 2 do
  fields[record[i]] = record[i + 1]
end
if fields.hash == nil or fields.hash ~= keyHash or fields.revokedAt ~= nil then
  return {UNAUTHENTICATED, {}, 0, 0, 0, 0, 0}
end

local nowMs = now_ms()

if fields.ipRanges ~= nil and fields.ipRanges ~= '' then
  local inside = false
  for range in string.gmatch(fields.ipRanges, '[^,]+') do
    local first, last = string.match(range, '^(%x+)-(%x+)$')
    if first and clientIp >= first and clientIp <= last then
      inside = true
      break
    end
  end
  if not inside then
    return {FORBIDDEN_IP, record, 0, 0, 0, 0, 0}
  end
end

-- A key with its own rate has its own bucket and still draws from the tenant's, so that minting
-- keys cannot multiply the tenant's rate. Both are looked at before either is charged: a refusal
-- charges neither.
local ownRate = tonumber(fields.rateLimitPerSecond or '')
local rate = ownRate or ratePerSecond
local rateAllowed, remaining, resetMs, rateRetryMs = rl_gcra(tenantRateKey, ratePerSecond, burst, 1, nowMs, false)
if not rateAllowed then
  rate = ratePerSecond
elseif ownRate then
  rateAllowed, remaining, resetMs, rateRetryMs = rl_gcra(keyRateKey, ownRate, burst, 1, nowMs, false)
end
if rateAllowed and charge then
  local _, tenantRemaining, tenantResetMs = rl_gcra(tenantRateKey, ratePerSecond, burst, 1, nowMs, true)
  remaining, resetMs = tenantRemaining, tenantResetMs
  if ownRate then
    local _, keyRemaining, keyResetMs = rl_gcra(keyRateKey, ownRate, burst, 1, nowMs, true)
    remaining, resetMs = math.min(remaining, keyRemaining), math.max(resetMs, keyResetMs)
  end
end
if not rateAllowed then
  local _, available = rl_budget(tenantCostKey, costBudget, costRestore, 0, nowMs, false)
  return {RATE_LIMITED, record, rate, 0, resetMs, math.floor(available), rateRetryMs}
end
local costAllowed, available, costRetryMs = rl_budget(tenantCostKey, costBudget, costRestore, cost, nowMs, charge)
if charge and (tonumber(fields.lastUsedAt) or 0) < nowMs - 60000 then
  redis.call('HSET', apiKeyKey, 'lastUsedAt', nowMs)
end
if not costAllowed then
  return {COST_THROTTLED, record, rate, remaining, resetMs, math.floor(available), costRetryMs}
end
return {ADMITTED, record, rate, remaining, resetMs, math.floor(available), 0}
