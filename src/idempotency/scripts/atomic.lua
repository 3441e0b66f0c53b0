--[[
  idempotency/atomic: building blocks for a domain script on the ATOMIC path. The registry puts
  this file in front of every script that includes it, so one script looks the key up, refuses a
  mismatch, replays a completed outcome, or applies its write and records the outcome.

  Calling convention of an including script:
    KEYS[1]     idempotency record (hash; see "record contract"), in the same slot as the data
    ARGV[1]     idempotency key as the client sent it ("" when the request has none)
    ARGV[2]     fingerprint: hex SHA-256 of mutation + arguments ("" when there is no key)
    ARGV[3]     mutation field name
    ARGV[4]     retention in ms (IDEMPOTENCY_TTL_SECONDS * 1000)
    KEYS[2..], ARGV[5..]  the domain script's own

  Replies are envelopes: {IDEM_STATUS, <the domain script's reply...>} with IDEM_STATUS
    0 IDEM_NONE         executed, the request had no key
    1 IDEM_EXECUTED     executed now, outcome recorded
    2 IDEM_REPLAYED     not executed: the recorded reply of the first execution
    3 IDEM_MISMATCH     not executed: the key was used with another mutation or other arguments
    4 IDEM_IN_PROGRESS  not executed: the key is claimed on the leased path by other code

  Record contract (shared with the leased path's claim / complete / release):
    key, fingerprint, mutation      as above
    status                          IN_PROGRESS | COMPLETED
    createdAt, completedAt, expiresAt   ms since the epoch, Redis time
    outcome                         SUCCEEDED | FAILED
    errorCode                       public error code of a FAILED outcome
    resourceId                      id of what the mutation created, if anything
    replayCount                     how many requests got the recorded outcome instead of executing
    reply                           atomic path: cjson of the domain reply, returned on replay
    token, leaseUntil, result, errorMessage, errorExtensions   leased path only
  The record expires (PEXPIRE) at expiresAt; after that the key is new again.

  Atomicity: the look-up, the domain write and the record are one script, so concurrent
  duplicates are serialized by Redis and exactly one executes. Nothing is ever IN_PROGRESS.
]]
local IDEM_NONE = 0
local IDEM_EXECUTED = 1
local IDEM_REPLAYED = 2
local IDEM_MISMATCH = 3
local IDEM_IN_PROGRESS = 4

local idemRecordKey = KEYS[1]
local idemKey = ARGV[1]
local idemFingerprint = ARGV[2]
local idemMutation = ARGV[3]
local idemTtlMs = tonumber(ARGV[4])

-- Returns the reply to give instead of executing, or nil when the domain script should run.
local function idem_begin()
  if idemFingerprint == '' then
    return nil
  end
  local stored = redis.call('HMGET', idemRecordKey, 'fingerprint', 'status', 'reply')
  if not stored[1] then
    return nil
  end
  if stored[1] ~= idemFingerprint then
    return {IDEM_MISMATCH}
  end
  if stored[2] ~= 'COMPLETED' or not stored[3] then
    return {IDEM_IN_PROGRESS}
  end
  redis.call('HINCRBY', idemRecordKey, 'replayCount', 1)
  local reply = cjson.decode(stored[3])
  table.insert(reply, 1, IDEM_REPLAYED)
  return reply
end

-- Records the outcome of this execution (when there is a key) and wraps the domain reply.
-- outcome: 'SUCCEEDED' or 'FAILED'; errorCode and resourceId: '' when not applicable.
local function idem_finish(nowMs, reply, outcome, errorCode, resourceId)
  if idemFingerprint == '' then
    table.insert(reply, 1, IDEM_NONE)
    return reply
  end
  redis.call('HSET', idemRecordKey,
    'key', idemKey,
    'fingerprint', idemFingerprint,
    'mutation', idemMutation,
    'status', 'COMPLETED',
    'createdAt', nowMs,
    'completedAt', nowMs,
    'expiresAt', nowMs + idemTtlMs,
    'outcome', outcome,
    'errorCode', errorCode,
    'resourceId', resourceId,
    'replayCount', 0,
    'reply', cjson.encode(reply))
  redis.call('PEXPIRE', idemRecordKey, idemTtlMs)
  table.insert(reply, 1, IDEM_EXECUTED)
  return reply
end

-- Redis server time in ms: one clock for every API instance.
local function idem_now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
