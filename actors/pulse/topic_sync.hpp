// One topic's side of the Redis broker, as plain logic (the broker does the I/O): what this node
// publishes until Redis has taken it and it has come back, and what every node published, handed
// to the channel actor in Redis's order, each broadcast once, with what the node missed (after
// a reconnection, a failover, a slot's move) caught up from the topic's stream first.
//
// Redis numbers every broadcast of a topic twice: `count` among all of them (so a node sees what
// it missed) and, for kept ones, `offset` in the history (what clients see). Each node numbers
// its own broadcasts too (`n`), and Redis applies each (node, n) at most once: what a node is not
// sure Redis took, it sends again. While Redis is out of reach, a node holds what its channel
// publishes and publishes it once Redis is back; past the hold time (or the bound) it gives up
// and serves alone: what it held goes to its own subscribers only, unnumbered.
#pragma once

#include <pulse/messages.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace pulse {

class topic_sync {
 public:
  using clock = std::chrono::steady_clock;

  /// A broadcast as Redis numbered it (from the pub/sub, or from the topic's stream).
  struct entry {
    std::uint64_t count = 0;  ///< its place among every broadcast of the topic
    std::uint64_t offset = 0; ///< its place in the history (0: not kept)
    std::string origin;       ///< the node that published it
    std::uint64_t n = 0;      ///< that node's number for it
    std::uint64_t except = 0; ///< for its node: the subscriber it skips
    std::string tail;
    std::chrono::milliseconds age{0}; ///< from the stream: how long ago it was published
  };

  /// Where this node stands: what it asks Redis to compare with when it loads the topic again.
  struct position {
    std::string epoch; ///< empty: never loaded
    std::uint64_t count = 0;
    std::uint64_t offset = 0;
    std::string origin; ///< "node n" of the broadcast at `offset` (empty: unknown)
  };

  /// The load script's answer.
  struct loaded {
    std::string epoch;
    std::uint64_t count = 0;
    std::uint64_t offset = 0;
    std::vector<entry> entries; ///< oldest first
    bool since = false;         ///< entries are those after position(); else the newest kept
    std::vector<messages::presence_record> presences;
  };

  /// A batch to send to Redis: numbers first_n, first_n + 1, ...
  struct batch {
    std::uint64_t first_n = 0;
    std::vector<messages::shared_broadcast> broadcasts;
  };

  /// What the channel actor gets, in this order.
  using effect = std::variant<messages::remote_broadcast, messages::history_loaded,
                              messages::stream_gap, messages::shared_broadcast>;

  topic_sync(std::string node, std::size_t keep, std::size_t max_held)
      : node_(std::move(node)), keep_(keep), max_held_(max_held) {}

  // ---- receiving
  /// The subscription (re)started: load the topic (with position()) before going live.
  void subscribed() { phase_ = phase::loading; }
  /// The subscription ended: nothing is heard until subscribed() again (what waited for a gap
  /// to close is read again from the stream then).
  void lost() {
    phase_ = phase::unsubscribed;
    early_.clear();
    needs_fill_ = false;
  }
  bool is_live() const noexcept { return phase_ == phase::live; }
  position where() const { return {synced_ ? epoch_ : std::string{}, count_, offset_, origin_}; }
  /// The load script's answer (in phase loading).
  void on_loaded(loaded result);
  /// A broadcast from the pub/sub.
  void on_message(entry e);
  /// A range of the stream asked for by wants_fill() (nothing: the request failed).
  void on_fetched(std::optional<std::vector<entry>> entries);
  /// The offset after which kept broadcasts are missing and must be read from the stream, once:
  /// the broker reads them and calls on_fetched().
  std::optional<std::uint64_t> wants_fill();

  // ---- publishing
  /// What the channel broadcast, in order.
  void publish(std::vector<messages::shared_broadcast> broadcasts, clock::time_point now);
  /// What to send to Redis now (one batch in flight at a time, so that Redis applies them in
  /// order): nothing while not live.
  std::optional<batch> take_batch();
  /// Redis's answer to the batch: for each broadcast its count and offset (count 0: Redis had
  /// applied it already); nothing: it may or may not have taken them (sent again).
  void on_published(std::uint64_t first_n,
                    std::optional<std::vector<std::pair<std::uint64_t, std::uint64_t>>> numbers);
  /// Gives up on what waited longer than `hold` (or everything, when `all`): it goes to this
  /// node's subscribers only, and the topic serves alone until it is live again.
  void give_up(clock::time_point now, std::chrono::milliseconds hold, bool all = false);
  /// Everything published here came back (or was given up): a graceful stop may go on.
  bool is_drained() const noexcept { return outbox_.empty(); }
  bool has_unsent() const noexcept;
  bool is_sending() const noexcept { return sending_; }

  /// What happened since the last call, for the channel actor.
  std::vector<effect> take_effects() { return std::exchange(effects_, {}); }

  /// Broadcasts held ahead of a gap at most, before the gap is given up on.
  static constexpr std::size_t max_early = 100000;
  /// Broadcasts sent to Redis in one script at most.
  static constexpr std::size_t max_batch = 500;

 private:
  enum class phase { unsubscribed, loading, live };
  enum class state { unsent, sent, acked };
  struct outgoing {
    std::uint64_t n;
    messages::shared_broadcast broadcast;
    state at = state::unsent;
    std::uint64_t count = 0;
    clock::time_point since;
  };

  void accept(entry e);
  void deliver(entry e);
  void drain_early(bool force);
  void gap(std::uint64_t at);
  void echo(const entry& e);
  void prune();

  std::string node_;
  std::size_t keep_;
  std::size_t max_held_;
  phase phase_ = phase::unsubscribed;
  bool synced_ = false; ///< the channel has the shared history
  std::string epoch_;
  std::uint64_t count_ = 0;  ///< the last broadcast delivered (or passed)
  std::uint64_t offset_ = 0; ///< the last kept one
  std::string origin_;
  std::map<std::uint64_t, entry> early_; ///< by count: heard ahead of a gap, or while loading
  bool needs_fill_ = false;              ///< kept broadcasts may be missing: read the stream
  bool filling_ = false;                 ///< a range of the stream is being read
  bool missed_ = false;                  ///< served alone meanwhile: report a gap when live

  std::uint64_t next_n_ = 1;
  std::deque<outgoing> outbox_; ///< published here and not back yet, by n
  bool sending_ = false;
  bool alone_ = false;
  std::set<std::uint64_t> given_up_; ///< own numbers delivered here already

  std::vector<effect> effects_;
};

} // namespace pulse
