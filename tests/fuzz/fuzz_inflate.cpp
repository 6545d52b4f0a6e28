// libFuzzer: arbitrary bytes into the WebSocket frame reader of a connection that agreed to
// permessage-deflate, cut into reads at arbitrary points. Compressed messages inflate within the
// limit or fail the stream; nothing inflates past the limit, nothing follows the end.
#include "transport/websocket_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

constexpr std::size_t max_message_bytes = 64 * 1024;

struct sink : pulse::transport::websocket_reader::listener {
  bool ended = false;
  void take(const std::string& message) {
    if (ended || message.size() > max_message_bytes)
      std::abort();
  }
  void on_text(std::string&& message) override { take(message); }
  void on_binary(std::string&& message) override { take(message); }
  void on_ping(std::string_view payload) override {
    if (payload.size() > 125)
      std::abort();
  }
  void on_close(std::uint16_t, std::string_view) override { ended = true; }
  void on_failure(std::uint16_t code, std::string_view why) override {
    if (code < 1000 || code > 1011 || why.empty())
      std::abort();
    ended = true;
  }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  // The first byte picks how the rest is cut into reads, and whether the client takes its
  // compression context over from message to message.
  std::size_t chunk = 1 + data[0] % 64;
  pulse::transport::deflate_agreement agreement;
  agreement.client_no_context_takeover = data[0] & 0x80;
  std::string_view bytes{reinterpret_cast<const char*>(data + 1), size - 1};
  pulse::transport::websocket_reader reader{max_message_bytes, agreement};
  sink out;
  while (!bytes.empty() && reader.consume(bytes.substr(0, chunk), out))
    bytes.remove_prefix(std::min(chunk, bytes.size()));
  if (reader.is_done() && reader.holds_inflate_state())
    std::abort(); // a failed or closed stream lets zlib's state go
  return 0;
}
