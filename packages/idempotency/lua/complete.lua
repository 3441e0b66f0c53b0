--[[
  @onceql/idempotency complete: the LEASED path's last step. Stores the outcome only if the record still
  holds the caller's fencing token, so a stale executor (paused past its lease and overtaken)
  cannot overwrite anything.

  KEYS[1]  record  hash (record contract in atomic.lua)

  ARGV[1]  token            the fencing token the caller's claim returned
  ARGV[2]  outcome          SUCCEEDED | FAILED
  ARGV[3]  result           the encoded return value ("" for FAILED)
  ARGV[4]  errorCode        public error code ("" for SUCCEEDED)
  ARGV[5]  errorMessage     ("" for SUCCEEDED)
  ARGV[6]  errorExtensions  JSON object of the error's other extensions ("" for SUCCEEDED)
  ARGV[7]  resourceId       id of what the mutation created, or ""
  ARGV[8]  ttlMs            retention from now
  ARGV[9]  channel          pub/sub channel on which waiting duplicates listen (not a key)

  Returns (status constants from CompleteStatus in src/leased.ts, defined in front of this file)
           {STORED}
           {FENCED_COMPLETED, outcome, result, errorCode, errorMessage, errorExtensions}
                 another executor completed the key: the caller answers with this
           {FENCED_OPEN}  the key is not completed (a newer claim is running, or the record is gone)

  Atomicity: token check and write are one script. Waiters are told on the channel.
]]
local recordKey = KEYS[1]
local token = ARGV[1]

local stored = redis.call('HMGET', recordKey, 'token', 'status', 'outcome', 'result', 'errorCode', 'errorMessage', 'errorExtensions')
if stored[2] == 'COMPLETED' then
  return {FENCED_COMPLETED, stored[3] or '', stored[4] or '', stored[5] or '', stored[6] or '', stored[7] or ''}
end
if stored[1] ~= token or stored[2] ~= 'IN_PROGRESS' then
  return {FENCED_OPEN}
end

local nowMs = now_ms()
local ttlMs = tonumber(ARGV[8])
redis.call('HSET', recordKey,
  'status', 'COMPLETED',
  'completedAt', nowMs,
  'expiresAt', nowMs + ttlMs,
  'outcome', ARGV[2],
  'result', ARGV[3],
  'errorCode', ARGV[4],
  'errorMessage', ARGV[5],
  'errorExtensions', ARGV[6],
  'resourceId', ARGV[7])
redis.call('HDEL', recordKey, 'leaseUntil')
redis.call('PEXPIRE', recordKey, ttlMs)
redis.call('PUBLISH', ARGV[9], 'completed')
return {STORED}
