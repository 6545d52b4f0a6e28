// The long-poll transport's endpoint (/socket/longpoll, Phoenix.Transports.LongPoll's wire):
// the live sessions by token, and what a GET or a POST does. Every answer is a JSON body whose
// `status` the client reads (the HTTP status is always 200); docs/protocol.md has the exchange.
#pragma once

#include "transport/connection.hpp"
#include "transport/longpoll_session.hpp"

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace pulse::transport {

struct http_context;

class longpoll_endpoint {
 public:
  explicit longpoll_endpoint(http_context& context) : context_(context) {}

  /// A GET: polls the session the request's token names, or, when it names none (a first
  /// request, or a session that ended), opens a new session with the same decision a WebSocket
  /// upgrade gets and answers 410 with its token (or 403, or 500 when the server is full or
  /// stopping). `respond` gets the answer, now or when the poll ends.
  void poll(http_request request, const longpoll_responder& respond);

  /// A POST: the request's messages to its session. Returns the JSON body to answer with.
  std::string post(const http_request& request);

  /// The session for `token` ended: the token names nothing from now on.
  void forget(const std::string& token);

  /// Live sessions.
  std::size_t size() const;

  /// Forgets every session (once the server's I/O threads stopped and each session ended).
  void clear();

  /// The index in `request.query` of the session token, which the official client appends
  /// after its params and `vsn`: the last `token` param when it comes after `vsn`, or, without
  /// `vsn`, when it is not the only one. Any other `token` param is the user's (an auth token).
  static std::optional<std::size_t> session_token_index(const http_request& request);

  /// `{"status":S}`, with `"reason"` when one is given.
  static std::string status_body(unsigned status, std::string_view reason = {});

 private:
  std::shared_ptr<longpoll_session> find(const std::string& token) const;
  /// Opens a session for `request` (without its session token) and returns the answer.
  std::string open_session(http_request&& request);

  http_context& context_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<longpoll_session>> sessions_;
};

} // namespace pulse::transport
