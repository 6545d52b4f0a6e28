// The y-protocols messages Yjs providers exchange (sync and awareness), read and written without
// Yjs: the server checks their framing, tells them apart and builds the few it sends itself.
// Yjs updates stay opaque bytes here; nothing below parses the document's own format.
//
// Encoding (lib0): a varuint is 7 bits per byte, least significant first, the high bit set on
// every byte but the last; a byte array is its length as a varuint, then the bytes; a string is a
// byte array of UTF-8. A message is a varuint type and a body:
//   0 sync:       varuint step (0: state vector, 1: missing updates, 2: update), byte array
//   1 awareness:  byte array of {varuint count, count x (varuint client, varuint clock,
//                 string JSON state, "null" when the client left)}
//   3 query awareness: nothing (the peer answers with every awareness state it knows)
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::editor {

/// A message that is not well-formed y-protocols, with what was wrong.
class y_protocol_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class y_message_kind : std::uint8_t {
  sync_step1,      ///< "here is my state vector: send me what I lack"
  sync_step2,      ///< the answer to a step 1: everything the asker lacked, as one update
  sync_update,     ///< an incremental document update
  awareness,       ///< cursors, names: who is here and what they show
  query_awareness, ///< "send me every awareness state you know"
};

/// One message: `body` is the byte array's content (a state vector, a Yjs update or an awareness
/// update), a view into the bytes parsed.
struct y_message {
  y_message_kind kind;
  std::string_view body;

  /// Parses one whole message; throws y_protocol_error when the framing is wrong, the type is
  /// unknown, or bytes follow the message. An awareness body is read by parse_awareness.
  static y_message parse(std::string_view bytes);
};

/// One client's entry in an awareness update.
struct awareness_entry {
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  std::string state; ///< JSON text; "null": the client left

  bool is_removal() const noexcept { return state == "null"; }
};

/// The entries of an awareness update (a y_message's body); throws y_protocol_error when it is
/// malformed or a state is not JSON.
std::vector<awareness_entry> parse_awareness(std::string_view update);

/// An awareness message (type 1) carrying `entries`.
std::string encode_awareness(const std::vector<awareness_entry>& entries);

/// Sync step 1 with an empty state vector: the peer answers with its whole document.
std::string encode_sync_step1_empty();

/// Sync step 2 carrying the empty update: "you have everything" (a provider marks itself synced
/// when a step 2 arrives).
std::string encode_sync_step2_empty();

/// The same update as an ordinary update message (step 2 and update apply alike; a stored step 2
/// sent to a joiner would mark it synced too early).
std::string as_update_message(const y_message& step2);

/// An empty state vector: the peer's document has nothing yet.
bool is_empty_state_vector(std::string_view state_vector) noexcept;

/// The Yjs update that changes nothing (no structs, no deletions).
bool is_empty_update(std::string_view update) noexcept;

} // namespace pulse::editor
