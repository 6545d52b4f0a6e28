// libFuzzer: arbitrary bytes into the WebSocket frame reader, cut into reads at arbitrary points.
// Whatever comes in, the reader ends in a message, a close or a failure, never worse.
#include "transport/websocket_reader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

struct sink : pulse::transport::websocket_reader::listener {
  std::size_t bytes = 0;
  bool ended = false;
  void on_text(std::string&& message) override {
    if (ended)
      std::abort(); // nothing may come after a close or a failure
    bytes += message.size();
  }
  void on_binary(std::string&& message) override {
    if (ended)
      std::abort();
    bytes += message.size();
  }
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
  // The first byte picks how the rest is cut into reads.
  std::size_t chunk = 1 + data[0] % 64;
  std::string_view bytes{reinterpret_cast<const char*>(data + 1), size - 1};
  pulse::transport::websocket_reader reader{4096};
  sink out;
  while (!bytes.empty() && reader.consume(bytes.substr(0, chunk), out))
    bytes.remove_prefix(std::min(chunk, bytes.size()));
  if (out.bytes > 4096 * (size + 1))
    std::abort();
  return 0;
}
