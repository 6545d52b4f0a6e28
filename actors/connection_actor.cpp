#include <pulse/connection_actor.hpp>
#include <pulse/transport/close_code.hpp>
#include <pulse/transport/log.hpp>
#include <pulse/transport/phoenix_codec.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>

namespace pulse {

namespace json = boost::json;
namespace phoenix = transport::phoenix;

namespace {

/// The transport's view of a connection actor: text in, end of connection.
class connection_bridge final : public transport::connection_handler {
 public:
  explicit connection_bridge(caf::actor actor) : actor_(std::move(actor)) {}

  void on_text(std::string&& message) override {
    caf::anon_send(actor_, messages::inbound_text{std::move(message)});
  }

  void on_binary(std::string&& message) override {
    caf::anon_send(actor_, messages::inbound_binary{std::move(message)});
  }

  void on_messages(std::vector<transport::inbound_message>&& batch) override {
    if (batch.size() == 1)
      return transport::connection_handler::on_messages(std::move(batch));
    caf::anon_send(actor_, messages::inbound_batch{std::move(batch)});
  }

  void on_closed() override {
    caf::anon_send(actor_, messages::disconnect_atom::value);
    actor_ = nullptr;
  }

  void on_shutdown() override {
    if (actor_)
      caf::anon_send(actor_, messages::shutdown_atom::value);
  }

 private:
  caf::actor actor_;
};

} // namespace

std::shared_ptr<transport::connection_handler>
open_connection(caf::actor_system& system, std::shared_ptr<transport::websocket_connection> socket,
                std::shared_ptr<topic_directory> directory, const connection_limits& limits,
                std::shared_ptr<const connection_identity> identity, actor_metrics* metrics,
                transport::phoenix::wire_format format) {
  // Lazily: it starts with its first message, on an actor thread, instead of waking one now.
  auto actor = system.spawn<connection_actor, caf::lazy_init>(std::move(socket),
                                                              std::move(directory),
                                                              std::cref(limits),
                                                              std::move(identity), metrics, format);
  return std::make_shared<connection_bridge>(std::move(actor));
}

connection_actor::connection_actor(caf::actor_config& config,
                                   std::shared_ptr<transport::websocket_connection> socket,
                                   std::shared_ptr<topic_directory> directory,
                                   const connection_limits& limits,
                                   std::shared_ptr<const connection_identity> identity,
                                   actor_metrics* metrics, transport::phoenix::wire_format format)
    : lean_actor(config), socket_(std::move(socket)), directory_(std::move(directory)),
      limits_(limits),
      identity_(identity ? std::move(identity) : std::make_shared<const connection_identity>()),
      metrics_(metrics), format_(format), tokens_(limits.max_messages_per_second) {}

void connection_actor::handle(caf::type_erased_tuple& content) {
  // The broadcast first: most of what a connection handles.
  if (content.match_elements<messages::fan_out>()) {
    handle_fan_out(content.get_as<messages::fan_out>(0)); // shared by every subscriber: read only
  } else if (content.match_elements<messages::inbound_text>()) {
    handle_text(content.get_mutable_as<messages::inbound_text>(0).text);
  } else if (content.match_elements<messages::inbound_batch>()) {
    for (auto& message : content.get_mutable_as<messages::inbound_batch>(0).messages)
      message.binary ? handle_binary(message.bytes) : handle_text(message.bytes);
  } else if (content.match_elements<messages::inbound_binary>()) {
    handle_binary(content.get_mutable_as<messages::inbound_binary>(0).bytes);
  } else if (content.match_elements<messages::joined>()) {
    handle_joined(content.get_mutable_as<messages::joined>(0));
  } else if (content.match_elements<messages::left>()) {
    handle_left(content.get_as<messages::left>(0));
  } else if (content.match_elements<messages::join_refused>()) {
    handle_refused(content.get_mutable_as<messages::join_refused>(0));
  } else if (content.match_elements<messages::push_unmatched>()) {
    auto& msg = content.get_as<messages::push_unmatched>(0);
    write(
      phoenix::encode_error_reply(format_, std::nullopt, msg.ref, msg.topic, "unmatched topic"));
  } else if (content.match_elements<caf::down_msg>()) {
    handle_channel_down(content.get_as<caf::down_msg>(0));
  } else if (content.match_elements<caf::atom_value>()) {
    auto atom = content.get_as<caf::atom_value>(0);
    if (atom == messages::disconnect_atom::value)
      return quit();
    if (atom == messages::shutdown_atom::value)
      return shut_down();
  }
  after_message();
}

void connection_actor::on_exit() {
  // A connection actor stopped from above (server shutdown) closes its socket on the way out.
  if (socket_)
    socket_->close(transport::close_code::going_away, "server shutting down");
  socket_ = nullptr;
  directory_ = nullptr;
  topics_.clear();
}

void connection_actor::prefetch_reachable() const noexcept {
  prefetch_lines(this, sizeof(*this));
  if (socket_)
    prefetch_lines(socket_.get(), transport::websocket_connection::hot_bytes);
}

void connection_actor::write(transport::outbound_frame frame) {
  if (!socket_)
    return;
  if (socket_->queue(std::move(frame)))
    must_flush_ = true;
  ++unflushed_frames_;
}

void connection_actor::after_message() {
  // Bounded: a mailbox that never empties still gets its frames written every so often.
  constexpr std::size_t max_unflushed_frames = 512;
  if (unflushed_frames_ == 0 || (more_messages() && unflushed_frames_ < max_unflushed_frames))
    return;
  unflushed_frames_ = 0;
  if (std::exchange(must_flush_, false))
    socket_->flush(); // one gather write of everything queued, from this actor's worker
}

void connection_actor::handle_fan_out(const messages::fan_out& msg) {
  auto self = id();
  for (auto& entry : msg.entries)
    if (entry.is_for(self))
      if (auto& frame = entry.in(format_); !frame.empty()) // bytes do not travel over V1
        write(frame);
}

void connection_actor::shut_down() {
  // Everything the channels sent before the stop is in the mailbox ahead of this: written.
  unflushed_frames_ = 0;
  if (std::exchange(must_flush_, false))
    socket_->flush();
  closing_ = true;
  socket_->close(transport::close_code::going_away, "server shutting down");
}

connection_actor::admission connection_actor::admit_message() {
  // A token bucket that can go into debt: every message takes a token, refused ones too, so a
  // client that keeps flooding sinks below a second's worth and is closed, while one that only
  // bursts past the rate gets a few error replies and is served again once it slows down.
  auto now = std::chrono::steady_clock::now();
  auto rate = limits_.max_messages_per_second;
  tokens_ = std::min(rate, tokens_ + std::chrono::duration<double>(now - refilled_).count() * rate);
  refilled_ = now;
  tokens_ -= 1;
  if (tokens_ >= 0)
    return admission::admitted;
  actor_metrics::add(metrics_->rejected_messages);
  if (tokens_ >= -rate)
    return admission::refused;
  log().warn("closing {}: over {} messages per second for too long", socket_->remote_address(),
             limits_.max_messages_per_second);
  socket_->close(transport::close_code::policy_violation, "rate limit exceeded");
  closing_ = true; // nothing more for this client
  return admission::closed;
}

void connection_actor::handle_text(std::string& text) {
  if (closing_)
    return;
  auto admitted = admit_message();
  if (admitted != admission::closed)
    handle_decoded(phoenix::decode(text, format_, limits_.decode), admitted);
}

void connection_actor::handle_binary(std::string& bytes) {
  if (closing_)
    return;
  if (format_ != phoenix::wire_format::v2) {
    log().info("closing {}: a binary message on a V1 connection", socket_->remote_address());
    socket_->close(transport::close_code::unsupported_data,
                   "binary messages need the V2 serializer: connect with vsn=2.0.0");
    closing_ = true;
    return;
  }
  auto admitted = admit_message();
  if (admitted != admission::closed)
    handle_decoded(phoenix::decode_binary(bytes, limits_.decode), admitted);
}

void connection_actor::handle_decoded(
  std::variant<transport::envelope, transport::decode_error> decoded, admission admitted) {
  if (admitted == admission::refused) {
    if (auto* msg = std::get_if<transport::envelope>(&decoded))
      reply_error(*msg, "rate limit exceeded: at most "
                          + std::to_string(static_cast<long long>(limits_.max_messages_per_second))
                          + " messages per second");
    return;
  }
  if (auto* msg = std::get_if<transport::envelope>(&decoded))
    return handle(std::move(*msg));
  auto& error = std::get<transport::decode_error>(decoded);
  actor_metrics::add(metrics_->rejected_messages);
  log().info("rejected message from {} (topic \"{}\", ref {}): {}", socket_->remote_address(),
             error.topic, error.ref.value_or("none"), error.reason);
  if (!error.fatal && (error.ref || error.join_ref)) {
    write(phoenix::encode_error_reply(format_, error.join_ref, error.ref,
                                      error.topic.empty() ? phoenix::system_topic : error.topic,
                                      error.reason));
    return;
  }
  // Nothing to answer to: the client does not speak the protocol.
  socket_->close(transport::close_code::invalid_payload, error.reason);
  closing_ = true;
}

void connection_actor::handle(transport::envelope&& msg) {
  using transport::intent;
  switch (msg.kind) {
    case intent::heartbeat: return reply_ok(msg);
    case intent::subscribe: return handle_subscribe(std::move(msg));
    case intent::unsubscribe: return handle_unsubscribe(std::move(msg));
    case intent::push:
    case intent::answer: {
      auto it = topics_.find(msg.topic);
      if (it == topics_.end())
        return reply_error(msg, "unmatched topic", false);
      if (msg.join_ref && *msg.join_ref != it->second.join_ref) {
        log().debug("ignored message for {} with stale join_ref {}", msg.topic, *msg.join_ref);
        return;
      }
      return forward(std::move(msg), it->second);
    }
  }
}

void connection_actor::handle_subscribe(transport::envelope&& msg) {
  if (!msg.join_ref) {
    log().info("rejected join of {} from {}: no join_ref", msg.topic, socket_->remote_address());
    return reply_error(msg, "phx_join needs a join_ref");
  }
  if (auto it = topics_.find(msg.topic); it != topics_.end()) {
    // Joining again replaces the old subscription, as Phoenix does: it is closed for good.
    auto& old = it->second;
    if (old.channel)
      send(old.channel, messages::unsubscribe{id(), old.join_ref});
    write(phoenix::encode_unsubscribed(format_, old.join_ref, msg.topic));
    auto channel = old.channel.address();
    topics_.erase(it);
    demonitor_unless_used(channel);
  }
  if (topics_.size() >= limits_.max_subscriptions) {
    log().info("rejected join of {} from {}: {} subscriptions already", msg.topic,
               socket_->remote_address(), topics_.size());
    return reply_error(msg, "too many subscriptions on this connection (at most "
                              + std::to_string(limits_.max_subscriptions) + ")");
  }
  auto* params = msg.payload.if_object();
  messages::subscribe join{msg.topic,
                           *msg.join_ref,
                           msg.ref,
                           params ? std::move(*params) : json::object{},
                           caf::actor_cast<caf::actor>(this),
                           identity_,
                           format_};
  // Straight to the topic's actor (started on the first join): no other actor on the way.
  if (!directory_->send(msg.topic, std::move(join), true, ctrl(), context())) {
    actor_metrics::add(metrics_->join_refusals);
    return reply_error(msg, directory_->closed() ? "the server is stopping" : "unmatched topic",
                       false);
  }
  topics_.emplace(msg.topic, topic_state{*msg.join_ref, {}, {}});
}

void connection_actor::handle_unsubscribe(transport::envelope&& msg) {
  auto it = topics_.find(msg.topic);
  bool current = it != topics_.end() && (!msg.join_ref || *msg.join_ref == it->second.join_ref);
  if (current && !it->second.channel) // the join is being decided: its answer comes first
    return forward(std::move(msg), it->second);
  if (!current)
    return reply_ok(msg); // leaving a topic one is not in is fine (the client wants to be out)
  // The channel answers (left) once the subscription is gone, behind what it sent before.
  auto& state = it->second;
  send(state.channel, messages::unsubscribe{id(), state.join_ref, true, msg.ref});
  leaving_.push_back(
    {state.channel.address(), std::move(it->first), std::move(state.join_ref), std::move(msg.ref)});
  topics_.erase(it);
}

void connection_actor::write_left(const std::string& topic, const std::string& join_ref,
                                  const std::optional<std::string>& ref) {
  if (ref)
    write(phoenix::encode_reply(format_, join_ref, ref, topic, true, json::object{}));
  write(phoenix::encode_unsubscribed(format_, join_ref, topic));
}

void connection_actor::handle_left(const messages::left& msg) {
  write_left(msg.topic, msg.join_ref, msg.ref);
  auto it = std::find_if(leaving_.begin(), leaving_.end(), [&msg](const leaving& l) {
    return l.topic == msg.topic && l.join_ref == msg.join_ref;
  });
  if (it == leaving_.end())
    return;
  auto channel = std::move(it->channel);
  leaving_.erase(it);
  demonitor_unless_used(channel);
}

void connection_actor::demonitor_unless_used(const caf::actor_addr& channel) {
  if (!channel)
    return;
  auto same = [&channel](const caf::actor& other) {
    return other && other.address() == channel;
  };
  bool used = std::any_of(topics_.begin(), topics_.end(),
                          [&same](const auto& t) { return same(t.second.channel); })
              || std::any_of(leaving_.begin(), leaving_.end(),
                             [&channel](const leaving& l) { return l.channel == channel; });
  if (!used)
    demonitor(channel);
}

void connection_actor::forward(transport::envelope&& msg, topic_state& state) {
  if (!state.channel) {
    if (state.held.size() >= limits_.max_held_pushes)
      return reply_error(msg, "too many messages before the join completed");
    state.held.push_back(std::move(msg));
    return;
  }
  if (msg.kind == transport::intent::answer) {
    reply_ok(msg);
    send(state.channel,
         messages::answer{id(), std::move(msg.request_ref), msg.is_ok, std::move(msg.payload)});
    return;
  }
  auto payload = msg.is_binary ? pulse::any_payload{binary{std::move(msg.bytes)}}
                               : pulse::any_payload{std::move(msg.payload)};
  send(state.channel, messages::push{id(), state.join_ref, std::move(msg.ref), std::move(msg.event),
                                     std::move(payload)});
}

void connection_actor::handle_joined(messages::joined& msg) {
  auto it = topics_.find(msg.topic);
  if (it == topics_.end() || it->second.join_ref != msg.join_ref || it->second.channel) {
    // Left or replaced while the join was being decided: undo it, unheard.
    send(msg.channel, messages::unsubscribe{id(), msg.join_ref});
    return;
  }
  for (auto& frame : msg.frames)
    write(std::move(frame));
  auto& state = it->second;
  state.channel = msg.channel;
  monitor(state.channel);

  // What arrived meanwhile, in order: pushes, and maybe a leave (after which the rest is
  // unmatched).
  auto held = std::move(state.held);
  state.held.clear();
  for (auto& pending : held)
    handle(std::move(pending));
}

void connection_actor::handle_refused(messages::join_refused& msg) {
  auto it = topics_.find(msg.topic);
  if (it == topics_.end() || it->second.join_ref != msg.join_ref)
    return;
  write(std::move(msg.reply));
  auto held = std::move(it->second.held);
  topics_.erase(it);

  for (auto& pending : held) {
    if (pending.kind == transport::intent::unsubscribe)
      reply_ok(pending); // out, as the client wanted
    else
      reply_error(pending, "unmatched topic", false);
  }
}

void connection_actor::handle_channel_down(const caf::down_msg& down) {
  // A channel failed: its subscribers hear phx_error and rejoin (the official client does).
  for (auto it = topics_.begin(); it != topics_.end();) {
    if (it->second.channel && it->second.channel.address() == down.source) {
      write(phoenix::encode_channel_failed(format_, it->second.join_ref, it->first));
      it = topics_.erase(it);
    } else {
      ++it;
    }
  }
  // A leave it did not answer: the subscription is gone with the channel, so the client is out,
  // as it asked.
  for (auto it = leaving_.begin(); it != leaving_.end();) {
    if (it->channel == down.source) {
      write_left(it->topic, it->join_ref, it->ref);
      it = leaving_.erase(it);
    } else {
      ++it;
    }
  }
}

void connection_actor::reply_ok(const transport::envelope& msg) {
  if (msg.ref)
    write(phoenix::encode_reply(format_, msg.join_ref, msg.ref, msg.topic, true, json::object{}));
}

void connection_actor::reply_error(const transport::envelope& msg, std::string_view reason,
                                   bool with_join_ref) {
  actor_metrics::add(metrics_->rejected_messages);
  if (msg.ref || msg.join_ref)
    write(phoenix::encode_error_reply(format_, with_join_ref ? msg.join_ref : std::nullopt, msg.ref,
                                      msg.topic, reason));
}

} // namespace pulse
