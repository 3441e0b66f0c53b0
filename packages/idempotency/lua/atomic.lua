--[[
  @onceql/idempotency atomic: building blocks for a domain script on the ATOMIC path.
  defineAtomicScript() puts this file (after @onceql/redis-script's now_ms()) in front of every
  atomic script, so one script looks the key up, refuses a mismatch, replays a completed
  outcome, or applies its write and records the outcome.

  Calling convention (defineAtomicScript writes it; no call site does):
    KEYS[1]     idempotency record (see "record formats"), in the same slot as the data
    KEYS[#KEYS] the same record under its name before v2 (<namespace>:idem:<hex>), last: a v1
                record there, written by an earlier version, still replays
    ARGV[1]     idempotency key as the client sent it ("" when the request has none)
    ARGV[2]     fingerprint: hex SHA-256 of mutation + arguments ("" when there is no key),
                at most IDEM_MAX_FINGERPRINT_BYTES
    ARGV[3]     mutation field name, without a newline
    ARGV[4]     retention in ms (ttlSeconds * 1000), 1..IDEM_MAX_TTL_MS
    KEYS[2..#KEYS-1], ARGV[5..]  the domain script's own

  A domain script starts with `local replay = idem_begin()` (answer `{replay, live...}` when it
  is not nil) and ends with `{idem_finish(nowMs, domainReply, errorCode, resourceId), live...}`;
  `live` values (rows read at the end of the script) are never recorded.

  idem_finish runs after the domain's write, and a script error there would keep the write and
  record nothing (every retry would execute again), so it raises on nothing: idem_begin refuses
  bad ARGV[2..4] before any write (an error reply; src/atomic.ts refuses them before sending);
  errorCode and resourceId may be any value (nil or false: ''; a number: its digits); a newline
  in them is a space in the header (the domain reply keeps the value as it is); cjson.null in the
  domain reply becomes false (answered as nil too) before it is answered and recorded, as cmsgpack
  would turn it into a hole that cuts or shifts the reply on replay.

  The envelope is {IDEM_STATUS, <the domain reply...>}; IDEM_NONE, IDEM_EXECUTED, IDEM_REPLAYED,
  IDEM_MISMATCH and IDEM_IN_PROGRESS are constants defined in front of this file, from
  AtomicStatus in src/atomic.ts.

  Record formats (a record's format is told by its Redis type and first byte; RECORD_V2 and
  RECORD_V3 are the bytes "2" and "3", constants from RecordFormat in src/atomic.ts):
    v3, written here: a string, one packed value, expiring at expiresAt (PEXPIRETIME gives it):
        "3" .. header (as v2) .. one byte: where the resource id was in the domain reply (0: not
            in it, or the header holds it with a newline made a space) .. one byte: where
            createdAtMs was (0: not in it) .. cmsgpack(the domain reply without those two values)
      A success reply carries the id and time the header already holds (a transfer's id and
      createdAt): v3 keeps them once and puts them back on replay (issue 11: 142 -> 116 bytes
      for a transfer's value, one jemalloc size class down).
    v2 (written before v3; still replayed, and kept v2): a string,
        "2" .. one byte: the fingerprint's length .. fingerprint (the SHA-256's first 16 bytes,
            raw; other fingerprints as sent, up to 255 bytes) .. mutation "\n" createdAtMs "\n" errorCode "\n" resourceId "\n" replayCount "\n"
            .. cmsgpack(domain reply)
      errorCode "" is a SUCCEEDED outcome; status is always COMPLETED (nothing is IN_PROGRESS here).
      No copy of the client's key: the key name holds its SHA-256, which is what a look-up checks.
    v1 (records written before v2, and the leased path's records): a hash with
      key, fingerprint (hex), mutation, status (IN_PROGRESS | COMPLETED), createdAt, completedAt,
      expiresAt (ms), outcome (SUCCEEDED | FAILED), errorCode, resourceId, replayCount,
      reply (atomic path: cjson of the domain reply), token, leaseUntil, result, errorMessage,
      errorExtensions (leased path only)
    Both replay here: a v1 record written by an earlier version answers its retries as it did.
    A leased-path record is IDEM_IN_PROGRESS while claimed and IDEM_MISMATCH once completed (its
    result is not a domain reply to replay): a field must not change path within ttlSeconds.
  The record expires at expiresAt; after that the key is new again.

  Atomicity: the look-up, the domain write and the record are one script, so concurrent
  duplicates are serialized by Redis and exactly one executes. Nothing is ever IN_PROGRESS.
]]
local idemRecordKey = KEYS[1]
local idemLegacyRecordKey = KEYS[#KEYS]
local idemKey = ARGV[1]
local idemFingerprint = ARGV[2]
local idemMutation = ARGV[3]
local idemTtlMs = tonumber(ARGV[4])

-- The fingerprint as stored in a v2 record: for a hex SHA-256, its first 16 bytes raw (128 bits
-- tell one key's requests apart; only the key's own tenant could even try to make two collide,
-- and would only get its own outcome back). Other fingerprints as sent.
local function idem_packed_fingerprint(fingerprint)
  if #fingerprint == 64 and not fingerprint:find('[^0-9a-f]') then
    return (fingerprint:sub(1, 32):gsub('..', function(pair) return string.char(tonumber(pair, 16)) end))
  end
  return fingerprint
end

-- The whole digest raw, as the first v2 records held it (the same format, a longer fingerprint).
local function idem_raw(fingerprint)
  return (fingerprint:gsub('..', function(pair) return string.char(tonumber(pair, 16) or 0) end))
end

-- A v2 or v3 record's parts: its fingerprint, the five header fields, and where the header ends.
local function idem_unpack(packed)
  local fingerprintLength = packed:byte(2)
  local fields = {}
  local at = 3 + fingerprintLength
  for i = 1, 5 do
    local newline = packed:find('\n', at, true)
    fields[i] = packed:sub(at, newline - 1)
    at = newline + 1
  end
  return packed:sub(3, 2 + fingerprintLength), fields, at
end

-- A v2 or v3 record's header (format: RECORD_V2 or RECORD_V3).
local function idem_header(format, fingerprint, mutation, createdAtMs, errorCode, resourceId, replayCount)
  return string.char(format) .. string.char(#fingerprint) .. fingerprint .. table.concat({mutation, createdAtMs, errorCode, resourceId, replayCount}, '\n') .. '\n'
end

-- Refuses, before the domain script writes anything, what idem_finish could not record: a script
-- error after the write would keep the write (Redis does not roll a script back) and record
-- nothing, so every retry would execute again. src/atomic.ts refuses the same before sending.
local function idem_check_arguments()
  if #idemFingerprint > IDEM_MAX_FINGERPRINT_BYTES then
    error({err = 'ERR idempotency: the fingerprint is ' .. #idemFingerprint .. ' bytes, at most ' .. IDEM_MAX_FINGERPRINT_BYTES})
  end
  if idemMutation:find('\n', 1, true) then
    error({err = 'ERR idempotency: the mutation name contains a newline'})
  end
  if not idemTtlMs or not (idemTtlMs >= 1 and idemTtlMs <= IDEM_MAX_TTL_MS) then
    error({err = 'ERR idempotency: the retention must be 1..' .. string.format('%d', IDEM_MAX_TTL_MS) .. ' ms, got ' .. tostring(ARGV[4])})
  end
end

-- Returns the reply to give instead of executing, or nil when the domain script should run.
local function idem_begin()
  if idemFingerprint == '' then
    return nil
  end
  idem_check_arguments()
  local recordKey = idemRecordKey
  local kind = redis.call('TYPE', recordKey)['ok']
  if kind == 'none' then
    recordKey = idemLegacyRecordKey
    kind = redis.call('TYPE', recordKey)['ok']
    if kind ~= 'hash' then
      return nil
    end
  end
  if kind == 'string' then
    local packed = redis.call('GET', recordKey)
    local format = packed:byte(1)
    if format ~= RECORD_V2 and format ~= RECORD_V3 then
      return {IDEM_MISMATCH}
    end
    local fingerprint, fields, headerEnd = idem_unpack(packed)
    if fingerprint ~= idem_packed_fingerprint(idemFingerprint) and not (#fingerprint == 32 and fingerprint == idem_raw(idemFingerprint)) then
      return {IDEM_MISMATCH}
    end
    local mutation, createdAtMs, errorCode, resourceId, replayCount = unpack(fields)
    local header = idem_header(format, fingerprint, mutation, createdAtMs, errorCode, resourceId, (tonumber(replayCount) or 0) + 1)
    redis.call('SET', recordKey, header .. packed:sub(headerEnd), 'KEEPTTL')
    local reply
    if format == RECORD_V3 then
      reply = cmsgpack.unpack(packed:sub(headerEnd + 2))
      -- Put the values the header holds back where they were, the lower position first.
      local refs = {{packed:byte(headerEnd), resourceId}, {packed:byte(headerEnd + 1), tonumber(createdAtMs)}}
      table.sort(refs, function(a, b) return a[1] < b[1] end)
      for _, ref in ipairs(refs) do
        if ref[1] > 0 then
          table.insert(reply, ref[1], ref[2])
        end
      end
    else
      reply = cmsgpack.unpack(packed:sub(headerEnd))
    end
    table.insert(reply, 1, IDEM_REPLAYED)
    return reply
  end
  -- v1: a hash written before v2, or a leased-path record.
  local stored = redis.call('HMGET', recordKey, 'fingerprint', 'status', 'reply')
  if not stored[1] then
    return nil
  end
  if stored[1] ~= idemFingerprint then
    return {IDEM_MISMATCH}
  end
  if stored[2] ~= 'COMPLETED' then
    return {IDEM_IN_PROGRESS}
  end
  if not stored[3] then
    -- Completed on the leased path (its outcome is a result, not a domain reply): this path cannot
    -- replay it, and it will never stop being completed, so not "in progress" (409, retry) but
    -- a refusal (422). A field must not change path within ttlSeconds (README).
    return {IDEM_MISMATCH}
  end
  redis.call('HINCRBY', recordKey, 'replayCount', 1)
  local reply = cjson.decode(stored[3])
  table.insert(reply, 1, IDEM_REPLAYED)
  return reply
end

-- A header field as text, whatever the domain script passed (nil or false: ''; a number: its
-- digits), so that idem_finish cannot fail after the domain's write.
local function idem_text(value)
  if type(value) == 'string' then
    return value
  elseif type(value) == 'number' then
    if value == math.floor(value) and math.abs(value) < 2^53 then
      return string.format('%d', value)
    end
    return tostring(value)
  end
  return ''
end

-- cjson.null (a value Redis answers as nil) becomes false, which Redis answers as nil too: cmsgpack
-- would pack cjson.null as nil, leaving a hole that cuts or shifts the reply on replay, and keeps
-- false. Nested tables too, as deep as cmsgpack packs them.
local function idem_nulls_to_false(value, depth)
  for k, v in pairs(value) do
    if v == cjson.null then
      value[k] = false
    elseif type(v) == 'table' and depth < IDEM_MAX_NESTING then
      idem_nulls_to_false(v, depth + 1)
    end
  end
end

-- Records the outcome of this execution (when there is a key) and wraps the domain reply.
-- errorCode: the public code of a recorded refusal, '' for a success; resourceId: the id of what
-- the mutation created, or ''. Both are header fields: any other value is made text (idem_text),
-- and a newline in one, which would end the field, is a space in the header (the domain reply
-- keeps the value as it is).
local function idem_finish(nowMs, reply, errorCode, resourceId)
  if type(reply) ~= 'table' then
    reply = {reply}
  end
  if idemFingerprint == '' then
    table.insert(reply, 1, IDEM_NONE)
    return reply
  end
  idem_nulls_to_false(reply, 1)
  nowMs = tonumber(nowMs) or now_ms()
  errorCode = idem_text(errorCode)
  resourceId = idem_text(resourceId)
  local createdAtMs = string.format('%d', nowMs)
  local headerResourceId = (resourceId:gsub('\n', ' '))
  local header = idem_header(RECORD_V3, idem_packed_fingerprint(idemFingerprint), idemMutation, createdAtMs, (errorCode:gsub('\n', ' ')), headerResourceId, 0)
  -- The first top-level values equal to the resource id (a string, as the header holds it) and to
  -- the time (a number) are kept by the header only; two bytes say where they go back.
  local stored = {}
  local resourceIdAt, createdAtAt = 0, 0
  for i, value in ipairs(reply) do
    if resourceIdAt == 0 and resourceId ~= '' and headerResourceId == resourceId and i < 256 and type(value) == 'string' and value == resourceId then
      resourceIdAt = i
    elseif createdAtAt == 0 and i < 256 and type(value) == 'number' and value == tonumber(createdAtMs) then
      createdAtAt = i
    else
      stored[#stored + 1] = value
    end
  end
  -- PXAT on the script's clock: PEXPIRETIME then gives the record's expiresAt exactly.
  redis.call('SET', idemRecordKey, header .. string.char(resourceIdAt, createdAtAt) .. cmsgpack.pack(stored), 'PXAT', string.format('%d', nowMs + idemTtlMs))
  table.insert(reply, 1, IDEM_EXECUTED)
  return reply
end
