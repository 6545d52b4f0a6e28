#include "apps/editor/document_log.hpp"

#include <algorithm>

namespace pulse::editor {

namespace {

constexpr auto npos = static_cast<std::size_t>(-1);

/// The first entry from `from` on whose bytes are `wanted`'s.
std::size_t locate(const std::vector<binary>& entries, const binary& wanted, std::size_t from) {
  for (auto i = from; i < entries.size(); ++i)
    if (entries[i].size() == wanted.size() && entries[i] == wanted)
      return i;
  return npos;
}

} // namespace

void document_log::add_snapshot(binary covered, binary state) {
  if (covered.empty())
    return; // the history was empty: it holds nothing that could age out
  pending_.push_back({std::move(covered), std::move(state)});
  if (pending_.size() > max_pending_snapshots)
    pending_.pop_front();
}

std::size_t document_log::rescan(const std::vector<binary>& entries) {
  auto at = effective_ ? locate(entries, effective_->covered, 0) : npos;
  // Newest first: the first that has arrived and covers more than the one in effect wins, and
  // those older than it are of no more use.
  for (auto i = pending_.size(); i-- > 0;) {
    auto& candidate = pending_[i];
    auto covered = locate(entries, candidate.covered, 0);
    if (covered == npos)
      continue; // aged out already: another snapshot covers it
    if (!candidate.state.empty() && locate(entries, candidate.state, covered + 1) == npos)
      continue; // not back from Redis yet
    if (at != npos && covered <= at)
      continue;
    effective_ = std::move(candidate);
    effective_->state = {}; // found: from now on only `covered` is looked for
    at = covered;
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    break;
  }
  auto start = at == npos ? 0 : at + 1;
  window_count_ = entries.size() - start;
  window_bytes_ = 0;
  for (auto i = start; i < entries.size(); ++i)
    window_bytes_ += entries[i].size();
  kept_since_rescan_ = 0;
  return start;
}

bool document_log::holds(const std::vector<binary>& entries, const binary& bytes,
                         std::size_t from) {
  return locate(entries, bytes, from) != npos;
}

std::size_t document_log::after(const std::vector<binary>& entries, const binary& covered) {
  auto at = covered.empty() ? npos : locate(entries, covered, 0);
  return at == npos ? 0 : at + 1;
}

} // namespace pulse::editor
