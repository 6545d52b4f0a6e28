// One long-poll client (Phoenix's LongPoll transport): what the connection's handler writes is
// buffered until a GET collects it, and what the client POSTs goes to the handler. To the layer
// above it is a connection like any WebSocket. Internal to the transport (it includes Asio).
#pragma once

#include "transport/asio.hpp"
#include "transport/connection.hpp"
#include "transport/limits.hpp"
#include "transport/websocket_session.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::transport {

class longpoll_endpoint;
class session_tracker;

/// Answers one held GET with a JSON body; `written` (may be empty) runs once the answer went out,
/// or failed to. Called at most once, from any thread.
using longpoll_responder = std::function<void(std::string body, std::function<void()> written)>;

/// Thread-safe: the handler's side (send, queue, flush, close) comes from actor threads, GETs and
/// POSTs from the HTTP sessions that carry them (any connection, any thread), timers run on the
/// session's own strand. The handler is called one call at a time, on_closed last and once.
class longpoll_session final : public websocket_session_base,
                               public std::enable_shared_from_this<longpoll_session> {
 public:
  longpoll_session(asio::io_context& io, const limits& limits, std::string remote_address,
                   std::string token, session_tracker& tracker, longpoll_endpoint& endpoint);
  ~longpoll_session() override;

  /// Opens the handler and starts the idle clock; false when `open` gave no handler (the session
  /// has ended then).
  bool start(const open_function& open);

  /// The session token that names this session in every request of its client.
  const std::string& token() const noexcept { return token_; }

  /// A GET: answers through `respond` at once when messages are buffered, else as soon as one
  /// is, else with 204 once the poll window passed. False when the session is over (closed and
  /// nothing left to deliver): `respond` was not used, the caller answers.
  bool poll(longpoll_responder respond);

  /// A POST's body: each message (each line for ndjson, else the whole body) to the handler, in
  /// order. Returns the status for the POST's answer: 200, or 410 when the session is over, or
  /// 413 (a message over max_message_bytes) or 400 (not base64 where it must be), which close
  /// the session.
  unsigned receive(std::string_view body, bool ndjson);

  /// `{"status":S,"token":T,"messages":[...]}`: each message's text as one JSON string.
  static std::string poll_body(unsigned status, std::string_view token,
                               const std::vector<outbound_frame>& messages = {});

  // websocket_connection: a text frame's payload is buffered as one message for the next GET;
  // binary frames cannot reach a long-poll client (the official client parses only text) and
  // are dropped, logged once per session and counted.
  bool send(outbound_frame frame) override;
  bool queue(outbound_frame frame) override;
  void flush() override;
  /// What is buffered still goes to a GET that comes within the close timeout, then the session
  /// is gone (the client's next GET gets a new session and 410).
  void close(std::uint16_t code, std::string_view reason) override;
  const std::string& remote_address() const noexcept override { return remote_address_; }

  // websocket_session_base
  void abort() override { finish(); }
  void shut_down() override;
  std::size_t queued_bytes() const override;

 private:
  enum class state { open, closing, closed };
  using clock = std::chrono::steady_clock;

  /// Buffers `frame` with the lock held; false when the session is closing, or when this frame
  /// made the client a slow consumer (the lock is released then, and the session closing).
  bool buffer_locked(std::unique_lock<std::mutex>& lock, outbound_frame& frame);
  /// Answers a held GET with what is buffered, if both are there; releases the lock.
  void deliver_locked(std::unique_lock<std::mutex>& lock);
  /// Takes the held GET and its answer `status`: with every buffered message for 200, without
  /// any otherwise. With the lock held.
  std::pair<longpoll_responder, std::string> take_answer_locked(unsigned status);
  void begin_close(std::uint16_t code, std::string_view reason, bool drop_buffered);
  void arm_window(std::uint64_t generation); // strand
  void arm_idle();                           // strand
  void on_idle(error_code ec);               // strand
  /// Ends the session on its strand (never from inside a handler call).
  void post_finish();
  void finish();

  const limits& limits_;
  const std::string remote_address_;
  const std::string token_;
  session_tracker& tracker_;
  longpoll_endpoint& endpoint_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer window_timer_; // strand: the held GET's poll window
  asio::steady_timer idle_timer_;   // strand: no GET for too long, or the close deadline

  mutable std::mutex mutex_; // guards the fields down to binary_dropped_
  state state_ = state::open;
  std::vector<outbound_frame> buffered_;
  std::size_t buffered_bytes_ = 0; // their payloads
  bool corked_ = false;            // queue() left messages for a flush() to come
  longpoll_responder waiter_;      // the held GET, if any
  std::uint64_t generation_ = 0;   // of the held GET, so a late window timer finds it gone
  clock::time_point last_poll_;    // when a GET came or was last answered
  clock::time_point close_deadline_;
  std::uint64_t binary_dropped_ = 0;

  std::mutex handler_mutex_; // one handler call at a time
  std::shared_ptr<connection_handler> handler_;
};

} // namespace pulse::transport
