#include "actors/metrics.hpp"

#include <fmt/format.h>

namespace pulse {

namespace {

void metric(std::string& out, std::string_view name, std::string_view type, std::string_view help,
            double value) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name,
                 type, name, value);
}

} // namespace

std::string prometheus_text(const actor_metrics& actors, const transport::traffic& traffic,
                            std::size_t channels, std::optional<bool> redis_connected) {
  auto load = [](const std::atomic<std::uint64_t>& counter) {
    return static_cast<double>(counter.load(std::memory_order_relaxed));
  };
  std::string out;
  out.reserve(4096);
  metric(out, "pulse_connections", "gauge", "Open connections: WebSockets and long-poll sessions.",
         static_cast<double>(traffic.connections));
  metric(out, "pulse_longpoll_sessions", "gauge", "Open long-poll sessions (in pulse_connections).",
         static_cast<double>(traffic.longpoll_sessions));
  metric(out, "pulse_longpoll_held_requests", "gauge",
         "Long-poll GETs held open now, waiting for a message.",
         static_cast<double>(traffic.longpoll_held));
  metric(out, "pulse_channels", "gauge", "Topics with a running channel actor.",
         static_cast<double>(channels));
  metric(out, "pulse_joins_total", "counter", "Joins accepted.", load(actors.joins));
  metric(out, "pulse_join_refusals_total", "counter",
         "Joins refused (by the channel, or for a topic nobody defined).",
         load(actors.join_refusals));
  metric(out, "pulse_messages_in_total", "counter",
         "Messages received (WebSocket messages, long-poll POSTed messages).",
         static_cast<double>(traffic.messages_in));
  metric(out, "pulse_messages_out_total", "counter",
         "Messages written (WebSocket messages, messages in long-poll answers).",
         static_cast<double>(traffic.messages_out));
  metric(out, "pulse_bytes_in_total", "counter",
         "Bytes received (WebSocket connections, long-poll POST bodies).",
         static_cast<double>(traffic.bytes_in));
  metric(out, "pulse_bytes_out_total", "counter",
         "Bytes written (WebSocket connections, long-poll answer bodies).",
         static_cast<double>(traffic.bytes_out));
  metric(out, "pulse_broadcasts_total", "counter", "Broadcasts (each encoded once).",
         load(actors.broadcasts));
  metric(out, "pulse_deliveries_total", "counter",
         "Broadcast frames queued on subscribers' sockets (the fan-out).", load(actors.deliveries));
  metric(out, "pulse_slow_consumer_disconnects_total", "counter",
         "Connections closed for falling behind (1008).",
         static_cast<double>(traffic.slow_consumers));
  metric(out, "pulse_idle_timeouts_total", "counter",
         "Connections closed for sending nothing within the idle timeout (1008).",
         static_cast<double>(traffic.idle_timeouts));
  metric(out, "pulse_rejected_inputs_total", "counter",
         "Inbound input refused: malformed messages, frames that broke RFC 6455, rate limits.",
         load(actors.rejected_messages) + static_cast<double>(traffic.protocol_errors));
  metric(out, "pulse_invalid_payloads_total", "counter",
         "Pushes whose payload did not have the shape their event declares (an error reply "
         "named the field).",
         load(actors.invalid_payloads));
  metric(out, "pulse_channel_failures_total", "counter", "Channel actors that failed.",
         load(actors.channel_failures));
  metric(out, "pulse_longpoll_binary_dropped_total", "counter",
         "Binary messages dropped on long-poll sessions (their client receives text only).",
         static_cast<double>(traffic.binary_dropped));
  metric(out, "pulse_queued_bytes", "gauge", "Bytes queued on every connection, not yet written.",
         static_cast<double>(traffic.queued_bytes));
  if (redis_connected)
    metric(out, "pulse_redis_connected", "gauge",
           "1 while this node shares its channels through Redis, 0 while Redis is unreachable.",
           *redis_connected ? 1 : 0);

  auto& latency = traffic.write_latency;
  constexpr std::string_view name = "pulse_broadcast_to_socket_seconds";
  fmt::format_to(std::back_inserter(out),
                 "# HELP {} From a frame's encoding to its write on a socket (the oldest frame of "
                 "each write).\n# TYPE {} histogram\n",
                 name, name);
  std::uint64_t cumulative = 0;
  auto& bounds = transport::latency_histogram::bounds_us;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += latency.counts[i];
    fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"{}\"}} {}\n", name,
                   static_cast<double>(bounds[i]) / 1e6, cumulative);
  }
  fmt::format_to(std::back_inserter(out), "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n",
                 name, latency.count, name, latency.sum_seconds, name, latency.count);
  return out;
}

} // namespace pulse
