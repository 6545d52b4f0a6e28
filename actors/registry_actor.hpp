// Maps concrete topics to channel actors: spawns one on first interest, forgets it when it is
// idle, and routes subscribes and server-side messages to it.
#pragma once

#include "actors/channel_definition.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/redis_broker.hpp"

#include <caf/event_based_actor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

namespace pulse {

class registry_actor : public caf::event_based_actor {
 public:
  /// `live_channels` counts the channel actors it runs (for server::stats()).
  registry_actor(caf::actor_config& config, std::shared_ptr<definition_table> definitions,
                 std::atomic<std::size_t>* live_channels, actor_metrics* metrics,
                 std::shared_ptr<redis_broker> broker = nullptr);

  caf::behavior make_behavior() override;
  const char* name() const override { return "pulse.registry"; }
  void on_exit() override;

 private:
  struct entry {
    caf::actor channel;
    std::uint64_t routed = 0; ///< subscribes, listens and dispatches sent to it
  };

  /// The topic's channel, spawned when needed; nullptr when no definition matches.
  entry* route(const std::string& topic);

  std::shared_ptr<definition_table> definitions_;
  void forget(std::unordered_map<std::string, entry>::iterator it);
  /// Forgets a channel that ended; `reason` empty: it ended normally.
  void forget_failed(std::unordered_map<std::string, entry>::iterator it,
                     const std::string& reason);

  std::unordered_map<std::string, entry> channels_;

  std::atomic<std::size_t>* live_channels_;
  actor_metrics* metrics_;
  std::shared_ptr<redis_broker> broker_;
};

} // namespace pulse
