#include "actors/channel_actor.hpp"

#include "actors/errors.hpp"
#include "transport/log.hpp"
#include "transport/phoenix_codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>
#include <caf/system_messages.hpp>

#include <charconv>
#include <cstdio>
#include <random>

namespace pulse {

namespace json = boost::json;
namespace phoenix = transport::phoenix;

namespace {

/// Hands one prebuilt message to `to`: the message content is shared, not copied.
void enqueue_shared(const caf::actor& to, const caf::message& msg, caf::execution_unit* host) {
  to->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, msg), host);
}

/// A name unique enough to tell two incarnations of a topic's actor apart (history epochs,
/// presence refs), across restarts and nodes.
std::string random_name() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
  return text;
}

/// A non-negative integer param given as a number or a numeric string.
std::optional<std::uint64_t> offset_param(const json::object& params, std::string_view key) {
  auto* value = params.if_contains(key);
  if (!value)
    return std::nullopt;
  if (value->is_int64() && value->get_int64() >= 0)
    return static_cast<std::uint64_t>(value->get_int64());
  if (value->is_uint64())
    return value->get_uint64();
  if (auto* text = value->if_string()) {
    std::uint64_t parsed = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), parsed);
    if (ec == std::errc{} && end == text->data() + text->size())
      return parsed;
  }
  return std::nullopt;
}

/// Asks for an object's first two cache lines, ahead of its use.
void prefetch(const void* object) {
  auto* bytes = static_cast<const char*>(object);
  __builtin_prefetch(bytes);
  __builtin_prefetch(bytes + 64);
}

/// "o17", "s3": a letter that says what the number is (see the protocol).
std::string prefixed(char letter, std::uint64_t number) {
  std::string out(1, letter);
  out += std::to_string(number);
  return out;
}

std::optional<std::uint64_t> parse_request_ref(std::string_view ref) {
  if (ref.size() < 2 || ref.front() != 's')
    return std::nullopt;
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(ref.data() + 1, ref.data() + ref.size(), id);
  if (ec != std::errc{} || end != ref.data() + ref.size())
    return std::nullopt;
  return id;
}

} // namespace

channel_actor::channel_actor(caf::actor_config& config, std::string topic,
                             std::shared_ptr<channel_definition> definition, actor_metrics* metrics,
                             caf::actor registry, std::shared_ptr<redis_broker> broker)
    : caf::event_based_actor(config), topic_(std::move(topic)), definition_(std::move(definition)),
      settings_(definition_->settings()), channel_(definition_->make()), metrics_(metrics),
      registry_(std::move(registry)), incarnation_(random_name()), presence_(incarnation_ + ":"),
      broker_(std::move(broker)) {
  if (settings_->history.enabled())
    history_.emplace(settings_->history, random_name());
  channel_->actor_ = this;
  for (auto& entry : channel_->handlers())
    handlers_[entry.event] = entry.fn;
  for (auto& entry : settings_->handlers)
    handlers_[entry.event] = entry.fn;
  presence_tail_head_ = json::serialize(json::string{topic_}) + R"(,"presence_diff",)";
  for (auto& [event, _] : handlers_)
    handled_events_ += (handled_events_.empty() ? "" : ", ") + event;
}

caf::behavior channel_actor::make_behavior() {
  if (broker_) {
    syncing_ = true;
    broker_->join(topic_, caf::actor_cast<caf::actor>(this),
                  history_ ? settings_->history.max_messages : 0);
    // A Redis that accepts connections but does not answer must not hold joins for ever.
    delayed_send(this, std::chrono::seconds{3}, messages::sync_timeout_atom::value);
  }
  set_down_handler([this](caf::down_msg& down) {
    auto id = down.source.id();
    if (index_.count(id))
      handle_unsubscribe(id, nullptr); // the connection vanished: unsubscribe it
    else
      remove_listener(id);
    after_message();
  });
  // Every handler ends with after_message(): what it broadcast is written once the mailbox is
  // empty (or enough piled up), so a burst of broadcasts reaches each socket in one write.
  return {
    [this](messages::subscribe& msg) {
      handle_subscribe(msg);
      after_message();
    },
    [this](messages::push& msg) {
      handle_push(msg);
      after_message();
    },
    [this](messages::unsubscribe& msg) {
      handle_unsubscribe(msg.connection, &msg.join_ref);
      after_message();
    },
    [this](messages::answer& msg) {
      handle_answer(msg);
      after_message();
    },
    [this](messages::request_expired& msg) {
      finish_request(msg.request_id, {answer::outcome::timeout, {}});
      after_message();
    },
    [this](messages::publish& msg) {
      broadcast(msg.event, msg.payload, nullptr);
      after_message();
    },
    [this](messages::dispatch& msg) {
      handle_dispatch(msg);
      after_message();
    },
    [this](messages::listen& msg) {
      ++routed_;
      idle_reported_ = false;
      monitor(msg.listener);
      listeners_.push_back(std::move(msg.listener));
    },
    [this](messages::unlisten& msg) {
      remove_listener(msg.listener);
      after_message();
    },
    [this](messages::linger_expired& msg) {
      if (msg.generation == idle_generation_ && subscribers_.empty() && listeners_.empty())
        report_idle();
    },
    [this](messages::count_atom) { return subscribers_.size(); },
    [this](messages::presence_atom) { return json::serialize(presence_.list()); },
    [this](messages::remote_broadcast& msg) {
      handle_remote(msg);
      after_message();
    },
    [this](messages::history_loaded& msg) {
      handle_history(msg);
      after_message();
    },
    [this](messages::sync_timeout_atom) {
      if (!syncing_)
        return;
      log().warn("channel {}: no shared history from Redis in time: serving alone", topic_);
      messages::history_loaded alone{"local-" + incarnation_, 0, {}, {}};
      handle_history(alone);
      after_message();
    },
    [this](messages::presence_tick_atom) {
      if (!presence_.empty())
        broker_->store_presence(topic_, incarnation_, json::serialize(presence_.list()));
      broker_->fetch_presence(topic_, caf::actor_cast<caf::actor>(this));
      delayed_send(this, redis_broker::presence_heartbeat, messages::presence_tick_atom::value);
    },
    [this](messages::presence_fetched& msg) {
      handle_presence_fetched(msg);
      after_message();
    },
    [this](messages::publish_failed& msg) {
      // Redis did not take it: this node's subscribers get it at least.
      fan_out(phoenix::broadcast_from_tail(msg.tail, std::nullopt), find(msg.except));
      after_message();
    },
    [this](messages::drain_atom) {
      // Processed in order: everything sent to this channel before is fanned out by now.
      uncork();
    },
    [this](messages::stop_atom) {
      if (subscribers_.empty() && listeners_.empty())
        quit();
    },
  };
}

void channel_actor::after_message() {
  // Bounded: a mailbox that never empties still gets its broadcasts out every so often.
  constexpr std::size_t max_corked_broadcasts = 64;
  if (!corked_.empty() && (corked_broadcasts_ >= max_corked_broadcasts || mailbox().empty()))
    uncork();
}

void channel_actor::uncork() {
  constexpr std::size_t ahead = 4;
  for (std::size_t i = 0; i < corked_.size(); ++i) {
    if (i + ahead < corked_.size())
      prefetch(corked_[i + ahead]);
    corked_[i]->flush();
  }
  corked_.clear();
  corked_broadcasts_ = 0;
}

void channel_actor::on_exit() {
  uncork();
  if (broker_) {
    broker_->leave(topic_, id());
    if (uses_presence_)
      broker_->remove_presence(topic_, incarnation_);
  }
  // Break reference cycles with the registry and the connections.
  subscribers_.clear();
  listeners_.clear();
  requests_.clear();
  history_.reset();
  registry_ = nullptr;
  channel_.reset();
}

// ---- subscribers -------------------------------------------------------------------------------

void channel_actor::handle_subscribe(messages::subscribe& msg) {
  if (syncing_) {
    held_joins_.push_back(std::move(msg)); // answered once the shared history is here
    return;
  }
  ++routed_;
  ++idle_generation_;
  idle_reported_ = false;
  auto connection_id = msg.connection.id();
  if (index_.count(connection_id))
    handle_unsubscribe(connection_id, nullptr); // one subscription per connection and topic

  pulse::subscriber candidate{msg.connection,
                              msg.join_ref,
                              std::move(msg.params),
                              {},
                              msg.identity ? std::move(msg.identity)
                                           : std::make_shared<const connection_identity>(),
                              std::move(msg.socket)};
  pulse::context ctx{*this, &candidate, {}, &msg.ref, true};
  joining_ = &candidate;
  try {
    channel_->on_subscribe(ctx);
    for (auto& hook : settings_->on_subscribe) {
      if (ctx.is_rejected())
        break;
      hook(ctx);
    }
  } catch (const reply_error& e) {
    if (!ctx.is_rejected())
      ctx.reject_with(e.response());
  } catch (const std::exception& e) {
    log().error("channel {}: on_subscribe failed (join_ref {}): {}", topic_, msg.join_ref,
                e.what());
    if (!ctx.is_rejected())
      ctx.reject("join crashed");
  }
  joining_ = nullptr;
  auto held = std::move(join_held_);
  join_held_.clear();

  if (ctx.is_rejected()) {
    candidate.socket->send(phoenix::encode_reply(msg.join_ref, msg.ref, topic_, false,
                                                 ctx.join_response_.value_or(json::object{})));
    actor_metrics::add(metrics_->join_refusals);
    send(msg.connection, messages::subscribe_refused{topic_, msg.join_ref});
    std::vector<std::uint64_t> orphans;
    for (auto& [id, pending] : requests_)
      if (pending.connection == connection_id)
        orphans.push_back(id);
    for (auto id : orphans)
      finish_request(id, {answer::outcome::gone, {}});
    if (auto diff = presence_.untrack_all(connection_id)) // tracked, then refused
      presence_changed(*diff);
    check_idle();
    return;
  }
  auto response = ctx.join_response_.value_or(json::object{});
  auto missed = recover(candidate.params, response);
  // In this order, before anything live: the reply, what it missed, who is here, what the join
  // sent it. The connection actor learns of the subscription alongside.
  auto& socket = *candidate.socket;
  socket.send(phoenix::encode_reply(msg.join_ref, msg.ref, topic_, true, response));
  for (auto& frame : missed)
    socket.send(std::move(frame));
  if (uses_presence_)
    socket.send(phoenix::encode_push(msg.join_ref, topic_, "presence_state", presence_list()));
  for (auto& frame : held)
    socket.send(std::move(frame));
  actor_metrics::add(metrics_->joins);
  send(msg.connection,
       messages::subscribed{topic_, msg.join_ref, caf::actor_cast<caf::actor>(this)});
  monitor(msg.connection);
  index_[connection_id] = subscribers_.size();
  subscribers_.push_back(std::move(candidate));
}

void channel_actor::handle_unsubscribe(caf::actor_id connection, const std::string* join_ref) {
  auto it = index_.find(connection);
  if (it == index_.end())
    return;
  uncork(); // corked_ may point at the leaver's socket
  auto position = it->second;
  if (join_ref && subscribers_[position].join_ref != *join_ref)
    return; // an older subscription of this connection, already replaced
  // Out of the fan-out first: a broadcast from on_unsubscribe ("X left") skips the leaver.
  pulse::subscriber gone = std::move(subscribers_[position]);
  index_.erase(it);
  if (position + 1 != subscribers_.size()) {
    subscribers_[position] = std::move(subscribers_.back());
    index_[subscribers_[position].connection.id()] = position;
  }
  subscribers_.pop_back();
  demonitor(gone.connection);

  std::vector<std::uint64_t> orphans;
  for (auto& [id, pending] : requests_)
    if (pending.connection == connection)
      orphans.push_back(id);
  for (auto id : orphans)
    finish_request(id, {answer::outcome::gone, {}});

  pulse::context ctx{*this, &gone, {}, nullptr, false};
  try {
    channel_->on_unsubscribe(ctx);
    for (auto& hook : settings_->on_unsubscribe)
      hook(ctx);
  } catch (const std::exception& e) {
    log().error("channel {}: on_unsubscribe failed (join_ref {}): {}", topic_, gone.join_ref,
                e.what());
  }
  // Whatever it still tracks leaves with it: no ghosts.
  if (auto diff = presence_.untrack_all(connection))
    presence_changed(*diff);
  check_idle();
}

pulse::subscriber* channel_actor::find(caf::actor_id connection) {
  auto it = index_.find(connection);
  return it == index_.end() ? nullptr : &subscribers_[it->second];
}

void channel_actor::remove_listener(caf::actor_id listener) {
  auto it = std::find_if(listeners_.begin(), listeners_.end(),
                         [listener](const caf::actor& l) { return l.id() == listener; });
  if (it == listeners_.end())
    return;
  demonitor(*it);
  listeners_.erase(it);
  check_idle();
}

void channel_actor::check_idle() {
  if (!subscribers_.empty() || !listeners_.empty() || idle_reported_ || settings_->is_persistent())
    return;
  if (settings_->linger.count() > 0) {
    delayed_send(this, settings_->linger, messages::linger_expired{++idle_generation_});
    return;
  }
  report_idle();
}

void channel_actor::report_idle() {
  if (idle_reported_)
    return;
  idle_reported_ = true;
  send(registry_, messages::channel_idle{topic_, routed_});
}

std::vector<transport::outbound_frame> channel_actor::recover(const json::object& params,
                                                              json::value& response) {
  if (!history_)
    return {};
  auto* fields = response.if_object();
  auto last_offset = offset_param(params, "last_offset");
  auto* epoch = params.if_contains("epoch");
  std::optional<std::vector<transport::outbound_frame>> missed;
  if (last_offset && epoch && epoch->is_string())
    missed = history_->since(epoch->get_string(), *last_offset);
  if (fields) {
    (*fields)["epoch"] = history_->epoch();
    (*fields)["offset"] = history_->last_offset();
    if (last_offset)
      (*fields)["recovered"] = missed.has_value();
  }
  return missed ? std::move(*missed) : std::vector<transport::outbound_frame>{};
}

// ---- events ------------------------------------------------------------------------------------

void channel_actor::handle_push(messages::push& msg) {
  auto* sub = find(msg.connection);
  if (!sub || sub->join_ref != msg.join_ref) {
    // The connection left or joined again while this push was on its way.
    if (msg.ref)
      if (auto origin = caf::actor_cast<caf::actor>(current_sender()))
        send(origin, messages::deliver{phoenix::encode_error_reply(std::nullopt, msg.ref, topic_,
                                                                   "unmatched topic")});
    return;
  }
  pulse::context ctx{*this, sub, std::move(msg.event), &msg.ref, false};
  run_handler(ctx, msg.payload);
}

void channel_actor::handle_dispatch(messages::dispatch& msg) {
  ++routed_;
  ++idle_generation_;
  idle_reported_ = false;
  pulse::context ctx{*this, nullptr, std::move(msg.event), nullptr, false};
  run_handler(ctx, msg.payload);
  check_idle();
}

void channel_actor::run_handler(pulse::context& ctx, const json::value& payload) {
  auto it = handlers_.find(ctx.event());
  if (it == handlers_.end()) {
    log().info("channel {}: no handler for event \"{}\"", topic_, ctx.event());
    ctx.reply_error(json::object{
      {"reason", "unknown event"}, {"event", ctx.event()}, {"expected", handled_events_}});
    return;
  }
  auto ref = ctx.ref_ && *ctx.ref_ ? **ctx.ref_ : std::string{"none"};
  try {
    auto result = it->second(*channel_, ctx, payload);
    if (result && !ctx.has_replied())
      ctx.reply(std::move(*result));
  } catch (const reply_error& e) {
    if (!ctx.has_replied())
      ctx.reply_error(e.response());
  } catch (const std::exception& e) {
    log().error("channel {}: handler for \"{}\" (ref {}) threw: {}", topic_, ctx.event(), ref,
                e.what());
    if (!ctx.has_replied())
      ctx.reply_error(json::object{{"reason", "internal error"}, {"event", ctx.event()}});
  } catch (...) {
    log().error("channel {}: handler for \"{}\" (ref {}) threw a non-exception", topic_,
                ctx.event(), ref);
    if (!ctx.has_replied())
      ctx.reply_error(json::object{{"reason", "internal error"}, {"event", ctx.event()}});
  }
}

// ---- output ------------------------------------------------------------------------------------

void channel_actor::broadcast(std::string_view event, const json::value& payload,
                              const pulse::subscriber* except, bool record) {
  actor_metrics::add(metrics_->broadcasts);
  bool keep = record && history_;
  if (broker_ && record) {
    // Through Redis, which numbers it and hands it to every node, this one included.
    broker_->publish(topic_, phoenix::encode_broadcast_tail(topic_, event, payload),
                     keep ? settings_->history.max_messages : 0,
                     except ? except->connection.id() : 0, caf::actor_cast<caf::actor>(this));
  } else if (keep || subscribers_.size() > (except ? 1u : 0u)) {
    std::optional<std::string> offset;
    if (keep)
      offset = prefixed('o', history_->next_offset());
    auto frame = phoenix::encode_broadcast(topic_, event, payload, offset);
    if (keep)
      history_->append(frame);
    fan_out(frame, except);
  }
  tell_listeners(event, payload);
}

void channel_actor::tell_listeners(std::string_view event, const json::value& payload) {
  if (listeners_.empty())
    return;
  auto msg = caf::make_message(pulse::event{topic_, std::string{event}, payload});
  for (auto& listener : listeners_)
    enqueue_shared(listener, msg, context());
}

void channel_actor::fan_out(const transport::outbound_frame& frame,
                            const pulse::subscriber* except) {
  if (subscribers_.size() <= (except ? 1u : 0u))
    return;
  // Each socket lives apart on the heap: fetching the ones a few steps ahead hides the memory
  // latency that otherwise dominates the loop past a few thousand subscribers.
  constexpr std::size_t ahead = 8;
  auto count = subscribers_.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (i + ahead < count)
      prefetch(subscribers_[i + ahead].socket.get());
    auto& sub = subscribers_[i];
    if (&sub != except && sub.socket->queue(frame))
      corked_.push_back(sub.socket.get());
  }
  ++corked_broadcasts_;
  actor_metrics::add(metrics_->deliveries, subscribers_.size() - (except ? 1 : 0));
}

void channel_actor::handle_remote(messages::remote_broadcast& msg) {
  if (syncing_) {
    held_broadcasts_.push_back(std::move(msg));
    return;
  }
  std::optional<std::string> offset;
  if (msg.offset > 0) {
    if (history_ && msg.offset <= history_->last_offset())
      return; // already in the history loaded from Redis
    offset = prefixed('o', msg.offset);
  }
  auto frame = phoenix::broadcast_from_tail(msg.tail, offset);
  if (history_ && msg.offset > 0)
    history_->append_at(msg.offset, frame);
  fan_out(frame, msg.own ? find(msg.except) : nullptr);
  if (msg.own)
    return; // listeners heard it as it was made; presence: this node's own table
  bool presence = msg.tail.starts_with(presence_tail_head_);
  if (!presence && listeners_.empty())
    return;
  // Decoded here, once, and only when it matters.
  boost::system::error_code ec;
  auto parsed = json::parse("[" + msg.tail, ec);
  auto* fields = ec ? nullptr : parsed.if_array();
  if (!fields || fields->size() != 3 || !fields->at(1).is_string())
    return;
  if (auto* diff = fields->at(2).if_object(); presence && diff) {
    uses_presence_ = true;
    auto now = std::chrono::steady_clock::now();
    for (auto& incarnation : remote_presence_.apply(*diff))
      hear_presence(incarnation, now);
  }
  tell_listeners(fields->at(1).get_string(), fields->at(2));
}

std::vector<json::value> channel_actor::recent(std::string_view event, std::size_t max) const {
  std::vector<json::value> found;
  if (!history_ || max == 0)
    return found;
  history_->visit_newest([&](const transport::outbound_frame& frame) {
    boost::system::error_code ec;
    auto parsed = json::parse(frame.payload(), ec); // [null, "o17", topic, event, payload]
    auto* fields = ec ? nullptr : parsed.if_array();
    if (fields && fields->size() == 5 && fields->at(3).is_string()
        && fields->at(3).get_string() == event)
      found.push_back(std::move(fields->at(4)));
    return found.size() < max;
  });
  std::reverse(found.begin(), found.end());
  return found;
}

json::object channel_actor::presence_list() const {
  auto list = presence_.list();
  remote_presence_.merge_into(list);
  return list;
}

void channel_actor::presence_changed(const json::object& diff) {
  if (!broker_) {
    broadcast("presence_diff", diff, nullptr, false);
    return;
  }
  // Stored first: a node that hears the diff finds the list in Redis already.
  broker_->store_presence(topic_, incarnation_, json::serialize(presence_.list()));
  broker_->publish(topic_, phoenix::encode_broadcast_tail(topic_, "presence_diff", diff), 0, 0,
                   caf::actor_cast<caf::actor>(this));
  tell_listeners("presence_diff", diff);
  start_presence_ticks();
}

void channel_actor::hear_presence(const std::string& incarnation,
                                  std::chrono::steady_clock::time_point at) {
  if (incarnation == incarnation_)
    return;
  auto [it, added] = heard_.try_emplace(incarnation, at);
  if (!added && at > it->second)
    it->second = at;
  start_presence_ticks();
}

void channel_actor::start_presence_ticks() {
  if (presence_ticking_ || !broker_)
    return;
  presence_ticking_ = true;
  delayed_send(this, redis_broker::presence_heartbeat, messages::presence_tick_atom::value);
}

void channel_actor::handle_presence_fetched(messages::presence_fetched& msg) {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::string> gone;
  for (auto& record : msg.records) {
    if (record.incarnation == incarnation_)
      continue;
    if (record.age > redis_broker::presence_timeout)
      gone.push_back(record.incarnation); // silent for too long: its node is gone
    else
      hear_presence(record.incarnation, now - record.age);
  }
  for (auto& [incarnation, at] : heard_)
    if (now - at > redis_broker::presence_timeout)
      gone.push_back(incarnation);
  for (auto& incarnation : gone) {
    heard_.erase(incarnation);
    broker_->remove_presence(topic_, incarnation);
    // Every node tells its own subscribers: no ghosts.
    if (auto diff = remote_presence_.drop(incarnation)) {
      fan_out(phoenix::encode_broadcast(topic_, "presence_diff", *diff), nullptr);
      tell_listeners("presence_diff", *diff);
    }
  }
}

void channel_actor::handle_history(messages::history_loaded& msg) {
  if (history_) {
    history_->reset(msg.epoch,
                    msg.entries.empty() ? msg.last_offset : msg.entries.front().offset - 1);
    auto now = message_history::clock::now();
    for (auto& entry : msg.entries)
      history_->append_at(entry.offset,
                          phoenix::broadcast_from_tail(entry.tail, prefixed('o', entry.offset)),
                          now - entry.age);
    if (history_->last_offset() < msg.last_offset)
      history_->reset(msg.epoch, msg.last_offset); // the stream lost its tail: keep nothing
  }
  auto now = std::chrono::steady_clock::now();
  for (auto& record : msg.presences) {
    if (record.incarnation == incarnation_ || record.age > redis_broker::presence_timeout)
      continue;
    boost::system::error_code ec;
    auto list = json::parse(record.list, ec);
    if (ec || !list.is_object())
      continue;
    remote_presence_.replace(record.incarnation, list.get_object());
    hear_presence(record.incarnation, now - record.age);
    uses_presence_ = true;
  }
  syncing_ = false;
  auto broadcasts = std::move(held_broadcasts_);
  held_broadcasts_.clear();
  for (auto& held : broadcasts)
    handle_remote(held);
  auto joins = std::move(held_joins_);
  held_joins_.clear();
  for (auto& join : joins)
    handle_subscribe(join);
}

void channel_actor::deliver(const pulse::subscriber& to, transport::outbound_frame frame) {
  if (&to == joining_) {
    join_held_.push_back(std::move(frame));
    return;
  }
  to.socket->send(std::move(frame));
}

void channel_actor::reply(const pulse::subscriber& to, const std::optional<std::string>& ref,
                          bool ok, const json::value& response) {
  deliver(to, phoenix::encode_reply(to.join_ref, ref, topic_, ok, response));
}

void channel_actor::request(pulse::subscriber& to, std::string_view event,
                            const json::value& payload, std::chrono::milliseconds timeout,
                            answer_handler on_answer) {
  auto id = ++next_request_;
  requests_.emplace(id, pending_request{to.connection.id(), std::move(on_answer)});
  deliver(to, phoenix::encode_request(to.join_ref, prefixed('s', id), topic_, event, payload));
  delayed_send(this, timeout, messages::request_expired{id});
}

void channel_actor::fail(std::string_view reason) {
  log().error("channel {} fails: {}", topic_, reason);
  send(registry_, messages::channel_failed{topic_, std::string{reason}});
  quit(caf::make_error(caf::sec::runtime_error, std::string{reason}));
}

void channel_actor::track(const pulse::subscriber& who, std::string_view key, json::object meta) {
  uses_presence_ = true;
  presence_changed(presence_.track(who.connection.id(), key, std::move(meta)));
}

void channel_actor::update(const pulse::subscriber& who, std::string_view key, json::object meta) {
  if (auto diff = presence_.update(who.connection.id(), key, std::move(meta)))
    presence_changed(*diff);
}

void channel_actor::untrack(const pulse::subscriber& who, std::string_view key) {
  if (auto diff = presence_.untrack(who.connection.id(), key))
    presence_changed(*diff);
}

void channel_actor::handle_answer(messages::answer& msg) {
  auto id = parse_request_ref(msg.request_ref);
  if (!id)
    return;
  auto it = requests_.find(*id);
  if (it == requests_.end() || it->second.connection != msg.connection)
    return; // expired already, or not this client's to answer
  finish_request(*id,
                 {msg.ok ? answer::outcome::ok : answer::outcome::error, std::move(msg.response)});
}

void channel_actor::finish_request(std::uint64_t id, answer result) {
  auto it = requests_.find(id);
  if (it == requests_.end())
    return;
  auto pending = std::move(it->second);
  requests_.erase(it);
  if (!pending.on_answer)
    return;
  pulse::context ctx{*this, find(pending.connection), {}, nullptr, false};
  try {
    pending.on_answer(ctx, result);
  } catch (const std::exception& e) {
    log().error("channel {}: answer handler of request s{} threw: {}", topic_, id, e.what());
  }
}

} // namespace pulse
