// pulse::context: what a handler knows and can do about the client that triggered it.
//
// Every handler runs inside its channel's actor and gets a context for the subscriber it serves:
//
//   void on_subscribe(pulse::context& ctx) override {
//     auto* name = ctx.params().if_contains("username");
//     if (!name || !name->is_string())
//       return ctx.reject("username required");          // the join fails with this reason
//     ctx.assign("username", *name);                        // per-subscriber state
//   }
//
//   boost::json::value on_whoami(pulse::context& ctx, const boost::json::value&) {
//     return ctx.assigns().at("username");                  // a returned value is the reply
//   }
//
//   void on_ping(pulse::context& ctx, const boost::json::value& payload) {
//     ctx.send("pong", payload);                            // only this client
//     ctx.request("confirm", {{"q", "sure?"}}, std::chrono::seconds{5},
//                 [](pulse::context& ctx, const pulse::answer& a) { ... }); // asks the client
//   }
//
// A context is valid during the call it was passed to; keep data, not the context.
#pragma once

#include <pulse/handlers.hpp>
#include <pulse/payload.hpp>
#include <pulse/typed.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pulse {

class channel_actor;
struct subscriber;

/// A client's answer to a server request, or why there is none.
struct answer {
  enum class outcome : std::uint8_t {
    ok,      ///< the client answered with success
    error,   ///< the client answered with an error
    timeout, ///< no answer in time
    gone,    ///< the client left or disconnected first
  };
  outcome status = outcome::timeout;
  boost::json::value response;

  bool ok() const noexcept { return status == outcome::ok; }

  /// The response as a described type; throws payload_error naming the field that does not fit.
  template<class T>
  T as() const {
    return from_json<T>(response);
  }
};

using answer_handler = std::function<void(context&, const answer&)>;

class context {
 public:
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  /// The concrete topic, e.g. "room:42".
  const std::string& topic() const noexcept;

  /// The event being handled; empty in on_subscribe and on_unsubscribe.
  const std::string& event() const noexcept { return event_; }

  /// False when server code dispatched the event (channel_handle::send): there is no client to
  /// send or reply to, and those calls do nothing.
  bool has_client() const noexcept { return subscriber_ != nullptr; }

  /// The params the client joined with (empty without a client).
  const boost::json::object& params() const noexcept;
  /// The params as a described type (typed.hpp). In on_subscribe, params that do not convert
  /// refuse the join with a reason that names the field.
  template<class T>
  T params_as() const {
    return from_json<T>(boost::json::value(params()));
  }

  /// Who the client is, as the server's authenticator said when it connected (null without an
  /// authenticator, or without a client). With JWT authentication: the token's claims.
  const boost::json::value& identity() const noexcept;
  /// The identity's "sub" (a JWT's subject: the user), or "" when there is none.
  std::string_view user_id() const noexcept;

  /// The params the client connected with (the query string, without vsn; without `token` where
  /// it was the credential that an authenticator or the JWT check accepted).
  const boost::json::object& connect_params() const noexcept;

  /// Per-subscriber state, kept from subscribe to unsubscribe.
  boost::json::object& assigns() noexcept;
  void assign(std::string_view key, boost::json::value value);
  /// An assign, as a typed value (throws payload_error when it does not convert, std::out_of_range
  /// when it was never assigned).
  template<class T>
  T assigned(std::string_view key) {
    return from_json<T>(assigns().at(key));
  }
  /// The same for a typed value (a std::string, a described struct...), stored as JSON.
  template<class T>
  requires(!std::is_convertible_v<T, boost::json::value>) void assign(std::string_view key,
                                                                      const T& value) {
    assign(key, to_json(value));
  }

  /// In on_subscribe: refuses the join with `{"reason": reason}`.
  void reject(std::string_view reason);
  /// In on_subscribe: refuses the join with `response` as the error reply's response.
  void reject_with(boost::json::value response);
  bool is_rejected() const noexcept { return rejected_; }

  /// Answers the client's push (or join) with `{"status": "ok", "response": response}`.
  /// Only the first reply counts; a push sent without a ref gets none.
  void reply(boost::json::value response = boost::json::object{});
  /// Answers with a described type, as JSON.
  template<typed_payload T>
  void reply(const T& response) {
    reply(to_json(response));
  }
  /// Answers with bytes (a binary reply; a join's reply is always JSON).
  template<bytes B>
  void reply(B&& response) {
    reply_bytes(binary{std::forward<B>(response)});
  }
  /// Answers with `{"status": "error", "response": response}`.
  void reply_error(boost::json::value response);
  bool has_replied() const noexcept { return replied_; }

  /// Pushes an event to this client only.
  void send(std::string_view event, boost::json::value payload);
  template<bytes B>
  void send(std::string_view event, B&& payload) {
    send_bytes(event, binary{std::forward<B>(payload)});
  }
  template<typed_payload T>
  void send(std::string_view event, const T& payload) {
    send(event, to_json(payload));
  }

  /// Asks this client; `on_answer` runs later inside the channel actor with the answer, a
  /// timeout, or `gone`. Never blocks.
  void request(std::string_view event, boost::json::value payload,
               std::chrono::milliseconds timeout, answer_handler on_answer);
  template<typed_payload T>
  void request(std::string_view event, const T& payload, std::chrono::milliseconds timeout,
               answer_handler on_answer) {
    request(event, to_json(payload), timeout, std::move(on_answer));
  }

  /// Presence (Phoenix.Presence's model): this client is here under `key` with `meta` (several
  /// connections may share a key: two tabs of one user). Subscribers get a presence_diff; later
  /// joiners get the whole presence_state. The client's presences leave with it.
  void track(std::string_view key, boost::json::object meta = {});
  template<described_struct T>
  void track(std::string_view key, const T& meta) {
    track(key, to_json(meta).as_object());
  }
  /// Replaces this client's meta under `key` (a presence_diff with the old leaving, the new
  /// joining).
  void update(std::string_view key, boost::json::object meta);
  /// This client leaves `key`.
  void untrack(std::string_view key);
  /// Everyone present, as a presence_state payload: {key: {"metas": [...]}}.
  boost::json::object presence_list() const;

  /// Takes the channel's actor down once this handler returns (see channel::fail).
  void fail_channel(std::string_view reason);

  /// Every subscriber of the topic, this client included.
  void broadcast(std::string_view event, boost::json::value payload,
                 broadcast_options options = {});
  template<bytes B>
  void broadcast(std::string_view event, B&& payload, broadcast_options options = {}) {
    broadcast_bytes(event, binary{std::forward<B>(payload)}, false, options);
  }
  template<typed_payload T>
  void broadcast(std::string_view event, const T& payload, broadcast_options options = {}) {
    broadcast(event, to_json(payload), options);
  }
  /// Every subscriber but this client.
  void broadcast_from(std::string_view event, boost::json::value payload,
                      broadcast_options options = {});
  template<bytes B>
  void broadcast_from(std::string_view event, B&& payload, broadcast_options options = {}) {
    broadcast_bytes(event, binary{std::forward<B>(payload)}, true, options);
  }
  template<typed_payload T>
  void broadcast_from(std::string_view event, const T& payload, broadcast_options options = {}) {
    broadcast_from(event, to_json(payload), options);
  }

 private:
  friend class channel;
  friend class channel_actor;

  void reply_bytes(binary response);
  void send_bytes(std::string_view event, binary payload);
  void broadcast_bytes(std::string_view event, binary payload, bool skip_sender,
                       broadcast_options options);

  context(channel_actor& actor, subscriber* sub, std::string event,
          const std::optional<std::string>* ref, bool joining)
      : actor_(actor), subscriber_(sub), event_(std::move(event)), ref_(ref), joining_(joining) {}

  channel_actor& actor_;
  subscriber* subscriber_;
  std::string event_;
  const std::optional<std::string>* ref_; // the message being answered, if any
  bool joining_;
  bool rejected_ = false;
  bool replied_ = false;
  std::optional<boost::json::value> join_response_; // a reply during on_subscribe
  bool join_response_ok_ = true;
  boost::json::object local_assigns_; // for a context without a client
};

} // namespace pulse
