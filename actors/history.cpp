#include <pulse/history.hpp>

#include <charconv>

namespace pulse {

namespace json = boost::json;

namespace {

/// A non-negative integer given as a number or a numeric string; nothing for anything else.
std::optional<std::uint64_t> as_offset(const json::value& value) {
  if (value.is_int64() && value.get_int64() >= 0)
    return static_cast<std::uint64_t>(value.get_int64());
  if (value.is_uint64())
    return value.get_uint64();
  if (auto* text = value.if_string()) {
    std::uint64_t parsed = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), parsed);
    if (ec == std::errc{} && end == text->data() + text->size() && !text->empty())
      return parsed;
  }
  return std::nullopt;
}

} // namespace

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

std::vector<transport::outbound_frame> message_history::recover(const json::object& params,
                                                                json::object& response,
                                                                clock::time_point now) {
  response["epoch"] = epoch_;
  response["offset"] = last_offset_;
  auto* given = params.if_contains("last_offset");
  if (!given || given->is_null())
    return {}; // a first join: nothing to recover
  // Whatever the client gave, it hears whether it got everything: a value that is no offset
  // ("abc", -1, 1.5) is a gap it must fill some other way, as is a different epoch.
  auto offset = as_offset(*given);
  auto* epoch = params.if_contains("epoch");
  std::optional<std::vector<transport::outbound_frame>> missed;
  if (offset && epoch && epoch->is_string())
    missed = since(epoch->get_string(), *offset, now);
  response["recovered"] = missed.has_value();
  return missed ? std::move(*missed) : std::vector<transport::outbound_frame>{};
}

} // namespace pulse
