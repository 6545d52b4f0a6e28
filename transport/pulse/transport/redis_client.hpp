// One connection to Redis, non-blocking: hiredis's async API driven by an Asio io_context. It
// connects, and reconnects with a jittered backoff whenever the connection drops, until stop().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct redisAsyncContext;

namespace pulse::transport {

/// A reply of Redis, copied out of hiredis's.
struct redis_reply {
  enum class kind { nil, string, integer, array, status, error };
  kind type = kind::nil;
  std::string text; ///< string, status, error
  long long integer = 0;
  std::vector<redis_reply> elements;

  bool is_error() const noexcept { return type == kind::error; }
};

/// Where host and port of "redis://HOST:PORT" are; throws std::invalid_argument otherwise.
struct redis_address {
  std::string host;
  std::uint16_t port = 6379;

  static redis_address parse(std::string_view url);
};

/// Every member runs on the io_context's thread (one thread), except connected().
class redis_client : public std::enable_shared_from_this<redis_client> {
 public:
  /// The answer to a command; nothing when the connection dropped before it came.
  using callback = std::function<void(std::optional<redis_reply>)>;

  redis_client(boost::asio::io_context& io, redis_address address);
  ~redis_client();

  /// Called on every (re)connection, before any command queued meanwhile is sent.
  void on_connect(std::function<void()> fn) { on_connect_ = std::move(fn); }
  /// Called when a connection drops (or a connection attempt fails, once per outage).
  void on_disconnect(std::function<void(std::string_view reason)> fn) {
    on_disconnect_ = std::move(fn);
  }
  /// For a subscribing connection: each published message, as (channel, message).
  void on_message(std::function<void(std::string_view, std::string_view)> fn) {
    on_message_ = std::move(fn);
  }

  void start();
  /// Disconnects and stops reconnecting; pending callbacks get nothing.
  void stop();

  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }

  /// A command unanswered for this long means a Redis that hangs: the connection is dropped
  /// (its pending callbacks get nothing) and made again.
  static constexpr std::chrono::milliseconds answer_timeout{2000};

  /// Sends a command; false (and no callback) when not connected.
  bool command(const std::vector<std::string>& args, callback done = {});
  /// SUBSCRIBE; the confirmation comes to `confirmed`, messages to on_message().
  bool subscribe(const std::string& channel, std::function<void()> confirmed = {});
  bool unsubscribe(const std::string& channel);

 private:
  struct watch;

  void connect();
  void schedule_reconnect();
  void handle_connected(int status);
  void handle_disconnected(int status);
  void watch_answers();
  bool send(const std::vector<std::string>& args, void (*fn)(redisAsyncContext*, void*, void*),
            void* privdata);

  static void on_reply(redisAsyncContext* context, void* reply, void* privdata);
  static void on_subscription_reply(redisAsyncContext* context, void* reply, void* privdata);

  boost::asio::io_context& io_;
  redis_address address_;
  boost::asio::steady_timer retry_;
  std::chrono::milliseconds backoff_{100};
  boost::asio::steady_timer watchdog_;
  bool watching_ = false;
  std::deque<std::chrono::steady_clock::time_point> unanswered_; ///< when each command was sent
  redisAsyncContext* context_ = nullptr;
  std::shared_ptr<watch> watch_;
  std::atomic<bool> connected_ = false;
  bool stopped_ = false;
  bool outage_reported_ = false;
  std::function<void()> on_connect_;
  std::function<void(std::string_view)> on_disconnect_;
  std::function<void(std::string_view, std::string_view)> on_message_;
  std::unordered_map<std::string, std::function<void()>> confirmations_;
};

} // namespace pulse::transport
