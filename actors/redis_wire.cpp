#include <pulse/redis_wire.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <unordered_map>

namespace pulse::redis_wire {

using transport::redis_reply;

namespace {

script make(std::string text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha1(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", digest[i]);
    hex += pair;
  }
  return {std::move(text), std::move(hex)};
}

template<class Number>
bool parse_number(std::string_view text, Number& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size() && !text.empty();
}

/// The next space-separated field of `text`, removed from it.
std::string_view next_field(std::string_view& text) {
  auto space = text.find(' ');
  auto field = text.substr(0, space);
  text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
  return field;
}

/// A number in a reply: an integer, or digits (Lua's numbers come back as integers, stored
/// values as strings).
std::optional<std::uint64_t> number_in(const redis_reply& reply) {
  if (reply.type == redis_reply::kind::integer && reply.integer >= 0)
    return static_cast<std::uint64_t>(reply.integer);
  std::uint64_t value = 0;
  if (reply.type == redis_reply::kind::string && parse_number(reply.text, value))
    return value;
  return std::nullopt;
}

} // namespace

const script& publish() {
  static const script s = make(R"(
local applied = tonumber(redis.call('GET', KEYS[4]) or '0')
local offset = tonumber(redis.call('GET', KEYS[1]) or '0')
local count = tonumber(redis.call('GET', KEYS[2]) or '0')
local n = tonumber(ARGV[3]) - 1
local parts, numbers = {}, {}
for i = 7, #ARGV, 3 do
  n = n + 1
  if n > applied then
    count = count + 1
    local kept = 0
    if ARGV[i] == '1' then
      offset = offset + 1
      kept = offset
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], offset .. '-1', 'at', ARGV[4],
                 'c', count, 'from', ARGV[2] .. ' ' .. n, 'x', ARGV[i + 1], 'tail', ARGV[i + 2])
    end
    parts[#parts + 1] = count .. ' ' .. kept .. ' ' .. n .. ' ' .. ARGV[i + 1] .. ' '
                        .. #ARGV[i + 2] .. '\n' .. ARGV[i + 2]
    numbers[#numbers + 1] = {count, kept}
  else
    numbers[#numbers + 1] = {0, 0}
  end
end
if #parts > 0 then
  redis.call('SET', KEYS[1], offset)
  redis.call('SET', KEYS[2], count)
  redis.call('SET', KEYS[4], n, 'PX', 600000)
  local message = ARGV[2] .. ' ' .. #parts .. '\n' .. table.concat(parts)
  if ARGV[5] == '1' then
    redis.call('SPUBLISH', ARGV[1], message)
  else
    redis.call('PUBLISH', ARGV[1], message)
  end
end
return numbers
)");
  return s;
}

const script& load() {
  static const script s = make(R"(
redis.call('SET', KEYS[4], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[4])
local offset = tonumber(redis.call('GET', KEYS[1]) or '0')
local count = tonumber(redis.call('GET', KEYS[2]) or '0')
local keep = tonumber(ARGV[2])
local since = -1
if ARGV[3] == epoch then
  local last_count, last_offset = tonumber(ARGV[4]), tonumber(ARGV[5])
  local conflict = count < last_count or offset < last_offset
  if not conflict and last_offset > 0 and ARGV[6] ~= '' then
    local found = redis.call('XRANGE', KEYS[3], last_offset .. '-1', last_offset .. '-1')
    if #found == 1 then
      local fields = found[1][2]
      for i = 1, #fields, 2 do
        if fields[i] == 'from' and fields[i + 1] ~= ARGV[6] then conflict = true end
      end
    end
  end
  if conflict then
    epoch = ARGV[1]
    redis.call('SET', KEYS[4], epoch)
  else
    since = last_offset
  end
end
local entries = {}
if keep > 0 then
  if since >= 0 then
    entries = redis.call('XRANGE', KEYS[3], '(' .. since .. '-1', '+')
  else
    entries = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', keep)
  end
end
return {epoch, offset, count, entries, since >= 0 and 1 or 0,
        redis.call('HGETALL', KEYS[5]), redis.call('ZRANGE', KEYS[6], 0, -1, 'WITHSCORES')}
)");
  return s;
}

const script& presence_tick() {
  static const script s = make(R"(
if ARGV[4] == '1' then redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
)");
  return s;
}

const script& presence_store() {
  static const script s = make(R"(
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
)");
  return s;
}

std::string channel_of(std::string_view topic) {
  std::string channel = "pulse:{";
  channel += topic;
  channel += '}';
  return channel;
}

std::string key_of(std::string_view topic, std::string_view what) {
  auto key = channel_of(topic);
  key += ':';
  key += what;
  return key;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::optional<std::vector<topic_sync::entry>> read_message(std::string_view data) {
  auto newline = data.find('\n');
  if (newline == std::string_view::npos)
    return std::nullopt;
  auto head = data.substr(0, newline);
  data.remove_prefix(newline + 1);
  auto origin = next_field(head);
  std::size_t count = 0;
  if (origin.empty() || !parse_number(head, count))
    return std::nullopt;
  std::vector<topic_sync::entry> entries;
  entries.reserve(std::min<std::size_t>(count, 4096));
  // Bounded by `count` and by the data: each round consumes one record or fails.
  for (std::size_t i = 0; i < count; ++i) {
    newline = data.find('\n');
    if (newline == std::string_view::npos)
      return std::nullopt;
    auto fields = data.substr(0, newline);
    data.remove_prefix(newline + 1);
    topic_sync::entry e;
    std::size_t length = 0;
    if (!parse_number(next_field(fields), e.count) || !parse_number(next_field(fields), e.offset)
        || !parse_number(next_field(fields), e.n) || !parse_number(next_field(fields), e.except)
        || !parse_number(fields, length) || length > data.size())
      return std::nullopt;
    e.origin = origin;
    e.tail = data.substr(0, length);
    data.remove_prefix(length);
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string write_message(std::string_view node, const std::vector<topic_sync::entry>& entries) {
  std::string out{node};
  out += ' ' + std::to_string(entries.size()) + '\n';
  for (auto& e : entries) {
    out += std::to_string(e.count) + ' ' + std::to_string(e.offset) + ' ' + std::to_string(e.n)
           + ' ' + std::to_string(e.except) + ' ' + std::to_string(e.tail.size()) + '\n';
    out += e.tail;
  }
  return out;
}

std::vector<topic_sync::entry> read_stream(const redis_reply& reply) {
  std::vector<topic_sync::entry> entries;
  auto now = now_ms();
  for (auto& item : reply.elements) {
    if (item.elements.size() != 2)
      continue;
    topic_sync::entry e;
    auto id = std::string_view{item.elements[0].text};
    if (!parse_number(id.substr(0, id.find('-')), e.offset))
      continue;
    auto& fields = item.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      auto& name = fields[i].text;
      std::string_view value = fields[i + 1].text;
      if (name == "tail") {
        e.tail = value;
      } else if (name == "c") {
        parse_number(value, e.count);
      } else if (name == "x") {
        parse_number(value, e.except);
      } else if (name == "from") {
        e.origin = next_field(value);
        parse_number(value, e.n);
      } else if (name == "at") {
        std::int64_t at = 0;
        if (parse_number(value, at))
          e.age = std::chrono::milliseconds{std::max<std::int64_t>(now - at, 0)};
      }
    }
    if (e.count > 0)
      entries.push_back(std::move(e));
  }
  return entries;
}

std::optional<topic_sync::loaded> read_loaded(const redis_reply& reply) {
  auto& parts = reply.elements;
  if (reply.type != redis_reply::kind::array || parts.size() != 7
      || parts[0].type != redis_reply::kind::string)
    return std::nullopt;
  auto offset = number_in(parts[1]);
  auto count = number_in(parts[2]);
  auto since = number_in(parts[4]);
  if (!offset || !count || !since)
    return std::nullopt;
  topic_sync::loaded result;
  result.epoch = parts[0].text;
  result.offset = *offset;
  result.count = *count;
  result.since = *since == 1;
  result.entries = read_stream(parts[3]);
  if (!result.since) // XREVRANGE: newest first
    std::reverse(result.entries.begin(), result.entries.end());
  result.presences = read_presence(&parts[5], parts[6]);
  return result;
}

std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>>
read_numbers(const redis_reply& reply) {
  if (reply.type != redis_reply::kind::array)
    return std::nullopt;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> numbers;
  for (auto& pair : reply.elements) {
    auto count = pair.elements.size() == 2 ? number_in(pair.elements[0]) : std::nullopt;
    auto offset = pair.elements.size() == 2 ? number_in(pair.elements[1]) : std::nullopt;
    if (!count || !offset)
      return std::nullopt;
    numbers.emplace_back(*count, *offset);
  }
  return numbers;
}

std::vector<messages::presence_record> read_presence(const redis_reply* lists,
                                                     const redis_reply& alive) {
  std::vector<messages::presence_record> records;
  auto now = now_ms();
  std::unordered_map<std::string_view, std::string_view> by_incarnation;
  if (lists)
    for (std::size_t i = 0; i + 1 < lists->elements.size(); i += 2)
      by_incarnation[lists->elements[i].text] = lists->elements[i + 1].text;
  for (std::size_t i = 0; i + 1 < alive.elements.size(); i += 2) {
    std::int64_t at = 0;
    // Scores come back as text; a whole number of milliseconds here.
    auto& score = alive.elements[i + 1].text;
    if (!parse_number(std::string_view{score}.substr(0, score.find('.')), at))
      continue;
    auto& incarnation = alive.elements[i].text;
    std::string list;
    if (lists) {
      auto found = by_incarnation.find(incarnation);
      if (found == by_incarnation.end())
        continue; // alive, but nothing stored: nothing to show
      list = found->second;
    }
    records.push_back({incarnation, std::chrono::milliseconds{std::max<std::int64_t>(now - at, 0)},
                       std::move(list)});
  }
  return records;
}

} // namespace pulse::redis_wire
