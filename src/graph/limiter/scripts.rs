//! The Redis scripts behind the fleet-wide quota: the sliding-window admission, and setting
//! and reading a tenant's pause. Each reads Redis' own clock (`TIME`), the only clock.

/// Sliding-window admission of `n` requests against the reads log and, for writes, the
/// writes log too (atomically: both or neither). Returns 0 when admitted, else the
/// milliseconds until it could be.
pub(super) const ACQUIRE_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
if blocked > now then return blocked - now end
local window = tonumber(ARGV[1])
local n = tonumber(ARGV[4])
local is_write = ARGV[5] == '1'
local function wait_for(key, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local count = redis.call('ZCARD', key)
  if count + n <= limit then return 0 end
  local idx = count + n - limit - 1
  local e = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
  local w = tonumber(e[2]) + window - now + 1
  if w < 1 then w = 1 end
  return w
end
local w = wait_for(KEYS[1], tonumber(ARGV[2]))
if is_write then
  local w2 = wait_for(KEYS[2], tonumber(ARGV[3]))
  if w2 > w then w = w2 end
end
if w > 0 then return w end
for i = 1, n do
  redis.call('ZADD', KEYS[1], now, ARGV[6] .. ':' .. i)
  if is_write then redis.call('ZADD', KEYS[2], now, ARGV[6] .. ':' .. i) end
end
redis.call('PEXPIRE', KEYS[1], window + 1000)
if is_write then redis.call('PEXPIRE', KEYS[2], window + 1000) end
return 0
"#;

/// Extends the tenant's block to now + ARGV[1] ms (never shortens it).
pub(super) const BLOCK_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if now + ms > cur then
  redis.call('SET', KEYS[1], now + ms, 'PX', ms)
end
return 0
"#;

/// Milliseconds the tenant stays blocked (0 = not blocked).
pub(super) const BLOCKED_LUA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur > now then return cur - now end
return 0
"#;
