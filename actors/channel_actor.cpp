#include <pulse/channel_actor.hpp>
#include <pulse/errors.hpp>
#include <pulse/jwt.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/phoenix_codec.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/make_message.hpp>
#include <caf/system_messages.hpp>

#include <cstdio>
#include <random>

namespace pulse {

namespace json = boost::json;
namespace phoenix = transport::phoenix;

namespace {

/// A name unique enough to tell two incarnations of a topic's actor apart (history epochs,
/// presence refs), across restarts and nodes.
std::string random_name() {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(generator()));
  return text;
}

/// "o17": a broadcast's offset, as its frame's ref carries it (see the protocol).
std::string offset_ref(std::uint64_t offset) {
  std::string ref(1, 'o'); // not "o" + ...: GCC 12 warns falsely (-Wrestrict) in Release
  ref += std::to_string(offset);
  return ref;
}

} // namespace

channel_actor::channel_actor(caf::actor_config& config, std::string topic,
                             std::shared_ptr<channel_definition> definition, actor_metrics* metrics,
                             std::shared_ptr<topic_directory> directory,
                             std::shared_ptr<redis_broker> broker)
    : caf::event_based_actor(config), topic_(std::move(topic)), definition_(std::move(definition)),
      settings_(definition_->settings()), channel_(definition_->make()), metrics_(metrics),
      directory_(std::move(directory)), incarnation_(random_name()),
      presence_(topic_, incarnation_, broker), broker_(std::move(broker)) {
  if (settings_->history.enabled())
    history_.emplace(settings_->history, random_name());
  channel_->actor_ = this;
  for (auto& entry : channel_->handlers())
    handlers_[entry.event] = entry.fn;
  for (auto& entry : settings_->handlers)
    handlers_[entry.event] = entry.fn;
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
    if (subscribers_.find(id))
      handle_unsubscribe(id, nullptr); // the connection vanished: unsubscribe it
    else
      remove_listener(id);
    after_message();
  });
  // Every handler ends with after_message(): what was queued goes out once the mailbox is empty
  // (or enough piled up), so a burst reaches each connection as one message.
  return {
    [this](messages::subscribe& msg) {
      if (forward_if_retiring(msg, true))
        return;
      handle_subscribe(msg);
      after_message();
    },
    [this](messages::push& msg) {
      handle_push(msg);
      after_message();
    },
    [this](messages::unsubscribe& msg) {
      handle_unsubscribe(msg.connection, &msg.join_ref);
      if (msg.answer) // behind what the leaver was sent while subscribed (flushed above)
        send(caf::actor_cast<caf::actor>(current_sender()),
             messages::left{topic_, std::move(msg.join_ref), std::move(msg.ref)});
      after_message();
    },
    [this](messages::answer& msg) {
      handle_answer(msg);
      after_message();
    },
    [this](messages::request_expired& msg) {
      if (auto pending = requests_.take(msg.request_id))
        finish_request(msg.request_id, std::move(*pending), {answer::outcome::timeout, {}});
      after_message();
    },
    [this](messages::publish& msg) {
      if (forward_if_retiring(msg, false))
        return;
      try {
        broadcast(msg.event, msg.payload, nullptr);
      } catch (const std::exception& e) { // server code's broadcast: nobody to answer
        log().error("channel {}: broadcast of \"{}\" failed: {}", topic_, msg.event, e.what());
      }
      after_message();
    },
    [this](messages::dispatch& msg) {
      if (forward_if_retiring(msg, true))
        return;
      handle_dispatch(msg);
      after_message();
    },
    [this](messages::listen& msg) {
      if (forward_if_retiring(msg, true))
        return;
      ++idle_generation_; // a linger under way is over
      monitor(msg.listener);
      listeners_.push_back(std::move(msg.listener));
      after_message();
    },
    [this](messages::unlisten& msg) {
      if (forward_if_retiring(msg, false))
        return;
      remove_listener(msg.listener);
      after_message();
    },
    [this](messages::linger_expired& msg) {
      if (msg.generation == idle_generation_ && subscribers_.empty() && listeners_.empty())
        retire();
      else
        after_message();
    },
    [this](messages::count_atom) {
      after_message();
      return subscribers_.size();
    },
    [this](messages::presence_atom) {
      after_message();
      return json::serialize(presence_.list());
    },
    [this](messages::remote_batch& msg) {
      for (auto& broadcast : msg.broadcasts)
        handle_remote(broadcast);
      after_message();
    },
    [this](messages::stream_gap& msg) {
      notify_gap(msg);
      after_message();
    },
    [this](messages::share_atom) {
      share_due_ = false;
      share(true);
      after_message();
    },
    [this](messages::drained_atom) {
      // Everything this channel published came back from Redis and is queued: out it goes.
      subscribers_.flush(context());
      for (auto& promise : draining_)
        promise.deliver(caf::unit);
      draining_.clear();
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
      presence_.beat(caf::actor_cast<caf::actor>(this));
      delayed_send(this, redis_broker::presence_heartbeat, messages::presence_tick_atom::value);
      after_message();
    },
    [this](messages::presence_fetched& msg) {
      for (auto& diff : presence_.fetched(msg.records)) {
        // Every node tells its own subscribers that a silent node's presences left: no ghosts.
        any_payload p{json::value(std::move(diff))};
        subscribers_.queue_broadcast(encode_broadcast("presence_diff", p, std::nullopt, false));
        tell_listeners("presence_diff", p);
      }
      after_message();
    },
    [this](messages::publish_failed& msg) {
      // Redis did not take them in time: this node's subscribers get them at least.
      for (auto& unsent : msg.broadcasts)
        subscribers_.queue_broadcast(frames_from_tail(unsent.tail, std::nullopt, false),
                                     unsent.except);
      after_message();
    },
    [this](messages::drain_atom) {
      // Processed in order: everything sent to this channel before is on its way now. With
      // Redis, what it published is on its way back, too: the answer waits for it.
      if (!broker_)
        return subscribers_.flush(context());
      share(true);
      draining_.push_back(make_response_promise());
      broker_->drain(topic_, caf::actor_cast<caf::actor>(this));
    },
    [this](messages::stop_atom) { quit(); },
  };
}

void channel_actor::after_message() {
  if (!shared_.empty())
    share(false);
  // Bounded: a mailbox that never empties still gets its frames out every so often.
  constexpr std::size_t max_queued_frames = 64;
  if (subscribers_.has_queued()
      && (subscribers_.queued_frames() >= max_queued_frames || mailbox().empty()))
    subscribers_.flush(context());
}

void channel_actor::on_exit() {
  subscribers_.flush(context());
  // A drain under way when the channel retires: what it published is out; the stop goes on.
  for (auto& promise : draining_)
    promise.deliver(caf::unit);
  draining_.clear();
  if (broker_) {
    share(true);
    broker_->leave(topic_, id());
  }
  presence_.forget();
  // Break reference cycles with the connections and listeners.
  subscribers_.clear();
  listeners_.clear();
  requests_.clear();
  history_.reset();
  directory_ = nullptr;
  channel_.reset();
}

// ---- subscription ------------------------------------------------------------------------------

void channel_actor::handle_subscribe(messages::subscribe& msg) {
  if (syncing_) {
    held_joins_.push_back(std::move(msg)); // answered once the shared history is here
    return;
  }
  ++idle_generation_;
  auto connection_id = msg.connection.id();
  if (subscribers_.find(connection_id))
    handle_unsubscribe(connection_id, nullptr); // one subscription per connection and topic

  static const auto anonymous = std::make_shared<const connection_identity>();
  pulse::subscriber candidate{msg.connection, msg.join_ref, std::move(msg.params),
                              msg.identity ? std::move(msg.identity) : anonymous, msg.format};
  pulse::context ctx{*this, &candidate, {}, &msg.ref, true};
  if (settings_->channel_tokens && !check_channel_token(candidate, ctx))
    return refuse(msg, ctx);
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
  if (ctx.is_rejected())
    return refuse(msg, ctx);

  // In this order, before anything live: the reply, what it missed, who is here, what the join
  // handler sent it.
  auto response = ctx.join_response_.value_or(json::object{});
  json::object scratch; // a response that is no object gets no history position
  auto missed = history_ ? history_->recover(candidate.params(),
                                             response.is_object() ? response.get_object() : scratch)
                         : std::vector<transport::outbound_frame>{};
  std::vector<transport::outbound_frame> frames;
  frames.reserve(2 + missed.size() + held.size());
  frames.push_back(
    phoenix::encode_reply(msg.format, msg.join_ref, msg.ref, topic_, true, response));
  for (auto& frame : missed) // kept as V2: the others are made when asked for
    if (auto converted = phoenix::convert(frame, msg.format); !converted.empty())
      frames.push_back(std::move(converted));
  if (presence_.in_use())
    frames.push_back(
      phoenix::encode_push(msg.format, msg.join_ref, topic_, "presence_state", presence_.list()));
  for (auto& frame : held)
    frames.push_back(std::move(frame));
  // What was queued before this join is not for the joiner: out it goes first.
  subscribers_.flush(context());
  send(msg.connection, messages::joined{topic_, msg.join_ref, caf::actor_cast<caf::actor>(this),
                                        std::move(frames)});
  monitor(msg.connection);
  subscribers_.add(std::move(candidate));
  actor_metrics::add(metrics_->joins);
}

bool channel_actor::check_channel_token(pulse::subscriber& candidate, pulse::context& ctx) {
  auto* token = candidate.params().if_contains("token");
  auto checked = settings_->channel_tokens->verify_channel(
    token && token->is_string() ? std::string_view{token->get_string()} : std::string_view{},
    topic_, user_id_of(candidate.identity->identity));
  if (!checked) {
    log().info("channel {}: join refused (join_ref {}): {}", topic_, candidate.join_ref,
               checked.error);
    ctx.reject(checked.error);
    return false;
  }
  candidate.assigns()["channel_claims"] = std::move(*checked.claims);
  return true;
}

void channel_actor::refuse(messages::subscribe& msg, const pulse::context& ctx) {
  auto connection_id = msg.connection.id();
  actor_metrics::add(metrics_->join_refusals);
  send(msg.connection, messages::join_refused{
                         topic_, msg.join_ref,
                         phoenix::encode_reply(msg.format, msg.join_ref, msg.ref, topic_, false,
                                               ctx.join_response_.value_or(json::object{}))});
  for (auto id : requests_.open_to(connection_id)) // asked during the join, then refused
    if (auto pending = requests_.take(id))
      finish_request(id, std::move(*pending), {answer::outcome::gone, {}});
  if (auto diff = presence_.leave(connection_id)) // tracked, then refused
    share_presence(*diff);
  check_idle();
}

void channel_actor::handle_unsubscribe(caf::actor_id connection, const std::string* join_ref) {
  auto* current = subscribers_.find(connection);
  if (!current || (join_ref && current->join_ref != *join_ref))
    return; // gone already, or an older subscription of this connection
  // What it was sent while subscribed goes out first; a broadcast from on_unsubscribe ("X
  // left") then skips the leaver.
  subscribers_.flush(context());
  auto gone = std::move(*subscribers_.remove(connection, join_ref));
  demonitor(gone.connection);
  for (auto id : requests_.open_to(connection))
    if (auto pending = requests_.take(id))
      finish_request(id, std::move(*pending), {answer::outcome::gone, {}});

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
  if (auto diff = presence_.leave(connection))
    share_presence(*diff);
  check_idle();
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
  if (!subscribers_.empty() || !listeners_.empty() || retiring_ || settings_->is_persistent())
    return;
  if (settings_->linger.count() > 0) {
    delayed_send(this, settings_->linger, messages::linger_expired{++idle_generation_});
    return;
  }
  retire();
}

void channel_actor::retire() {
  if (retiring_)
    return;
  retiring_ = true;
  subscribers_.flush(context());
  // Out of the directory: nothing new reaches this actor through it, and what did is in the
  // mailbox ahead of the stop, to be forwarded to the topic's next actor.
  directory_->retire(topic_, id());
  send(this, messages::stop_atom::value);
}

template<class Message>
bool channel_actor::forward_if_retiring(Message& msg, bool start) {
  if (!retiring_)
    return false;
  if (directory_)
    directory_->send(topic_, std::move(msg), start, current_sender(), context());
  return true;
}

// ---- events ------------------------------------------------------------------------------------

void channel_actor::handle_push(messages::push& msg) {
  auto* sub = subscribers_.find(msg.connection);
  if (!sub || sub->join_ref != msg.join_ref) {
    // The connection left or joined again while this push was on its way.
    if (msg.ref)
      if (auto origin = caf::actor_cast<caf::actor>(current_sender()))
        send(origin, messages::push_unmatched{topic_, std::move(msg.ref)});
    return;
  }
  pulse::context ctx{*this, sub, std::move(msg.event), &msg.ref, false};
  run_handler(ctx, msg.payload);
}

void channel_actor::handle_dispatch(messages::dispatch& msg) {
  ++idle_generation_;
  pulse::context ctx{*this, nullptr, std::move(msg.event), nullptr, false};
  run_handler(ctx, msg.payload);
  check_idle();
}

void channel_actor::run_handler(pulse::context& ctx, const any_payload& p) {
  auto it = handlers_.find(ctx.event());
  if (it == handlers_.end()) {
    log().info("channel {}: no handler for event \"{}\"", topic_, ctx.event());
    ctx.reply_error(json::object{
      {"reason", "unknown event"}, {"event", ctx.event()}, {"expected", handled_events_}});
    return;
  }
  auto ref = ctx.ref_ && *ctx.ref_ ? **ctx.ref_ : std::string{"none"};
  try {
    auto result = it->second(*channel_, ctx, p);
    if (result && !ctx.has_replied()) {
      if (auto* bytes = std::get_if<binary>(&*result))
        ctx.reply(std::move(*bytes));
      else
        ctx.reply(std::move(std::get<json::value>(*result)));
    }
  } catch (const payload_error& e) {
    actor_metrics::add(metrics_->invalid_payloads);
    log().info("channel {}: \"{}\" (ref {}) refused: {}", topic_, ctx.event(), ref, e.what());
    if (!ctx.has_replied())
      ctx.reply_error(e.response());
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

void channel_actor::handle_answer(messages::answer& msg) {
  auto found = requests_.take_answered(msg.request_ref, msg.connection);
  if (!found)
    return; // expired already, or not this client's to answer
  finish_request(found->first, std::move(found->second),
                 {msg.ok ? answer::outcome::ok : answer::outcome::error, std::move(msg.response)});
}

void channel_actor::finish_request(std::uint64_t id, server_requests::pending pending,
                                   answer result) {
  if (!pending.on_answer)
    return;
  pulse::context ctx{*this, subscribers_.find(pending.connection), {}, nullptr, false};
  try {
    pending.on_answer(ctx, result);
  } catch (const std::exception& e) {
    log().error("channel {}: answer handler of request {} threw: {}", topic_,
                server_requests::ref_of(id), e.what());
  }
}

void channel_actor::tell_listeners(std::string_view event, const any_payload& p) {
  if (listeners_.empty())
    return;
  // Built once, shared by every listener.
  pulse::event e{topic_, std::string{event}, {}, {}, is_binary(p)};
  if (auto* bytes = std::get_if<binary>(&p))
    e.bytes = *bytes;
  else
    e.payload = std::get<json::value>(p);
  auto msg = caf::make_message(std::move(e));
  for (auto& listener : listeners_)
    listener->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, msg),
                      context());
}

// ---- output ------------------------------------------------------------------------------------

frame_set channel_actor::encode_broadcast(std::string_view event, const any_payload& p,
                                          const std::optional<std::string>& offset,
                                          bool for_history) const {
  frame_set frames;
  for (std::size_t f = 0; f < frames.size(); ++f) {
    auto format = static_cast<phoenix::wire_format>(f);
    if (subscribers_.speaking(format) == 0 && !(for_history && format == phoenix::wire_format::v2))
      continue;
    if (auto* bytes = std::get_if<binary>(&p)) {
      if (format == phoenix::wire_format::v2) // V1 has no binary frames
        frames[f] = phoenix::encode_binary_broadcast(topic_, event, bytes->view());
    } else {
      frames[f] = phoenix::encode_broadcast(format, topic_, event, std::get<json::value>(p),
                                            offset);
    }
  }
  return frames;
}

frame_set channel_actor::frames_from_tail(std::string_view tail,
                                          const std::optional<std::string>& offset,
                                          bool for_history) const {
  frame_set frames;
  for (std::size_t f = 0; f < frames.size(); ++f) {
    auto format = static_cast<phoenix::wire_format>(f);
    if (subscribers_.speaking(format) > 0 || (for_history && format == phoenix::wire_format::v2))
      frames[f] = phoenix::broadcast_from_tail(format, tail, offset);
  }
  return frames;
}

void channel_actor::broadcast(std::string_view event, const any_payload& p,
                              const pulse::subscriber* except, bool kept) {
  actor_metrics::add(metrics_->broadcasts);
  bool keep = kept && history_;
  auto skipped = except ? except->id() : caf::actor_id{0};
  if (broker_) {
    // Through Redis, which numbers it and hands it to every node, this one included.
    auto* bytes = std::get_if<binary>(&p);
    shared_.push_back(
      {skipped, keep,
       bytes ? phoenix::encode_binary_broadcast_tail(topic_, event, bytes->view())
             : phoenix::encode_broadcast_tail(topic_, event, std::get<json::value>(p))});
  } else if (keep || subscribers_.size() > (except ? 1u : 0u)) {
    std::optional<std::string> offset;
    if (keep)
      offset = offset_ref(history_->next_offset());
    auto frames = encode_broadcast(event, p, offset, keep);
    if (keep)
      history_->append(frames[0]);
    actor_metrics::add(metrics_->deliveries, subscribers_.size() - (except ? 1 : 0));
    subscribers_.queue_broadcast(std::move(frames), skipped);
  }
  tell_listeners(event, p);
}

void channel_actor::deliver(const pulse::subscriber& to, transport::outbound_frame frame) {
  if (&to == joining_) {
    join_held_.push_back(std::move(frame));
    return;
  }
  subscribers_.queue_for(to, std::move(frame));
}

void channel_actor::push(const pulse::subscriber& to, std::string_view event,
                         const any_payload& p) {
  auto* bytes = std::get_if<binary>(&p);
  if (!bytes)
    return deliver(to, phoenix::encode_push(to.format, to.join_ref, topic_, event,
                                            std::get<json::value>(p)));
  if (to.format == phoenix::wire_format::v2)
    return deliver(to, phoenix::encode_binary_push(to.join_ref, topic_, event, bytes->view()));
  log().debug("channel {}: \"{}\" is bytes, which a V1 client cannot receive: not sent", topic_,
              event);
}

void channel_actor::reply(const pulse::subscriber& to, const std::optional<std::string>& ref,
                          bool ok, const any_payload& response) {
  auto* bytes = std::get_if<binary>(&response);
  if (!bytes)
    return deliver(to, phoenix::encode_reply(to.format, to.join_ref, ref, topic_, ok,
                                             std::get<json::value>(response)));
  if (to.format == phoenix::wire_format::v2)
    return deliver(to, phoenix::encode_binary_reply(to.join_ref, ref, topic_, ok, bytes->view()));
  deliver(to, phoenix::encode_error_reply(to.format, to.join_ref, ref, topic_,
                                          "the reply is bytes, which a V1 client cannot receive: "
                                          "connect with vsn=2.0.0"));
}

void channel_actor::request(pulse::subscriber& to, std::string_view event,
                            const json::value& payload, std::chrono::milliseconds timeout,
                            answer_handler on_answer) {
  auto id = requests_.open(to.id(), std::move(on_answer));
  deliver(to, phoenix::encode_request(to.format, to.join_ref, server_requests::ref_of(id), topic_,
                                      event, payload));
  delayed_send(this, timeout, messages::request_expired{id});
}

void channel_actor::fail(std::string_view reason) {
  log().error("channel {} fails: {}", topic_, reason);
  // Out of the directory before its subscribers hear of it, so that their rejoins meet a
  // fresh actor.
  retiring_ = true;
  directory_->retire(topic_, id());
  quit(caf::make_error(caf::sec::runtime_error, std::string{reason}));
}

std::vector<binary> channel_actor::recent_bytes(std::string_view event, std::size_t max) const {
  std::vector<binary> found;
  if (!history_ || max == 0)
    return found;
  history_->visit_newest([&](const transport::outbound_frame& frame) {
    if (frame.is_binary())
      if (auto content = phoenix::read_tail(frame.payload()); content && content->event == event)
        found.emplace_back(std::move(content->bytes));
    return found.size() < max;
  });
  std::reverse(found.begin(), found.end());
  return found;
}

std::vector<json::value> channel_actor::recent(std::string_view event, std::size_t max) const {
  std::vector<json::value> found;
  if (!history_ || max == 0)
    return found;
  history_->visit_newest([&](const transport::outbound_frame& frame) {
    if (frame.is_binary())
      return true; // bytes: not what recent() offers
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

// ---- presence ----------------------------------------------------------------------------------

void channel_actor::track(const pulse::subscriber& who, std::string_view key, json::object meta) {
  share_presence(presence_.track(who.id(), key, std::move(meta)));
}

void channel_actor::update(const pulse::subscriber& who, std::string_view key, json::object meta) {
  if (auto diff = presence_.update(who.id(), key, std::move(meta)))
    share_presence(*diff);
}

void channel_actor::untrack(const pulse::subscriber& who, std::string_view key) {
  if (auto diff = presence_.untrack(who.id(), key))
    share_presence(*diff);
}

void channel_actor::share_presence(const json::object& diff) {
  if (!broker_) {
    broadcast("presence_diff", any_payload{json::value(diff)}, nullptr, false);
    return;
  }
  // Stored first: a node that hears the diff finds the list in Redis already.
  presence_.store();
  shared_.push_back({0, false, phoenix::encode_broadcast_tail(topic_, "presence_diff", diff)});
  tell_listeners("presence_diff", any_payload{json::value(diff)});
  start_heartbeat();
}

void channel_actor::start_heartbeat() {
  if (presence_.start_heartbeat())
    delayed_send(this, redis_broker::presence_heartbeat, messages::presence_tick_atom::value);
}

// ---- scale-out ---------------------------------------------------------------------------------

void channel_actor::handle_remote(messages::remote_broadcast& msg) {
  if (syncing_) {
    held_broadcasts_.push_back(std::move(msg));
    return;
  }
  std::optional<std::string> offset;
  if (msg.offset > 0) {
    if (history_ && msg.offset <= history_->last_offset())
      return; // already in the history loaded from Redis
    offset = offset_ref(msg.offset);
  }
  auto keep = history_ && msg.offset > 0;
  auto frames = frames_from_tail(msg.tail, offset, keep);
  if (keep)
    history_->append_at(msg.offset, frames[0]);
  auto skipped = msg.own && subscribers_.find(msg.except) ? msg.except : caf::actor_id{0};
  if (subscribers_.size() > (skipped ? 1u : 0u)) {
    actor_metrics::add(metrics_->deliveries, subscribers_.size() - (skipped ? 1 : 0));
    subscribers_.queue_broadcast(std::move(frames), skipped);
  }
  if (msg.own)
    return; // listeners heard it as it was made; presence: this node's own table
  bool is_presence = presence_.is_diff(msg.tail);
  if (!is_presence && listeners_.empty())
    return;
  // Decoded here, once, and only when it matters.
  auto content = phoenix::read_tail(msg.tail);
  if (!content)
    return;
  if (auto* diff = content->json.if_object(); is_presence && diff) {
    presence_.heard(*diff);
    start_heartbeat();
  }
  tell_listeners(content->event, content->is_binary ? any_payload{binary{std::move(content->bytes)}}
                                                    : any_payload{std::move(content->json)});
}

void channel_actor::handle_history(messages::history_loaded& msg) {
  // Already serving (alone, or under a history that Redis no longer has): its subscribers'
  // positions are void.
  bool reset = !syncing_;
  if (history_) {
    history_->reset(msg.epoch,
                    msg.entries.empty() ? msg.last_offset : msg.entries.front().offset - 1);
    auto now = message_history::clock::now();
    for (auto& entry : msg.entries)
      history_->append_at(entry.offset,
                          phoenix::broadcast_from_tail(phoenix::wire_format::v2, entry.tail,
                                                       offset_ref(entry.offset)),
                          now - entry.age);
    if (history_->last_offset() < msg.last_offset)
      history_->reset(msg.epoch, msg.last_offset); // the stream lost its tail: keep nothing
  }
  presence_.loaded(msg.presences);
  start_heartbeat();
  syncing_ = false;
  auto broadcasts = std::move(held_broadcasts_);
  held_broadcasts_.clear();
  for (auto& held : broadcasts)
    handle_remote(held);
  auto joins = std::move(held_joins_);
  held_joins_.clear();
  for (auto& join : joins)
    handle_subscribe(join);
  if (reset)
    notify_gap({msg.epoch, msg.last_offset});
}

void channel_actor::share(bool now) {
  if (shared_.empty())
    return;
  // Batched like the fan-out: one round trip to Redis for what one burst broadcast. A message
  // to itself, behind the burst, makes sure the batch leaves even if the burst ends with a
  // message that does not send.
  constexpr std::size_t max_shared = 256;
  if (!now && shared_.size() < max_shared && !mailbox().empty()) {
    if (!std::exchange(share_due_, true))
      send(this, messages::share_atom::value);
    return;
  }
  broker_->publish(topic_, std::move(shared_), caf::actor_cast<caf::actor>(this));
  shared_.clear();
}

void channel_actor::notify_gap(const messages::stream_gap& gap) {
  json::object position;
  if (history_) {
    if (gap.offset > history_->last_offset()) // what it kept before the gap recovers nobody now
      history_->reset(gap.epoch.empty() ? history_->epoch() : gap.epoch, gap.offset);
    position["epoch"] = history_->epoch();
    position["offset"] = history_->last_offset();
  }
  any_payload p{json::value(std::move(position))};
  if (!subscribers_.empty())
    subscribers_.queue_broadcast(encode_broadcast("pulse_gap", p, std::nullopt, false));
  tell_listeners("pulse_gap", p);
}

} // namespace pulse
