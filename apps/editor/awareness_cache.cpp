#include "apps/editor/awareness_cache.hpp"

#include <algorithm>

namespace pulse::editor {

std::vector<awareness_entry> awareness_cache::accept(std::uint64_t editor, bool first,
                                                     std::vector<awareness_entry> entries) {
  std::vector<awareness_entry> kept;
  std::size_t claimed = 0;
  for (auto& entry : entries) {
    auto it = clients_.find(entry.client);
    if (first && claimed < max_clients_per_editor) {
      ++claimed;
      if (it == clients_.end())
        it = clients_.emplace(entry.client, client{editor, 0, "null"}).first;
      it->second.editor = editor;
    } else if (it == clients_.end() || it->second.editor != editor) {
      continue; // someone else's client
    }
    it->second.clock = std::max(it->second.clock, entry.clock);
    it->second.state = entry.state;
    kept.push_back(std::move(entry));
  }
  return kept;
}

std::vector<std::uint64_t> awareness_cache::clients_of(std::uint64_t editor) const {
  std::vector<std::uint64_t> ids;
  for (auto& [id, c] : clients_)
    if (c.editor == editor)
      ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<awareness_entry> awareness_cache::present() const {
  std::vector<awareness_entry> entries;
  for (auto& [id, c] : clients_)
    if (c.state != "null")
      entries.push_back({id, c.clock, c.state});
  std::sort(entries.begin(), entries.end(),
            [](const awareness_entry& a, const awareness_entry& b) { return a.client < b.client; });
  return entries;
}

std::vector<awareness_entry> awareness_cache::leave(std::uint64_t editor,
                                                    const std::vector<std::uint64_t>& clients) {
  std::vector<awareness_entry> removals;
  for (auto id : clients) {
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second.editor != editor)
      continue; // taken over by a newer connection of the same client
    if (it->second.state != "null")
      removals.push_back({id, it->second.clock + 1, "null"});
    clients_.erase(it);
  }
  return removals;
}

} // namespace pulse::editor
