#include "tests/support/test_channels.hpp"
#include <pulse/testing.hpp>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using namespace pulse;
using pulse::testing::frame;
using pulse::testing::test_client;
namespace json = boost::json;

namespace {

struct room_fixture {
  server srv;
  room_fixture() { srv.channel<test::test_room>("room:*"); }
};

} // namespace

TEST_CASE_METHOD(room_fixture, "a join is answered with the channel's reply, then its pushes") {
  test_client alice{srv};
  auto reply = alice.join("room:1", {{"username", "alice"}});
  CHECK(reply.is_ok());
  CHECK(reply.join_ref == reply.ref);
  CHECK(reply.response().at("welcome") == "room:1");
  auto hello = alice.next();
  CHECK(hello.event == "hello");
  CHECK(hello.join_ref == alice.join_ref("room:1"));
  CHECK_FALSE(hello.ref);
}

TEST_CASE_METHOD(room_fixture, "a refused join carries the channel's reason") {
  test_client mallory{srv};
  auto reply = mallory.join("room:1", {{"username", "mallory"}});
  CHECK_FALSE(reply.is_ok());
  CHECK(reply.reason() == "unauthorized");
  SECTION("and the client is not subscribed") {
    auto push = mallory.request("room:1", "count");
    CHECK(push.reason() == "unmatched topic");
    CHECK_FALSE(push.join_ref);
  }
}

TEST_CASE_METHOD(room_fixture, "a join that throws is refused as crashed") {
  test_client client{srv};
  auto reply = client.join("room:1", {{"username", "crash"}});
  CHECK(reply.reason() == "join crashed");
}

TEST_CASE_METHOD(room_fixture, "a topic nobody defined answers unmatched topic") {
  test_client client{srv};
  auto reply = client.join("lobby");
  CHECK(reply.reason() == "unmatched topic");
  CHECK_FALSE(reply.join_ref); // as Phoenix: the join_ref is null
  SECTION("as does a push to a topic the client did not join") {
    auto push = client.request("room:9", "message");
    CHECK(push.reason() == "unmatched topic");
  }
}

TEST_CASE_METHOD(room_fixture, "a broadcast reaches every subscriber exactly once and in order") {
  constexpr int clients = 5;
  constexpr int messages = 50;
  std::vector<std::unique_ptr<test_client>> subscribers;
  for (int i = 0; i < clients; ++i) {
    subscribers.push_back(std::make_unique<test_client>(srv));
    REQUIRE(subscribers.back()->join("room:fan").is_ok());
    REQUIRE(subscribers.back()->next().event == "hello");
  }
  // Every client publishes; the channel puts all messages in one order that everyone sees.
  for (int i = 0; i < messages; ++i)
    subscribers[i % clients]->push("room:fan", "message",
                                   json::object{{"seq", i}, {"from", i % clients}});
  std::vector<std::vector<std::int64_t>> seen(clients);
  for (int c = 0; c < clients; ++c) {
    for (int i = 0; i < messages; ++i) {
      auto f = subscribers[c]->next();
      REQUIRE(f.event == "new_message");
      CHECK_FALSE(f.join_ref); // broadcasts carry null refs
      seen[c].push_back(f.payload.at("seq").as_int64());
    }
  }
  for (int c = 1; c < clients; ++c)
    CHECK(seen[c] == seen[0]);
  // Each publisher's messages stay in the order it sent them, and none is missing.
  std::vector<std::int64_t> last(clients, -1);
  for (auto seq : seen[0]) {
    CHECK(seq > last[seq % clients]);
    last[seq % clients] = seq;
  }
  auto sorted = seen[0];
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < messages; ++i)
    CHECK(sorted[i] == i);
  // Exactly once: a count round trip finds nothing else queued before its reply.
  for (auto& client : subscribers) {
    auto reply = client->request("room:fan", "count");
    CHECK(reply.response().at("messages") == messages);
    CHECK(client->pending() == 0);
  }
}

TEST_CASE_METHOD(room_fixture, "a broadcast is encoded once and its bytes are shared") {
  test_client a{srv}, b{srv}, c{srv};
  for (auto* client : {&a, &b, &c}) {
    REQUIRE(client->join("room:share").is_ok());
    REQUIRE(client->next().event == "hello");
  }
  a.push("room:share", "message", json::object{{"text", "once"}});
  auto fa = a.next_raw(), fb = b.next_raw(), fc = c.next_raw();
  CHECK(fa.identity() == fb.identity());
  CHECK(fb.identity() == fc.identity());
  CHECK(frame::parse(fa.payload()).event == "new_message");
}

TEST_CASE_METHOD(room_fixture, "send reaches only the client that triggered the handler") {
  test_client a{srv}, b{srv};
  REQUIRE(a.join("room:s").is_ok());
  REQUIRE(b.join("room:s").is_ok());
  a.push("room:s", "whisper", json::object{{"secret", 1}});
  auto whispered = a.next_event("whispered");
  CHECK(whispered.payload.at("secret") == 1);
  CHECK(whispered.join_ref == a.join_ref("room:s"));
  // The channel handles messages in order, so a broadcast after the whisper is the first thing
  // b hears after its own join's hello (and whatever its join caused).
  a.push("room:s", "message", json::object{{"after", true}});
  CHECK(b.next_event("new_message").payload.at("after") == true);
  while (b.pending() > 0)
    CHECK(b.next().event != "whispered");
}

TEST_CASE_METHOD(room_fixture, "broadcast_from reaches everyone but the sender") {
  test_client a{srv}, b{srv};
  REQUIRE(a.join("room:b").is_ok());
  REQUIRE(b.join("room:b").is_ok());
  auto ref = a.push("room:b", "shout", json::object{{"loud", true}});
  CHECK(b.next_event("shouted").payload.at("loud") == true);
  CHECK(a.reply_to(ref).is_ok());
  a.push("room:b", "message", json::object{});
  CHECK(a.next_event("new_message").event == "new_message");
  while (a.pending() > 0)
    CHECK(a.next().event != "shouted");
}

TEST_CASE_METHOD(room_fixture, "replies carry the refs of the push they answer") {
  test_client client{srv};
  REQUIRE(client.join("room:r", {{"username", "ada"}}).is_ok());
  SECTION("a returned value is an ok reply") {
    auto ref = client.push("room:r", "whoami");
    auto reply = client.reply_to(ref);
    CHECK(reply.is_ok());
    CHECK(reply.ref == ref);
    CHECK(reply.join_ref == client.join_ref("room:r"));
    CHECK(reply.response() == "ada");
  }
  SECTION("a push without a ref gets no reply, and nothing breaks") {
    client.send_text(R"(["1",null,"room:r","count",{}])");
    auto reply = client.request("room:r", "count");
    CHECK(reply.is_ok());
    CHECK(client.pending() == 1); // only the join's hello
  }
  SECTION("an unknown event gets an error naming the expected events") {
    auto reply = client.request("room:r", "dance");
    CHECK_FALSE(reply.is_ok());
    CHECK(reply.reason() == "unknown event");
    CHECK(reply.response().at("event") == "dance");
    CHECK_THAT(std::string(reply.response().at("expected").as_string()),
               Catch::Contains("message") && Catch::Contains("whoami"));
  }
  SECTION("a reply_error is passed on verbatim") {
    CHECK(client.request("room:r", "refuse").reason() == "text too long");
  }
}

TEST_CASE_METHOD(room_fixture,
                 "a throwing handler answers with an error and the channel lives on") {
  test_client client{srv};
  REQUIRE(client.join("room:t").is_ok());
  auto reply = client.request("room:t", "boom");
  CHECK(reply.reason() == "internal error");
  CHECK(reply.response().at("event") == "boom");
  // Internals never reach the client.
  CHECK(json::serialize(reply.payload).find("secret") == std::string::npos);
  client.push("room:t", "message", json::object{{"still", "alive"}});
  CHECK(client.next_event("new_message").payload.at("still") == "alive");
  CHECK(client.request("room:t", "count").response().at("messages") == 1);
}

TEST_CASE_METHOD(room_fixture, "assigns are kept per subscriber") {
  test_client a{srv}, b{srv};
  REQUIRE(a.join("room:a", {{"username", "ann"}}).is_ok());
  REQUIRE(b.join("room:a", {{"username", "bob"}}).is_ok());
  CHECK(a.request("room:a", "whoami").response() == "ann");
  CHECK(b.request("room:a", "whoami").response() == "bob");
}

TEST_CASE_METHOD(room_fixture, "a heartbeat is answered on the phoenix topic") {
  test_client client{srv};
  client.send_text(R"([null,"7","phoenix","heartbeat",{}])");
  auto reply = client.reply_to("7");
  CHECK(reply.is_ok());
  CHECK(reply.topic == "phoenix");
  CHECK_FALSE(reply.join_ref);
}

TEST_CASE_METHOD(room_fixture, "pushes sent before the join completes are handled after it") {
  test_client client{srv};
  client.send_text(R"(["1","1","room:p","phx_join",{"username":"eager"}])");
  client.send_text(R"(["1","2","room:p","whoami",{}])");
  auto first = client.next();
  CHECK(first.ref == "1");
  CHECK(first.is_ok());
  CHECK(client.reply_to("2").response() == "eager");
}

TEST_CASE_METHOD(room_fixture, "a server request is answered by the client") {
  test_client client{srv};
  REQUIRE(client.join("room:q").is_ok());
  REQUIRE(client.request("room:q", "ask", json::object{{"question", "sure?"}, {"timeout_ms", 5000}})
            .is_ok());
  auto question = client.next_event("question");
  REQUIRE(question.ref);
  CHECK(question.payload == "sure?");
  CHECK(question.join_ref == client.join_ref("room:q"));
  SECTION("with success") {
    client.answer(question, true, json::object{{"yes", true}});
    auto answered = client.next_event("answered");
    CHECK(answered.payload.at("status") == "ok");
    CHECK(answered.payload.at("response").at("yes") == true);
  }
  SECTION("with an error") {
    client.answer(question, false, "no way");
    auto answered = client.next_event("answered");
    CHECK(answered.payload.at("status") == "error");
    CHECK(answered.payload.at("response") == "no way");
  }
}

TEST_CASE_METHOD(room_fixture, "a server request without an answer times out") {
  test_client client{srv};
  REQUIRE(client.join("room:q").is_ok());
  client.push("room:q", "ask", json::object{{"question", "hello?"}, {"timeout_ms", 50}});
  auto answered = client.next_event("answered");
  CHECK(answered.payload.at("status") == "timeout");
  SECTION("and a late answer changes nothing") {
    auto question = client.next_event("question");
    client.answer(question, true, "too late");
    CHECK(client.request("room:q", "count").is_ok());
    while (client.pending() > 0)
      CHECK(client.next().event != "answered");
  }
}

TEST_CASE_METHOD(room_fixture, "a server request to a client who leaves ends as gone") {
  test_client asked{srv}, witness{srv};
  REQUIRE(asked.join("room:g").is_ok());
  REQUIRE(witness.join("room:g").is_ok());
  asked.push("room:g", "ask", json::object{{"question", "still there?"}, {"timeout_ms", 5000}});
  asked.next_event("question");
  asked.disconnect();
  auto answered = witness.next_event("answered");
  CHECK(answered.payload.at("status") == "gone");
}

TEST_CASE("lambda channels handle events, subscribes and unsubscribes") {
  server srv;
  std::atomic<int> subscribed = 0;
  auto news = srv.channel("news");
  news.on_subscribe([&](context& ctx) {
    ++subscribed;
    if (ctx.params().contains("banned"))
      ctx.reject("banned");
  });
  news.on("post", [](context& ctx, const json::value& payload) {
    ctx.broadcast("posted", payload);
    return json::value{{"accepted", true}};
  });
  test_client client{srv};
  REQUIRE(client.join("news").is_ok());
  CHECK(subscribed == 1);
  CHECK(client.join("news", {{"banned", true}}).reason() == "banned");
  REQUIRE(client.join("news").is_ok());
  auto ref = client.push("news", "post", json::object{{"title", "hi"}});
  CHECK(client.next_event("posted").payload.at("title") == "hi");
  CHECK(client.reply_to(ref).response().at("accepted") == true);
}

TEST_CASE("server code broadcasts from any thread and runs handlers as if a client pushed") {
  server srv;
  auto feed = srv.channel("feed");
  feed.on("announce", [](context& ctx, const json::value& payload) {
    CHECK_FALSE(ctx.has_client());
    ctx.send("nobody", payload); // no client: goes nowhere
    ctx.broadcast("announced", payload);
  });
  test_client client{srv};
  REQUIRE(client.join("feed").is_ok());
  SECTION("a broadcast from a foreign thread") {
    std::thread{[&] {
      feed.broadcast("news", json::object{{"from", "thread"}});
    }}.join();
    CHECK(client.next_event("news").payload.at("from") == "thread");
  }
  SECTION("send hands the event to the handler") {
    srv.topic("feed").send("announce", json::object{{"n", 1}});
    auto f = client.next();
    CHECK(f.event == "announced");
    CHECK(f.payload.at("n") == 1);
  }
  SECTION("handles refuse topics no definition matches") {
    CHECK_THROWS_AS(srv.topic("nope"), std::invalid_argument);
    CHECK_THROWS_AS(srv.channel("room:*").broadcast("x", {}), std::logic_error);
  }
}

TEST_CASE("server code subscribes in-process to a topic's broadcasts") {
  server srv;
  srv.channel<test::test_room>("room:*");
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<event> seen;
  auto sub = srv.subscribe("room:in", [&](const event& e) {
    std::lock_guard guard{mutex};
    seen.push_back(e);
    arrived.notify_all();
  });
  test_client client{srv};
  REQUIRE(client.join("room:in").is_ok());
  client.push("room:in", "message", json::object{{"text", "hi"}});
  std::unique_lock lock{mutex};
  REQUIRE(arrived.wait_for(lock, std::chrono::seconds{3}, [&] { return !seen.empty(); }));
  CHECK(seen[0].topic == "room:in");
  CHECK(seen[0].name == "new_message");
  CHECK(seen[0].payload.at("text") == "hi");
}
