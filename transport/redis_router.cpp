#include <pulse/transport/asio.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/redis_router.hpp>
#include <pulse/transport/redis_sentinel.hpp>

#include <boost/asio/post.hpp>

#include <charconv>

namespace pulse::transport {

namespace {

constexpr std::size_t slot_count = 16384;

/// CRC16-CCITT (XMODEM), as Redis Cluster hashes keys.
constexpr std::array<std::uint16_t, 256> crc16_table = [] {
  std::array<std::uint16_t, 256> table{};
  for (std::uint16_t i = 0; i < 256; ++i) {
    std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    table[i] = crc;
  }
  return table;
}();

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (unsigned char c : data)
    crc = static_cast<std::uint16_t>((crc << 8) ^ crc16_table[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

/// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381": the slot and the address.
std::optional<std::pair<std::uint16_t, redis_address>> redirection(const std::string& error) {
  auto first = error.find(' ');
  auto second = error.find(' ', first + 1);
  if (first == std::string::npos || second == std::string::npos)
    return std::nullopt;
  std::uint16_t slot = 0;
  auto digits = std::string_view{error}.substr(first + 1, second - first - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), slot);
  if (ec != std::errc{} || slot >= slot_count)
    return std::nullopt;
  try {
    return std::pair{slot,
                     redis_address::parse_host_port(std::string_view{error}.substr(second + 1))};
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
}

bool is_transient(const redis_reply& reply) {
  // A slot in the middle of a move, a cluster or master that is recovering, a Redis loading its
  // data: the same command succeeds a little later.
  return reply.is_error("TRYAGAIN") || reply.is_error("CLUSTERDOWN") || reply.is_error("LOADING")
         || reply.is_error("MASTERDOWN");
}

} // namespace

std::uint16_t redis_key_slot(std::string_view key) {
  // Only the part between the first "{" and the next "}" counts, when it is not empty.
  if (auto open = key.find('{'); open != std::string_view::npos)
    if (auto close = key.find('}', open + 1); close != std::string_view::npos && close > open + 1)
      key = key.substr(open + 1, close - open - 1);
  return static_cast<std::uint16_t>(crc16(key) % slot_count);
}

redis_router::redis_router(asio::io_context& io, settings config)
    : io_(io), config_(std::move(config)), topology_timer_(io) {
  if (config_.addresses.empty())
    throw std::invalid_argument("Redis needs at least one address");
  if (config_.kind == deployment::sentinel && config_.master_name.empty())
    throw std::invalid_argument("Redis Sentinel needs the master's name (--redis-master)");
}

redis_router::~redis_router() {
  stop();
}

void redis_router::start() {
  if (!stopped_)
    return;
  stopped_ = false;
  switch (config_.kind) {
    case deployment::single: primary_ = &node_at(config_.addresses.front()); break;
    case deployment::sentinel: {
      sentinel_ = std::make_shared<redis_sentinel>(io_, config_.addresses, config_.master_name);
      std::weak_ptr<redis_router> weak = weak_from_this();
      sentinel_->on_master([weak](const redis_address& address) {
        if (auto self = weak.lock())
          self->master_changed(address);
      });
      sentinel_->start();
      break;
    }
    case deployment::cluster:
      slots_.assign(slot_count, nullptr);
      for (auto& seed : config_.addresses)
        node_at(seed);
      break;
  }
  watch_topology();
}

void redis_router::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  topology_timer_.cancel();
  for (auto& timer : retries_) // their commands hear "nothing"
    timer->cancel();
  if (sentinel_)
    sentinel_->stop();
  for (auto& [_, n] : nodes_) {
    n->commands->stop();
    n->events->stop();
  }
  healthy_.store(false, std::memory_order_release);
}

redis_router::node& redis_router::node_at(const redis_address& address) {
  auto name = address.to_string();
  if (auto it = nodes_.find(name); it != nodes_.end())
    return *it->second;
  auto created = std::make_unique<node>();
  auto* n = created.get();
  n->address = address;
  n->commands = std::make_shared<redis_client>(io_, std::vector{address});
  n->events = std::make_shared<redis_client>(io_, std::vector{address});
  std::weak_ptr<redis_router> weak = weak_from_this();
  n->commands->on_connect([weak] {
    if (auto self = weak.lock()) {
      if (self->config_.kind == deployment::cluster)
        self->refresh();
      self->update_health("connected");
    }
  });
  auto down = [weak](std::string_view reason) {
    auto self = weak.lock();
    if (!self)
      return;
    if (self->sentinel_)
      self->sentinel_->ask(); // a failover, perhaps: who is the master now?
    self->update_health(reason);
  };
  n->commands->on_disconnect(down);
  n->events->on_connect([weak] {
    if (auto self = weak.lock()) {
      self->place_all();
      self->update_health("connected");
    }
  });
  n->events->on_disconnect([weak, n, down](std::string_view reason) {
    if (auto self = weak.lock())
      self->lose_all_on(*n);
    down(reason);
  });
  n->events->on_push(
    [weak](std::string_view kind, std::string_view channel, std::string_view data) {
      auto self = weak.lock();
      if (!self)
        return;
      if (kind != "sunsubscribe") {
        if (self->on_message_)
          self->on_message_(channel, data);
        return;
      }
      // The slot moved (a failover, a resharding): subscribe again where it is served now.
      log().info("redis: {} moved off its node: subscribing again", channel);
      self->lose(std::string{channel});
      self->refresh();
    });
  n->events->on_read_done([weak] {
    if (auto self = weak.lock(); self && self->on_read_done_)
      self->on_read_done_();
  });
  nodes_.emplace(name, std::move(created));
  if (!stopped_) {
    n->commands->start();
    n->events->start();
  }
  return *n;
}

void redis_router::master_changed(const redis_address& address) {
  if (!primary_) {
    primary_ = &node_at(address);
    return;
  }
  // The same two connections, pointed at the new master: whatever they carried is lost or done.
  primary_->address = address;
  primary_->commands->reconnect(address);
  primary_->events->reconnect(address);
}

redis_router::node* redis_router::owner(std::string_view key) {
  if (config_.kind != deployment::cluster)
    return primary_;
  return slots_.empty() ? nullptr : slots_[redis_key_slot(key)];
}

void redis_router::command(std::string_view key, std::vector<std::string> args, callback done) {
  send(key, std::move(args), std::move(done), 0, std::nullopt);
}

void redis_router::send(std::string_view key, std::vector<std::string> args, callback done,
                        int attempt, std::optional<redis_address> asking) {
  node* target = asking ? &node_at(*asking) : owner(key);
  if (!target || !target->commands->connected()) {
    if (config_.kind == deployment::cluster && attempt < max_attempts && !stopped_) {
      // A master that just took over, or a cluster that is still being read: a moment more.
      refresh();
      return retry(std::string{key}, std::move(args), std::move(done), attempt + 1, retry_delay);
    }
    asio::post(io_, [done = std::move(done)] {
      if (done)
        done(std::nullopt);
    });
    return;
  }
  auto shared = std::make_shared<std::vector<std::string>>(std::move(args));
  auto answered = [weak = weak_from_this(), key = std::string{key}, shared, done,
                   attempt](std::optional<redis_reply> reply) mutable {
    auto self = weak.lock();
    if (!self || !reply || !reply->is_error() || attempt >= max_attempts) {
      if (done)
        done(std::move(reply));
      return;
    }
    if (reply->is_error("MOVED") || reply->is_error("ASK")) {
      if (auto moved = redirection(reply->text)) {
        if (reply->is_error("ASK")) // this once, at the slot's new node
          return self->send(key, std::move(*shared), std::move(done), attempt + 1, moved->second);
        if (!self->slots_.empty())
          self->slots_[moved->first] = &self->node_at(moved->second);
        self->refresh();
        return self->send(key, std::move(*shared), std::move(done), attempt + 1, std::nullopt);
      }
    }
    if (is_transient(*reply))
      return self->retry(key, std::move(*shared), std::move(done), attempt + 1, retry_delay);
    if (reply->is_error("READONLY") && self->sentinel_)
      self->sentinel_->ask(); // the master we know was made a replica
    if (done)
      done(std::move(reply));
  };
  if (asking)
    target->commands->commands({{"ASKING"}, *shared}, {{}, std::move(answered)});
  else
    target->commands->command(*shared, std::move(answered));
}

void redis_router::retry(std::string key, std::vector<std::string> args, callback done, int attempt,
                         std::chrono::milliseconds after, std::optional<redis_address> asking) {
  auto timer = std::make_shared<asio::steady_timer>(io_, after);
  retries_.insert(timer);
  timer->async_wait([weak = weak_from_this(), timer, key = std::move(key), args = std::move(args),
                     done = std::move(done), attempt, asking](error_code ec) mutable {
    auto self = weak.lock();
    if (self)
      self->retries_.erase(timer);
    if (!self || ec || self->stopped_) {
      if (done)
        done(std::nullopt);
      return;
    }
    self->send(key, std::move(args), std::move(done), attempt, asking);
  });
}

void redis_router::subscribe(const std::string& channel) {
  subscriptions_.try_emplace(channel);
  place(channel);
}

void redis_router::unsubscribe(const std::string& channel) {
  auto it = subscriptions_.find(channel);
  if (it == subscriptions_.end())
    return;
  if (auto* on = it->second.on; on && on->events->connected())
    on->events->command({sharded() ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", channel});
  subscriptions_.erase(it);
}

void redis_router::place(const std::string& channel) {
  auto it = subscriptions_.find(channel);
  if (it == subscriptions_.end() || it->second.on)
    return;
  auto* target = owner(channel);
  if (!target || !target->events->connected())
    return; // placed once its node is known and connected
  it->second = {target, false};
  target->events->command(
    {sharded() ? "SSUBSCRIBE" : "SUBSCRIBE", channel},
    [weak = weak_from_this(), channel, target](std::optional<redis_reply> reply) {
      auto self = weak.lock();
      if (!self)
        return;
      auto found = self->subscriptions_.find(channel);
      if (found == self->subscriptions_.end() || found->second.on != target)
        return; // unsubscribed, or moved, meanwhile
      if (reply && reply->type == redis_reply::kind::array && !reply->elements.empty()
          && reply->elements[0].text.ends_with("subscribe")) {
        found->second.confirmed = true;
        if (self->on_subscribed_)
          self->on_subscribed_(channel);
        return;
      }
      found->second.on = nullptr;
      if (!reply)
        return; // the connection dropped: placed again when it is back
      if (auto moved = reply->is_error("MOVED") ? redirection(reply->text) : std::nullopt) {
        self->slots_[moved->first] = &self->node_at(moved->second);
        self->refresh();
        return self->place(channel);
      }
      log().error("redis: subscribing to {} failed: {}", channel, reply->text);
    });
}

void redis_router::place_all() {
  for (auto& [channel, _] : subscriptions_)
    place(channel);
}

void redis_router::lose(const std::string& channel) {
  auto it = subscriptions_.find(channel);
  if (it == subscriptions_.end() || !it->second.on)
    return;
  bool was_confirmed = it->second.confirmed;
  it->second = {};
  if (was_confirmed && on_lost_)
    on_lost_(channel);
}

void redis_router::lose_all_on(node& n) {
  std::vector<std::string> lost;
  for (auto& [channel, sub] : subscriptions_)
    if (sub.on == &n)
      lost.push_back(channel);
  for (auto& channel : lost)
    lose(channel);
}

void redis_router::refresh() {
  if (config_.kind != deployment::cluster || stopped_)
    return;
  if (refreshing_) {
    refresh_again_ = true;
    return;
  }
  // Any connected node knows the whole map: an owner first, else whichever answers.
  node* asked = nullptr;
  for (auto& [_, n] : nodes_)
    if (n->commands->connected()
        && (!asked || std::find(slots_.begin(), slots_.end(), n.get()) != slots_.end()))
      asked = n.get();
  if (!asked)
    return; // the topology timer tries again
  refreshing_ = true;
  asked->commands->command({"CLUSTER", "SLOTS"},
                           [weak = weak_from_this()](std::optional<redis_reply> reply) {
                             auto self = weak.lock();
                             if (!self)
                               return;
                             self->refreshing_ = false;
                             if (reply && reply->type == redis_reply::kind::array)
                               self->apply_slots(*reply);
                             if (std::exchange(self->refresh_again_, false))
                               self->refresh();
                           });
}

void redis_router::apply_slots(const redis_reply& reply) {
  std::vector<node*> slots(slot_count, nullptr);
  for (auto& range : reply.elements) {
    // [start, end, [host, port, id, ...], replicas...]
    if (range.elements.size() < 3 || range.elements[2].elements.size() < 2)
      continue;
    auto& master = range.elements[2].elements;
    auto start = range.elements[0].integer;
    auto end = range.elements[1].integer;
    if (master[0].text.empty() || master[1].integer <= 0 || master[1].integer > 65535 || start < 0
        || end >= static_cast<long long>(slot_count) || start > end)
      continue;
    auto* n = &node_at({master[0].text, static_cast<std::uint16_t>(master[1].integer)});
    for (auto slot = start; slot <= end; ++slot)
      slots[static_cast<std::size_t>(slot)] = n;
  }
  slots_ = std::move(slots);
  // Subscriptions on a node that no longer serves their slot move to the one that does.
  std::vector<std::string> moved;
  for (auto& [channel, sub] : subscriptions_)
    if (sub.on && sub.on != owner(channel))
      moved.push_back(channel);
  for (auto& channel : moved) {
    if (auto* old = subscriptions_[channel].on; old->events->connected())
      old->events->command({"SUNSUBSCRIBE", channel});
    lose(channel);
  }
  place_all();
  update_health("cluster slots changed");
}

void redis_router::watch_topology() {
  if (stopped_)
    return;
  // Often while something is wrong, seldom while all is well.
  topology_timer_.expires_after(healthy() ? std::chrono::milliseconds{5000}
                                          : std::chrono::milliseconds{500});
  topology_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    auto self = weak.lock();
    if (!self || ec)
      return;
    if (self->config_.kind == deployment::cluster)
      self->refresh();
    else if (self->sentinel_ && !self->healthy())
      self->sentinel_->ask();
    self->watch_topology();
  });
}

void redis_router::update_health(std::string_view reason) {
  bool up = false;
  if (config_.kind != deployment::cluster) {
    up = primary_ && primary_->commands->connected() && primary_->events->connected();
  } else if (!slots_.empty()) {
    up = true;
    std::set<node*> owners;
    for (auto* n : slots_) {
      if (!n) {
        up = false;
        break;
      }
      owners.insert(n);
    }
    for (auto* n : owners)
      up = up && n->commands->connected() && n->events->connected();
  }
  healthy_.store(up, std::memory_order_release);
  if (up == reported_healthy_)
    return;
  reported_healthy_ = up;
  if (on_health_)
    on_health_(up, reason);
}

} // namespace pulse::transport
