--[[
  @onceql/idempotency release: the LEASED path's way out after an infrastructure failure or an
  unexpected exception: deletes the claim, so that a retry executes afresh, but only while the
  record still holds the caller's fencing token (a stale executor releases nothing).

  KEYS[1]  record   hash (record contract in atomic.lua)

  ARGV[1]  token    the fencing token the caller's claim returned
  ARGV[2]  channel  pub/sub channel on which waiting duplicates listen (not a key)

  Returns (constants from ReleaseStatus in src/leased.ts, defined in front of this file)
           RELEASED
           NOT_OURS  not ours any more (taken over, completed or expired): nothing changed

  Atomicity: token check and delete are one script.
]]
local recordKey = KEYS[1]
local stored = redis.call('HMGET', recordKey, 'token', 'status')
if stored[1] ~= ARGV[1] or stored[2] ~= 'IN_PROGRESS' then
  return NOT_OURS
end
redis.call('DEL', recordKey)
redis.call('PUBLISH', ARGV[2], 'released')
return RELEASED
