// Where each topic's channel actor is: found by any connection actor without asking another
// actor, so that joins do not queue behind one another, and started there on first use.
#pragma once

#include <pulse/channel_definition.hpp>

#include <caf/actor.hpp>
#include <caf/execution_unit.hpp>
#include <caf/mailbox_element.hpp>

#include <array>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace pulse {

/// A topic -> channel actor map in shards, each behind its own lock. A message is handed to a
/// channel while its shard's lock is held, and a channel leaves the map under that same lock
/// (retire()): so once a channel has left, nothing new reaches it through here, and what reached
/// it before is in its mailbox already. Starting a topic's actor happens under the lock too, so
/// racing first joins meet one actor.
class topic_directory {
 public:
  /// Starts the channel actor for `topic`.
  using starter
    = std::function<caf::actor(const std::string& topic, std::shared_ptr<channel_definition>)>;

  topic_directory(std::shared_ptr<definition_table> definitions, starter start);

  /// Hands `msg` to `topic`'s channel actor, starting one first when `start` is set and a
  /// definition matches. False when no actor runs the topic (and none was started).
  template<class Message>
  bool send(const std::string& topic, Message&& msg, bool start,
            caf::strong_actor_ptr sender = nullptr, caf::execution_unit* host = nullptr) {
    auto& home = shard_of(topic);
    std::lock_guard guard{home.mutex};
    auto* channel = find_locked(home, topic, start);
    if (!channel)
      return false;
    (*channel)->enqueue(caf::make_mailbox_element(std::move(sender), caf::make_message_id(), {},
                                                  std::forward<Message>(msg)),
                        host);
    return true;
  }

  /// The actor running `topic`, or an empty handle.
  caf::actor find(const std::string& topic) const;

  /// Starts `topic`'s actor if none runs (a persistent channel after a failure).
  void ensure(const std::string& topic);

  /// Takes `self` out of the map, if it is still `topic`'s actor. True when it was.
  bool retire(const std::string& topic, caf::actor_id self);

  /// Whether a definition matches `topic`.
  bool is_defined(const std::string& topic) const { return definitions_->find(topic) != nullptr; }

  /// Every running topic and its actor, at one moment.
  std::vector<std::pair<std::string, caf::actor>> snapshot() const;

  /// Topics with a running actor.
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

  /// Channel actors started so far (a topic whose actor stopped and started again counts twice).
  std::uint64_t started() const noexcept { return started_.load(std::memory_order_relaxed); }

  /// Forgets every actor and starts none from now on (at shutdown). What it returns is every
  /// actor the directory ever handed a message and did not see retire, so telling each of them
  /// to stop leaves no channel running, even with joins racing the stop.
  std::vector<std::pair<std::string, caf::actor>> close();

  /// Whether close() was called: a join then finds no channel because the server is stopping.
  bool closed() const noexcept { return closed_.load(); }

 private:
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, caf::actor> channels;
  };
  static constexpr std::size_t shard_count = 64;

  shard& shard_of(const std::string& topic) {
    return shards_[std::hash<std::string>{}(topic) % shard_count];
  }
  const shard& shard_of(const std::string& topic) const {
    return shards_[std::hash<std::string>{}(topic) % shard_count];
  }
  caf::actor* find_locked(shard& s, const std::string& topic, bool start);

  std::shared_ptr<definition_table> definitions_;
  starter start_;
  std::array<shard, shard_count> shards_;
  std::atomic<std::size_t> size_ = 0;
  std::atomic<std::uint64_t> started_ = 0;
  std::atomic<bool> closed_ = false;
};

} // namespace pulse
