#include "tests/support/ws_frames.hpp"
#include "transport/close_code.hpp"
#include "transport/websocket_reader.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

using namespace pulse::transport;
using namespace pulse::test;

namespace {

/// Records everything the reader reports.
struct recorder : websocket_reader::listener {
  std::vector<std::string> texts;
  std::vector<std::string> binaries;
  std::vector<std::string> pings;
  std::optional<std::uint16_t> closed_with;
  std::optional<std::uint16_t> failure;
  std::string why;

  void on_text(std::string&& message) override { texts.push_back(std::move(message)); }
  void on_binary(std::string&& message) override { binaries.push_back(std::move(message)); }
  void on_ping(std::string_view payload) override { pings.emplace_back(payload); }
  void on_close(std::uint16_t code, std::string_view) override { closed_with = code; }
  void on_failure(std::uint16_t code, std::string_view reason) override {
    failure = code;
    why = reason;
  }
};

recorder read_all(std::string_view bytes, std::size_t max_message = 1 << 20) {
  websocket_reader reader{max_message};
  recorder out;
  reader.consume(bytes, out);
  return out;
}

} // namespace

TEST_CASE("the frame reader assembles masked text messages") {
  SECTION("one frame") {
    auto out = read_all(client_frame(op::text, R"(["1","1","t","phx_join",{}])"));
    REQUIRE(out.texts.size() == 1);
    CHECK(out.texts[0] == R"(["1","1","t","phx_join",{}])");
  }
  SECTION("several frames in one read, of every length encoding") {
    std::string big(70000, 'b'), mid(300, 'm');
    auto out = read_all(client_frame(op::text, "small") + client_frame(op::text, mid)
                        + client_frame(op::text, big));
    REQUIRE(out.texts.size() == 3);
    CHECK(out.texts[1] == mid);
    CHECK(out.texts[2] == big);
  }
  SECTION("a message in fragments, with a ping between them") {
    auto bytes = client_frame(op::text, "hel", false) + client_frame(op::ping, "p?")
                 + client_frame(op::continuation, "lo ", false)
                 + client_frame(op::continuation, "world");
    auto out = read_all(bytes);
    REQUIRE(out.texts.size() == 1);
    CHECK(out.texts[0] == "hello world");
    CHECK(out.pings == std::vector<std::string>{"p?"});
  }
  SECTION("bytes arriving one at a time give the same messages") {
    auto bytes = client_frame(op::text, std::string(200, 'x')) + client_frame(op::text, "é✓");
    websocket_reader reader{1 << 20};
    recorder out;
    for (char c : bytes)
      reader.consume(std::string_view{&c, 1}, out);
    REQUIRE(out.texts.size() == 2);
    CHECK(out.texts[1] == "é✓");
    CHECK(reader.buffered_bytes() < 64); // nothing held once the frames are complete
  }
  SECTION("a close frame ends the stream with its code") {
    websocket_reader reader{1024};
    recorder out;
    CHECK_FALSE(reader.consume(
      client_frame(op::close, close_payload(1000, "bye")) + client_frame(op::text, "after"), out));
    CHECK(out.closed_with == 1000);
    CHECK(out.texts.empty());
  }
  SECTION("a close without a code reads as no status") {
    CHECK(read_all(client_frame(op::close, "")).closed_with == close_code::no_status);
  }
}

TEST_CASE("the frame reader delivers binary messages whole, with their bytes as they were") {
  std::string bytes{"\x00\x01\xFF\xFE not UTF-8 \xC0", 17};
  SECTION("one frame") {
    auto out = read_all(client_frame(op::binary, bytes));
    REQUIRE(out.binaries == std::vector<std::string>{bytes});
    CHECK(out.texts.empty());
    CHECK_FALSE(out.failure);
  }
  SECTION("in fragments, with a ping between them") {
    auto out = read_all(client_frame(op::binary, bytes.substr(0, 5), false)
                        + client_frame(op::ping, "p")
                        + client_frame(op::continuation, bytes.substr(5, 5), false)
                        + client_frame(op::continuation, bytes.substr(10)));
    REQUIRE(out.binaries == std::vector<std::string>{bytes});
    CHECK(out.pings.size() == 1);
  }
  SECTION("text and binary messages keep their kind and order") {
    auto out = read_all(client_frame(op::text, "t1") + client_frame(op::binary, "b1")
                        + client_frame(op::text, "t", false) + client_frame(op::continuation, "2"));
    CHECK(out.texts == std::vector<std::string>{"t1", "t2"});
    CHECK(out.binaries == std::vector<std::string>{"b1"});
  }
  SECTION("an empty binary message") {
    CHECK(read_all(client_frame(op::binary, "")).binaries == std::vector<std::string>{""});
  }
  SECTION("fragments over the size limit close with 1009, as for text") {
    auto over = client_frame(op::binary, std::string(600, 'x'), false)
                + client_frame(op::continuation, std::string(600, 'x'));
    CHECK(read_all(over, 1000).failure == close_code::message_too_big);
    CHECK(read_all(client_frame(op::binary, std::string(1000, 'x')), 1000).binaries.size() == 1);
  }
}

TEST_CASE("the frame reader refuses what RFC 6455 forbids, with the right close code") {
  struct bad_input {
    const char* name;
    std::string bytes;
    std::uint16_t code;
  };
  std::string two_byte_utf8_cut = "\xC3";
  std::vector<bad_input> cases{
    {"an unmasked client frame", client_frame(op::text, "hi", true, false),
     close_code::protocol_error},
    {"RSV1 without a negotiated extension", client_frame(op::text, "hi", true, true, 4),
     close_code::protocol_error},
    {"RSV1 on a binary frame without one", client_frame(op::binary, "hi", true, true, 4),
     close_code::protocol_error},
    {"RSV2", client_frame(op::text, "hi", true, true, 2), close_code::protocol_error},
    {"RSV3", client_frame(op::binary, "hi", true, true, 1), close_code::protocol_error},
    {"a binary message inside a fragmented text one",
     client_frame(op::text, "a", false) + client_frame(op::binary, "b"),
     close_code::protocol_error},
    {"a text message inside a fragmented binary one",
     client_frame(op::binary, "a", false) + client_frame(op::text, "b"),
     close_code::protocol_error},
    {"an unknown opcode", client_frame(3, "x"), close_code::protocol_error},
    {"a continuation with nothing to continue", client_frame(op::continuation, "x"),
     close_code::protocol_error},
    {"a new message inside a fragmented one",
     client_frame(op::text, "a", false) + client_frame(op::text, "b"), close_code::protocol_error},
    {"a fragmented control frame", client_frame(op::ping, "x", false), close_code::protocol_error},
    {"a control frame over 125 bytes", client_frame(op::ping, std::string(126, 'p')),
     close_code::protocol_error},
    {"text that is not UTF-8", client_frame(op::text, "\xFF\xFE"), close_code::invalid_payload},
    {"UTF-8 cut in the middle of a character", client_frame(op::text, two_byte_utf8_cut),
     close_code::invalid_payload},
    {"an overlong UTF-8 encoding", client_frame(op::text, "\xC0\xAF"), close_code::invalid_payload},
    {"a UTF-16 surrogate in UTF-8", client_frame(op::text, "\xED\xA0\x80"),
     close_code::invalid_payload},
    {"a close frame with one byte", client_frame(op::close, "x"), close_code::protocol_error},
    {"a close frame with a reserved code", client_frame(op::close, close_payload(1005)),
     close_code::protocol_error},
    {"a close reason that is not UTF-8", client_frame(op::close, close_payload(1000, "\xFF")),
     close_code::invalid_payload},
  };
  for (auto& c : cases) {
    INFO(c.name);
    auto out = read_all(c.bytes);
    CHECK(out.failure == c.code);
    CHECK_FALSE(out.why.empty());
    CHECK(out.texts.empty());
    CHECK(out.binaries.empty());
  }
}

TEST_CASE("the frame reader refuses an oversized message before buffering it") {
  SECTION("one announced frame over the limit") {
    // Only the header arrives: the announced length alone is enough to refuse.
    auto header = client_frame(op::text, std::string(2000, 'x')).substr(0, 8);
    auto out = read_all(header, 1000);
    CHECK(out.failure == close_code::message_too_big);
  }
  SECTION("fragments that add up to more than the limit") {
    auto bytes = client_frame(op::text, std::string(600, 'x'), false)
                 + client_frame(op::continuation, std::string(600, 'x'));
    CHECK(read_all(bytes, 1000).failure == close_code::message_too_big);
  }
  SECTION("a message exactly at the limit passes") {
    CHECK(read_all(client_frame(op::text, std::string(1000, 'x')), 1000).texts.size() == 1);
  }
  SECTION("a 64-bit length with the top bit set") {
    std::string bytes{"\x81\xFF\x80\x00\x00\x00\x00\x00\x00\x00", 10};
    CHECK(read_all(bytes).failure == close_code::protocol_error);
  }
}
