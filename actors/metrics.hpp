// What the actors count, for /metrics: joins, broadcasts, deliveries, rejected input, failures.
// Relaxed atomics, each updated at most once per message or per broadcast.
#pragma once

#include "transport/http_server.hpp"

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

namespace pulse {

struct actor_metrics {
  std::atomic<std::uint64_t> joins = 0;
  std::atomic<std::uint64_t> join_refusals = 0; ///< refused by the channel, or unmatched
  std::atomic<std::uint64_t> broadcasts = 0;
  std::atomic<std::uint64_t> deliveries = 0;        ///< broadcast frames queued on sockets
  std::atomic<std::uint64_t> rejected_messages = 0; ///< malformed, over the rate, unmatched
  std::atomic<std::uint64_t> invalid_payloads = 0;  ///< payloads a typed handler could not take
  std::atomic<std::uint64_t> channel_failures = 0;

  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) noexcept {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

/// The Prometheus text exposition of everything a server counts; `redis_connected` only for a
/// node that shares its channels through Redis.
std::string prometheus_text(const actor_metrics& actors, const transport::traffic& traffic,
                            std::size_t channels, std::optional<bool> redis_connected = {});

} // namespace pulse
