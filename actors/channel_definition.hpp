// A registered channel definition (pattern, factory, lambda hooks) and the table that finds the
// definition for a topic. Shared by the server's threads and the registry actor.
#pragma once

#include "actors/channel.hpp"
#include "actors/handlers.hpp"
#include "actors/history.hpp"
#include "actors/topic_pattern.hpp"
#include "actors/typed.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string_view>
#include <vector>

namespace pulse {

/// What channel_builder adds to a definition: handlers on top of the class's own, history, and
/// how long an idle topic's actor lingers.
struct channel_settings {
  pulse::handlers handlers;
  std::vector<std::function<void(context&)>> on_subscribe;
  std::vector<std::function<void(context&)>> on_unsubscribe;
  history_options history;
  /// How long a topic's actor stays after its last subscriber left (max: for ever).
  std::chrono::milliseconds linger{0};
  /// With scale-out (server_options::redis_url): shared with the other nodes, or this node's own.
  bool node_local = false;
  /// Outbound events declared with channel_builder::emits (TypeScript of their payloads).
  std::vector<channel_types::event> emits;

  bool is_persistent() const noexcept { return linger == std::chrono::milliseconds::max(); }
};

struct channel_definition {
  channel_definition(topic_pattern p, std::function<std::unique_ptr<channel>()> factory)
      : pattern(std::move(p)), make(std::move(factory)),
        settings_(std::make_shared<channel_settings>()) {}

  topic_pattern pattern;
  std::function<std::unique_ptr<channel>()> make;
  /// A typed channel class's declared events (typed_channel.hpp); lambda handlers add theirs.
  std::optional<channel_types> class_types;

  /// Everything known of this definition's types: the class's, then its lambdas'.
  channel_types types() const;

  /// The settings as they are now; a topic actor takes this snapshot when it starts.
  std::shared_ptr<const channel_settings> settings() const {
    std::lock_guard guard{mutex_};
    return settings_;
  }

  /// Copy-on-write: actors running with an older snapshot are not disturbed.
  void edit(const std::function<void(channel_settings&)>& change) {
    std::lock_guard guard{mutex_};
    auto copy = std::make_shared<channel_settings>(*settings_);
    change(*copy);
    settings_ = std::move(copy);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const channel_settings> settings_;
};

/// Every definition of one server; finds the most specific one for a topic.
class definition_table {
 public:
  /// Adds a definition; throws std::invalid_argument when the pattern is taken.
  void add(std::shared_ptr<channel_definition> definition);

  /// The definition for `topic` (exact names first, then the longest prefix), or nullptr.
  std::shared_ptr<channel_definition> find(std::string_view topic) const;

  /// Every definition, in the order they were added.
  std::vector<std::shared_ptr<channel_definition>> all() const;

 private:
  mutable std::shared_mutex mutex_;
  std::vector<std::shared_ptr<channel_definition>> definitions_;
};

} // namespace pulse
