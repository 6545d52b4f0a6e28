#include "actors/history.hpp"

namespace pulse {

void message_history::append_at(std::uint64_t offset, transport::outbound_frame frame,
                                clock::time_point now) {
  if (offset != last_offset_ + 1)
    kept_.clear();
  last_offset_ = offset;
  kept_.push_back({offset, now, std::move(frame)});
  trim(now);
}

void message_history::reset(std::string epoch, std::uint64_t last_offset) {
  epoch_ = std::move(epoch);
  last_offset_ = last_offset;
  kept_.clear();
}

void message_history::trim(clock::time_point now) {
  while (kept_.size() > options_.max_messages)
    kept_.pop_front();
  if (options_.max_age.count() > 0)
    while (!kept_.empty() && now - kept_.front().at > options_.max_age)
      kept_.pop_front();
}

std::optional<std::vector<transport::outbound_frame>>
message_history::since(std::string_view epoch, std::uint64_t offset, clock::time_point now) {
  trim(now);
  if (epoch != epoch_ || offset > last_offset_)
    return std::nullopt;
  // Everything after `offset` must still be here: the oldest kept is offset + 1 or older.
  auto oldest = kept_.empty() ? last_offset_ + 1 : kept_.front().offset;
  if (offset + 1 < oldest)
    return std::nullopt;
  std::vector<transport::outbound_frame> missed;
  for (auto& k : kept_)
    if (k.offset > offset)
      missed.push_back(k.frame);
  return missed;
}

} // namespace pulse
