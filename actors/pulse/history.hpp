// A channel's recent broadcasts, kept as the encoded frames themselves, so that a client that
// reconnects gets exactly what it missed, byte for byte, without a second encoding.
#pragma once

#include <pulse/transport/outbound_frame.hpp>

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace pulse {

/// How much history a channel keeps: the last `max_messages`, and only those younger than
/// `max_age` (zero: no age limit). Both zero: no history.
struct history_options {
  std::size_t max_messages = 0;
  std::chrono::milliseconds max_age{0};

  bool enabled() const noexcept { return max_messages > 0; }
};

class message_history {
 public:
  using clock = std::chrono::steady_clock;

  /// `epoch` names this history: it changes whenever the history is lost (a new actor).
  message_history(history_options options, std::string epoch)
      : options_(options), epoch_(std::move(epoch)) {}

  /// The offset the next broadcast gets (offsets start at 1 and never repeat within an epoch).
  std::uint64_t next_offset() const noexcept { return last_offset_ + 1; }
  std::uint64_t last_offset() const noexcept { return last_offset_; }
  const std::string& epoch() const noexcept { return epoch_; }

  /// Keeps `frame`, the broadcast with offset next_offset(); drops what no longer fits.
  void append(transport::outbound_frame frame, clock::time_point now = clock::now()) {
    append_at(last_offset_ + 1, std::move(frame), now);
  }
  /// Keeps `frame` under `offset`, given by someone else (Redis numbers a topic's broadcasts
  /// for every node). After a gap, what came before is forgotten: nothing is recovered across
  /// it.
  void append_at(std::uint64_t offset, transport::outbound_frame frame,
                 clock::time_point now = clock::now());

  /// Starts over, empty: the history named `epoch` whose last broadcast was `last_offset`.
  void reset(std::string epoch, std::uint64_t last_offset);

  /// The frames after `offset`, oldest first: exactly what a client that saw `offset` missed.
  /// Nothing when the epoch differs or part of the gap is no longer kept.
  std::optional<std::vector<transport::outbound_frame>>
  since(std::string_view epoch, std::uint64_t offset, clock::time_point now = clock::now());

  /// A join's recovery, from its params "epoch" and "last_offset": adds the history's position
  /// to the join reply's `response` ("epoch", "offset", and "recovered" whenever the client
  /// gave a last_offset, usable or not) and returns what the client missed, oldest first.
  std::vector<transport::outbound_frame> recover(const boost::json::object& params,
                                                 boost::json::object& response,
                                                 clock::time_point now = clock::now());

  std::size_t size() const noexcept { return kept_.size(); }

  /// Every frame kept, newest first, until `fn` returns false.
  template<class Fn>
  void visit_newest(Fn fn) const {
    for (auto it = kept_.rbegin(); it != kept_.rend() && fn(it->frame); ++it) {
    }
  }

 private:
  struct kept {
    std::uint64_t offset;
    clock::time_point at;
    transport::outbound_frame frame;
  };

  void trim(clock::time_point now);

  history_options options_;
  std::string epoch_;
  std::uint64_t last_offset_ = 0;
  std::deque<kept> kept_;
};

} // namespace pulse
