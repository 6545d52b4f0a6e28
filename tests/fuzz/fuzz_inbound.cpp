// libFuzzer: the whole inbound path of a connection, in process and without sockets. Each input
// is a client's session: a byte that picks the serializer (V2, V1, V2 with binary messages), then
// lines, each one message, through the real connection actor and channels (the demo's, the
// chat's and the test room's). Nothing may crash, leak or misbehave under the sanitizers, and
// every session ends with the connection answering or closed.
#include "actors/testing.hpp"
#include "apps/chat/chat_room.hpp"
#include "apps/demo/seed_channels.hpp"
#include "tests/support/test_channels.hpp"

#include <cstdint>
#include <cstdlib>

namespace {

pulse::server& shared_server() {
  static pulse::server* server = [] {
    auto* s = new pulse::server{{.port = 0, .threads = 2, .max_messages_per_second = 1e9}};
    s->channel<pulse::test::test_room>("test:*");
    pulse::chat::install(*s, {.linger = std::chrono::minutes{0}}); // rooms end with their session
    pulse::demo::install_seed_channels(*s);
    return s; // lives as long as the process: the fuzzer never returns from its loop
  }();
  return *server;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0 || size > 16 * 1024)
    return 0;
  // The first byte picks the client: V2, V1, or V2 sending every other line as a binary message.
  auto mode = data[0] % 3;
  pulse::testing::test_client client{shared_server(), mode == 1 ? "1.0.0" : "2.0.0"};
  std::string_view input{reinterpret_cast<const char*>(data) + 1, size - 1};
  for (std::size_t line = 0; !input.empty(); ++line) {
    auto end = input.find('\n');
    std::string message{input.substr(0, end)};
    if (mode == 2 && line % 2 == 1)
      client.send_binary(std::move(message));
    else
      client.send_text(std::move(message));
    if (end == std::string_view::npos)
      break;
    input.remove_prefix(end + 1);
  }
  // The session is over when the connection answered a last heartbeat, or closed.
  client.send_text(mode == 1
                     ? R"({"topic":"phoenix","event":"heartbeat","payload":{},"ref":"fuzz-end"})"
                     : R"([null,"fuzz-end","phoenix","heartbeat",{}])");
  try {
    client.reply_or_close("fuzz-end", std::chrono::milliseconds{5000});
  } catch (const std::runtime_error&) {
    std::abort(); // neither answered nor closed: a message got stuck
  }
  return 0;
}
