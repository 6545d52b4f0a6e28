#include "apps/dashboard/dashboard.hpp"

#include "apps/dashboard/dashboard_source.hpp"

#include <caf/actor_system.hpp>

namespace pulse::dashboard {

namespace json = boost::json;

void dashboard_channel::on_subscribe(context& ctx) {
  json::array samples;
  for (auto& sample : samples_)
    samples.push_back(sample);
  ctx.reply(json::object{
    {"series", json::array{"connections", "channels", "messages_in_per_s", "messages_out_per_s",
                           "cpu_percent", "memory_mb", "simulated", "viewers"}},
    {"samples", std::move(samples)},
  });
}

pulse::handlers dashboard_channel::handlers() {
  return {{"sample", &dashboard_channel::on_sample}};
}

void dashboard_channel::on_sample(context& ctx, const json::value& sample) {
  if (ctx.has_client())
    throw reply_error("the dashboard is read-only: samples come from the server");
  auto stamped = sample;
  stamped.as_object()["viewers"] = subscriber_count();
  broadcast("sample", stamped);
  samples_.push_back(std::move(stamped));
  if (samples_.size() > options_.kept_samples)
    samples_.pop_front();
}

void install(server& server, dashboard_options options) {
  // Each node draws its own figures: the topic stays on its node, even with scale-out.
  server.channel<dashboard_channel>("dashboard", options).persistent().node_local();
  auto source = server.system().spawn<dashboard_source>(&server, server.topic("dashboard"),
                                                        options.interval);
  server.adopt(source);
}

} // namespace pulse::dashboard
