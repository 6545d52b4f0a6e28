// pulse::server: channels over WebSockets, in one object.
//
//   #include <pulse/pulse.hpp>
//
//   int main() {
//     pulse::server server{{.port = 8080}};
//     server.channel<chat_room>("room:*");                     // a class per topic
//     auto news = server.channel("news");                      // or lambdas
//     news.on("post", [&](pulse::context&, const boost::json::value& p) {
//       news.broadcast("posted", p);
//     });
//     server.serve_files("/", "web");
//     server.run();                                            // until SIGINT or SIGTERM
//   }
//
// Clients connect to ws://HOST:PORT/socket/websocket?vsn=2.0.0 with any Phoenix Channels client,
// or long-poll at http://HOST:PORT/socket/longpoll (the official client's LongPoll transport).
// A broadcast from any thread: server.topic("room:42").broadcast("event", payload).
#pragma once

#include <pulse/auth.hpp>
#include <pulse/channel.hpp>
#include <pulse/channel_handle.hpp>
#include <pulse/event.hpp>
#include <pulse/jwt.hpp>
#include <pulse/transport/connection.hpp>
#include <pulse/transport/limits.hpp>
#include <pulse/transport/phoenix_codec.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace pulse {

/// How the actor threads share their work (CAF's scheduler policies).
enum class scheduling {
  sharing,  ///< one queue that every worker takes from: an idle worker is woken at once
  stealing, ///< a queue per worker; idle workers poll, then steal from the busy ones
};

struct server_options {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080; ///< 0 picks a free port (see server::port())
  /// Threads for actors and for I/O, each; 0 means the CPUs this process may run on.
  std::size_t threads = 0;
  scheduling scheduler = scheduling::sharing;
  /// Actor threads run under Linux's SCHED_BATCH: a worker woken by an I/O thread on the same
  /// CPU waits for that thread to block instead of preempting it, so what one burst of reads
  /// hands over reaches the actors together, not one message per context switch (connect and
  /// join about 1.3x on one CPU, latency p99 unchanged). Nice level and priority stay as they
  /// are; on a machine shared with busier processes, false gives the actors back wake-up
  /// preemption.
  bool batch_scheduling = true;
  transport::limits limits;
  /// On stop, time for queued messages to drain before connections are cut.
  std::chrono::milliseconds drain_timeout = std::chrono::seconds{5};
  /// Topics one connection may be subscribed to at once.
  std::size_t max_subscriptions_per_connection = 100;
  /// Inbound messages per second per connection: past it, messages get an error reply
  /// ("rate limit exceeded"); a client that keeps on for another second's worth is closed (1008).
  double max_messages_per_second = 10'000;
  /// How deeply a message's JSON may nest; deeper ones get an error reply naming the limit.
  std::size_t max_json_depth = 256;
  /// Origins whose pages may connect (against cross-site WebSocket hijacking), as
  /// "https://example.com". Empty, the default: the page's origin must be the server's own (the
  /// Origin header's host is the Host header). "*": any origin. Clients that send no Origin
  /// (not browsers) are not affected.
  std::vector<std::string> allowed_origins;
  /// The server API for services that are not C++ (POST /api/broadcast, GET /api/channels,
  /// GET /api/presence; docs/operations.md): requests must carry this key, as
  /// "Authorization: Bearer KEY". Empty, the default: the API is off (404).
  std::string api_key;
  /// "redis://HOST:PORT": share every channel with the other nodes on this Redis (broadcasts,
  /// history and recovery; see pulse/redis_broker.hpp). Empty, the default: one node alone.
  std::string redis_url;
  /// Redis Sentinel instead: the sentinels, "HOST:PORT,HOST:PORT,...", and the name of the master
  /// they watch. The nodes use whichever master the sentinels name, through failovers.
  std::string redis_sentinels;
  std::string redis_master;
  /// Redis Cluster instead: some of its nodes, "HOST:PORT,...". Each topic lives in one slot,
  /// and broadcasts go through sharded pub/sub: the deployment grows with its masters.
  std::string redis_cluster;
  /// While Redis is out of reach, broadcasts are held this long and published once it is back
  /// (nothing lost); past it, each node serves its own subscribers alone (docs/operations.md).
  std::chrono::milliseconds redis_hold = std::chrono::seconds{10};
  /// TLS (https and wss): PEM files of the certificate chain and its private key. Both empty,
  /// the default: plain HTTP and ws.
  std::filesystem::path tls_certificate;
  std::filesystem::path tls_private_key;
  /// JWT authentication (pulse/jwt.hpp): with a key or a JWKS set and no authenticate(fn), every
  /// connection must bring a valid token, whose claims become its identity. Empty, the default:
  /// off.
  jwt_options jwt;
};

/// What a server carries: connections and channels now, traffic since it started.
struct server_stats {
  std::size_t connections = 0;   ///< open connections: WebSockets and long-poll sessions
  std::size_t channels = 0;      ///< topics with a running actor
  std::uint64_t messages_in = 0; ///< WebSocket messages and long-poll POSTed messages received
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::size_t longpoll_sessions = 0; ///< of the connections, those over long-poll
};

/// An in-process subscription to a topic's broadcasts; cancelled when destroyed.
class subscription {
 public:
  subscription() = default;
  subscription(subscription&&) noexcept;
  subscription& operator=(subscription&&) noexcept;
  ~subscription();

  void cancel();

 private:
  friend class server;
  explicit subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
  std::function<void()> cancel_;
};

class server {
 public:
  explicit server(server_options options = {});
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Defines a channel class for a name ("chat") or a prefix pattern ("room:*"); every topic
  /// gets its own `T{args...}`.
  template<class T, class... Args>
  requires std::derived_from<T, pulse::channel> channel_builder channel(std::string pattern,
                                                                        Args... args) {
    std::optional<channel_types> types;
    if constexpr (requires { typename T::events; })
      types = T::events::describe(); // a typed_channel: its declared events, for --emit-types
    return define(
      std::move(pattern), [args...] { return std::make_unique<T>(args...); }, std::move(types));
  }

  /// Defines a channel by lambdas only: add them with .on(...) on the result.
  channel_builder channel(std::string pattern);

  /// The TypeScript types of every channel defined (`pulse-demo --emit-types FILE.d.ts`): for
  /// each topic pattern its join params, the events clients push with their payloads and replies,
  /// and the events it sends. `@pulse/client` takes them as a generic (see docs/channels.md).
  std::string typescript_types() const;

  /// A concrete topic, to broadcast to from anywhere. Throws std::invalid_argument when no
  /// definition matches it.
  channel_handle topic(std::string topic);

  /// Subscribes server code to a topic's broadcasts; `callback` runs on an actor thread, one
  /// event at a time. Keeps the topic's channel alive while subscribed. Once the subscription is
  /// cancelled (or destroyed), the callback does not run again.
  subscription subscribe(std::string topic, std::function<void(const event&)> callback);
  /// The same for an actor of yours, which receives `pulse::event` messages.
  subscription subscribe(std::string topic, const caf::actor& listener);

  /// Decides who may connect: `fn` sees the connect params, the token and the HTTP request, and
  /// accepts with an identity (ctx.identity() in every handler) or refuses (HTTP 403). Before
  /// start(). See pulse/auth.hpp. It replaces the JWT check of server_options::jwt (call
  /// jwt()->verify(client.token) in `fn` to keep it).
  void authenticate(authenticator fn);

  /// The JWT verifier of server_options::jwt, or nullptr when none is configured.
  const jwt_verifier* jwt() const noexcept;
  /// Reads the JWT key files again (run() does on SIGHUP); returns how many keys there are.
  /// Throws std::runtime_error when they cannot be read, keeping the old keys, and
  /// std::logic_error without JWT keys.
  std::size_t reload_jwt_keys();

  /// Serves the files in `directory` under `url_prefix`. Before start().
  void serve_files(std::string url_prefix, std::filesystem::path directory);
  /// Answers HTTP requests for `path` (exact). Before start().
  void route(std::string path, transport::route_function fn);

  /// Binds and starts serving; returns the port (useful with port 0). Throws when the address
  /// cannot be bound.
  std::uint16_t start();
  /// start(), then waits for SIGINT or SIGTERM, then stop(). With JWT key files, SIGHUP reloads
  /// them meanwhile.
  void run();
  /// Stops accepting, closes every client with 1001 (going away) once its queued messages are
  /// sent or the drain timeout passed, and stops every actor. Idempotent.
  void stop();

  /// Attaches a connection that did not come through this server's listener (an in-memory
  /// one in tests, or another transport): returns what its inbound traffic goes to.
  std::shared_ptr<transport::connection_handler>
  attach(std::shared_ptr<transport::websocket_connection> connection,
         transport::phoenix::wire_format format = transport::phoenix::wire_format::v2);

  std::uint16_t port() const noexcept;
  const server_options& options() const noexcept;
  caf::actor_system& system() noexcept;

  /// Open connections: WebSockets and long-poll sessions (/socket/longpoll).
  std::size_t connection_count() const;

  /// Connections and channels now, traffic so far. Cheap; any thread.
  server_stats stats() const;

  /// Stops `actor` (an application actor spawned on system()) when the server stops, so that
  /// the actor system can shut down.
  void adopt(const caf::actor& actor);

 private:
  channel_builder define(std::string pattern, std::function<std::unique_ptr<pulse::channel>()> make,
                         std::optional<channel_types> types);

  std::shared_ptr<server_core> core_;
};

} // namespace pulse
