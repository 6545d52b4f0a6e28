// The dashboard app: a data-source actor samples the server's own figures every 500 ms and feeds
// them to the persistent `dashboard` channel, which keeps the last minute and broadcasts each
// sample to every viewer (one encoding per sample, however many viewers).
//
// Wire contract: join `dashboard`; the join's reply holds {"series": [names], "samples": [the
// last 120 samples]}; then every 500 ms a `sample` broadcast:
//   {"t": unix ms, "connections", "channels", "messages_in_per_s", "messages_out_per_s",
//    "cpu_percent", "memory_mb", "simulated", "viewers"}
#pragma once

#include <pulse/pulse.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/members.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace pulse::dashboard {

/// The server's figures at one moment (`t`, unix ms); `viewers` is filled in by the channel.
struct sample {
  std::int64_t t = 0;
  std::size_t connections = 0;
  std::size_t channels = 0;
  double messages_in_per_s = 0;
  double messages_out_per_s = 0;
  double cpu_percent = 0;
  double memory_mb = 0;
  double simulated = 0;
  std::size_t viewers = 0;
};
BOOST_DESCRIBE_STRUCT(sample, (),
                      (t, connections, channels, messages_in_per_s, messages_out_per_s, cpu_percent,
                       memory_mb, simulated, viewers))

/// The join's reply: the names of the series, and the last minute of samples.
struct recent_samples {
  std::vector<std::string> series;
  std::vector<sample> samples;
};
BOOST_DESCRIBE_STRUCT(recent_samples, (), (series, samples))

struct dashboard_options {
  std::chrono::milliseconds interval = std::chrono::milliseconds{500};
  std::size_t kept_samples = 120;
};

/// The `dashboard` channel: keeps recent samples, hands them to new viewers, broadcasts new ones.
class dashboard_channel : public channel {
 public:
  explicit dashboard_channel(dashboard_options options = {}) : options_(options) {}

  void on_subscribe(context& ctx) override;
  pulse::handlers handlers() override;

 private:
  void on_sample(context& ctx, const sample& next);

  dashboard_options options_;
  std::deque<sample> samples_;
};

/// Defines the `dashboard` channel and starts its data source (stopped with the server).
void install(server& server, dashboard_options options = {});

} // namespace pulse::dashboard
