#include <pulse/messages.hpp>
#include <pulse/redis_broker.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/redis_client.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <caf/send.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>
#include <unordered_map>

namespace pulse {

namespace asio = boost::asio;
using transport::redis_reply;

namespace {

// KEYS: seq, log. ARGV: pub/sub channel, keep, "node except", tail, now in ms.
// One script, so that numbering, keeping and publishing are one step for every node.
constexpr const char* publish_script = R"(
local offset = 0
if tonumber(ARGV[2]) > 0 then
  offset = redis.call('INCR', KEYS[1])
  redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[2], offset .. '-1', 'at', ARGV[5], 'tail', ARGV[4])
end
redis.call('PUBLISH', ARGV[1], offset .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
return offset
)";

// KEYS: seq, log, epoch, presence. ARGV: an epoch for a topic that has none yet, how many
// entries.
constexpr const char* load_script = R"(
redis.call('SET', KEYS[3], ARGV[1], 'NX')
local epoch = redis.call('GET', KEYS[3])
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local entries = {}
if tonumber(ARGV[2]) > 0 then
  entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])
end
return {epoch, last, entries, redis.call('HGETALL', KEYS[4])}
)";

std::string random_name() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
  return text;
}

std::string channel_of(const std::string& topic) {
  return "pulse:{" + topic + "}";
}
std::string key_of(const std::string& topic, std::string_view what) {
  return channel_of(topic) + ":" + std::string{what};
}

template<class Number>
bool parse_number(std::string_view text, Number& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

/// The next space-separated field of `text`, removed from it.
std::string_view next_field(std::string_view& text) {
  auto space = text.find(' ');
  auto field = text.substr(0, space);
  text.remove_prefix(space == std::string_view::npos ? text.size() : space + 1);
  return field;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

/// HGETALL of a presence hash: field incarnation, value "<ms> <list>".
std::vector<messages::presence_record> parse_presence(const redis_reply& reply) {
  std::vector<messages::presence_record> records;
  auto now = now_ms();
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    std::string_view value = reply.elements[i + 1].text;
    std::int64_t at = 0;
    if (!parse_number(next_field(value), at))
      continue;
    records.push_back({reply.elements[i].text,
                       std::chrono::milliseconds{std::max<std::int64_t>(now - at, 0)},
                       std::string{value}});
  }
  return records;
}

/// The load script's answer as a history_loaded; nothing when it has another shape.
std::optional<messages::history_loaded> parse_history(const redis_reply& reply) {
  if (reply.type != redis_reply::kind::array || reply.elements.size() != 4
      || reply.elements[0].type != redis_reply::kind::string
      || reply.elements[1].type != redis_reply::kind::integer)
    return std::nullopt;
  messages::history_loaded loaded{
    reply.elements[0].text, static_cast<std::uint64_t>(reply.elements[1].integer), {}};
  auto now = now_ms();
  auto& entries = reply.elements[2].elements;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) { // XREVRANGE: newest first
    if (it->elements.size() != 2)
      continue;
    auto id = std::string_view{it->elements[0].text};
    std::uint64_t offset = 0;
    if (!parse_number(id.substr(0, id.find('-')), offset))
      continue;
    messages::history_loaded::entry entry{offset, std::chrono::milliseconds{0}, {}};
    auto& fields = it->elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].text == "tail") {
        entry.tail = fields[i + 1].text;
      } else if (fields[i].text == "at") {
        std::int64_t at = 0;
        if (parse_number(fields[i + 1].text, at))
          entry.age = std::chrono::milliseconds{std::max<std::int64_t>(now - at, 0)};
      }
    }
    loaded.entries.push_back(std::move(entry));
  }
  loaded.presences = parse_presence(reply.elements[3]);
  return loaded;
}

} // namespace

/// Everything the broker does runs on its own thread, in `io`: no locks.
struct redis_broker::state : std::enable_shared_from_this<state> {
  explicit state(transport::redis_address address)
      : work(asio::make_work_guard(io)),
        commands(std::make_shared<transport::redis_client>(io, address)),
        events(std::make_shared<transport::redis_client>(io, address)) {}

  struct listener {
    caf::actor channel;
    std::size_t keep;
  };

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::shared_ptr<transport::redis_client> commands; ///< scripts
  std::shared_ptr<transport::redis_client> events;   ///< SUBSCRIBE only (hiredis's rule)
  std::string node = random_name();
  std::unordered_map<std::string, listener> topics;
  std::thread thread;
  bool reported_down = false;

  bool healthy() const noexcept { return commands->connected() && events->connected(); }

  void wire() {
    auto weak = weak_from_this();
    events->on_connect([weak] {
      if (auto self = weak.lock()) {
        self->reported_down = false;
        for (auto& [topic, _] : self->topics)
          self->listen(topic);
      }
    });
    auto down = [weak](std::string_view reason) {
      if (auto self = weak.lock(); self && !self->reported_down) {
        self->reported_down = true;
        log().warn("redis unreachable ({}): serving local subscribers only", reason);
      }
    };
    events->on_disconnect(down);
    commands->on_disconnect(down);
    events->on_message([weak](std::string_view channel, std::string_view message) {
      if (auto self = weak.lock())
        self->deliver(channel, message);
    });
  }

  /// Subscribes to the topic, then loads its history: nothing published in between is missed.
  void listen(const std::string& topic) {
    auto weak = weak_from_this();
    bool sent = events->subscribe(channel_of(topic), [weak, topic] {
      if (auto self = weak.lock())
        self->load(topic);
    });
    if (!sent)
      load_locally(topic);
  }

  void load(const std::string& topic) {
    auto it = topics.find(topic);
    if (it == topics.end())
      return;
    auto weak = weak_from_this();
    bool sent = commands->command(
      {"EVAL", load_script, "4", key_of(topic, "seq"), key_of(topic, "log"), key_of(topic, "epoch"),
       key_of(topic, "presence"), random_name(), std::to_string(it->second.keep)},
      [weak, topic](std::optional<redis_reply> reply) {
        auto self = weak.lock();
        if (!self)
          return;
        auto found = self->topics.find(topic);
        if (found == self->topics.end())
          return;
        auto loaded = reply ? parse_history(*reply) : std::nullopt;
        if (!loaded) {
          if (reply)
            log().error("redis: loading {}'s history failed: {}", topic, reply->text);
          return self->load_locally(topic);
        }
        caf::anon_send(found->second.channel, std::move(*loaded));
      });
    if (!sent)
      load_locally(topic);
  }

  /// Redis is unreachable: the channel serves its own subscribers under an epoch of its own.
  void load_locally(const std::string& topic) {
    if (auto it = topics.find(topic); it != topics.end())
      caf::anon_send(it->second.channel,
                     messages::history_loaded{"local-" + random_name(), 0, {}, {}});
  }

  void deliver(std::string_view channel, std::string_view message) {
    constexpr std::string_view prefix = "pulse:{";
    if (channel.size() < prefix.size() + 1 || channel.substr(0, prefix.size()) != prefix)
      return;
    std::string topic{channel.substr(prefix.size(), channel.size() - prefix.size() - 1)};
    auto it = topics.find(topic);
    if (it == topics.end())
      return;
    std::uint64_t offset = 0;
    caf::actor_id except = 0;
    auto rest = message;
    if (!parse_number(next_field(rest), offset))
      return;
    auto origin = next_field(rest);
    if (!parse_number(next_field(rest), except))
      return;
    bool own = origin == node;
    caf::anon_send(it->second.channel,
                   messages::remote_broadcast{offset, own, own ? except : 0, std::string{rest}});
  }

  void publish(const std::string& topic, std::string tail, std::size_t keep, caf::actor_id except,
               const caf::actor& channel) {
    auto failed = [channel, except](std::string&& unsent) {
      caf::anon_send(channel, messages::publish_failed{except, std::move(unsent)});
    };
    if (!healthy())
      return failed(std::move(tail));
    constexpr std::size_t tail_arg = 8;
    std::vector<std::string> args{"EVAL",
                                  publish_script,
                                  "2",
                                  key_of(topic, "seq"),
                                  key_of(topic, "log"),
                                  channel_of(topic),
                                  std::to_string(keep),
                                  node + " " + std::to_string(except),
                                  std::move(tail),
                                  std::to_string(now_ms())};
    // hiredis copies the command; the tail is kept (not copied) in case Redis refuses it.
    auto pending = std::make_shared<std::string>();
    bool sent = commands->command(args, [failed, pending, topic](std::optional<redis_reply> reply) {
      if (reply && !reply->is_error())
        return;
      if (reply)
        log().error("redis: publishing to {} failed: {}", topic, reply->text);
      failed(std::move(*pending));
    });
    *pending = std::move(args[tail_arg]);
    if (!sent)
      failed(std::move(*pending));
  }
};

redis_broker::redis_broker(const std::string& url)
    : state_(std::make_shared<state>(transport::redis_address::parse(url))) {
  state_->wire();
}

redis_broker::~redis_broker() {
  stop();
}

void redis_broker::start() {
  if (state_->thread.joinable())
    return;
  state_->commands->start();
  state_->events->start();
  state_->thread = std::thread{[s = state_] {
    s->io.run();
  }};
}

void redis_broker::stop() {
  if (!state_->thread.joinable())
    return;
  asio::post(state_->io, [s = state_] {
    s->commands->stop();
    s->events->stop();
    s->topics.clear();
    s->io.stop();
  });
  state_->thread.join();
}

bool redis_broker::healthy() const noexcept {
  return state_->healthy();
}

void redis_broker::join(const std::string& topic, const caf::actor& channel, std::size_t keep) {
  asio::post(state_->io, [s = state_, topic, channel, keep] {
    s->topics[topic] = {channel, keep};
    s->listen(topic);
  });
}

void redis_broker::leave(const std::string& topic, caf::actor_id channel) {
  asio::post(state_->io, [s = state_, topic, channel] {
    auto it = s->topics.find(topic);
    if (it == s->topics.end() || it->second.channel.id() != channel)
      return;
    s->topics.erase(it);
    s->events->unsubscribe(channel_of(topic));
  });
}

void redis_broker::publish(const std::string& topic, std::string tail, std::size_t keep,
                           caf::actor_id except, const caf::actor& channel) {
  asio::post(state_->io,
             [s = state_, topic, tail = std::move(tail), keep, except, channel]() mutable {
               s->publish(topic, std::move(tail), keep, except, channel);
             });
}

void redis_broker::store_presence(const std::string& topic, const std::string& incarnation,
                                  std::string list) {
  asio::post(state_->io, [s = state_, topic, incarnation, list = std::move(list)] {
    auto key = key_of(topic, "presence");
    s->commands->command({"HSET", key, incarnation, std::to_string(now_ms()) + " " + list});
    // Topics nobody serves any more do not stay in Redis for ever.
    s->commands->command({"PEXPIRE", key, std::to_string(presence_timeout.count() * 15)});
  });
}

void redis_broker::remove_presence(const std::string& topic, const std::string& incarnation) {
  asio::post(state_->io, [s = state_, topic, incarnation] {
    s->commands->command({"HDEL", key_of(topic, "presence"), incarnation});
  });
}

void redis_broker::fetch_presence(const std::string& topic, const caf::actor& channel) {
  asio::post(state_->io, [s = state_, topic, channel] {
    s->commands->command(
      {"HGETALL", key_of(topic, "presence")}, [channel](std::optional<redis_reply> reply) {
        if (reply && reply->type == redis_reply::kind::array)
          caf::anon_send(channel, messages::presence_fetched{parse_presence(*reply)});
      });
  });
}

} // namespace pulse
