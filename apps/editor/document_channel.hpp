// The editor app's documents: `doc:NAME` topics that Yjs providers (y-phoenix-channel) edit
// together, over binary frames.
//
// Wire contract (y-phoenix-channel 0.1.1's, payloads are y-protocols messages as bytes):
// - join `doc:NAME` (no params). Refused with a reason when the document has max_editors
//   editors on this node already.
// - push `yjs_sync` (sync step 1, after every join): the channel pushes back, as `yjs` events,
//   the kept updates that make up the document, an empty sync step 2 (the provider is then
//   synced), everyone's awareness on this node, and a sync step 1 with an empty state vector:
//   the editor answers with its whole document, which brings back what it edited offline and
//   lets the channel compact its log (document_log.hpp says how).
// - push `yjs`: an update (kept, relayed to the other editors), a sync step 2 (an answer to the
//   channel's step 1: kept and relayed as an update when it may hold something new or a
//   compaction is due), awareness (relayed and never kept: an editor's entries only, see
//   awareness_cache.hpp), or an awareness query (answered with everyone's awareness).
// - A message that is not y-protocols, or over a limit, gets an error reply that says why and
//   goes nowhere (y-phoenix-channel ignores replies; what it sent stays in its document and comes
//   back with its next state).
// - An editor that leaves or vanishes leaves everyone's awareness list at once: the channel
//   sends the removal of its clients.
// Documents live in the channel's history: in memory for `linger` after their last editor left,
// or in Redis with --redis (shared by every node and kept across restarts).
#pragma once

#include "actors/pulse.hpp"
#include "apps/editor/awareness_cache.hpp"
#include "apps/editor/document_log.hpp"
#include "apps/editor/y_protocol.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>

namespace pulse::editor {

struct editor_options {
  /// Updates a document keeps (its channel's history); compaction keeps the document within
  /// half of them.
  std::size_t history_updates = 1000;
  std::size_t max_update_bytes = 256 << 10;
  /// What a joiner is sent: the document's last state and the updates after it. Below the
  /// transport's message limit, since an editor sends its whole state as one message.
  std::size_t max_document_bytes = 512 << 10;
  std::size_t max_awareness_bytes = 8 << 10;
  /// Editors of one document on one node.
  std::size_t max_editors = 32;
  /// How long a document stays in memory after its last editor left (without Redis, that is
  /// how long it lives: an editor that comes back later brings it back with its own state).
  std::chrono::milliseconds linger = std::chrono::minutes{30};
  /// How long an editor asked for its state may take before another one is asked.
  std::chrono::milliseconds state_timeout = std::chrono::seconds{10};
  /// Test switch: false makes the channel drop every update and awareness message (nothing
  /// relayed, nothing kept), to show that tests converge through the server and nothing else.
  bool relay = true;
};

class document_channel : public channel {
 public:
  explicit document_channel(editor_options options = {}) : options_(options) {}

  void on_subscribe(context& ctx) override;
  void on_unsubscribe(context& ctx) override;
  pulse::handlers handlers() override;

 private:
  /// Why the channel sent an editor a sync step 1.
  enum class asked_for : std::uint8_t {
    nothing_new, ///< it joined with an empty document: its answer holds what it got from here
    own_edits,   ///< its answer may hold edits nobody else has: made offline, or refused here
    compaction,  ///< the log needs a newer state
  };
  struct state_request {
    binary covered; ///< the newest kept entry when the step 1 went out
    asked_for reason;
  };

  void on_sync(context& ctx, const binary& bytes);
  void on_message(context& ctx, const binary& bytes);

  void answer_sync(context& ctx, std::string_view state_vector);
  void on_update(context& ctx, const binary& bytes);
  void on_state(context& ctx, const y_message& message, const binary& bytes);
  void on_awareness(context& ctx, const y_message& message, const binary& bytes);

  /// Sends `ctx`'s editor a sync step 1 (unless it has enough unanswered ones).
  void ask_for_state(context& ctx, binary covered, asked_for reason);
  /// Asks `ctx`'s editor for a state when the log needs one and nobody is asked already.
  void compact(context& ctx);
  /// Every kept entry, oldest first, with the log brought up to date.
  std::vector<binary> entries_now(std::size_t& first_needed);
  void refuse_update(context& ctx, const std::string& reason);
  std::uint64_t editor_of(context& ctx) const;

  editor_options options_;
  document_log log_;
  awareness_cache awareness_;
  std::uint64_t editors_joined_ = 0;
  /// Step 1s each editor has not answered yet, oldest first (bytes: kept here rather than in
  /// the JSON assigns; erased when the editor leaves).
  std::unordered_map<std::uint64_t, std::deque<state_request>> requests_;
  struct compaction_request {
    std::uint64_t editor;
    std::chrono::steady_clock::time_point since;
  };
  std::optional<compaction_request> compacting_;
};

/// Defines the `doc:*` channels on `server`.
void install(server& server, editor_options options = {});

} // namespace pulse::editor
