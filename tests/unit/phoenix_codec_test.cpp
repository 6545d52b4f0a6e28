#include "transport/phoenix_codec.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace pulse::transport;
namespace json = boost::json;

namespace {

envelope decode_ok(std::string_view text) {
  auto result = phoenix::decode(text);
  if (auto* error = std::get_if<decode_error>(&result))
    FAIL("unexpected decode error: " << error->reason);
  return std::get<envelope>(std::move(result));
}

decode_error decode_fails(std::string_view text, const phoenix::decode_limits& limits = {}) {
  auto result = phoenix::decode(text, limits);
  REQUIRE(std::holds_alternative<decode_error>(result));
  return std::get<decode_error>(std::move(result));
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
  SECTION("JSON nested deeper than the limit") {
    std::string deep = R"(["1","2","t","e",)" + std::string(40, '[') + std::string(40, ']') + "]";
    CHECK_THAT(decode_fails(deep).reason, Catch::Contains("nested deeper than 32"));
  }
}

TEST_CASE("the codec writes Phoenix V2 frames byte for byte") {
  auto text = [](const outbound_frame& f) {
    return std::string{f.payload()};
  };
  SECTION("an ok reply echoes both refs") {
    CHECK(text(phoenix::encode_reply(std::string{"1"}, std::string{"2"}, "room:1", true,
                                     json::object{{"n", 1}}))
          == R"(["1","2","room:1","phx_reply",{"status":"ok","response":{"n":1}}])");
  }
  SECTION("an error reply to an unmatched topic has a null join_ref") {
    CHECK(
      text(phoenix::encode_error_reply(std::nullopt, std::string{"4"}, "nope", "unmatched topic"))
      == R"([null,"4","nope","phx_reply",{"status":"error","response":{"reason":"unmatched topic"}}])");
  }
  SECTION("a broadcast has null refs") {
    CHECK(text(phoenix::encode_broadcast("chat", "new_message", json::object{{"text", "hi"}}))
          == R"([null,null,"chat","new_message",{"text":"hi"}])");
  }
  SECTION("a broadcast shared between nodes: its tail once, then its frame on each node") {
    auto tail = phoenix::encode_broadcast_tail("room:1", "said", json::object{{"text", "hi"}});
    CHECK(tail == R"("room:1","said",{"text":"hi"}])");
    CHECK(text(phoenix::broadcast_from_tail(tail, std::string{"o7"}))
          == R"([null,"o7","room:1","said",{"text":"hi"}])");
    CHECK(text(phoenix::broadcast_from_tail(tail, std::nullopt))
          == text(phoenix::encode_broadcast("room:1", "said", json::object{{"text", "hi"}})));
  }
  SECTION("a push to one client carries its join_ref") {
    CHECK(text(phoenix::encode_push("3", "chat", "pong", json::object{}))
          == R"(["3",null,"chat","pong",{}])");
  }
  SECTION("a server request carries a ref of its own") {
    CHECK(text(phoenix::encode_request("3", "s1", "chat", "confirm", json::object{}))
          == R"(["3","s1","chat","confirm",{}])");
  }
  SECTION("close and error repeat the join_ref as ref") {
    CHECK(text(phoenix::encode_unsubscribed("3", "chat")) == R"(["3","3","chat","phx_close",{}])");
    CHECK(text(phoenix::encode_channel_failed("3", "chat"))
          == R"(["3","3","chat","phx_error",{}])");
  }
  SECTION("topics and events are escaped as JSON strings") {
    CHECK(text(phoenix::encode_broadcast("a\"b", "line\nbreak", json::object{}))
          == R"([null,null,"a\"b","line\nbreak",{}])");
  }
  SECTION("what the codec writes, it reads back") {
    json::object payload{{"list", json::array{1, "two", nullptr}}, {"ünïcödé", "✓"}};
    auto frame = phoenix::encode_push("9", "room:x", "event", payload);
    auto back = decode_ok(frame.payload());
    CHECK(back.join_ref == "9");
    CHECK_FALSE(back.ref);
    CHECK(back.payload == payload);
  }
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
