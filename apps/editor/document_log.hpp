// What a document's kept updates amount to, and which of them a joiner still needs.
//
// A document is the list of y-protocols update messages its channel's history keeps, oldest
// first (the history keeps the last N broadcasts: in this node's memory, or in Redis for every
// node). The list is bounded, so old updates must be able to go. Compaction:
//
// 1. The channel sends an editor a sync step 1 with an empty state vector. The editor answers
//    with its whole document as one update (Yjs's encodeStateAsUpdate, garbage-collected). Call
//    `covered` the newest kept update when the step 1 was sent: every kept update up to `covered`
//    had reached that editor before the step 1 (a channel delivers its broadcasts and pushes to
//    one subscriber in the order it made them, and this node's history is in that order), and
//    an editor applies what arrives in order, so its answer holds all of them.
// 2. The answer is kept like any update: its `state` lands after `covered` in the history. From
//    then on (once it is in this node's history: with Redis it comes back a moment later) the
//    snapshot (covered, state) is in effect: `state` plus the updates after `covered` are the
//    whole document, and a joiner is sent only those. Everything up to `covered` may age out.
// 3. The channel keeps the updates after the snapshot in effect (the "window") within half the
//    history, refusing updates past that and asking for a new snapshot from a quarter on; a
//    state is kept only while the entries after its own `covered` fill at most three quarters.
//    So the history never drops an update that no kept state holds: what it drops lies at or
//    before `covered`. (The last quarter is room for what other nodes keep meanwhile, which
//    this node counts only once it arrives.)
//
// Entries are found by their bytes: Yjs updates name their client and clock, so two kept entries
// with the same bytes are the same change, and taking the earliest match of `covered` only
// widens what is sent. With no snapshot in effect (a fresh actor over a Redis history, say)
// every kept entry is needed, which is correct by the same rule held before.
#pragma once

#include "actors/payload.hpp"

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace pulse::editor {

class document_log {
 public:
  /// Snapshots waiting for their state to show up in the history (beyond: the oldest is
  /// forgotten; a newer one supersedes it anyway).
  static constexpr std::size_t max_pending_snapshots = 8;

  /// A client's whole state, kept (or, when `state` is empty, the client's document was empty:
  /// nothing to keep), that holds every entry up to `covered`.
  void add_snapshot(binary covered, binary state);

  /// Looks at the kept entries (oldest first): puts the newest snapshot whose state has arrived
  /// in effect and counts the window. Returns the index of the first entry a joiner needs.
  std::size_t rescan(const std::vector<binary>& entries);

  /// One more kept update, `bytes` long, counted until the next rescan.
  void kept(std::size_t bytes) noexcept {
    ++window_count_;
    window_bytes_ += bytes;
    ++kept_since_rescan_;
  }

  /// Entries after the snapshot in effect (all, without one), and their bytes: what a joiner
  /// gets.
  std::size_t window_count() const noexcept { return window_count_; }
  std::size_t window_bytes() const noexcept { return window_bytes_; }
  std::size_t kept_since_rescan() const noexcept { return kept_since_rescan_; }

  /// The index of the first entry after `covered` among `entries` (0 when it is not there).
  static std::size_t after(const std::vector<binary>& entries, const binary& covered);

  /// Whether an entry from `from` on has `bytes`.
  static bool holds(const std::vector<binary>& entries, const binary& bytes, std::size_t from);

 private:
  struct snapshot {
    binary covered;
    binary state;
  };

  std::optional<snapshot> effective_;
  std::deque<snapshot> pending_; // oldest first
  std::size_t window_count_ = 0;
  std::size_t window_bytes_ = 0;
  std::size_t kept_since_rescan_ = 0;
};

} // namespace pulse::editor
