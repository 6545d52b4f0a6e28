// What concerns every channel at once: the graceful stop's barrier, the server API's lists, and
// channels that failed (counted, and restarted at once when persistent). Joins and broadcasts
// never pass here: they find their channel in the topic directory.
#pragma once

#include <pulse/channel_definition.hpp>
#include <pulse/messages.hpp>
#include <pulse/metrics.hpp>
#include <pulse/topic_directory.hpp>

#include <caf/event_based_actor.hpp>

#include <memory>

namespace pulse {

class registry_actor : public caf::event_based_actor {
 public:
  registry_actor(caf::actor_config& config, std::shared_ptr<topic_directory> directory,
                 std::shared_ptr<definition_table> definitions, actor_metrics* metrics);

  caf::behavior make_behavior() override;
  const char* name() const override { return "pulse.registry"; }
  void on_exit() override;

 private:
  std::shared_ptr<topic_directory> directory_;
  std::shared_ptr<definition_table> definitions_;
  actor_metrics* metrics_;
};

} // namespace pulse
