// A registered channel definition (pattern, factory, lambda hooks) and the table that finds the
// definition for a topic. Shared by the server's threads and the registry actor.
#pragma once

#include "actors/channel.hpp"
#include "actors/handlers.hpp"
#include "actors/topic_pattern.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <vector>

namespace pulse {

/// Handlers added with channel_builder, on top of the class's own.
struct channel_hooks {
  pulse::handlers handlers;
  std::vector<std::function<void(context&)>> on_subscribe;
  std::vector<std::function<void(context&)>> on_unsubscribe;
};

struct channel_definition {
  channel_definition(topic_pattern p, std::function<std::unique_ptr<channel>()> factory)
      : pattern(std::move(p)), make(std::move(factory)), hooks_(std::make_shared<channel_hooks>()) {
  }

  topic_pattern pattern;
  std::function<std::unique_ptr<channel>()> make;
  /// A persistent channel's actor is not stopped when its last subscriber leaves.
  std::atomic<bool> persistent = false;

  /// The hooks as they are now; a topic actor takes this snapshot when it starts.
  std::shared_ptr<const channel_hooks> hooks() const {
    std::lock_guard guard{mutex_};
    return hooks_;
  }

  /// Copy-on-write: actors running with an older snapshot are not disturbed.
  void edit_hooks(const std::function<void(channel_hooks&)>& edit) {
    std::lock_guard guard{mutex_};
    auto copy = std::make_shared<channel_hooks>(*hooks_);
    edit(*copy);
    hooks_ = std::move(copy);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const channel_hooks> hooks_;
};

/// Every definition of one server; finds the most specific one for a topic.
class definition_table {
 public:
  /// Adds a definition; throws std::invalid_argument when the pattern is taken.
  void add(std::shared_ptr<channel_definition> definition);

  /// The definition for `topic` (exact names first, then the longest prefix), or nullptr.
  std::shared_ptr<channel_definition> find(std::string_view topic) const;

 private:
  mutable std::shared_mutex mutex_;
  std::vector<std::shared_ptr<channel_definition>> definitions_;
};

} // namespace pulse
