--[[
  create_transfer: move an amount from one account to another of the same currency.

  KEYS[1]  fromAccount        hash of the account debited
  KEYS[2]  toAccount          hash of the account credited
  KEYS[3]  transfer           hash of the new transfer
  KEYS[4]  transfers          sorted set of all the tenant's transfer ids, scored by sequence
  KEYS[5]  fromTransfers      sorted set of the debited account's transfer ids, scored by sequence
  KEYS[6]  toTransfers        sorted set of the credited account's transfer ids, scored by sequence
  KEYS[7]  sequence           string counter of the tenant's creation order (INCR)

  ARGV[1]  transferId   new random id (lower-case letters and digits)
  ARGV[2]  fromId       id of the debited account (stored on the transfer)
  ARGV[3]  toId         id of the credited account (stored on the transfer)
  ARGV[4]  amount       integer minor units, decimal string, 1 .. 2^53-1 (checked by the caller)
  ARGV[5]  currency     three upper-case letters
  ARGV[6]  reference    free text, or "" with ARGV[7] = "0" for none
  ARGV[7]  hasReference "1" or "0"

  Returns  {1, createdAtMs, seq, fromBalance, toBalance}   applied; balances after the transfer
           {2}   the debited account does not exist
           {3}   the credited account does not exist
           {4}   currency differs between the transfer and either account
           {5}   insufficient funds: the debit would take a non-negative account below zero
           {6}   a balance would leave the range -(2^53-1) .. 2^53-1
           {7}   a transfer with this id exists already (a random-id collision)

  Atomicity: the checks, the debit, the credit, the transfer record and its three index entries
  happen all-or-nothing; concurrent transfers on the same accounts are serialized by Redis, so a
  balance check can never be raced. Balances are 64-bit integers changed with HINCRBY; the checks
  compare Lua doubles, which hold every integer up to 2^53 exactly.
]]
local fromKey = KEYS[1]
local toKey = KEYS[2]
local transferKey = KEYS[3]
local transfersKey = KEYS[4]
local fromTransfersKey = KEYS[5]
local toTransfersKey = KEYS[6]
local sequenceKey = KEYS[7]

local transferId = ARGV[1]
local fromId = ARGV[2]
local toId = ARGV[3]
local amountText = ARGV[4]
local currency = ARGV[5]
local reference = ARGV[6]
local hasReference = ARGV[7]

local MAX_BALANCE = 9007199254740991

local from = redis.call('HMGET', fromKey, 'currency', 'balance', 'allowNegativeBalance')
if not from[1] then
  return {2}
end
local to = redis.call('HMGET', toKey, 'currency', 'balance')
if not to[1] then
  return {3}
end
if from[1] ~= currency or to[1] ~= currency then
  return {4}
end
if redis.call('EXISTS', transferKey) == 1 then
  return {7}
end

local amount = tonumber(amountText)
local fromAfter = tonumber(from[2]) - amount
local toAfter = tonumber(to[2]) + amount
if fromAfter < 0 and from[3] ~= '1' then
  return {5}
end
if fromAfter < -MAX_BALANCE or toAfter > MAX_BALANCE then
  return {6}
end

local now = redis.call('TIME')
local createdAtMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local seq = redis.call('INCR', sequenceKey)

local fromBalance = redis.call('HINCRBY', fromKey, 'balance', '-' .. amountText)
local toBalance = redis.call('HINCRBY', toKey, 'balance', amountText)

redis.call('HSET', transferKey,
  'id', transferId,
  'from', fromId,
  'to', toId,
  'amount', amountText,
  'currency', currency,
  'createdAt', createdAtMs,
  'seq', seq)
if hasReference == '1' then
  redis.call('HSET', transferKey, 'reference', reference)
end
redis.call('ZADD', transfersKey, seq, transferId)
redis.call('ZADD', fromTransfersKey, seq, transferId)
redis.call('ZADD', toTransfersKey, seq, transferId)

return {1, createdAtMs, seq, tostring(fromBalance), tostring(toBalance)}
