// A channel's questions to its clients (ctx.request): each waits for its client's answer, its
// timeout, or its client's leaving, whichever comes first, and is answered exactly once.
#pragma once

#include <pulse/context.hpp>

#include <caf/actor.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pulse {

class server_requests {
 public:
  struct pending {
    caf::actor_id connection;
    answer_handler on_answer;
  };

  /// Opens a request to `connection`; returns its id.
  std::uint64_t open(caf::actor_id connection, answer_handler on_answer);

  /// The ref a request goes out with ("s17"; see docs/protocol.md).
  static std::string ref_of(std::uint64_t id);

  /// The request `connection` answers with `ref`: nothing when it expired already, or is not
  /// that client's to answer.
  std::optional<std::pair<std::uint64_t, pending>> take_answered(std::string_view ref,
                                                                 caf::actor_id connection);
  /// The request `id`, if still open (its timeout).
  std::optional<pending> take(std::uint64_t id);

  /// The requests still open to `connection` (it is leaving).
  std::vector<std::uint64_t> open_to(caf::actor_id connection) const;

  void clear() { open_.clear(); }

 private:
  std::unordered_map<std::uint64_t, pending> open_;
  std::uint64_t last_id_ = 0;
};

} // namespace pulse
