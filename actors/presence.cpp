#include <pulse/presence.hpp>

#include <boost/json/array.hpp>

#include <algorithm>

namespace pulse {

namespace json = boost::json;

namespace {

using metas_by_key = std::map<std::string, std::vector<json::object>>;

/// A presence_diff payload.
json::object diff(const metas_by_key& joins, const metas_by_key& leaves) {
  auto section = [](const metas_by_key& from) {
    json::object out;
    for (auto& [key, metas] : from)
      out[key] = json::object{{"metas", json::array(metas.begin(), metas.end())}};
    return out;
  };
  return json::object{{"joins", section(joins)}, {"leaves", section(leaves)}};
}

/// Moves the metas of every item `leaving` accepts out of `by_key` (keys left empty go too),
/// grouped by key.
template<class Item, class Leaving, class MetaOf>
metas_by_key take_leaving(std::map<std::string, std::vector<Item>, std::less<>>& by_key,
                          Leaving leaving, MetaOf meta_of) {
  metas_by_key leaves;
  for (auto it = by_key.begin(); it != by_key.end();) {
    auto& items = it->second;
    for (auto item = items.begin(); item != items.end();) {
      if (leaving(*item)) {
        leaves[it->first].push_back(std::move(meta_of(*item)));
        item = items.erase(item);
      } else {
        ++item;
      }
    }
    it = items.empty() ? by_key.erase(it) : std::next(it);
  }
  return leaves;
}

} // namespace

std::string presence_table::next_ref() {
  return ref_prefix_ + std::to_string(++next_ref_);
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
  auto leaves = take_leaving(
    entries_, [owner](const entry& e) { return e.owner == owner; },
    [](entry& e) -> json::object& { return e.meta; });
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

// ---- remote_presence ---------------------------------------------------------------------------

std::string_view remote_presence::incarnation_of(const json::object& meta) {
  auto* ref = meta.if_contains("phx_ref");
  if (!ref || !ref->is_string())
    return {};
  std::string_view text = ref->get_string();
  return text.substr(0, text.find(':'));
}

std::vector<std::string> remote_presence::apply(const json::object& diff) {
  std::vector<std::string> heard;
  auto note = [&heard](std::string_view incarnation) {
    if (!incarnation.empty() && std::find(heard.begin(), heard.end(), incarnation) == heard.end())
      heard.emplace_back(incarnation);
  };
  auto metas_of = [](const json::value& entry) -> const json::array* {
    auto* object = entry.if_object();
    auto* metas = object ? object->if_contains("metas") : nullptr;
    return metas ? metas->if_array() : nullptr;
  };
  if (auto* joins = diff.if_contains("joins"); joins && joins->is_object())
    for (auto& [key, entry] : joins->get_object())
      if (auto* metas = metas_of(entry))
        for (auto& meta : *metas)
          if (meta.is_object()) {
            note(incarnation_of(meta.get_object()));
            metas_[std::string{key}].push_back(meta.get_object());
          }
  if (auto* leaves = diff.if_contains("leaves"); leaves && leaves->is_object())
    for (auto& [key, entry] : leaves->get_object()) {
      auto* metas = metas_of(entry);
      auto it = metas_.find(std::string_view{key});
      if (!metas || it == metas_.end())
        continue;
      for (auto& meta : *metas) {
        auto* ref = meta.is_object() ? meta.get_object().if_contains("phx_ref") : nullptr;
        if (!ref)
          continue;
        note(meta.is_object() ? incarnation_of(meta.get_object()) : std::string_view{});
        std::erase_if(it->second, [ref](const json::object& kept) {
          auto* mine = kept.if_contains("phx_ref");
          return mine && *mine == *ref;
        });
      }
      if (it->second.empty())
        metas_.erase(it);
    }
  return heard;
}

void remote_presence::replace(std::string_view incarnation, const json::object& list) {
  drop(incarnation);
  json::object joins;
  for (auto& [key, entry] : list) {
    json::array metas;
    if (auto* object = entry.if_object())
      if (auto* given = object->if_contains("metas"); given && given->is_array())
        for (auto& meta : given->get_array())
          if (meta.is_object() && incarnation_of(meta.get_object()) == incarnation)
            metas.push_back(meta);
    if (!metas.empty())
      joins[key] = json::object{{"metas", std::move(metas)}};
  }
  apply(json::object{{"joins", std::move(joins)}, {"leaves", json::object{}}});
}

std::optional<json::object> remote_presence::drop(std::string_view incarnation) {
  auto leaves = take_leaving(
    metas_, [incarnation](const json::object& meta) { return incarnation_of(meta) == incarnation; },
    [](json::object& meta) -> json::object& { return meta; });
  if (leaves.empty())
    return std::nullopt;
  return diff({}, leaves);
}

void remote_presence::merge_into(json::object& list) const {
  for (auto& [key, metas] : metas_) {
    auto& entry = list[key];
    if (!entry.is_object())
      entry = json::object{{"metas", json::array{}}};
    auto& target = entry.as_object()["metas"];
    if (!target.is_array())
      target = json::array{};
    for (auto& meta : metas)
      target.as_array().push_back(meta);
  }
}

} // namespace pulse
