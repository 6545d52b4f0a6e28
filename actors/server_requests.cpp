#include <pulse/server_requests.hpp>

#include <charconv>

namespace pulse {

std::uint64_t server_requests::open(caf::actor_id connection, answer_handler on_answer) {
  auto id = ++last_id_;
  open_.emplace(id, pending{connection, std::move(on_answer)});
  return id;
}

std::string server_requests::ref_of(std::uint64_t id) {
  std::string ref(1, 's'); // not "s" + ...: GCC 12 warns falsely (-Wrestrict) in Release
  ref += std::to_string(id);
  return ref;
}

std::optional<std::pair<std::uint64_t, server_requests::pending>>
server_requests::take_answered(std::string_view ref, caf::actor_id connection) {
  if (ref.size() < 2 || ref.front() != 's')
    return std::nullopt;
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(ref.data() + 1, ref.data() + ref.size(), id);
  if (ec != std::errc{} || end != ref.data() + ref.size())
    return std::nullopt;
  auto it = open_.find(id);
  if (it == open_.end() || it->second.connection != connection)
    return std::nullopt;
  std::pair<std::uint64_t, pending> found{id, std::move(it->second)};
  open_.erase(it);
  return found;
}

std::optional<server_requests::pending> server_requests::take(std::uint64_t id) {
  auto it = open_.find(id);
  if (it == open_.end())
    return std::nullopt;
  auto found = std::move(it->second);
  open_.erase(it);
  return found;
}

std::vector<std::uint64_t> server_requests::open_to(caf::actor_id connection) const {
  std::vector<std::uint64_t> ids;
  for (auto& [id, request] : open_)
    if (request.connection == connection)
      ids.push_back(id);
  return ids;
}

} // namespace pulse
