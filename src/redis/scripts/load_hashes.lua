--[[
  load_hashes: read many hashes in one command.

  Used by the per-request DataLoaders so that a batch of accounts or transfers costs one round
  trip. Every key must belong to one tenant (one hash tag), so the script touches one slot.

  KEYS[1..n]  hashes to read (any number)
  ARGV        none

  Returns an array with one entry per key, in KEYS order: the flat HGETALL reply
  {field, value, ...}, or an empty array when the hash does not exist.

  Atomicity: read-only; all hashes are read at one instant.
]]
local result = {}
for i = 1, #KEYS do
  result[i] = redis.call('HGETALL', KEYS[i])
end
return result
