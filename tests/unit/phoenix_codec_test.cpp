#include "transport/phoenix_codec.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace pulse::transport;
namespace json = boost::json;

namespace {

using phoenix::wire_format;

envelope decode_ok(std::string_view text, wire_format format = wire_format::v2) {
  auto result = phoenix::decode(text, format);
  if (auto* error = std::get_if<decode_error>(&result))
    FAIL("unexpected decode error: " << error->reason);
  return std::get<envelope>(std::move(result));
}

decode_error decode_fails(std::string_view text, const phoenix::decode_limits& limits = {},
                          wire_format format = wire_format::v2) {
  auto result = phoenix::decode(text, format, limits);
  REQUIRE(std::holds_alternative<decode_error>(result));
  return std::get<decode_error>(std::move(result));
}

std::string text(const outbound_frame& f) {
  return std::string{f.payload()};
}

/// Bytes from a list of byte values and strings, for binary frames.
std::string bytes_of(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto part : parts)
    out += part;
  return out;
}

} // namespace

TEST_CASE("the codec reads every frame the official client sends") {
  SECTION("a join, with its params") {
    auto msg = decode_ok(R"(["1","1","room:42","phx_join",{"username":"ada"}])");
    CHECK(msg.kind == intent::subscribe);
    CHECK(msg.join_ref == "1");
    CHECK(msg.ref == "1");
    CHECK(msg.topic == "room:42");
    CHECK(msg.payload.at("username") == "ada");
  }
  SECTION("a leave") {
    auto msg = decode_ok(R"(["1","3","room:42","phx_leave",{}])");
    CHECK(msg.kind == intent::unsubscribe);
  }
  SECTION("a heartbeat, which has no join_ref") {
    auto msg = decode_ok(R"([null,"5","phoenix","heartbeat",{}])");
    CHECK(msg.kind == intent::heartbeat);
    CHECK_FALSE(msg.join_ref);
    CHECK(msg.ref == "5");
  }
  SECTION("a push, with any JSON payload") {
    auto msg = decode_ok(R"(["1","2","room:42","message",[1,2,3]])");
    CHECK(msg.kind == intent::push);
    CHECK(msg.event == "message");
    CHECK(msg.payload.as_array().size() == 3);
  }
  SECTION("a null payload reads as an empty object") {
    auto msg = decode_ok(R"(["1","2","room:42","message",null])");
    CHECK(msg.payload.as_object().empty());
  }
  SECTION("an answer to a server request") {
    auto msg = decode_ok(
      R"(["1","7","room:42","pulse_reply",{"ref":"s3","status":"error","response":{"why":"no"}}])");
    CHECK(msg.kind == intent::answer);
    CHECK(msg.request_ref == "s3");
    CHECK_FALSE(msg.is_ok);
    CHECK(msg.payload.at("why") == "no");
  }
  SECTION("\"heartbeat\" on another topic is an ordinary event") {
    CHECK(decode_ok(R"(["1","2","room:1","heartbeat",{}])").kind == intent::push);
  }
}

TEST_CASE("the codec refuses malformed frames with a reason and the refs it could read") {
  SECTION("not JSON: no refs") {
    auto error = decode_fails("{nope");
    CHECK_THAT(error.reason, Catch::Contains("not valid JSON"));
    CHECK_FALSE(error.ref);
  }
  SECTION("not an array, or not five elements") {
    CHECK_THAT(decode_fails(R"({"topic":"x"})").reason, Catch::Contains("[join_ref, ref, topic"));
    CHECK_THAT(decode_fails(R"(["1","2","x","y"])").reason, Catch::Contains("JSON array"));
    CHECK_THAT(decode_fails(R"(["1","2","x","y",{},6])").reason, Catch::Contains("JSON array"));
  }
  SECTION("refs that are not strings") {
    auto error = decode_fails(R"([1,"2","room:1","message",{}])");
    CHECK_THAT(error.reason, Catch::Contains("join_ref and ref must be strings"));
    CHECK(error.ref == "2");
    CHECK(error.topic == "room:1");
  }
  SECTION("a missing or empty topic keeps the ref for the error reply") {
    auto error = decode_fails(R"([null,"9",7,"message",{}])");
    CHECK(error.ref == "9");
    CHECK_THAT(error.reason, Catch::Contains("topic must be a non-empty string"));
    CHECK_THAT(decode_fails(R"([null,"9","","message",{}])").reason,
               Catch::Contains("topic must be"));
  }
  SECTION("an empty, huge or non-string event") {
    CHECK_THAT(decode_fails(R"(["1","2","t","",{}])").reason, Catch::Contains("event must be"));
    CHECK_THAT(decode_fails(R"(["1","2","t",false,{}])").reason, Catch::Contains("event must be"));
    auto huge = R"(["1","2","t",")" + std::string(300, 'e') + R"(",{}])";
    CHECK_THAT(decode_fails(huge).reason, Catch::Contains("event is longer than 255 bytes"));
  }
  SECTION("a huge topic or ref") {
    auto topic = R"(["1","2",")" + std::string(300, 't') + R"(","e",{}])";
    CHECK_THAT(decode_fails(topic).reason, Catch::Contains("topic is longer than 255 bytes"));
    auto ref = R"(["1",")" + std::string(100, '9') + R"(","t","e",{}])";
    CHECK_THAT(decode_fails(ref).reason, Catch::Contains("at most 64 bytes"));
  }
  SECTION("join params that are not an object") {
    auto error = decode_fails(R"(["1","1","room:1","phx_join",[1]])");
    CHECK(error.reason == "join params must be an object");
    CHECK(error.join_ref == "1");
  }
  SECTION("an answer without a request ref or status") {
    CHECK_THAT(decode_fails(R"(["1","2","t","pulse_reply",{"status":"ok"}])").reason,
               Catch::Contains("pulse_reply expects"));
    CHECK_THAT(decode_fails(R"(["1","2","t","pulse_reply",{"ref":"s1","status":"maybe"}])").reason,
               Catch::Contains("pulse_reply expects"));
  }
  SECTION("a number too large for a double, which would go out as invalid JSON") {
    auto error = decode_fails(R"(["1","2","t","e",{"n":[1,-1e400]}])");
    CHECK(error.reason == "a number in the payload is too large for a double");
    CHECK(error.ref == "2");
  }
  SECTION("JSON nested deeper than the limit still gets its refs, for the error reply") {
    std::string deep = R"(["1","2","t","e",)" + std::string(300, '[') + std::string(300, ']') + "]";
    auto error = decode_fails(deep);
    CHECK_THAT(error.reason, Catch::Contains("nested deeper than 256"));
    CHECK(error.join_ref == "1");
    CHECK(error.ref == "2");
    CHECK(error.topic == "t");
    phoenix::decode_limits shallow;
    shallow.max_json_depth = 8;
    CHECK_THAT(decode_fails(R"(["1","2","t","e",[[[[[[[[[1]]]]]]]]]])", shallow).reason,
               Catch::Contains("deeper than 8"));
  }
  SECTION("JSON nested 255 levels deep is delivered") {
    std::string deep = R"(["1","2","t","e",)" + std::string(254, '[') + std::string(254, ']') + "]";
    CHECK(decode_ok(deep).payload.is_array());
  }
}

TEST_CASE("the codec writes Phoenix V2 frames byte for byte") {
  constexpr auto v2 = wire_format::v2;
  SECTION("an ok reply echoes both refs") {
    CHECK(text(phoenix::encode_reply(v2, std::string{"1"}, std::string{"2"}, "room:1", true,
                                     json::object{{"n", 1}}))
          == R"(["1","2","room:1","phx_reply",{"response":{"n":1},"status":"ok"}])");
  }
  SECTION("an error reply to an unmatched topic has a null join_ref") {
    CHECK(
      text(
        phoenix::encode_error_reply(v2, std::nullopt, std::string{"4"}, "nope", "unmatched topic"))
      == R"([null,"4","nope","phx_reply",{"response":{"reason":"unmatched topic"},"status":"error"}])");
  }
  SECTION("a broadcast has null refs") {
    CHECK(text(phoenix::encode_broadcast(v2, "chat", "new_message", json::object{{"text", "hi"}}))
          == R"([null,null,"chat","new_message",{"text":"hi"}])");
  }
  SECTION("a broadcast shared between nodes: its tail once, then its frame on each node") {
    auto tail = phoenix::encode_broadcast_tail("room:1", "said", json::object{{"text", "hi"}});
    CHECK(tail == R"("room:1","said",{"text":"hi"}])");
    CHECK(text(phoenix::broadcast_from_tail(v2, tail, std::string{"o7"}))
          == R"([null,"o7","room:1","said",{"text":"hi"}])");
    CHECK(text(phoenix::broadcast_from_tail(v2, tail, std::nullopt))
          == text(phoenix::encode_broadcast(v2, "room:1", "said", json::object{{"text", "hi"}})));
    auto content = phoenix::read_tail(tail);
    REQUIRE(content);
    CHECK(content->event == "said");
    CHECK(content->json.at("text") == "hi");
  }
  SECTION("a push to one client carries its join_ref") {
    CHECK(text(phoenix::encode_push(v2, "3", "chat", "pong", json::object{}))
          == R"(["3",null,"chat","pong",{}])");
  }
  SECTION("a server request carries a ref of its own") {
    CHECK(text(phoenix::encode_request(v2, "3", "s1", "chat", "confirm", json::object{}))
          == R"(["3","s1","chat","confirm",{}])");
  }
  SECTION("close and error repeat the join_ref as ref") {
    CHECK(text(phoenix::encode_unsubscribed(v2, "3", "chat"))
          == R"(["3","3","chat","phx_close",{}])");
    CHECK(text(phoenix::encode_channel_failed(v2, "3", "chat"))
          == R"(["3","3","chat","phx_error",{}])");
  }
  SECTION("topics and events are escaped as JSON strings") {
    CHECK(text(phoenix::encode_broadcast(v2, "a\"b", "line\nbreak", json::object{}))
          == R"([null,null,"a\"b","line\nbreak",{}])");
  }
  SECTION("numbers go out as JavaScript writes them") {
    json::array numbers{10.3,
                        0.0,
                        -0.0,
                        1e21,
                        1.5e-7,
                        0.000001,
                        123456789012345680000.0,
                        2.5,
                        1e300,
                        -42,
                        18446744073709551615ull,
                        0.1 + 0.2};
    CHECK(text(phoenix::encode_push(v2, "1", "t", "n", numbers))
          == R"(["1",null,"t","n",[10.3,0,0,1e+21,1.5e-7,0.000001,123456789012345680000,2.5,)"
             R"(1e+300,-42,18446744073709551615,0.30000000000000004]])");
  }
  SECTION("what the codec writes, it reads back") {
    json::object payload{{"list", json::array{1, "two", nullptr}}, {"ünïcödé", "✓"}};
    auto frame = phoenix::encode_push(v2, "9", "room:x", "event", payload);
    auto back = decode_ok(frame.payload());
    CHECK(back.join_ref == "9");
    CHECK_FALSE(back.ref);
    CHECK(back.payload == payload);
  }
}

TEST_CASE("the V1 serializer speaks JSON objects, as Phoenix writes them") {
  constexpr auto v1 = wire_format::v1;
  SECTION("a client's V1 messages, join_ref or not") {
    auto join = decode_ok(
      R"({"topic":"room:1","event":"phx_join","payload":{"a":1},"ref":"1","join_ref":"1"})", v1);
    CHECK(join.kind == intent::subscribe);
    CHECK(join.join_ref == "1");
    CHECK(join.payload.at("a") == 1);
    auto heartbeat = decode_ok(R"({"topic":"phoenix","event":"heartbeat","payload":{},"ref":"3"})",
                               v1);
    CHECK(heartbeat.kind == intent::heartbeat);
    CHECK_FALSE(heartbeat.join_ref);
  }
  SECTION("a V2 array on a V1 connection is refused, and so is an object on V2") {
    CHECK_THAT(decode_fails(R"(["1","1","t","e",{}])", {}, v1).reason,
               Catch::Contains("JSON object"));
    CHECK_THAT(decode_fails(R"({"topic":"t","event":"e","payload":{},"ref":"1"})").reason,
               Catch::Contains("JSON array"));
  }
  SECTION("a refused V1 message keeps its ref, even when too deep to parse") {
    auto error = decode_fails(R"({"ref":"7","topic":"t","event":"","payload":{}})", {}, v1);
    CHECK(error.ref == "7");
    CHECK_THAT(error.reason, Catch::Contains("event must be"));
    std::string deep = R"({"topic":"t","ref":"8","payload":)" + std::string(300, '[')
                       + std::string(300, ']') + "}";
    auto too_deep = decode_fails(deep, {}, v1);
    CHECK(too_deep.ref == "8");
    CHECK(too_deep.topic == "t");
  }
  SECTION("output never carries the join_ref, and keys are in Phoenix's order") {
    CHECK(
      text(phoenix::encode_reply(v1, std::string{"1"}, std::string{"1"}, "bench", true,
                                 json::object{}))
      == R"({"event":"phx_reply","payload":{"response":{},"status":"ok"},"ref":"1","topic":"bench"})");
    CHECK(text(phoenix::encode_broadcast(v1, "bench", "message", json::object{{"x", 1}}))
          == R"({"event":"message","payload":{"x":1},"ref":null,"topic":"bench"})");
    CHECK(text(phoenix::encode_push(v1, "3", "bench", "tick", json::object{}))
          == R"({"event":"tick","payload":{},"ref":null,"topic":"bench"})");
  }
  SECTION("phx_close and phx_error carry the join ref in ref") {
    CHECK(text(phoenix::encode_unsubscribed(v1, "1", "bench"))
          == R"({"event":"phx_close","payload":{},"ref":"1","topic":"bench"})");
    CHECK(text(phoenix::encode_channel_failed(v1, "1", "bench"))
          == R"({"event":"phx_error","payload":{},"ref":"1","topic":"bench"})");
  }
  SECTION("a broadcast from a tail, and a kept V2 frame, in V1 (the offset stays in ref)") {
    auto tail = phoenix::encode_broadcast_tail("room:1", "said", json::object{{"t", "a,\"b]"}});
    CHECK(text(phoenix::broadcast_from_tail(v1, tail, std::string{"o7"}))
          == R"({"event":"said","payload":{"t":"a,\"b]"},"ref":"o7","topic":"room:1"})");
    auto kept = phoenix::broadcast_from_tail(wire_format::v2, tail, std::string{"o7"});
    CHECK(text(phoenix::convert(kept, v1)) == text(phoenix::broadcast_from_tail(v1, tail, "o7")));
  }
  SECTION("bytes cannot travel over V1") {
    auto tail = phoenix::encode_binary_broadcast_tail("t", "e", std::string_view{"\x01\x02", 2});
    CHECK(phoenix::broadcast_from_tail(v1, tail, std::nullopt).empty());
    CHECK(phoenix::convert(phoenix::encode_binary_broadcast("t", "e", "x"), v1).empty());
  }
}

TEST_CASE("V2 binary frames carry bytes, as the official client encodes them") {
  using namespace std::string_view_literals;
  SECTION("a client push: kind 0 with a 5-byte header") {
    // From Phoenix's own serializer tests.
    auto result = phoenix::decode_binary(
      bytes_of({"\x00\x02\x03\x05\x05"sv, "12", "123", "topic", "event", "\x65\x66\x67"}));
    auto& msg = std::get<envelope>(result);
    CHECK(msg.is_binary);
    CHECK(msg.kind == intent::push);
    CHECK(msg.join_ref == "12");
    CHECK(msg.ref == "123");
    CHECK(msg.topic == "topic");
    CHECK(msg.event == "event");
    CHECK(msg.bytes == "efg");
  }
  SECTION("server frames: a reply is kind 1, a broadcast kind 2, a push kind 0 without ref") {
    CHECK(text(phoenix::encode_binary_reply(std::string{"12"}, std::string{"123"}, "topic", true,
                                            "efg"))
          == bytes_of({"\x01\x02\x03\x05\x02"sv, "12123topicok", "efg"}));
    CHECK(text(phoenix::encode_binary_broadcast("topic", "event", "efg"))
          == bytes_of({"\x02\x05\x05"sv, "topicevent", "efg"}));
    CHECK(text(phoenix::encode_binary_push("12", "topic", "event", "efg"))
          == bytes_of({"\x00\x02\x05\x05"sv, "12topicevent", "efg"}));
    CHECK(phoenix::encode_binary_broadcast("t", "e", "").is_binary());
  }
  SECTION("a broadcast of bytes shared between nodes: the tail is the frame") {
    auto tail = phoenix::encode_binary_broadcast_tail("topic", "event", "\xff\x00"sv);
    auto frame = phoenix::broadcast_from_tail(wire_format::v2, tail, std::string{"o3"});
    CHECK(frame.is_binary());
    CHECK(text(frame) == tail);
    auto content = phoenix::read_tail(tail);
    REQUIRE(content);
    CHECK(content->is_binary);
    CHECK(content->event == "event");
    CHECK(content->bytes == std::string("\xff\x00", 2));
  }
  SECTION("malformed binary frames are refused as fatal: another kind, lengths past the end, or "
          "a topic that is not text") {
    for (auto bad : {"\x02\x01\x01"sv, "\x00\x01"sv,
                     "\x00\x05\x01\x01\x01"
                     "ab"sv,
                     "\x00\x00\x00\x02\x01\xff\xfe"
                     "e"sv}) {
      auto result = phoenix::decode_binary(bad);
      REQUIRE(std::holds_alternative<decode_error>(result));
      CHECK(std::get<decode_error>(result).fatal);
    }
  }
  SECTION("a binary join is refused with its refs: join params are JSON") {
    auto result = phoenix::decode_binary(bytes_of({"\x00\x01\x01\x01\x08"sv, "11tphx_join", "x"}));
    auto& error = std::get<decode_error>(result);
    CHECK_FALSE(error.fatal);
    CHECK(error.ref == "1");
    CHECK_THAT(error.reason, Catch::Contains("JSON payload"));
  }
  SECTION("meta fields over 255 bytes cannot be encoded") {
    CHECK_THROWS_AS(phoenix::encode_binary_broadcast("t", std::string(256, 'e'), "x"),
                    std::invalid_argument);
  }
}

TEST_CASE("a client's vsn picks the serializer as Phoenix picks it") {
  auto pick = [](const char* vsn) {
    std::string v = vsn ? vsn : "";
    return phoenix::format_for_version(vsn ? &v : nullptr);
  };
  CHECK(pick(nullptr) == wire_format::v1);
  CHECK(pick("1.0.0") == wire_format::v1);
  CHECK(pick("2.0.0") == wire_format::v2);
  CHECK(pick("2.0.7") == wire_format::v2);
  for (auto refused : {"2.1.0", "3.0.0", "2", "2.0", "abc", "2.0.x", ""})
    CHECK_FALSE(pick(refused));
}

TEST_CASE("outbound frames carry a WebSocket header sized to their payload") {
  for (std::size_t size : {0u, 125u, 126u, 65535u, 65536u, 100000u}) {
    auto frame = outbound_frame::text(std::string(size, 'x'));
    auto bytes = frame.wire_bytes();
    INFO("payload of " << size << " bytes");
    CHECK(static_cast<std::uint8_t>(bytes[0]) == 0x81); // FIN + text
    std::size_t header = size < 126 ? 2 : size <= 0xFFFF ? 4 : 10;
    CHECK(bytes.size() == header + size);
    CHECK(frame.payload().size() == size);
    CHECK((static_cast<std::uint8_t>(bytes[1]) & 0x80) == 0); // servers never mask
  }
  SECTION("a close frame holds the code, big-endian, and a reason cut to fit") {
    auto frame = outbound_frame::close(1009, std::string(200, 'r'));
    auto bytes = frame.wire_bytes();
    CHECK(static_cast<std::uint8_t>(bytes[0]) == 0x88);
    CHECK(static_cast<std::uint8_t>(bytes[1]) == 125);
    CHECK(static_cast<std::uint8_t>(bytes[2]) == 0x03);
    CHECK(static_cast<std::uint8_t>(bytes[3]) == 0xF1);
  }
}
