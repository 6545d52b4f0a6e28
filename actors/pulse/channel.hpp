// pulse::channel: a named room, defined as a class.
//
// A channel definition is registered under a name ("chat") or a prefix pattern ("room:*"). Each
// concrete topic ("room:42") gets its own channel actor with its own instance of the class,
// created on the first subscribe and stopped after the last subscriber left. Every handler of a
// topic runs inside its actor, one message at a time: members need no locks.
//
//   class chat_room : public pulse::channel {
//    public:
//     void on_subscribe(pulse::context& ctx) override {
//       ctx.assign("username", ctx.params().contains("username")
//                                ? ctx.params().at("username") : "anonymous");
//     }
//     pulse::handlers handlers() override {
//       return {{"message", &chat_room::on_message}, {"count", &chat_room::on_count}};
//     }
//    private:
//     void on_message(pulse::context& ctx, const boost::json::value& payload) {
//       ++messages_;
//       broadcast("new_message", {{"from", ctx.assigns().at("username")},
//                                 {"text", payload.at("text")}});
//     }
//     boost::json::value on_count(pulse::context&, const boost::json::value&) {
//       return {{"messages", messages_}};                 // the reply
//     }
//     std::int64_t messages_ = 0;
//   };
//
//   server.channel<chat_room>("room:*");
//
// Per-client state belongs in ctx.assign(), not in members: one instance serves every
// subscriber of its topic.
#pragma once

#include <pulse/context.hpp>
#include <pulse/handlers.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pulse {

class channel {
 public:
  virtual ~channel();

  /// A client asks to join. Read ctx.params(), keep state with ctx.assign(), refuse with
  /// ctx.reject(reason), answer with ctx.reply(response). Joins are accepted by default.
  virtual void on_subscribe(context& ctx);

  /// A subscriber left: it unsubscribed, its connection dropped, or it joined again.
  virtual void on_unsubscribe(context& ctx);

  /// The events this channel handles, each with its handler. Called once per topic actor.
  virtual pulse::handlers handlers();

 protected:
  /// Sends `event` to every subscriber of this topic. The frame is encoded once (per wire format
  /// in use); bytes go out as a binary frame. `options.keep = false`: not kept in the history.
  void broadcast(std::string_view event, boost::json::value payload,
                 broadcast_options options = {});
  template<bytes B>
  void broadcast(std::string_view event, B&& payload, broadcast_options options = {}) {
    broadcast_bytes(nullptr, event, binary{std::forward<B>(payload)}, options);
  }

  /// Sends `event` to every subscriber but the one `ctx` serves.
  void broadcast_from(context& ctx, std::string_view event, boost::json::value payload,
                      broadcast_options options = {});
  template<bytes B>
  void broadcast_from(context& ctx, std::string_view event, B&& payload,
                      broadcast_options options = {}) {
    broadcast_bytes(&ctx, event, binary{std::forward<B>(payload)}, options);
  }

  /// Presence, as Phoenix.Presence: `ctx`'s client is here under `key` with `meta`.
  void track(context& ctx, std::string_view key, boost::json::object meta = {});
  void update(context& ctx, std::string_view key, boost::json::object meta);
  void untrack(context& ctx, std::string_view key);
  /// Everyone present: {key: {"metas": [{"phx_ref": ..., ...meta}]}}.
  boost::json::object presence_list() const;

  /// Takes this topic's actor down, as a crash would, once the current handler returns: its
  /// subscribers get phx_error and rejoin (the official client does so by itself), meeting a
  /// fresh instance; a persistent channel is restarted at once. For state that can no longer be
  /// trusted; an ordinary error is an error reply (throw reply_error).
  void fail(std::string_view reason);

  /// This instance's topic.
  const std::string& topic() const;

  /// Subscribers connected now.
  std::size_t subscriber_count() const;

  /// The payloads of the last `max` broadcasts of `event` that the topic's history keeps
  /// (channel_builder::history; shared by every node with scale-out), oldest first.
  std::vector<boost::json::value> recent(std::string_view event, std::size_t max) const;
  /// The same for broadcasts of bytes.
  std::vector<binary> recent_bytes(std::string_view event, std::size_t max) const;

 private:
  friend class channel_actor;
  void broadcast_bytes(context* skip, std::string_view event, binary payload,
                       broadcast_options options);
  channel_actor* actor_ = nullptr;
};

} // namespace pulse
