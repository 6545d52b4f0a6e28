#include "transport/longpoll_session.hpp"

#include "transport/base64.hpp"
#include "transport/close_code.hpp"
#include "transport/log.hpp"
#include "transport/longpoll_endpoint.hpp"
#include "transport/session_tracker.hpp"

#include <boost/json/serialize.hpp>

namespace pulse::transport {

namespace {

/// A V2 binary frame comes base64-encoded (the official client's btoa); JSON text starts with
/// `[` (V2) or `{` (V1), after any whitespace.
bool is_json_text(std::string_view message) {
  auto first = message.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && (message[first] == '[' || message[first] == '{');
}

} // namespace

longpoll_session::longpoll_session(asio::io_context& io, const limits& limits,
                                   std::string remote_address, std::string token,
                                   session_tracker& tracker, longpoll_endpoint& endpoint)
    : limits_(limits), remote_address_(std::move(remote_address)), token_(std::move(token)),
      tracker_(tracker), endpoint_(endpoint), strand_(asio::make_strand(io)),
      window_timer_(strand_), idle_timer_(strand_), last_poll_(clock::now()) {}

longpoll_session::~longpoll_session() = default;

bool longpoll_session::start(const open_function& open) {
  tracker_.add(shared_from_this());
  auto handler = open(shared_from_this());
  if (!handler) {
    finish();
    return false;
  }
  {
    std::lock_guard guard{handler_mutex_};
    std::unique_lock lock{mutex_};
    if (state_ == state::closed) { // a stop that came first ended it: the handler hears that now
      lock.unlock();
      handler->on_closed();
      return false;
    }
    lock.unlock();
    handler_ = std::move(handler);
  }
  asio::post(strand_, [self = shared_from_this()] { self->arm_idle(); });
  return true;
}

std::string longpoll_session::poll_body(unsigned status, std::string_view token,
                                        const std::vector<outbound_frame>& messages) {
  std::string body = R"({"status":)" + std::to_string(status) + R"(,"token":)";
  body += boost::json::serialize(boost::json::string_view{token.data(), token.size()});
  body += R"(,"messages":[)";
  for (std::size_t i = 0; i < messages.size(); ++i) {
    if (i > 0)
      body += ',';
    auto text = messages[i].payload();
    body += boost::json::serialize(boost::json::string_view{text.data(), text.size()});
  }
  body += "]}";
  return body;
}

// ---- GET and POST ------------------------------------------------------------------------------

bool longpoll_session::poll(longpoll_responder respond) {
  std::unique_lock lock{mutex_};
  if (state_ == state::closed)
    return false;
  last_poll_ = clock::now();
  if (state_ == state::closing) {
    if (buffered_.empty()) {
      lock.unlock();
      post_finish();
      return false; // nothing left for this client: it starts over
    }
    auto [_, body] = take_answer_locked(200);
    lock.unlock();
    // The last delivery: the session ends once it went out.
    respond(std::move(body), [self = shared_from_this()] { self->post_finish(); });
    return true;
  }
  // Only the latest GET is served (Phoenix's rule): one held before gets an empty answer.
  longpoll_responder displaced;
  std::string displaced_body;
  if (waiter_)
    std::tie(displaced, displaced_body) = take_answer_locked(204);
  waiter_ = std::move(respond);
  tracker_.held_polls.fetch_add(1, std::memory_order_relaxed);
  auto generation = ++generation_;
  if (!buffered_.empty()) {
    deliver_locked(lock);
  } else {
    lock.unlock();
    asio::post(strand_, [self = shared_from_this(), generation] { self->arm_window(generation); });
  }
  if (displaced)
    displaced(std::move(displaced_body), {});
  return true;
}

unsigned longpoll_session::receive(std::string_view body, bool ndjson) {
  {
    std::lock_guard guard{mutex_};
    if (state_ == state::closed)
      return 410;
    if (state_ == state::closing)
      return 200; // as a closing WebSocket ignores what still comes in
  }
  tracker_.bytes_in.fetch_add(body.size(), std::memory_order_relaxed);
  std::lock_guard guard{handler_mutex_};
  if (!handler_)
    return 410;
  while (!body.empty()) {
    auto end = ndjson ? body.find('\n') : std::string_view::npos;
    auto message = body.substr(0, end);
    body.remove_prefix(end == std::string_view::npos ? body.size() : end + 1);
    if (ndjson && message.ends_with('\r'))
      message.remove_suffix(1);
    if (message.empty())
      continue;
    if (message.size() > limits_.max_message_bytes) {
      log().info("closing long-poll session of {}: a message of {} bytes (at most {})",
                 remote_address_, message.size(), limits_.max_message_bytes);
      tracker_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
      begin_close(close_code::message_too_big, "message too big", false);
      return 413;
    }
    tracker_.messages_in.fetch_add(1, std::memory_order_relaxed);
    if (is_json_text(message)) {
      handler_->on_text(std::string{message});
      continue;
    }
    auto bytes = base64_decode(message);
    if (!bytes) {
      log().info("closing long-poll session of {}: a message that is neither JSON nor base64",
                 remote_address_);
      tracker_.protocol_errors.fetch_add(1, std::memory_order_relaxed);
      begin_close(close_code::invalid_payload, "not JSON, not base64", false);
      return 400;
    }
    handler_->on_binary(std::move(*bytes));
  }
  return 200;
}

// ---- the handler's side ------------------------------------------------------------------------

bool longpoll_session::buffer_locked(std::unique_lock<std::mutex>& lock, outbound_frame& frame) {
  if (state_ != state::open)
    return false;
  if (frame.is_binary()) {
    if (binary_dropped_++ == 0)
      log().warn("long-poll session of {}: dropping binary messages (the long-poll client "
                 "receives text only)",
                 remote_address_);
    tracker_.binary_dropped.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (!frame.is_data())
    return true; // control frames mean nothing over HTTP
  auto size = frame.payload().size();
  if (buffered_.size() >= limits_.max_longpoll_messages
      || buffered_bytes_ + size > limits_.max_queued_bytes) {
    lock.unlock();
    log().warn("closing slow long-poll consumer {}: more than {} messages or {} bytes buffered",
               remote_address_, limits_.max_longpoll_messages, limits_.max_queued_bytes);
    tracker_.slow_consumers.fetch_add(1, std::memory_order_relaxed);
    begin_close(close_code::policy_violation, "slow consumer", true);
    return false;
  }
  buffered_bytes_ += size;
  buffered_.push_back(std::move(frame));
  return true;
}

bool longpoll_session::send(outbound_frame frame) {
  std::unique_lock lock{mutex_};
  if (!buffer_locked(lock, frame))
    return false;
  deliver_locked(lock);
  return true;
}

bool longpoll_session::queue(outbound_frame frame) {
  std::unique_lock lock{mutex_};
  if (!buffer_locked(lock, frame))
    return false;
  return !std::exchange(corked_, true);
}

void longpoll_session::flush() {
  std::unique_lock lock{mutex_};
  corked_ = false;
  deliver_locked(lock);
}

void longpoll_session::deliver_locked(std::unique_lock<std::mutex>& lock) {
  if (!waiter_ || buffered_.empty())
    return lock.unlock();
  auto [respond, body] = take_answer_locked(200);
  lock.unlock();
  respond(std::move(body), {});
}

std::pair<longpoll_responder, std::string> longpoll_session::take_answer_locked(unsigned status) {
  std::string body;
  if (status == 200) {
    body = poll_body(status, token_, buffered_);
    tracker_.messages_out.fetch_add(buffered_.size(), std::memory_order_relaxed);
    buffered_.clear();
    buffered_bytes_ = 0;
  } else {
    body = poll_body(status, token_);
  }
  tracker_.bytes_out.fetch_add(body.size(), std::memory_order_relaxed);
  ++generation_; // the window timer, if it still runs, finds nothing to answer
  last_poll_ = clock::now();
  if (waiter_)
    tracker_.held_polls.fetch_sub(1, std::memory_order_relaxed);
  return {std::exchange(waiter_, nullptr), std::move(body)};
}

void longpoll_session::close(std::uint16_t code, std::string_view reason) {
  begin_close(code, reason, false);
}

void longpoll_session::begin_close(std::uint16_t code, std::string_view reason,
                                   bool drop_buffered) {
  std::unique_lock lock{mutex_};
  if (state_ != state::open)
    return;
  log().debug("closing long-poll session of {} ({} {})", remote_address_, code, reason);
  state_ = state::closing;
  close_deadline_ = clock::now() + limits_.close_timeout;
  if (drop_buffered) {
    buffered_.clear();
    buffered_bytes_ = 0;
  }
  if (waiter_) {
    // The held GET takes what is left, or learns that the session is gone (410: the client
    // reconnects from scratch); the session ends once that answer went out.
    auto [respond, body] = take_answer_locked(buffered_.empty() ? 410 : 200);
    lock.unlock();
    respond(std::move(body), [self = shared_from_this()] { self->post_finish(); });
    return;
  }
  bool nothing_left = buffered_.empty();
  lock.unlock();
  if (nothing_left)
    return post_finish();
  // What is buffered waits for a GET until the close deadline.
  asio::post(strand_, [self = shared_from_this()] { self->arm_idle(); });
}

void longpoll_session::shut_down() {
  asio::post(strand_, [self = shared_from_this()] {
    std::unique_lock guard{self->handler_mutex_};
    if (self->handler_)
      return self->handler_->on_shutdown(); // it writes what is on its way, then closes
    guard.unlock();
    self->close(close_code::going_away, "server shutting down");
  });
}

std::size_t longpoll_session::queued_bytes() const {
  std::lock_guard guard{mutex_};
  return buffered_bytes_;
}

// ---- time and the end --------------------------------------------------------------------------

void longpoll_session::arm_window(std::uint64_t generation) {
  {
    std::lock_guard guard{mutex_};
    if (state_ == state::closed || generation_ != generation)
      return; // answered already, or over
  }
  window_timer_.expires_after(limits_.longpoll_window);
  window_timer_.async_wait([self = shared_from_this(), generation](error_code ec) {
    if (ec)
      return; // cancelled: a later GET re-armed it, or the session ended
    std::unique_lock lock{self->mutex_};
    if (!self->waiter_ || self->generation_ != generation)
      return;
    // Messages only queued (no flush yet) go now rather than wait for the next GET.
    auto [respond, body] = self->take_answer_locked(self->buffered_.empty() ? 204 : 200);
    lock.unlock();
    respond(std::move(body), {});
  });
}

void longpoll_session::arm_idle() {
  clock::time_point deadline;
  {
    std::lock_guard guard{mutex_};
    if (state_ == state::closed)
      return;
    if (state_ == state::closing)
      deadline = close_deadline_;
    else if (waiter_) // a held GET is a client still there: look again a window later
      deadline = clock::now() + limits_.longpoll_idle_timeout;
    else
      deadline = last_poll_ + limits_.longpoll_idle_timeout;
  }
  idle_timer_.expires_at(deadline);
  idle_timer_.async_wait([self = shared_from_this()](error_code ec) { self->on_idle(ec); });
}

void longpoll_session::on_idle(error_code ec) {
  if (ec == asio::error::operation_aborted)
    return; // re-armed (by close()) or ended
  std::unique_lock lock{mutex_};
  if (state_ == state::closed)
    return;
  auto now = clock::now();
  bool over = state_ == state::closing
                ? now >= close_deadline_
                : !waiter_ && now >= last_poll_ + limits_.longpoll_idle_timeout;
  lock.unlock();
  if (!over)
    return arm_idle();
  log().debug("long-poll session of {} ended: no GET for {} ms", remote_address_,
              limits_.longpoll_idle_timeout.count());
  finish();
}

void longpoll_session::post_finish() {
  asio::post(strand_, [self = shared_from_this()] { self->finish(); });
}

void longpoll_session::finish() {
  longpoll_responder held;
  std::string body;
  {
    std::lock_guard guard{mutex_};
    if (state_ == state::closed)
      return;
    state_ = state::closed;
    buffered_.clear();
    buffered_bytes_ = 0;
    if (waiter_)
      std::tie(held, body) = take_answer_locked(410);
  }
  window_timer_.cancel();
  idle_timer_.cancel();
  if (held)
    held(std::move(body), {});
  endpoint_.forget(token_);
  tracker_.remove(this, remote_address_);
  std::lock_guard guard{handler_mutex_};
  if (auto handler = std::move(handler_))
    handler->on_closed();
}

} // namespace pulse::transport
