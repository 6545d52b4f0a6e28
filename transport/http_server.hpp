// The transport's face: an HTTP and WebSocket server on Asio threads. It knows nothing of
// actors: it reports connections through upgrade_function and connection_handler.
#pragma once

#include "transport/connection.hpp"
#include "transport/latency_histogram.hpp"
#include "transport/limits.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace pulse::transport {

/// The CPUs this process may run on (its affinity mask), at least 1.
std::size_t usable_cpu_count();

/// What an http_server carried so far.
struct traffic {
  std::size_t connections = 0;       ///< open connections now: WebSockets and long-poll sessions
  std::size_t longpoll_sessions = 0; ///< of which long-poll sessions
  std::size_t longpoll_held = 0;     ///< long-poll GETs held now, waiting for a message
  std::uint64_t messages_in = 0;
  std::uint64_t messages_out = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t slow_consumers = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t idle_timeouts = 0;
  std::uint64_t binary_dropped = 0; ///< binary messages a long-poll client could not receive
  std::size_t queued_bytes = 0;     ///< on every connection, now
  latency_histogram::snapshot write_latency;
};

class http_server {
 public:
  explicit http_server(const limits& limits = {});
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Serves files under `url_prefix` from `directory`. Before start().
  void mount(std::string url_prefix, std::filesystem::path directory);
  /// Answers `path` (exact) with `fn`. Before start().
  void route(std::string path, route_function fn);
  /// Serves over TLS only (https, wss), with the PEM files of a certificate chain and its
  /// private key. Before start(). Throws boost::system::system_error when a file is unusable.
  void enable_tls(const std::filesystem::path& certificate_chain,
                  const std::filesystem::path& private_key);

  /// Decides on WebSocket upgrades at the WebSocket path, and on new long-poll sessions at the
  /// long-poll path (/socket/longpoll), whose requests carry the same params. Before start().
  void on_upgrade(upgrade_function fn);

  /// Binds to `address`:`port` (0 picks a free port), starts `threads` I/O threads and returns
  /// the port. Throws boost::system::system_error when the address cannot be bound.
  std::uint16_t start(const std::string& address, std::uint16_t port, std::size_t threads);

  /// Stops accepting connections (upgrades in progress are refused with 503). Idempotent.
  void stop_accepting();

  /// Waits until every connection closed, or `deadline`; true when none is left.
  bool wait_for_connections(std::chrono::steady_clock::time_point deadline) const;

  /// Stops accepting, lets every connection flush what is queued and closes it with 1001 (a
  /// long-poll session hands what it buffered to its held GET), waits up to `drain_deadline`,
  /// then cuts what is left and joins the I/O threads. Idempotent.
  void stop(std::chrono::milliseconds drain_deadline = std::chrono::seconds{5});

  std::uint16_t port() const noexcept;

  /// Open connections: WebSockets and long-poll sessions.
  std::size_t connection_count() const;

  /// Connections now, and messages and bytes so far.
  transport::traffic traffic() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace pulse::transport
