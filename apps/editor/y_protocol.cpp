#include "apps/editor/y_protocol.hpp"

#include <boost/json/parse.hpp>

namespace pulse::editor {

namespace {

// lib0 reads varuints into JavaScript numbers: larger ones are an error there too.
constexpr std::uint64_t max_varuint = (std::uint64_t{1} << 53) - 1;

/// Reads lib0 values from the front of a byte string, bounds-checked.
class reader {
 public:
  explicit reader(std::string_view bytes) : rest_(bytes) {}

  std::uint64_t varuint(const char* what) {
    std::uint64_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
      if (shift > 49) // eight bytes hold 56 bits: more is out of range whatever follows
        throw y_protocol_error(std::string{what} + " is out of range");
      if (rest_.empty())
        throw y_protocol_error(std::string{"truncated "} + what);
      auto byte = static_cast<std::uint8_t>(rest_.front());
      rest_.remove_prefix(1);
      value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0)
        break;
    }
    if (value > max_varuint)
      throw y_protocol_error(std::string{what} + " is out of range");
    return value;
  }

  std::string_view bytes(const char* what) {
    auto size = varuint(what);
    if (size > rest_.size())
      throw y_protocol_error(std::string{what} + " runs past the end of the message");
    auto out = rest_.substr(0, size);
    rest_.remove_prefix(size);
    return out;
  }

  void end(const char* what) const {
    if (!rest_.empty())
      throw y_protocol_error(std::string{"bytes after the "} + what);
  }

 private:
  std::string_view rest_;
};

void put_varuint(std::string& out, std::uint64_t value) {
  while (value > 0x7f) {
    out.push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
}

void put_bytes(std::string& out, std::string_view bytes) {
  put_varuint(out, bytes.size());
  out.append(bytes);
}

} // namespace

y_message y_message::parse(std::string_view bytes) {
  reader in{bytes};
  y_message message{};
  switch (in.varuint("message type")) {
    case 0:
      switch (in.varuint("sync step")) {
        case 0: message.kind = y_message_kind::sync_step1; break;
        case 1: message.kind = y_message_kind::sync_step2; break;
        case 2: message.kind = y_message_kind::sync_update; break;
        default: throw y_protocol_error("unknown sync step (expected 0, 1 or 2)");
      }
      message.body = in.bytes("sync message");
      in.end("sync message");
      return message;
    case 1:
      message.kind = y_message_kind::awareness;
      message.body = in.bytes("awareness update");
      in.end("awareness update");
      return message;
    case 3:
      message.kind = y_message_kind::query_awareness;
      in.end("awareness query");
      return message;
    default:
      throw y_protocol_error("unknown message type (expected 0 sync, 1 awareness or 3 awareness "
                             "query)");
  }
}

std::vector<awareness_entry> parse_awareness(std::string_view update) {
  reader in{update};
  auto count = in.varuint("awareness count");
  if (count > update.size()) // every entry takes 3 bytes at least
    throw y_protocol_error("awareness count is larger than the update");
  std::vector<awareness_entry> entries;
  entries.reserve(count);
  for (std::uint64_t i = 0; i < count; ++i) {
    awareness_entry entry;
    entry.client = in.varuint("awareness client");
    entry.clock = in.varuint("awareness clock");
    entry.state = std::string{in.bytes("awareness state")};
    // Peers JSON.parse it and would throw: relay only JSON.
    boost::system::error_code ec;
    boost::json::parse(entry.state, ec);
    if (ec)
      throw y_protocol_error("an awareness state is not JSON");
    entries.push_back(std::move(entry));
  }
  in.end("awareness update");
  return entries;
}

std::string encode_awareness(const std::vector<awareness_entry>& entries) {
  std::string update;
  put_varuint(update, entries.size());
  for (auto& entry : entries) {
    put_varuint(update, entry.client);
    put_varuint(update, entry.clock);
    put_bytes(update, entry.state);
  }
  std::string message;
  put_varuint(message, 1);
  put_bytes(message, update);
  return message;
}

std::string encode_sync_step1_empty() {
  return std::string{"\x00\x00\x01\x00", 4};
}

std::string encode_sync_step2_empty() {
  return std::string{"\x00\x01\x02\x00\x00", 5};
}

std::string as_update_message(const y_message& step2) {
  std::string message{"\x00\x02", 2};
  put_bytes(message, step2.body);
  return message;
}

bool is_empty_state_vector(std::string_view state_vector) noexcept {
  return state_vector == std::string_view{"\x00", 1};
}

bool is_empty_update(std::string_view update) noexcept {
  return update == std::string_view{"\x00\x00", 2};
}

} // namespace pulse::editor
