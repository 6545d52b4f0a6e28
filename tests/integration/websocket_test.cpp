#include "tests/support/test_server.hpp"
#include "tests/support/ws_frames.hpp"
#include "tests/support/ws_test_client.hpp"
#include <pulse/transport/handler_memory.hpp>

#include <catch2/catch.hpp>

#include <thread>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;

TEST_CASE("over real sockets, a broadcast reaches each subscriber once and in order") {
  // One I/O thread (connections without a strand of their own) and two (a strand each).
  server_options options;
  options.threads = GENERATE(1, 2);
  test_server server{options};
  auto port = server.start();
  constexpr int clients = 4;
  constexpr int messages = 100;
  std::vector<std::unique_ptr<ws_test_client>> subscribers;
  for (int i = 0; i < clients; ++i) {
    subscribers.push_back(std::make_unique<ws_test_client>(port));
    REQUIRE(subscribers.back()->join("chat").is_ok());
  }
  // One publisher: every subscriber sees its messages in the order sent.
  auto& publisher = *subscribers.front();
  for (int i = 0; i < messages; ++i)
    publisher.push("chat", "message", json::object{{"username", "u"}, {"text", std::to_string(i)}});
  for (auto& client : subscribers)
    for (int i = 0; i < messages; ++i) {
      auto f = client->receive_event("new_message");
      REQUIRE(f.payload.at("text").as_string() == std::to_string(i));
      CHECK(f.payload.at("username") == "u");
    }
  // Exactly once: after a heartbeat round trip nothing else is waiting.
  for (auto& client : subscribers) {
    auto ref = client->push("phoenix", "heartbeat");
    CHECK(client->receive().ref == ref);
  }
  // Every pending read's handler fitted in its connection (none took a heap block to idle in).
  CHECK(transport::handler_memory::too_large == 0);
}

TEST_CASE("messages that arrive in one read are each handled, in order") {
  test_server server;
  auto port = server.start();
  ws_test_client publisher{port}, reader{port};
  REQUIRE(publisher.join("room:burst").is_ok());
  REQUIRE(reader.join("room:burst").is_ok());
  // Twenty pushes, a request and a heartbeat in one write: the server reads them as one burst.
  constexpr int messages = 20;
  auto pushed = [&](const std::string& ref, const std::string& event, const std::string& payload) {
    return client_frame(op::text, "[\"" + publisher.join_ref("room:burst") + "\",\"" + ref
                                    + "\",\"room:burst\",\"" + event + "\"," + payload + "]");
  };
  std::string burst;
  for (int i = 0; i < messages; ++i)
    burst += pushed("m" + std::to_string(i), "message", R"({"n":)" + std::to_string(i) + "}");
  burst += pushed("count", "count", "{}");
  burst += client_frame(op::text, R"([null,"hb","phoenix","heartbeat",{}])");
  publisher.send_raw(burst);
  // The request saw every push before it, and the heartbeat came after it.
  auto count = publisher.reply_to("count");
  CHECK(count.payload.at("response").at("messages") == messages);
  CHECK(publisher.reply_to("hb").payload.at("status") == "ok");
  for (int i = 0; i < messages; ++i)
    CHECK(reader.receive_event("new_message").payload.at("n") == i);
}

TEST_CASE("the seed chat and notifications channels behave as documented") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port};
  REQUIRE(client.join("chat").is_ok());
  REQUIRE(client.join("notifications").is_ok());
  SECTION("a chat message without a username is from Anonymous") {
    client.push("chat", "message", json::object{{"username", ""}, {"text", "hi"}});
    auto f = client.receive_event("new_message");
    CHECK(f.payload == json::value{{"username", "Anonymous"}, {"text", "hi"}});
  }
  SECTION("an alert without a message gets the default, and a time") {
    client.push("notifications", "new_alert", json::object{});
    auto f = client.receive_event("alert");
    CHECK(f.payload.at("message") == "New notification!");
    CHECK(f.payload.at("time").as_string().size() >= 20);
    client.push("notifications", "new_alert", json::object{{"message", "disk full"}});
    CHECK(client.receive_event("alert").payload.at("message") == "disk full");
  }
  SECTION("bench broadcasts message with the payload as it came") {
    REQUIRE(client.join("bench").is_ok());
    json::object payload{{"seq", 1}, {"sent_ns", 123456789}};
    client.push("bench", "publish", payload);
    CHECK(client.receive_event("message").payload == payload);
  }
}

TEST_CASE("over real sockets, send reaches only its client and replies match their refs") {
  test_server server;
  auto port = server.start();
  ws_test_client a{port}, b{port};
  REQUIRE(a.join("room:s", {{"username", "ann"}}).is_ok());
  REQUIRE(b.join("room:s").is_ok());
  auto whoami = a.push("room:s", "whoami");
  a.push("room:s", "whisper", json::object{{"n", 1}});
  a.push("room:s", "message", json::object{{"n", 2}});
  CHECK(a.reply_to(whoami).response() == "ann");
  CHECK(a.receive_event("whispered").payload.at("n") == 1);
  auto first_for_b = b.receive_event("new_message");
  CHECK(first_for_b.payload.at("n") == 2);
  CHECK(b.request("room:s", "count").response().at("messages") == 1);
}

TEST_CASE("over real sockets, leave is answered then closed") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port};
  REQUIRE(client.join("chat").is_ok());
  auto join_ref = client.join_ref("chat");
  auto ref = client.push("chat", "phx_leave");
  CHECK(client.reply_to(ref).is_ok());
  auto close = client.receive_event("phx_close");
  CHECK(close.join_ref == join_ref);
}

TEST_CASE("a broadcast from a foreign thread reaches socket subscribers") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port};
  REQUIRE(client.join("notifications").is_ok());
  auto handle = server.srv.topic("notifications");
  std::thread{[&] {
    handle.broadcast("alert", json::object{{"message", "from a thread"}});
  }}.join();
  CHECK(client.receive_event("alert").payload.at("message") == "from a thread");
}

TEST_CASE("a server request over real sockets is answered or times out") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port};
  REQUIRE(client.join("room:q").is_ok());
  SECTION("answered") {
    client.push("room:q", "ask", json::object{{"question", "ready?"}, {"timeout_ms", 5000}});
    auto question = client.receive_event("question");
    REQUIRE(question.ref);
    CHECK(question.ref->starts_with("s"));
    client.answer(question, true, json::object{{"ready", true}});
    auto answered = client.receive_event("answered");
    CHECK(answered.payload.at("status") == "ok");
    CHECK(answered.payload.at("response").at("ready") == true);
  }
  SECTION("timed out") {
    client.push("room:q", "ask", json::object{{"question", "hello?"}, {"timeout_ms", 100}});
    CHECK(client.receive_event("answered").payload.at("status") == "timeout");
  }
}

TEST_CASE("a throwing handler over real sockets answers with an error and serves on") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port};
  REQUIRE(client.join("room:t").is_ok());
  CHECK(client.request("room:t", "boom").reason() == "internal error");
  CHECK(client.request("room:t", "count").is_ok());
}

TEST_CASE("the official client's authToken subprotocol is accepted") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port, {.subprotocols = {"phoenix", "base64url.bearer.phx.dG9rZW4"}}};
  CHECK(client.subprotocol() == "phoenix");
  CHECK(client.join("chat").is_ok());
}

TEST_CASE("the opening handshake is answered as RFC 6455 asks") {
  test_server server;
  auto port = server.start();
  std::map<std::string, std::string> handshake{{"Upgrade", "websocket"},
                                               {"Connection", "Upgrade"},
                                               {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                               {"Sec-WebSocket-Version", "13"},
                                               {"Sec-WebSocket-Protocol", "chat, phoenix"}};
  auto opened = http_request(port, "GET", "/socket/websocket?vsn=2.0.0", handshake);
  CHECK(opened.status == 101);
  CHECK(opened.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); // RFC's sample
  CHECK(opened.headers["upgrade"] == "websocket");
  CHECK(opened.headers["connection"] == "Upgrade");
  CHECK(opened.headers["sec-websocket-protocol"] == "phoenix");

  auto old_version = handshake;
  old_version["Sec-WebSocket-Version"] = "8";
  auto refused = http_request(port, "GET", "/socket/websocket?vsn=2.0.0", old_version);
  CHECK(refused.status == 426);
  CHECK(refused.headers["sec-websocket-version"] == "13");

  auto long_key = handshake;
  long_key["Sec-WebSocket-Key"] = std::string(40, 'A');
  CHECK(http_request(port, "GET", "/socket/websocket?vsn=2.0.0", long_key).status == 400);
}

TEST_CASE("pings are answered with pongs") {
  test_server server;
  auto port = server.start();
  ws_test_client client{port};
  client.ping("are you there");
  auto ref = client.push("phoenix", "heartbeat");
  CHECK(client.reply_to(ref).is_ok());
  CHECK(client.pongs() == 1);
}

TEST_CASE("bad input gets a clear error and no other client notices") {
  test_server server{server_options{.limits = {.max_message_bytes = 64 * 1024}}};
  auto port = server.start();
  ws_test_client bystander{port};
  REQUIRE(bystander.join("chat").is_ok());
  int sent = 0;
  // After each bad input, the bystander must still receive broadcasts in order.
  auto bystander_unaffected = [&] {
    bystander.push("chat", "message",
                   json::object{{"username", "b"}, {"text", std::to_string(sent)}});
    CHECK(bystander.receive_event("new_message").payload.at("text").as_string()
          == std::to_string(sent));
    ++sent;
  };

  struct closing_case {
    const char* name;
    std::function<void(ws_test_client&)> act;
    std::uint16_t code;
  };
  std::vector<closing_case> closing{
    {"not JSON", [](ws_test_client& c) { c.send_text("hello?"); }, 1007},
    {"a JSON object, not an array", [](ws_test_client& c) { c.send_text(R"({"topic":"chat"})"); },
     1007},
    {"an array of the wrong arity", [](ws_test_client& c) { c.send_text(R"([null,null,"chat"])"); },
     1007},
    {"a binary message that is no V2 binary frame",
     [](ws_test_client& c) { c.send_binary("\x01\x02\x03"); }, 1007},
    {"a message over the size limit",
     [](ws_test_client& c) { c.send_text(std::string(65 * 1024, 'x')); }, 1009},
    {"text that is not UTF-8",
     [](ws_test_client& c) { c.send_raw(client_frame(op::text, "\xFF\xFE\xFD")); }, 1007},
    {"an unmasked frame",
     [](ws_test_client& c) { c.send_raw(client_frame(op::text, "[]", true, false)); }, 1002},
  };
  for (auto& c : closing) {
    INFO(c.name);
    ws_test_client offender{port};
    c.act(offender);
    CHECK(offender.wait_close() == c.code);
    CHECK_FALSE(offender.close_reason().empty());
    bystander_unaffected();
  }

  struct reply_case {
    const char* name;
    std::string text;
    std::string reason;
  };
  std::vector<reply_case> replying{
    {"refs of the wrong type", R"([1,"5","chat","message",{}])",
     "join_ref and ref must be strings"},
    {"a topic that is not a string", R"([null,"5",{},"message",{}])", "topic must be a non-empty"},
    {"an empty event", R"(["1","5","chat","",{}])", "event must be a non-empty string"},
    {"a huge event name", R"(["1","5","chat",")" + std::string(1000, 'e') + R"(",{}])",
     "event is longer than 255 bytes"},
    {"an event for a topic not joined", R"([null,"5","room:1","message",{}])", "unmatched topic"},
    {"a join of a topic nobody defined", R"(["5","5","nowhere","phx_join",{}])", "unmatched topic"},
    {"join params that are not an object", R"(["5","5","chat","phx_join",7])",
     "join params must be an object"},
  };
  for (auto& c : replying) {
    INFO(c.name);
    ws_test_client offender{port};
    offender.send_text(c.text);
    auto reply = offender.reply_to("5");
    CHECK_FALSE(reply.is_ok());
    CHECK_THAT(reply.reason(), Catch::Contains(c.reason));
    // The offender's connection itself still works.
    CHECK(offender.request("phoenix", "heartbeat").is_ok());
    bystander_unaffected();
  }
}

TEST_CASE("a client asking for a protocol version Phoenix does not speak is refused") {
  test_server server;
  auto port = server.start();
  for (std::string vsn : {"3.0.0", "2.1.0", "2.0", "abc"}) {
    CAPTURE(vsn);
    CHECK_THROWS(ws_test_client{port, {.target = "/socket/websocket?vsn=" + vsn}});
    auto response = http_request(port, "GET", "/socket/websocket?vsn=" + vsn,
                                 {{"Upgrade", "websocket"},
                                  {"Connection", "Upgrade"},
                                  {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                  {"Sec-WebSocket-Version", "13"}});
    CHECK(response.status == 403);
    CHECK_THAT(response.body, Catch::Contains("vsn=2.0.0"));
  }
}

TEST_CASE("a silent connection is closed after the idle timeout and unsubscribed") {
  server_options options;
  options.limits.idle_timeout = std::chrono::milliseconds{300};
  test_server server{options};
  auto port = server.start();
  testing::test_client watcher{server.srv}; // in memory: no idle timeout applies to it
  REQUIRE(watcher.join("room:idle").is_ok());
  ws_test_client sleepy{port};
  REQUIRE(sleepy.join("room:idle", {{"username", "sleepy"}}).is_ok());
  auto silent_since = std::chrono::steady_clock::now();
  CHECK(sleepy.wait_close() == 1008);
  CHECK(sleepy.close_reason() == "heartbeat timeout");
  CHECK(std::chrono::steady_clock::now() - silent_since >= std::chrono::milliseconds{250});
  CHECK(watcher.next_event("left").payload.at("username") == "sleepy");
  SECTION("while one that heartbeats stays") {
    ws_test_client awake{port};
    for (int i = 0; i < 6; ++i) { // 6 heartbeats 100 ms apart: well past the timeout
      CHECK(awake.request("phoenix", "heartbeat").is_ok());
      std::this_thread::sleep_for(std::chrono::milliseconds{100}); // the pace of a heartbeat
    }
    CHECK(awake.request("phoenix", "heartbeat").is_ok());
  }
}

TEST_CASE("a peer that never answers the close frame is cut off after the close timeout") {
  using namespace std::chrono_literals;
  server_options options;
  options.limits.idle_timeout = 200ms;
  options.limits.close_timeout = 300ms;
  test_server server{options};
  auto port = server.start();
  auto started = std::chrono::steady_clock::now();
  // Upgraded, then deaf and silent: it reads nothing, so it never answers the server's close.
  ws_test_client deaf{port};
  REQUIRE(testing::eventually([&] { return server.srv.connection_count() == 1; }));
  REQUIRE(testing::eventually([&] { return server.srv.connection_count() == 0; }, 4s));
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(took >= 500ms);             // the idle timeout, then the close timeout
  CHECK(deaf.wait_close() == 1008); // what it was sent, read now
}

TEST_CASE("a graceful stop delivers everything broadcast before it, then closes with 1001") {
  test_server server;
  auto port = server.start();
  constexpr int clients = 10;
  constexpr int messages = 500;
  std::vector<std::unique_ptr<ws_test_client>> readers;
  for (int i = 0; i < clients; ++i) {
    readers.push_back(std::make_unique<ws_test_client>(port));
    REQUIRE(readers.back()->join("notifications").is_ok());
  }
  auto notifications = server.srv.topic("notifications");
  std::jthread stopper{[&] { // joined on every way out, a failed REQUIRE included
    for (int i = 0; i < messages; ++i)
      notifications.broadcast("alert", json::object{{"seq", i}});
    server.srv.stop(); // right behind the last broadcast
  }};
  for (auto& reader : readers) {
    for (int i = 0; i < messages; ++i)
      REQUIRE(reader->receive_event("alert").payload.at("seq") == i);
    CHECK(reader->wait_close() == 1001);
    CHECK(reader->close_reason() == "server shutting down");
  }
  stopper.join();
  SECTION("and it refuses new connections meanwhile") {
    CHECK_THROWS(ws_test_client{port});
  }
}
