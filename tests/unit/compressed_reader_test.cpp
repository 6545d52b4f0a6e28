// The frame reader on a connection that agreed to permessage-deflate (RFC 7692).
#include "tests/support/ws_frames.hpp"
#include "tests/support/zlib_codec.hpp"
#include "transport/close_code.hpp"
#include "transport/websocket_reader.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

using namespace pulse::transport;
using namespace pulse::test;

namespace {

constexpr std::uint8_t rsv1 = 4; // client_frame's `rsv` is RSV1..3 as bits 2..0

struct recorder : websocket_reader::listener {
  std::vector<std::string> texts;
  std::vector<std::string> binaries;
  std::optional<std::uint16_t> failure;

  void on_text(std::string&& message) override { texts.push_back(std::move(message)); }
  void on_binary(std::string&& message) override { binaries.push_back(std::move(message)); }
  void on_ping(std::string_view) override {}
  void on_close(std::uint16_t, std::string_view) override {}
  void on_failure(std::uint16_t code, std::string_view) override { failure = code; }
};

deflate_agreement agreed(bool client_no_context_takeover = false) {
  deflate_agreement agreement;
  agreement.client_no_context_takeover = client_no_context_takeover;
  return agreement;
}

recorder read_all(std::string_view bytes, deflate_agreement agreement = agreed(),
                  std::size_t max_message = 1 << 20) {
  websocket_reader reader{max_message, agreement};
  recorder out;
  reader.consume(bytes, out);
  return out;
}

std::string compressed_text(std::string_view deflated, bool fin = true) {
  return client_frame(op::text, deflated, fin, true, rsv1);
}

} // namespace

TEST_CASE("with deflate agreed, compressed messages are inflated") {
  SECTION("RFC 7692's examples: a message, the same again with context, a stored block") {
    const std::string hello{"\xf2\x48\xcd\xc9\xc9\x07\x00", 7};
    const std::string hello_again{"\xf2\x00\x11\x00\x00", 5};
    const std::string stored{"\x00\x05\x00\xfa\xff\x48\x65\x6c\x6c\x6f\x00", 11};
    auto out = read_all(compressed_text(hello) + compressed_text(hello_again)
                        + compressed_text(stored) + compressed_text(std::string(1, '\0')));
    CHECK(out.texts == std::vector<std::string>{"Hello", "Hello", "Hello", ""});
    CHECK_FALSE(out.failure);
  }
  SECTION("a compressed binary message in fragments, RSV1 on the first only") {
    std::string payload;
    for (int i = 0; i < 4000; ++i)
      payload.push_back(static_cast<char>(i * 7 % 251));
    auto deflated = client_deflater{}.compress(payload);
    auto third = deflated.size() / 3;
    auto bytes = client_frame(op::binary, deflated.substr(0, third), false, true, rsv1)
                 + client_frame(op::ping, "p")
                 + client_frame(op::continuation, deflated.substr(third, third), false)
                 + client_frame(op::continuation, deflated.substr(2 * third));
    auto out = read_all(bytes);
    REQUIRE(out.binaries.size() == 1);
    CHECK(out.binaries[0] == payload);
  }
  SECTION("compressed and plain messages mix, the context carried across") {
    client_deflater client;
    std::string first(500, 'a'), second = "plain", third(700, 'a');
    auto first_deflated = client.compress(first); // in this order: the context runs on
    auto third_deflated = client.compress(third);
    auto out = read_all(compressed_text(first_deflated) + client_frame(op::text, second)
                        + compressed_text(third_deflated));
    CHECK(out.texts == std::vector<std::string>{first, second, third});
  }
  SECTION("bytes arriving one at a time give the same messages") {
    client_deflater client;
    std::string text = R"([null,"5","phoenix","heartbeat",{}])";
    auto deflated = client.compress(text);
    auto again = client.compress(text);
    auto bytes = client_frame(op::text, deflated.substr(0, 3), false, true, rsv1)
                 + client_frame(op::continuation, deflated.substr(3)) + compressed_text(again);
    websocket_reader reader{1 << 20, agreed()};
    recorder out;
    for (char c : bytes)
      reader.consume(std::string_view{&c, 1}, out);
    CHECK(out.texts == std::vector<std::string>{text, text});
  }
  SECTION("a message ended with a final block, the next one referring back to it") {
    client_deflater client;
    std::string text = "a sentence long enough to be referred back to, twice over";
    auto ended = client.compress(text, true);
    auto referring = client.compress(text);
    auto out = read_all(compressed_text(ended) + compressed_text(referring));
    CHECK(out.texts == std::vector<std::string>{text, text});
    CHECK_FALSE(out.failure);
  }
  SECTION("a message inflating to exactly the limit passes") {
    auto out = read_all(compressed_text(client_deflater{}.compress(std::string(5000, 'x'))),
                        agreed(), 5000);
    REQUIRE(out.texts.size() == 1);
    CHECK(out.texts[0].size() == 5000);
  }
}

TEST_CASE("with client_no_context_takeover, each message inflates alone and no state stays") {
  client_deflater client;
  std::string text(300, 'z');
  auto first = client.compress(text);
  auto second = client.compress(text); // refers back to the first: wrong for such a client
  client.reset();
  auto alone = client.compress(text);

  websocket_reader reader{1 << 20, agreed(true)};
  recorder out;
  CHECK_FALSE(reader.holds_inflate_state());
  reader.consume(compressed_text(first) + compressed_text(alone), out);
  CHECK(out.texts == std::vector<std::string>{text, text});
  CHECK_FALSE(reader.holds_inflate_state()); // an idle connection keeps no zlib state

  reader.consume(compressed_text(second), out);
  CHECK(out.failure == close_code::invalid_payload);
}

TEST_CASE("with context takeover, the inflate state is made by the first compressed message") {
  websocket_reader reader{1 << 20, agreed(false)};
  recorder out;
  reader.consume(client_frame(op::text, "plain"), out);
  CHECK_FALSE(reader.holds_inflate_state());
  reader.consume(compressed_text(client_deflater{}.compress("compressed")), out);
  CHECK(reader.holds_inflate_state());
  CHECK(out.texts == std::vector<std::string>{"plain", "compressed"});
}

TEST_CASE("a compressed message is bounded by the limit once inflated: a zip bomb closes 1009") {
  // 64 MiB of zeros deflate to about 64 KiB: the announced size passes, the inflated one not.
  std::string zeros(64 << 20, '\0');
  auto bomb = client_deflater{}.compress(zeros);
  REQUIRE(bomb.size() < (1 << 20));
  SECTION("in one frame") {
    websocket_reader reader{1 << 20, agreed()};
    recorder out;
    CHECK_FALSE(reader.consume(client_frame(op::binary, bomb, true, true, rsv1), out));
    CHECK(out.failure == close_code::message_too_big);
    CHECK(out.binaries.empty());
    CHECK_FALSE(reader.holds_inflate_state());
    CHECK(reader.buffered_bytes() < 64 * 1024);
  }
  SECTION("in fragments") {
    auto half = bomb.size() / 2;
    auto out = read_all(client_frame(op::binary, bomb.substr(0, half), false, true, rsv1)
                        + client_frame(op::continuation, bomb.substr(half)));
    CHECK(out.failure == close_code::message_too_big);
  }
  SECTION("one byte over the limit") {
    auto out = read_all(compressed_text(client_deflater{}.compress(std::string(5001, 'x'))),
                        agreed(), 5000);
    CHECK(out.failure == close_code::message_too_big);
  }
  SECTION("compressed bytes announced over the limit are refused before buffering") {
    auto header = client_frame(op::binary, std::string(3000, 'x'), true, true, rsv1).substr(0, 8);
    CHECK(read_all(header, agreed(), 1000).failure == close_code::message_too_big);
  }
}

TEST_CASE("with deflate agreed, RSV1 anywhere but a message's first frame, or bad data, fail") {
  struct bad_input {
    const char* name;
    std::string bytes;
    std::uint16_t code;
  };
  auto deflated = client_deflater{}.compress("some text to compress");
  std::vector<bad_input> cases{
    {"RSV1 on a continuation frame",
     compressed_text(deflated.substr(0, 4), false)
       + client_frame(op::continuation, deflated.substr(4), true, true, rsv1),
     close_code::protocol_error},
    {"RSV1 on a continuation of a plain message",
     client_frame(op::text, "a", false) + client_frame(op::continuation, "b", true, true, rsv1),
     close_code::protocol_error},
    {"RSV1 on a ping", client_frame(op::ping, "p", true, true, rsv1), close_code::protocol_error},
    {"RSV1 on a close", client_frame(op::close, close_payload(1000), true, true, rsv1),
     close_code::protocol_error},
    {"RSV2 on a data frame", client_frame(op::text, "x", true, true, 2),
     close_code::protocol_error},
    {"data that is not DEFLATE", compressed_text("\xff\xff\xff\xff"), close_code::invalid_payload},
    {"inflated text that is not UTF-8", compressed_text(client_deflater{}.compress("\xc3\x28")),
     close_code::invalid_payload},
  };
  for (auto& c : cases) {
    INFO(c.name);
    auto out = read_all(c.bytes);
    CHECK(out.failure == c.code);
    CHECK(out.texts.empty());
  }
}
