// Hostile input, table-driven: every case states its expected reaction, and after every case a
// bystander still gets its own broadcasts, in order. Real sockets, one server for the table.
#include "tests/support/test_server.hpp"
#include "tests/support/ws_frames.hpp"
#include "tests/support/ws_test_client.hpp"

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <functional>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t max_message = 64 * 1024;

server_options hostile_options() {
  server_options options;
  options.limits.max_message_bytes = max_message;
  options.limits.request_timeout = 300ms;
  options.max_subscriptions_per_connection = 5;
  options.max_messages_per_second = 200;
  return options;
}

/// What one hostile input should cause.
struct expectation {
  enum kind { close_code, error_reply, http_status, ok_reply, nothing } what;
  std::uint16_t code = 0;  // close code or HTTP status
  std::string reason = {}; // part of the error reply's reason, or of the HTTP body
};

expectation closes(std::uint16_t code) {
  return {expectation::close_code, code};
}
expectation error_reply(std::string reason) {
  return {expectation::error_reply, 0, std::move(reason)};
}
expectation http(std::uint16_t status, std::string body = {}) {
  return {expectation::http_status, status, std::move(body)};
}

struct hostile_case {
  std::string name;
  std::string input;
  expectation expected;
  bool raw_frame = false; // `input` goes on the socket as is, after the handshake
};

std::string frame_text(const json::value& v) {
  return json::serialize(v);
}

std::vector<hostile_case> websocket_cases() {
  auto too_long = [](std::size_t n) {
    return std::string(n, 'x');
  };
  std::string deep = R"(["1","9","chat","message",)" + std::string(300, '[') + std::string(300, ']')
                     + "]";
  return {
    // Frames that break RFC 6455.
    {"an unmasked frame", client_frame(op::text, "[]", true, false), closes(1002), true},
    {"reserved bits set", client_frame(op::text, "[]", true, true, 2), closes(1002), true},
    {"an unknown opcode", client_frame(0xB, "x"), closes(1002), true},
    {"a continuation with nothing to continue", client_frame(op::continuation, "x"), closes(1002),
     true},
    {"a new text frame inside a fragmented message",
     client_frame(op::text, "[", false) + client_frame(op::text, "]"), closes(1002), true},
    {"a fragmented ping", client_frame(op::ping, "x", false), closes(1002), true},
    {"a ping over 125 bytes", client_frame(op::ping, too_long(126)), closes(1002), true},
    {"a close frame with a forbidden code", client_frame(op::close, close_payload(1006)),
     closes(1002), true},
    {"a one-byte close frame", client_frame(op::close, "x"), closes(1002), true},
    {"a message over the size limit", client_frame(op::text, too_long(max_message + 1)),
     closes(1009), true},
    {"a 64-bit length announcing an exabyte",
     std::string{"\x81\xFF\x0F\x00\x00\x00\x00\x00\x00\x00", 10}, closes(1009), true},
    {"fragments adding up past the limit",
     client_frame(op::text, too_long(max_message / 2 + 10), false)
       + client_frame(op::continuation, too_long(max_message / 2 + 10)),
     closes(1009), true},
    {"text that is not UTF-8", client_frame(op::text, "\xFF\xFE\xFD"), closes(1007), true},
    {"an overlong UTF-8 slash", client_frame(op::text, "\xC0\xAF"), closes(1007), true},
    {"a UTF-16 surrogate in UTF-8", client_frame(op::text, "\xED\xB0\x80"), closes(1007), true},
    {"a code point above U+10FFFF", client_frame(op::text, "\xF4\x90\x80\x80"), closes(1007), true},
    {"a compressed frame without permessage-deflate", client_frame(op::text, "[]", true, true, 4),
     closes(1002), true},
    {"a binary message that is no V2 binary frame", client_frame(op::binary, "\x01\x02"),
     closes(1007), true},
    // Messages that are not Phoenix frames, without a ref to answer.
    {"not JSON", "hello?", closes(1007)},
    {"truncated JSON", R"(["1","2","chat","message",{"text":)", closes(1007)},
    {"a JSON object (Phoenix V1)", R"({"topic":"chat","event":"phx_join","ref":"1"})",
     closes(1007)},
    {"an empty array", "[]", closes(1007)},
    {"an array of six", R"(["1","2","chat","message",{},"extra"])", closes(1007)},
    {"a bare string", R"("phx_join")", closes(1007)},
    {"JSON nested 300 deep", deep, error_reply("nested deeper than 256 levels")},
    // Malformed messages that carry a ref: an error reply says what was expected.
    {"a numeric ref", R"(["1",9,"chat","message",{}])", error_reply("must be strings")},
    {"a boolean ref", R"([null,true,"chat","message",{}])", closes(1007)}, // no ref to answer
    {"a numeric join_ref", R"([1,"9","chat","message",{}])", error_reply("must be strings")},
    {"a ref longer than 64 bytes", R"(["1",")" + std::string(65, '7') + R"(","chat","m",{}])",
     error_reply("at most 64 bytes")}, // answered by join_ref alone: the ref is not echoed
    {"a topic that is an object", R"([null,"9",{},"message",{}])",
     error_reply("topic must be a non-empty string")},
    {"an empty topic", R"([null,"9","","message",{}])", error_reply("topic must be a non-empty")},
    {"a topic over 255 bytes", R"([null,"9",")" + too_long(256) + R"(","message",{}])",
     error_reply("topic is longer than 255 bytes")},
    {"an empty event", R"(["1","9","chat","",{}])", error_reply("event must be a non-empty")},
    {"an event that is a number", R"(["1","9","chat",7,{}])", error_reply("event must be")},
    {"an event over 255 bytes", R"(["1","9","chat",")" + too_long(256) + R"(",{}])",
     error_reply("event is longer than 255 bytes")},
    {"a number too large for a double", R"(["1","9","chat","message",{"n":1e400}])",
     error_reply("too large for a double")},
    {"join params that are a list", R"(["9","9","chat","phx_join",[1,2]])",
     error_reply("join params must be an object")},
    {"a join without a join_ref", R"([null,"9","chat","phx_join",{}])",
     error_reply("phx_join needs a join_ref")},
    {"a join of a topic nobody defined", R"(["9","9","nowhere","phx_join",{}])",
     error_reply("unmatched topic")},
    {"a push before any join", R"([null,"9","chat","message",{"text":"hi"}])",
     error_reply("unmatched topic")},
    {"a heartbeat on a topic not joined", R"([null,"9","chat","heartbeat",{}])",
     error_reply("unmatched topic")},
    {"an answer with no request ref", R"(["1","9","chat","pulse_reply",{"status":"ok"}])",
     error_reply("pulse_reply expects")},
    // Harmless oddities, answered normally.
    {"a leave of a topic never joined",
     R"([null,"9","chat","phx_leave",{}])",
     {expectation::ok_reply}},
    {"a null payload on a heartbeat",
     R"([null,"9","phoenix","heartbeat",null])",
     {expectation::ok_reply}},
    {"a huge string in a push, within the size limit",
     frame_text(json::array{"1", "9", "echo", "ping", json::object{{"s", too_long(60000)}}}),
     error_reply("unmatched topic")}, // not joined: refused without looking at the payload
  };
}

std::vector<std::pair<std::string, std::pair<std::string, expectation>>> http_cases() {
  std::string big_header = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'h')
                           + "\r\n\r\n";
  std::string big_body = "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n";
  std::string upgrade = "GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: x\r\n"
                        "Upgrade: websocket\r\nConnection: Upgrade\r\n";
  return {
    {"garbage instead of HTTP", {"HELLO THERE\r\n\r\n", http(400)}},
    {"a request line without a version", {"GET /\r\n\r\n", http(400)}},
    {"a header block over 8 KiB", {big_header, http(431)}},
    {"a body over 1 MiB", {big_body, http(413)}},
    {"an unknown method", {"BREW / HTTP/1.1\r\nHost: x\r\n\r\n", http(405)}},
    {"the socket path without an upgrade",
     {"GET /socket/websocket HTTP/1.1\r\nHost: x\r\n\r\n", http(426)}},
    {"an upgrade without a key", {upgrade + "Sec-WebSocket-Version: 13\r\n\r\n", http(400)}},
    {"an upgrade without a Host",
     {"GET /socket/websocket?vsn=2.0.0 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
      http(400, "Host")}},
    {"an upgrade of another WebSocket version",
     {upgrade + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
      http(426)}},
    {"an upgrade for a protocol version Phoenix does not speak",
     {"GET /socket/websocket?vsn=3.0.0 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      http(403, "vsn=2.0.0")}},
    {"a path out of the web root",
     {"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", http(404)}},
  };
}

unsigned status_of(const std::string& response) {
  if (!response.starts_with("HTTP/1.1 "))
    return 0;
  return static_cast<unsigned>(std::stoul(response.substr(9, 3)));
}

} // namespace

TEST_CASE("hostile input gets its documented reaction and no other client notices") {
  test_server server{hostile_options()};
  auto port = server.start();
  ws_test_client bystander{port};
  REQUIRE(bystander.join("chat").is_ok());
  int said = 0;
  auto bystander_unaffected = [&] {
    auto text = std::to_string(said++);
    bystander.push("chat", "message", json::object{{"username", "b"}, {"text", text}});
    CHECK(bystander.receive_event("new_message").payload.at("text").as_string() == text);
  };

  auto cases = websocket_cases();
  auto http = http_cases();
  CHECK(cases.size() + http.size() >= 40);

  for (auto& c : cases) {
    INFO("WebSocket: " << c.name);
    ws_test_client offender{port};
    if (c.raw_frame)
      offender.send_raw(c.input);
    else
      offender.send_text(c.input);
    switch (c.expected.what) {
      case expectation::close_code:
        CHECK(offender.wait_close() == c.expected.code);
        CHECK_FALSE(offender.close_reason().empty());
        break;
      case expectation::error_reply: {
        auto reply = offender.receive(); // the first thing the server says
        CHECK(reply.is_reply());
        CHECK_FALSE(reply.is_ok());
        CHECK_THAT(reply.reason(), Catch::Contains(c.expected.reason));
        CHECK(offender.request("phoenix", "heartbeat").is_ok()); // the connection still works
        break;
      }
      case expectation::ok_reply: CHECK(offender.reply_to("9").is_ok()); break;
      default: break;
    }
    bystander_unaffected();
  }

  for (auto& [name, input_and_expected] : http) {
    INFO("HTTP: " << name);
    auto& [input, expected] = input_and_expected;
    auto response = raw_exchange(port, input, 3s);
    CHECK(status_of(response) == expected.code);
    if (!expected.reason.empty())
      CHECK_THAT(response, Catch::Contains(expected.reason));
    bystander_unaffected();
  }

  SECTION("a slow request (slowloris) is dropped after the request timeout") {
    auto started = std::chrono::steady_clock::now();
    auto response = raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nX-Slow:", 3s);
    auto waited = std::chrono::steady_clock::now() - started;
    CHECK(response.empty());
    CHECK(waited >= 250ms);
    CHECK(waited < 3s); // closed by the server, not by our own timeout
    bystander_unaffected();
  }
}

TEST_CASE("floods: joins, pushes and connections are bounded") {
  test_server server{hostile_options()};
  auto port = server.start();
  ws_test_client bystander{port};
  REQUIRE(bystander.join("chat").is_ok());

  SECTION("a join flood stops at the subscriptions limit") {
    ws_test_client flooder{port};
    for (int i = 0; i < 5; ++i)
      REQUIRE(flooder.join("room:" + std::to_string(i)).is_ok());
    CHECK_THAT(flooder.join("room:5").reason(), Catch::Contains("too many subscriptions"));
  }
  SECTION("a push flood gets error replies, then the connection is closed") {
    ws_test_client flooder{port};
    REQUIRE(flooder.join("echo").is_ok());
    int refused = 0;
    // 200 per second allowed: 1,000 at once go over, and go on past another second's worth.
    for (int i = 0; i < 1000; ++i)
      flooder.push("echo", "ping", json::object{{"i", i}});
    std::optional<std::uint16_t> closed;
    for (;;) {
      try {
        auto f = flooder.receive();
        if (f.is_reply() && !f.is_ok()) {
          CHECK_THAT(f.reason(), Catch::Contains("rate limit exceeded"));
          ++refused;
        }
      } catch (const std::runtime_error&) {
        closed = flooder.wait_close(1s);
        break;
      }
    }
    CHECK(refused > 0);
    CHECK(closed == 1008);
    CHECK(flooder.close_reason() == "rate limit exceeded");
  }
  bystander.push("chat", "message", json::object{{"username", "b"}, {"text", "still here"}});
  CHECK(bystander.receive_event("new_message").payload.at("text") == "still here");
}

TEST_CASE("connection floods are refused with 503 past the global and per-address limits") {
  SECTION("per address") {
    server_options options;
    options.limits.max_connections_per_ip = 2;
    test_server server{options};
    auto port = server.start();
    ws_test_client first{port}, second{port};
    auto refused = http_request(port, "GET", "/socket/websocket?vsn=2.0.0",
                                {{"Upgrade", "websocket"},
                                 {"Connection", "Upgrade"},
                                 {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                 {"Sec-WebSocket-Version", "13"}});
    CHECK(refused.status == 503);
    CHECK_THAT(refused.body, Catch::Contains("too many connections from your address"));
    CHECK(first.join("chat").is_ok()); // those admitted are served as usual
  }
  SECTION("in all") {
    server_options options;
    options.limits.max_connections = 3;
    test_server server{options};
    auto port = server.start();
    std::vector<std::unique_ptr<ws_test_client>> clients;
    for (int i = 0; i < 3; ++i)
      clients.push_back(std::make_unique<ws_test_client>(port));
    // A client's handshake completes just before the server counts its connection.
    REQUIRE(testing::eventually([&] { return server.srv.connection_count() == 3; }));
    CHECK_THROWS(ws_test_client{port});
    clients.pop_back(); // one leaves: its place frees up once the server saw it go
    REQUIRE(testing::eventually([&] { return server.srv.connection_count() == 2; }));
    ws_test_client again{port};
    CHECK(again.join("chat").is_ok());
  }
}
