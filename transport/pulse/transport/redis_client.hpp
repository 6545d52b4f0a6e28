// One connection to Redis (or to a Sentinel), non-blocking, on an Asio io_context: commands are
// pipelined (whatever is asked while a write is under way leaves in the next one), replies are
// read with hiredis's RESP reader and matched to their commands in order, and on a subscribed
// connection what Redis pushes (message, smessage, a server-side sunsubscribe) goes to on_push().
// It connects, and reconnects with a jittered backoff whenever the connection drops, until stop().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;

namespace pulse::transport {

/// A reply of Redis, copied out of hiredis's.
struct redis_reply {
  enum class kind { nil, string, integer, array, status, error };
  kind type = kind::nil;
  std::string text; ///< string, status, error
  long long integer = 0;
  std::vector<redis_reply> elements;

  bool is_error() const noexcept { return type == kind::error; }
  /// An error reply whose code (its first word) is `code`: "MOVED", "NOSCRIPT", ...
  bool is_error(std::string_view code) const noexcept;
};

/// HOST:PORT of a Redis or Sentinel.
struct redis_address {
  std::string host;
  std::uint16_t port = 6379;

  /// "redis://HOST:PORT"; throws std::invalid_argument otherwise.
  static redis_address parse(std::string_view url);
  /// "HOST:PORT" (a port is required); throws std::invalid_argument otherwise.
  static redis_address parse_host_port(std::string_view text);
  /// "HOST:PORT,HOST:PORT,...": at least one; throws std::invalid_argument otherwise.
  static std::vector<redis_address> parse_list(std::string_view text);

  std::string to_string() const { return host + ":" + std::to_string(port); }
  bool operator==(const redis_address&) const = default;
};

/// Every member runs on the io_context's thread (one thread), except connected().
class redis_client : public std::enable_shared_from_this<redis_client> {
 public:
  /// The answer to a command; nothing when the connection dropped before it came.
  using callback = std::function<void(std::optional<redis_reply>)>;
  /// What Redis pushes on a subscribed connection: its kind ("message", "smessage",
  /// "sunsubscribe": the server took a sharded subscription away), the channel, the data.
  using push_handler
    = std::function<void(std::string_view kind, std::string_view channel, std::string_view data)>;

  /// `addresses`: tried in turn, the next one after each failed attempt or lost connection.
  redis_client(boost::asio::io_context& io, std::vector<redis_address> addresses);
  ~redis_client();

  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  /// Called on every (re)connection: commands sent from it go out first.
  void on_connect(std::function<void()> fn) { on_connect_ = std::move(fn); }
  /// Called when a connection drops (or attempts fail: once per outage).
  void on_disconnect(std::function<void(std::string_view reason)> fn) {
    on_disconnect_ = std::move(fn);
  }
  void on_push(push_handler fn) { on_push_ = std::move(fn); }
  /// Called after the replies and pushes of one read were handled: a batch ends there.
  void on_read_done(std::function<void()> fn) { on_read_done_ = std::move(fn); }

  void start();
  /// Disconnects and stops reconnecting; pending callbacks are dropped without a call.
  void stop();
  /// Drops the connection (pending callbacks get nothing) and connects again at once, to
  /// `address` when given (Sentinel named a new master).
  void reconnect(std::optional<redis_address> address = std::nullopt);

  bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }
  /// Where it connects (or is connected) now.
  const redis_address& address() const noexcept { return addresses_[current_]; }

  /// A command unanswered for this long means a Redis that hangs: the connection is dropped
  /// (its pending callbacks get nothing) and made again.
  static constexpr std::chrono::milliseconds answer_timeout{2000};
  /// A connection attempt that takes longer fails.
  static constexpr std::chrono::milliseconds connect_timeout{1000};

  /// Sends a command; false (and no callback) when not connected.
  bool command(const std::vector<std::string>& args, callback done = {});
  /// Sends several commands in one write; false (and no callback) when not connected.
  bool commands(const std::vector<std::vector<std::string>>& batch, std::vector<callback> done);

 private:
  struct pending {
    callback done;
    std::chrono::steady_clock::time_point sent;
    std::string unsubscribes; ///< a SUNSUBSCRIBE's channel: its reply looks like a push
  };

  void connect();
  void on_connected();
  void fail(std::string_view reason);
  void schedule_reconnect();
  void append(const std::vector<std::string>& args);
  void do_write();
  void do_read();
  void handle(redis_reply reply);
  void watch_answers();

  boost::asio::io_context& io_;
  std::vector<redis_address> addresses_;
  std::size_t current_ = 0;
  boost::asio::ip::tcp::resolver resolver_;
  std::shared_ptr<boost::asio::ip::tcp::socket> socket_; ///< a new one per connection
  std::uint64_t generation_ = 0;                         ///< which connection handlers belong to
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer watchdog_;
  std::chrono::milliseconds backoff_{100};
  bool watching_ = false;
  bool connecting_ = false;
  redisReader* reader_ = nullptr;
  std::string out_;     ///< commands not yet written
  std::string writing_; ///< the write under way
  bool write_busy_ = false;
  std::array<char, 64 * 1024> in_{};
  std::deque<pending> pending_;
  std::atomic<bool> connected_ = false;
  bool stopped_ = true;
  bool outage_reported_ = false;
  std::function<void()> on_connect_;
  std::function<void(std::string_view)> on_disconnect_;
  push_handler on_push_;
  std::function<void()> on_read_done_;
};

} // namespace pulse::transport
