// The set of live WebSocket sessions: what a graceful stop closes and what metrics count.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace pulse::transport {

class websocket_session;

class session_tracker {
 public:
  /// Traffic of every session so far: WebSocket messages and bytes, each way.
  std::atomic<std::uint64_t> messages_in = 0;
  std::atomic<std::uint64_t> messages_out = 0;
  std::atomic<std::uint64_t> bytes_in = 0;
  std::atomic<std::uint64_t> bytes_out = 0;

  void add(const std::shared_ptr<websocket_session>& session);
  void remove(const websocket_session* session);
  std::size_t size() const;
  /// Waits until no session is left or `deadline` passed; returns true when none is left.
  bool wait_until_empty(std::chrono::steady_clock::time_point deadline) const;
  /// Calls `fn` for every live session (outside the lock).
  void for_each(const std::function<void(websocket_session&)>& fn) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable emptied_;
  std::unordered_map<const websocket_session*, std::weak_ptr<websocket_session>> sessions_;
};

} // namespace pulse::transport
