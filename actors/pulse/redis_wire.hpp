// What Pulse keeps in Redis and says through it: the Lua scripts the broker runs (each one step
// for every node: numbering, keeping and publishing a batch; loading a topic; presence) and the
// readers of their answers and of what the pub/sub carries.
//
// Keys, per topic T (all in T's cluster slot: "{T}" is their hash tag): "pulse:{T}" (the pub/sub
// channel, sharded in a cluster), ":seq" (the last offset kept), ":count" (the last broadcast),
// ":log" (the stream of kept broadcasts, bounded with MAXLEN ~), ":epoch", ":from:<node>" (the
// last of that node's numbers applied, for ten minutes), ":presence" (a hash: incarnation ->
// presence list) and ":alive" (a sorted set: incarnation -> when it last gave a sign of life).
#pragma once

#include <pulse/messages.hpp>
#include <pulse/topic_sync.hpp>
#include <pulse/transport/redis_client.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pulse::redis_wire {

/// A Lua script and its SHA1 (EVALSHA first, EVAL when Redis does not know it yet).
struct script {
  std::string text;
  std::string sha1;
};

/// KEYS: seq, count, log, from:<node>. ARGV: channel, node, first n, now in ms, "1" to publish
/// sharded, MAXLEN, then for each broadcast: keep ("1"/"0"), except, tail. Returns, for each
/// broadcast, {count, offset} ({0, 0}: applied before).
const script& publish();
/// KEYS: seq, count, log, epoch, presence, alive. ARGV: an epoch for a topic that has none, how
/// many kept broadcasts to return, and this node's position (expected epoch, count, offset, origin
/// at offset). Rolls the epoch when Redis is behind what this node saw (a failover lost writes).
const script& load();
/// KEYS: presence, alive. ARGV: incarnation, now in ms, expiry in ms, "1" when it is alive.
/// Returns the alive set with its scores (small: one entry per node, not the lists).
const script& presence_tick();
/// KEYS: presence, alive. ARGV: incarnation, now in ms, expiry in ms, the list (JSON).
const script& presence_store();

std::string channel_of(std::string_view topic);
std::string key_of(std::string_view topic, std::string_view what);

std::int64_t now_ms();

/// A pub/sub message: "<node> <k>\n" and k times "<count> <offset> <n> <except> <length>\n<tail>".
std::optional<std::vector<topic_sync::entry>> read_message(std::string_view data);
/// The same, written (the script writes it; tests read it back).
std::string write_message(std::string_view node, const std::vector<topic_sync::entry>& entries);
/// XRANGE's answer (oldest first).
std::vector<topic_sync::entry> read_stream(const transport::redis_reply& reply);
/// The load script's answer.
std::optional<topic_sync::loaded> read_loaded(const transport::redis_reply& reply);
/// The publish script's answer.
std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>>
read_numbers(const transport::redis_reply& reply);
/// Presence: the lists (HGETALL, may be nil) and the alive set (ZRANGE WITHSCORES).
std::vector<messages::presence_record> read_presence(const transport::redis_reply* lists,
                                                     const transport::redis_reply& alive);

} // namespace pulse::redis_wire
