#include "actors/presence.hpp"

#include <boost/json/array.hpp>

#include <algorithm>

namespace pulse {

namespace json = boost::json;

namespace {
using metas_by_key = std::map<std::string, std::vector<json::object>>;
} // namespace

std::string presence_table::next_ref() {
  return ref_prefix_ + std::to_string(++next_ref_);
}

json::object presence_table::diff(const metas_by_key& joins, const metas_by_key& leaves) {
  auto section = [](const metas_by_key& from) {
    json::object out;
    for (auto& [key, metas] : from)
      out[key] = json::object{{"metas", json::array(metas.begin(), metas.end())}};
    return out;
  };
  return json::object{{"joins", section(joins)}, {"leaves", section(leaves)}};
}

json::object presence_table::track(std::uint64_t owner, std::string_view key, json::object meta) {
  if (auto changed = update(owner, key, meta))
    return std::move(*changed);
  meta["phx_ref"] = next_ref();
  auto it = entries_.find(key);
  if (it == entries_.end())
    it = entries_.emplace(std::string{key}, std::vector<entry>{}).first;
  it->second.push_back({owner, meta});
  return diff({{std::string{key}, {std::move(meta)}}}, {});
}

std::optional<json::object> presence_table::update(std::uint64_t owner, std::string_view key,
                                                   json::object meta) {
  auto it = entries_.find(key);
  if (it == entries_.end())
    return std::nullopt;
  auto found = std::find_if(it->second.begin(), it->second.end(),
                            [owner](const entry& e) { return e.owner == owner; });
  if (found == it->second.end())
    return std::nullopt;
  auto old = found->meta;
  meta["phx_ref"] = next_ref();
  meta["phx_ref_prev"] = old.at("phx_ref");
  found->meta = meta;
  return diff({{std::string{key}, {std::move(meta)}}}, {{std::string{key}, {std::move(old)}}});
}

std::optional<json::object> presence_table::untrack(std::uint64_t owner, std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end())
    return std::nullopt;
  auto found = std::find_if(it->second.begin(), it->second.end(),
                            [owner](const entry& e) { return e.owner == owner; });
  if (found == it->second.end())
    return std::nullopt;
  auto old = std::move(found->meta);
  it->second.erase(found);
  if (it->second.empty())
    entries_.erase(it);
  return diff({}, {{std::string{key}, {std::move(old)}}});
}

std::optional<json::object> presence_table::untrack_all(std::uint64_t owner) {
  metas_by_key leaves;
  for (auto it = entries_.begin(); it != entries_.end();) {
    auto& list = it->second;
    for (auto e = list.begin(); e != list.end();) {
      if (e->owner == owner) {
        leaves[it->first].push_back(std::move(e->meta));
        e = list.erase(e);
      } else {
        ++e;
      }
    }
    it = list.empty() ? entries_.erase(it) : std::next(it);
  }
  if (leaves.empty())
    return std::nullopt;
  return diff({}, leaves);
}

json::object presence_table::list() const {
  json::object state;
  for (auto& [key, list] : entries_) {
    json::array metas;
    for (auto& e : list)
      metas.push_back(e.meta);
    state[key] = json::object{{"metas", std::move(metas)}};
  }
  return state;
}

} // namespace pulse
