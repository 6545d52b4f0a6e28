// The set of live sessions, WebSocket and long-poll: what a graceful stop closes, what the
// connection limits and the metrics count.
#pragma once

#include <pulse/transport/latency_histogram.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace pulse::transport {

class websocket_session_base;

class session_tracker {
 public:
  /// Traffic of every session so far: messages and bytes, each way (a long-poll session counts
  /// each POSTed message and each message it hands a GET, and the bytes of POST and GET bodies).
  std::atomic<std::uint64_t> messages_in = 0;
  std::atomic<std::uint64_t> messages_out = 0;
  std::atomic<std::uint64_t> bytes_in = 0;
  std::atomic<std::uint64_t> bytes_out = 0;
  /// Connections closed for a reason of theirs.
  std::atomic<std::uint64_t> slow_consumers = 0;  ///< over their outbound bound (1008)
  std::atomic<std::uint64_t> protocol_errors = 0; ///< frames that broke RFC 6455, too large
  std::atomic<std::uint64_t> idle_timeouts = 0;   ///< no heartbeat (1008)
  /// Binary messages that could not go to a long-poll client (it receives text only).
  std::atomic<std::uint64_t> binary_dropped = 0;
  /// Long-poll GETs held now, waiting for a message or the end of their window.
  std::atomic<std::size_t> held_polls = 0;
  /// From a frame's making (a broadcast's encoding) to its write on the socket, sampled once
  /// per write: the oldest frame the write carried.
  latency_histogram write_latency;

  enum class admission { admitted, server_full, address_full };

  /// Takes a place for a connection from `address` before its handshake, within the limits
  /// (`max_per_address` 0: none per address; the same for every call); give it back with
  /// release() if the handshake fails (remove() does it for a session).
  admission admit(const std::string& address, std::size_t max_total, std::size_t max_per_address);
  void release(const std::string& address);
  /// How many addresses it counts connections of: those connected under a per-address limit.
  std::size_t tracked_addresses() const;

  void add(const std::shared_ptr<websocket_session_base>& session);
  /// Forgets a finished session and gives back its place.
  void remove(const websocket_session_base* session, const std::string& address);
  std::size_t size() const;
  /// Waits until no session is left or `deadline` passed; returns true when none is left.
  bool wait_until_empty(std::chrono::steady_clock::time_point deadline) const;
  /// Bytes queued on every connection and not yet written.
  std::size_t queued_bytes() const;
  /// Calls `fn` for every live session (outside the lock).
  void for_each(const std::function<void(websocket_session_base&)>& fn) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable emptied_;
  std::unordered_map<const websocket_session_base*, std::weak_ptr<websocket_session_base>>
    sessions_;
  std::size_t admitted_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_; // only where limited
};

} // namespace pulse::transport
