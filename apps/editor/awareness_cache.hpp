// Who is in a document on this node, as Yjs awareness says: each editor's own clients, with their
// last clock and state, so that a joiner sees everyone at once and an editor that vanishes can be
// taken out of everyone's list.
#pragma once

#include "apps/editor/y_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace pulse::editor {

class awareness_cache {
 public:
  /// Clients one editor may introduce (a provider has one).
  static constexpr std::size_t max_clients_per_editor = 4;

  /// Takes what `editor` said and returns the entries to relay. The clients of an editor's first
  /// awareness message are its own (a provider's first one after joining carries its own state
  /// only; a client that reconnects takes its ids over from its old connection). Later entries
  /// for other clients are echoes (y-phoenix-channel 0.1.1 sends on what it receives): dropped,
  /// since every peer got the original already.
  std::vector<awareness_entry> accept(std::uint64_t editor, bool first,
                                      std::vector<awareness_entry> entries);

  /// The clients `editor` owns, from its first message (for the subscriber's assigns).
  std::vector<std::uint64_t> clients_of(std::uint64_t editor) const;

  /// Every client present now (not removed), for a joiner.
  std::vector<awareness_entry> present() const;

  /// `editor` is gone: removal entries (clock + 1, state null) for those of `clients` it still
  /// owns and that had not left, and forgets them.
  std::vector<awareness_entry> leave(std::uint64_t editor,
                                     const std::vector<std::uint64_t>& clients);

 private:
  struct client {
    std::uint64_t editor;
    std::uint64_t clock;
    std::string state;
  };
  std::unordered_map<std::uint64_t, client> clients_;
};

} // namespace pulse::editor
