#include <pulse/redis_broker.hpp>
#include <pulse/redis_wire.hpp>
#include <pulse/topic_sync.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/redis_router.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <caf/send.hpp>

#include <charconv>
#include <cstdio>
#include <limits>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace pulse {

namespace asio = boost::asio;
using transport::redis_reply;
using transport::redis_router;

namespace {

std::string random_name() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
  return text;
}

/// The topic of a pub/sub channel "pulse:{T}"; empty when it is not one.
std::string_view topic_of(std::string_view channel) {
  constexpr std::string_view prefix = "pulse:{";
  if (channel.size() < prefix.size() + 1 || !channel.starts_with(prefix) || !channel.ends_with('}'))
    return {};
  return channel.substr(prefix.size(), channel.size() - prefix.size() - 1);
}

redis_router::settings router_settings(const redis_broker::config& c) {
  using kind = redis_broker::config::deployment;
  redis_router::settings s;
  switch (c.kind) {
    case kind::single:
      s.kind = redis_router::deployment::single;
      s.addresses = {transport::redis_address::parse(c.addresses)};
      break;
    case kind::sentinel:
      s.kind = redis_router::deployment::sentinel;
      s.addresses = transport::redis_address::parse_list(c.addresses);
      s.master_name = c.master_name;
      if (s.master_name.empty())
        throw std::invalid_argument("Redis Sentinel needs the master's name (--redis-master)");
      break;
    case kind::cluster:
      s.kind = redis_router::deployment::cluster;
      s.addresses = transport::redis_address::parse_list(c.addresses);
      break;
  }
  return s;
}

} // namespace

/// Everything the broker does runs on its own thread, in `io`: no locks.
struct redis_broker::state : std::enable_shared_from_this<state> {
  explicit state(config c)
      : settings(c), work(asio::make_work_guard(io)),
        router(std::make_shared<redis_router>(io, router_settings(c))), ticker(io) {}

  /// One topic this node serves, and its channel actor.
  struct link {
    caf::actor channel;
    std::size_t keep;
    std::unique_ptr<topic_sync> sync;
    std::string origin; ///< this link's name in Redis (the node's, and which join)
    std::uint64_t generation;
    std::vector<caf::actor> drain_waiters;
    std::chrono::steady_clock::time_point drain_deadline;
    std::uint64_t drain_count = 0; ///< what Redis had when the drain began: wait until heard
  };

  config settings;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::shared_ptr<redis_router> router;
  asio::steady_timer ticker;
  std::string node = random_name();
  std::uint64_t joins = 0;
  std::unordered_map<std::string, link> topics;
  std::unordered_set<std::string> subscribed; ///< topics whose subscription is confirmed
  std::unordered_set<std::string> dirty;      ///< topics with something for their channel
  std::thread thread;
  bool stopped = false; ///< what is still queued does nothing

  /// How often held broadcasts are checked (sent again, given up) and drains timed.
  static constexpr std::chrono::milliseconds tick{100};

  void wire() {
    std::weak_ptr<state> weak = weak_from_this();
    router->on_health([weak](bool up, std::string_view reason) {
      auto self = weak.lock();
      if (!self)
        return;
      if (up) {
        log().info("redis: connected; sharing channels with the other nodes");
        return;
      }
      log().warn("redis unreachable ({}): holding broadcasts for {} ms, then serving local "
                 "subscribers only",
                 reason, self->settings.hold.count());
    });
    router->on_subscribed([weak](const std::string& channel) {
      if (auto self = weak.lock())
        self->subscribed_to(std::string{topic_of(channel)});
    });
    router->on_lost([weak](const std::string& channel) {
      auto self = weak.lock();
      if (!self)
        return;
      std::string topic{topic_of(channel)};
      self->subscribed.erase(topic);
      if (auto it = self->topics.find(topic); it != self->topics.end())
        it->second.sync->lost();
    });
    router->on_message([weak](std::string_view channel, std::string_view data) {
      if (auto self = weak.lock())
        self->heard(channel, data);
    });
    router->on_read_done([weak] {
      if (auto self = weak.lock())
        self->flush_dirty();
    });
  }

  void start() {
    router->start();
    schedule_tick();
  }

  // ---- topics ----------------------------------------------------------------------------------

  void join(const std::string& topic, caf::actor channel, std::size_t keep) {
    auto origin = node + "." + std::to_string(++joins);
    auto& l = topics[topic];
    for (auto& waiter : l.drain_waiters) // an earlier actor of the topic: nothing more to wait for
      caf::anon_send(waiter, messages::drained_atom::value);
    l = link{std::move(channel),
             keep,
             std::make_unique<topic_sync>(origin, keep, settings.max_held),
             origin,
             joins,
             {},
             {}};
    if (subscribed.count(topic)) { // an earlier actor of the topic kept it subscribed
      l.sync->subscribed();
      return load(topic);
    }
    router->subscribe(redis_wire::channel_of(topic));
    if (!router->healthy()) // Redis is out of reach: the channel serves alone meanwhile
      caf::anon_send(l.channel, messages::history_loaded{"local-" + random_name(), 0, {}, {}});
  }

  void leave(const std::string& topic, caf::actor_id channel) {
    auto it = topics.find(topic);
    if (it == topics.end() || it->second.channel.id() != channel)
      return;
    for (auto& waiter : it->second.drain_waiters)
      caf::anon_send(waiter, messages::drained_atom::value);
    topics.erase(it);
    subscribed.erase(topic);
    dirty.erase(topic);
    router->unsubscribe(redis_wire::channel_of(topic));
  }

  void subscribed_to(const std::string& topic) {
    subscribed.insert(topic);
    auto it = topics.find(topic);
    if (it == topics.end())
      return;
    it->second.sync->subscribed();
    load(topic);
  }

  /// A reply callback for `topic`'s link as it is now: `fn(self, link, reply)` runs only while
  /// the broker and that same link (not a later one for the topic) are still there.
  template<class F>
  auto for_link(const std::string& topic, std::uint64_t generation, F fn) {
    return [weak = weak_from_this(), topic, generation,
            fn = std::move(fn)](std::optional<redis_reply> reply) mutable {
      auto self = weak.lock();
      if (!self)
        return;
      if (auto* l = self->find(topic, generation))
        fn(*self, *l, std::move(reply));
    };
  }

  /// Loads the topic (its history, or what this node missed of it), then it is live.
  void load(const std::string& topic) {
    auto it = topics.find(topic);
    if (it == topics.end())
      return;
    auto where = it->second.sync->where();
    auto generation = it->second.generation;
    run(topic, redis_wire::load(),
        {redis_wire::key_of(topic, "seq"), redis_wire::key_of(topic, "count"),
         redis_wire::key_of(topic, "log"), redis_wire::key_of(topic, "epoch"),
         redis_wire::key_of(topic, "presence"), redis_wire::key_of(topic, "alive")},
        {random_name(), std::to_string(it->second.keep), where.epoch, std::to_string(where.count),
         std::to_string(where.offset), where.origin},
        for_link(topic, generation, [topic, generation](state& self, link& l, auto reply) {
          if (!self.subscribed.count(topic))
            return; // lost its subscription again: loaded when it is back
          auto loaded = reply ? redis_wire::read_loaded(*reply) : std::nullopt;
          if (!loaded) {
            if (reply)
              log().error("redis: loading {} failed: {}", topic, reply->text);
            return self.later(std::chrono::milliseconds{200}, [weak = self.weak_from_this(), topic,
                                                               generation] {
              auto again = weak.lock();
              if (again && again->find(topic, generation) && again->subscribed.count(topic))
                again->load(topic);
            });
          }
          l.sync->on_loaded(std::move(*loaded));
          self.flush(topic);
        }));
  }

  link* find(const std::string& topic, std::uint64_t generation) {
    auto it = topics.find(topic);
    return it != topics.end() && it->second.generation == generation ? &it->second : nullptr;
  }

  void heard(std::string_view channel, std::string_view data) {
    std::string topic{topic_of(channel)};
    auto it = topics.find(topic);
    if (it == topics.end())
      return;
    auto entries = redis_wire::read_message(data);
    if (!entries) {
      log().warn("redis: an unreadable message on {}", channel);
      return;
    }
    for (auto& e : *entries)
      it->second.sync->on_message(std::move(e));
    dirty.insert(topic); // handed over once the read is done: one batch for the channel
  }

  void flush_dirty() {
    auto topics_now = std::move(dirty);
    dirty.clear();
    for (auto& topic : topics_now)
      flush(topic);
  }

  /// Hands the topic's effects to its channel, then does what the topic asks of Redis.
  void flush(const std::string& topic) {
    auto it = topics.find(topic);
    if (it == topics.end())
      return;
    auto& l = it->second;
    hand_over(l.channel, l.sync->take_effects());
    if (auto after = l.sync->wants_fill())
      fill(topic, *after);
    if (auto next = l.sync->take_batch())
      send(topic, std::move(*next));
    if (!l.drain_waiters.empty() && l.sync->is_drained()
        && (l.sync->where().count >= l.drain_count || !l.sync->is_live())) {
      for (auto& waiter : l.drain_waiters)
        caf::anon_send(waiter, messages::drained_atom::value);
      l.drain_waiters.clear();
    }
  }

  /// In order; consecutive broadcasts as one message, so that the channel fans them out at once.
  static void hand_over(const caf::actor& channel, std::vector<topic_sync::effect> effects) {
    messages::remote_batch batch;
    messages::publish_failed failed;
    auto send_pending = [&] {
      if (!batch.broadcasts.empty())
        caf::anon_send(channel, std::exchange(batch, {}));
      if (!failed.broadcasts.empty())
        caf::anon_send(channel, std::exchange(failed, {}));
    };
    for (auto& effect : effects) {
      if (auto* b = std::get_if<messages::remote_broadcast>(&effect)) {
        if (!failed.broadcasts.empty())
          send_pending();
        batch.broadcasts.push_back(std::move(*b));
      } else if (auto* f = std::get_if<messages::shared_broadcast>(&effect)) {
        if (!batch.broadcasts.empty())
          send_pending();
        failed.broadcasts.push_back(std::move(*f));
      } else {
        send_pending();
        std::visit(
          [&](auto& message) {
            using type = std::decay_t<decltype(message)>;
            if constexpr (std::is_same_v<
                            type,
                            messages::history_loaded> || std::is_same_v<type, messages::stream_gap>)
              caf::anon_send(channel, std::move(message));
          },
          effect);
      }
    }
    send_pending();
  }

  /// Reads the kept broadcasts after `offset` from the stream (a gap between two messages).
  void fill(const std::string& topic, std::uint64_t offset) {
    auto generation = topics.at(topic).generation;
    router->command(redis_wire::key_of(topic, "log"),
                    {"XRANGE", redis_wire::key_of(topic, "log"),
                     "(" + std::to_string(offset) + "-1", "+"},
                    for_link(topic, generation, [topic](state& self, link& l, auto reply) {
                      if (reply && reply->type == redis_reply::kind::array)
                        l.sync->on_fetched(redis_wire::read_stream(*reply));
                      else
                        l.sync->on_fetched(std::nullopt);
                      self.flush(topic);
                    }));
  }

  // ---- publishing ------------------------------------------------------------------------------

  void publish(const std::string& topic, std::vector<messages::shared_broadcast> broadcasts) {
    auto it = topics.find(topic);
    if (it == topics.end())
      return;
    it->second.sync->publish(std::move(broadcasts), std::chrono::steady_clock::now());
    flush(topic);
  }

  void send(const std::string& topic, topic_sync::batch next) {
    auto& l = topics.at(topic);
    std::vector<std::string> args{
      redis_wire::channel_of(topic), l.origin,
      std::to_string(next.first_n),  std::to_string(redis_wire::now_ms()),
      router->sharded() ? "1" : "0", std::to_string(std::max<std::size_t>(l.keep, 1))};
    args.reserve(args.size() + 3 * next.broadcasts.size());
    for (auto& b : next.broadcasts) {
      args.emplace_back(b.keep && l.keep > 0 ? "1" : "0");
      args.push_back(std::to_string(b.except));
      args.push_back(std::move(b.tail));
    }
    auto generation = l.generation;
    auto first_n = next.first_n;
    run(topic, redis_wire::publish(),
        {redis_wire::key_of(topic, "seq"), redis_wire::key_of(topic, "count"),
         redis_wire::key_of(topic, "log"), redis_wire::key_of(topic, "from:" + l.origin)},
        std::move(args),
        for_link(topic, generation, [topic, first_n](state& self, link& found, auto reply) {
          auto numbers = reply ? redis_wire::read_numbers(*reply) : std::nullopt;
          bool taken = numbers.has_value();
          if (reply && !taken)
            log().error("redis: publishing to {} failed: {}", topic, reply->text);
          found.sync->on_published(first_n, std::move(numbers));
          if (taken)
            self.flush(topic); // the next batch, if any (after a failure: the ticker's turn)
        }));
  }

  /// A graceful stop: what this node published comes back, and what Redis had of the topic
  /// when the stop began (any node's) is heard, before the channel's subscribers are closed.
  void drain(const std::string& topic, const caf::actor& channel) {
    auto it = topics.find(topic);
    if (it == topics.end()) {
      caf::anon_send(channel, messages::drained_atom::value);
      return;
    }
    auto& l = it->second;
    if (!router->healthy() || !l.sync->is_live()) {
      // Nothing will come back: this node's subscribers get what it held now.
      l.sync->give_up(std::chrono::steady_clock::now(), std::chrono::milliseconds{0}, true);
      l.drain_waiters.push_back(channel);
      return flush(topic);
    }
    l.drain_waiters.push_back(channel);
    l.drain_deadline = std::chrono::steady_clock::now() + drain_wait;
    auto generation = l.generation;
    auto count_key = redis_wire::key_of(topic, "count");
    router->command(count_key, {"GET", count_key},
                    for_link(topic, generation, [topic](state& self, link& found, auto reply) {
                      std::uint64_t count = 0;
                      if (reply && reply->type == redis_reply::kind::string)
                        std::from_chars(reply->text.data(), reply->text.data() + reply->text.size(),
                                        count);
                      found.drain_count = count;
                      self.flush(topic);
                    }));
    l.drain_count = std::numeric_limits<std::uint64_t>::max(); // until Redis says
    flush(topic);
  }

  void schedule_tick() {
    ticker.expires_after(tick);
    ticker.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec)
        return;
      self->on_tick();
      self->schedule_tick();
    });
  }

  void on_tick() {
    auto now = std::chrono::steady_clock::now();
    for (auto& [topic, l] : topics) {
      if (l.sync->is_drained() && l.drain_waiters.empty())
        continue;
      bool late = !l.drain_waiters.empty() && now >= l.drain_deadline;
      l.sync->give_up(now, settings.hold, late);
      if (late)
        l.drain_count = 0; // what has not come by now is not waited for
      dirty.insert(topic); // sends again what failed, hands over what was given up
    }
    flush_dirty();
  }

  // ---- presence --------------------------------------------------------------------------------

  void store_presence(const std::string& topic, const std::string& incarnation, std::string list) {
    run(topic, redis_wire::presence_store(),
        {redis_wire::key_of(topic, "presence"), redis_wire::key_of(topic, "alive")},
        {incarnation, std::to_string(redis_wire::now_ms()), std::to_string(presence_expiry()),
         std::move(list)},
        {});
  }

  void remove_presence(const std::string& topic, const std::string& incarnation) {
    auto route = redis_wire::key_of(topic, "presence");
    router->command(route, {"HDEL", route, incarnation}, {});
    router->command(route, {"ZREM", redis_wire::key_of(topic, "alive"), incarnation}, {});
  }

  void beat_presence(const std::string& topic, const std::string& incarnation, bool alive,
                     const caf::actor& channel) {
    run(topic, redis_wire::presence_tick(),
        {redis_wire::key_of(topic, "presence"), redis_wire::key_of(topic, "alive")},
        {incarnation, std::to_string(redis_wire::now_ms()), std::to_string(presence_expiry()),
         alive ? "1" : "0"},
        [channel](std::optional<redis_reply> reply) {
          if (reply && reply->type == redis_reply::kind::array)
            caf::anon_send(channel,
                           messages::presence_fetched{redis_wire::read_presence(nullptr, *reply)});
        });
  }

  /// Topics nobody serves any more do not stay in Redis for ever.
  static std::int64_t presence_expiry() { return presence_timeout.count() * 15; }

  // ---- Redis -----------------------------------------------------------------------------------

  /// Runs a script on the node that serves `topic`: EVALSHA, and EVAL when Redis does not have
  /// it yet (after a restart, on a node that took over).
  void run(const std::string& topic, const redis_wire::script& s, std::vector<std::string> keys,
           std::vector<std::string> args, redis_router::callback done) {
    std::vector<std::string> command;
    command.reserve(3 + keys.size() + args.size());
    command.insert(command.end(), {"EVALSHA", s.sha1, std::to_string(keys.size())});
    std::move(keys.begin(), keys.end(), std::back_inserter(command));
    std::move(args.begin(), args.end(), std::back_inserter(command));
    auto route = redis_wire::key_of(topic, "seq");
    auto text = std::make_shared<std::vector<std::string>>(command);
    (*text)[0] = "EVAL";
    (*text)[1] = s.text;
    router->command(route, std::move(command),
                    [weak = weak_from_this(), route, text,
                     done = std::move(done)](std::optional<redis_reply> reply) mutable {
                      auto self = weak.lock();
                      if (self && reply && reply->is_error("NOSCRIPT"))
                        return self->router->command(route, std::move(*text), std::move(done));
                      if (done)
                        done(std::move(reply));
                    });
  }

  template<class Fn>
  void later(std::chrono::milliseconds after, Fn fn) {
    auto timer = std::make_shared<asio::steady_timer>(io, after);
    timer->async_wait([timer, fn = std::move(fn)](boost::system::error_code ec) mutable {
      if (!ec)
        fn();
    });
  }
};

redis_broker::redis_broker(config settings) : state_(std::make_shared<state>(std::move(settings))) {
  state_->wire();
}

redis_broker::~redis_broker() {
  stop();
}

void redis_broker::start() {
  if (state_->thread.joinable())
    return;
  asio::post(state_->io, [w = weak()] {
    if (auto s = w.lock(); s && !s->stopped)
      s->start();
  });
  state_->thread = std::thread{[s = state_] {
    s->io.run();
  }};
}

void redis_broker::stop() {
  if (!state_->thread.joinable())
    return;
  asio::post(state_->io, [s = state_] {
    s->stopped = true;
    s->ticker.cancel();
    s->router->stop();
    s->topics.clear();
    s->io.stop();
  });
  state_->thread.join();
  // What was posted meanwhile (a channel's last publish or leave) holds actor handles: it runs
  // here, doing nothing, so that they are released while the actor system still exists.
  state_->io.restart();
  state_->io.poll();
}

bool redis_broker::healthy() const noexcept {
  return state_->router->healthy();
}

// Posted work holds the state weakly: what is still queued when the broker stops is dropped with
// it, and no actor handle stays behind in a cycle.

void redis_broker::join(const std::string& topic, const caf::actor& channel, std::size_t keep) {
  asio::post(state_->io, [w = weak(), topic, channel, keep] {
    if (auto s = w.lock(); s && !s->stopped)
      s->join(topic, channel, keep);
  });
}

void redis_broker::leave(const std::string& topic, caf::actor_id channel) {
  asio::post(state_->io, [w = weak(), topic, channel] {
    if (auto s = w.lock(); s && !s->stopped)
      s->leave(topic, channel);
  });
}

void redis_broker::publish(const std::string& topic,
                           std::vector<messages::shared_broadcast> broadcasts,
                           const caf::actor& channel) {
  asio::post(state_->io, [w = weak(), topic, broadcasts = std::move(broadcasts),
                          channel]() mutable {
    auto s = w.lock();
    if (!s || s->stopped)
      return;
    if (!s->topics.count(topic)) // not joined (yet, or any more): this node's subscribers
      return caf::anon_send(channel, messages::publish_failed{std::move(broadcasts)});
    s->publish(topic, std::move(broadcasts));
  });
}

void redis_broker::drain(const std::string& topic, const caf::actor& channel) {
  asio::post(state_->io, [w = weak(), topic, channel] {
    if (auto s = w.lock(); s && !s->stopped)
      s->drain(topic, channel);
  });
}

void redis_broker::store_presence(const std::string& topic, const std::string& incarnation,
                                  std::string list) {
  asio::post(state_->io, [w = weak(), topic, incarnation, list = std::move(list)]() mutable {
    if (auto s = w.lock(); s && !s->stopped)
      s->store_presence(topic, incarnation, std::move(list));
  });
}

void redis_broker::remove_presence(const std::string& topic, const std::string& incarnation) {
  asio::post(state_->io, [w = weak(), topic, incarnation] {
    if (auto s = w.lock(); s && !s->stopped)
      s->remove_presence(topic, incarnation);
  });
}

void redis_broker::beat_presence(const std::string& topic, const std::string& incarnation,
                                 bool alive, const caf::actor& channel) {
  asio::post(state_->io, [w = weak(), topic, incarnation, alive, channel] {
    if (auto s = w.lock(); s && !s->stopped)
      s->beat_presence(topic, incarnation, alive, channel);
  });
}

std::weak_ptr<redis_broker::state> redis_broker::weak() const {
  return state_;
}

} // namespace pulse
