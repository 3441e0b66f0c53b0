--[[
  @onceql/idempotency claim: the LEASED path's first step. Creates the record IN_PROGRESS with a fencing
  token and a lease, or tells the caller what became of the key.

  KEYS[1]  record          hash (v1 record format in atomic.lua)
  KEYS[2]  fencingCounter  string counter of the namespace; INCR gives every claim and take-over a
                           token larger than any before it, also across a release and re-claim
  KEYS[3]  legacyRecord    the record's name before the compact one (see atomic.lua): a record
                           found only there is moved to KEYS[1] first (same slot), so a key
                           recorded by an earlier version is replayed, not run again

  ARGV[1]  key          idempotency key as the client sent it
  ARGV[2]  fingerprint  hex SHA-256 of mutation + arguments
  ARGV[3]  mutation     mutation field name
  ARGV[4]  leaseMs      how long the claim is exclusive
  ARGV[5]  ttlMs        retention once completed

  Returns (status constants from ClaimStatus in src/leased.ts, defined in front of this file)
           {CLAIMED, token}           the caller executes
           {RECOVERED, token}         an expired lease was taken over; the caller executes
           {COMPLETED, outcome, result, errorCode, errorMessage, errorExtensions}
                                      replay this outcome (replayCount is incremented)
           {IN_PROGRESS, remainingLeaseMs}  another executor holds a live lease
           {MISMATCH}                 the key was used with another mutation or arguments

  Atomicity: check-and-claim is one script; two claims can never both get a live lease.
]]
local recordKey = KEYS[1]
local fencingCounterKey = KEYS[2]
local legacyRecordKey = KEYS[3]

local key = ARGV[1]
local fingerprint = ARGV[2]
local mutation = ARGV[3]
local leaseMs = tonumber(ARGV[4])
local ttlMs = tonumber(ARGV[5])

local nowMs = now_ms()

if redis.call('EXISTS', recordKey) == 0 and redis.call('EXISTS', legacyRecordKey) == 1 then
  redis.call('RENAME', legacyRecordKey, recordKey)
end

-- A string is an atomic-path record (v2, see atomic.lua): that key belongs to another mutation.
if redis.call('TYPE', recordKey)['ok'] == 'string' then
  return {MISMATCH}
end

local stored = redis.call('HMGET', recordKey, 'fingerprint', 'status', 'leaseUntil', 'outcome', 'result', 'errorCode', 'errorMessage', 'errorExtensions')
if stored[1] then
  if stored[1] ~= fingerprint then
    return {MISMATCH}
  end
  if stored[2] == 'COMPLETED' then
    redis.call('HINCRBY', recordKey, 'replayCount', 1)
    return {COMPLETED, stored[4] or '', stored[5] or '', stored[6] or '', stored[7] or '', stored[8] or ''}
  end
  local leaseUntil = tonumber(stored[3]) or 0
  if leaseUntil > nowMs then
    return {IN_PROGRESS, leaseUntil - nowMs}
  end
  local token = redis.call('INCR', fencingCounterKey)
  redis.call('HSET', recordKey, 'token', token, 'leaseUntil', nowMs + leaseMs)
  redis.call('PEXPIRE', recordKey, leaseMs + ttlMs)
  return {RECOVERED, token}
end

local token = redis.call('INCR', fencingCounterKey)
redis.call('HSET', recordKey,
  'key', key,
  'fingerprint', fingerprint,
  'mutation', mutation,
  'status', 'IN_PROGRESS',
  'createdAt', nowMs,
  'expiresAt', nowMs + leaseMs + ttlMs,
  'replayCount', 0,
  'token', token,
  'leaseUntil', nowMs + leaseMs)
redis.call('PEXPIRE', recordKey, leaseMs + ttlMs)
return {CLAIMED, token}
