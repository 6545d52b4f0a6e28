#include <pulse/topic_directory.hpp>

namespace pulse {

topic_directory::topic_directory(std::shared_ptr<definition_table> definitions, starter start)
    : definitions_(std::move(definitions)), start_(std::move(start)) {}

caf::actor* topic_directory::find_locked(shard& s, const std::string& topic, bool start) {
  if (auto it = s.channels.find(topic); it != s.channels.end())
    return &it->second;
  // Read under the shard's lock, which close() takes after setting the flag: a start either
  // lands in the map before close() empties this shard, or sees the flag.
  if (!start || closed_.load())
    return nullptr;
  auto definition = definitions_->find(topic);
  if (!definition)
    return nullptr;
  auto channel = start_(topic, std::move(definition));
  if (!channel)
    return nullptr;
  size_.fetch_add(1, std::memory_order_relaxed);
  started_.fetch_add(1, std::memory_order_relaxed);
  return &s.channels.emplace(topic, std::move(channel)).first->second;
}

caf::actor topic_directory::find(const std::string& topic) const {
  auto& s = shard_of(topic);
  std::lock_guard guard{s.mutex};
  auto it = s.channels.find(topic);
  return it == s.channels.end() ? caf::actor{} : it->second;
}

void topic_directory::ensure(const std::string& topic) {
  auto& s = shard_of(topic);
  std::lock_guard guard{s.mutex};
  find_locked(s, topic, true);
}

bool topic_directory::retire(const std::string& topic, caf::actor_id self) {
  auto& s = shard_of(topic);
  std::lock_guard guard{s.mutex};
  auto it = s.channels.find(topic);
  if (it == s.channels.end() || it->second.id() != self)
    return false;
  s.channels.erase(it);
  size_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

std::vector<std::pair<std::string, caf::actor>> topic_directory::snapshot() const {
  std::vector<std::pair<std::string, caf::actor>> all;
  for (auto& s : shards_) {
    std::lock_guard guard{s.mutex};
    for (auto& [topic, channel] : s.channels)
      all.emplace_back(topic, channel);
  }
  return all;
}

std::vector<std::pair<std::string, caf::actor>> topic_directory::close() {
  closed_.store(true);
  std::vector<std::pair<std::string, caf::actor>> all;
  for (auto& s : shards_) {
    std::lock_guard guard{s.mutex};
    size_.fetch_sub(s.channels.size(), std::memory_order_relaxed);
    for (auto& [topic, channel] : s.channels)
      all.emplace_back(topic, std::move(channel));
    s.channels.clear();
  }
  return all;
}

} // namespace pulse
