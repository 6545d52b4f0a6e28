#include "tests/support/test_channels.hpp"
#include <pulse/testing.hpp>

#include <catch2/catch.hpp>

#include <future>

using namespace pulse;
using pulse::testing::test_client;
namespace json = boost::json;

namespace {

struct room_fixture {
  server srv;
  room_fixture() { srv.channel<test::test_room>("room:*"); }
};

} // namespace

TEST_CASE_METHOD(room_fixture, "leaving is answered, then closed, and runs on_unsubscribe") {
  test_client leaver{srv}, stayer{srv};
  REQUIRE(leaver.join("room:l", {{"username", "lea"}}).is_ok());
  REQUIRE(stayer.join("room:l").is_ok());
  auto join_ref = leaver.join_ref("room:l");
  auto reply = leaver.leave("room:l");
  CHECK(reply.is_ok());
  auto close = leaver.next_event("phx_close");
  CHECK(close.join_ref == join_ref);
  CHECK(close.ref == join_ref);
  CHECK(stayer.next_event("left").payload.at("username") == "lea");
  SECTION("and pushes after leaving are unmatched") {
    CHECK(leaver.request("room:l", "count").reason() == "unmatched topic");
  }
}

TEST_CASE_METHOD(room_fixture, "a leave is answered once the channel let the leaver go") {
  test_client leaver{srv}, stayer{srv}, newcomer{srv};
  REQUIRE(leaver.join("room:gone").is_ok());
  REQUIRE(stayer.join("room:gone").is_ok());
  REQUIRE(leaver.leave("room:gone").is_ok());
  // Joined after the leave's reply: the channel counts the stayer only.
  REQUIRE(newcomer.join("room:gone").is_ok());
  CHECK(newcomer.next_event("hello").payload.at("subscribers_before") == 1);
}

TEST_CASE_METHOD(room_fixture, "a vanished client is unsubscribed") {
  test_client gone{srv}, witness{srv};
  REQUIRE(gone.join("room:v", {{"username", "ghost"}}).is_ok());
  REQUIRE(witness.join("room:v").is_ok());
  gone.disconnect();
  CHECK(witness.next_event("left").payload.at("username") == "ghost");
}

TEST_CASE_METHOD(room_fixture, "joining a topic again replaces the first subscription") {
  test_client client{srv}, witness{srv};
  REQUIRE(witness.join("room:x").is_ok());
  REQUIRE(client.join("room:x", {{"username", "first"}}).is_ok());
  auto first_ref = client.join_ref("room:x");
  auto second = client.join("room:x", {{"username", "second"}});
  CHECK(second.is_ok());
  // The old subscription is closed for good, with its own join_ref.
  auto close = client.next_event("phx_close");
  CHECK(close.join_ref == first_ref);
  CHECK(witness.next_event("left").payload.at("username") == "first");
  CHECK(client.request("room:x", "whoami").response() == "second");
  SECTION("frames with the old join_ref are ignored") {
    client.send_text(R"([")" + first_ref + R"(","99","room:x","whoami",{}])");
    CHECK(client.request("room:x", "whoami").response() == "second");
    while (client.pending() > 0)
      CHECK(client.next().ref != "99");
  }
}

TEST_CASE_METHOD(room_fixture,
                 "a topic's actor stops after its last subscriber and starts afresh") {
  auto& instances = test::room_instances();
  REQUIRE(instances.wait_for_live(0));
  {
    test_client client{srv};
    REQUIRE(client.join("room:life").is_ok());
    client.push("room:life", "message", json::object{});
    CHECK(client.request("room:life", "count").response().at("messages") == 1);
    CHECK(instances.live == 1);
    REQUIRE(client.leave("room:life").is_ok());
  }
  REQUIRE(instances.wait_for_live(0));
  test_client client{srv};
  REQUIRE(client.join("room:life").is_ok());
  CHECK(client.request("room:life", "count").response().at("messages") == 0);
  CHECK(instances.live == 1);
}

TEST_CASE_METHOD(room_fixture, "one topic's actor serves every subscriber") {
  auto& instances = test::room_instances();
  REQUIRE(instances.wait_for_live(0));
  test_client a{srv}, b{srv}, c{srv};
  REQUIRE(a.join("room:one").is_ok());
  REQUIRE(b.join("room:one").is_ok());
  REQUIRE(c.join("room:two").is_ok());
  CHECK(instances.live == 2);
}

TEST_CASE("a connection may hold a bounded number of subscriptions") {
  server srv{server_options{.max_subscriptions_per_connection = 2}};
  srv.channel<test::test_room>("room:*");
  test_client client{srv};
  CHECK(client.join("room:1").is_ok());
  CHECK(client.join("room:2").is_ok());
  CHECK_THAT(client.join("room:3").reason(), Catch::Contains("too many subscriptions"));
  REQUIRE(client.leave("room:1").is_ok());
  CHECK(client.join("room:3").is_ok());
}

TEST_CASE_METHOD(room_fixture, "malformed messages get an error where a ref exists, else a close") {
  test_client client{srv};
  SECTION("with a ref: an error reply naming the problem") {
    client.send_text(R"([null,"5",42,"message",{}])");
    auto reply = client.reply_to("5");
    CHECK_THAT(reply.reason(), Catch::Contains("topic must be a non-empty string"));
    CHECK(reply.topic == "phoenix");
  }
  SECTION("without one: the connection closes with 1007") {
    client.send_text("this is not JSON");
    CHECK(client.wait_closed() == 1007);
  }
  SECTION("a join without a join_ref") {
    client.send_text(R"([null,"3","room:1","phx_join",{}])");
    CHECK(client.reply_to("3").reason() == "phx_join needs a join_ref");
  }
}

TEST_CASE_METHOD(room_fixture,
                 "a failed channel's subscribers get phx_error and rejoin a fresh one") {
  test_client a{srv}, b{srv};
  REQUIRE(a.join("room:f").is_ok());
  REQUIRE(b.join("room:f").is_ok());
  a.push("room:f", "message", json::object{});
  CHECK(a.request("room:f", "count").response().at("messages") == 1);
  a.push("room:f", "crash");
  for (auto* client : {&a, &b}) {
    auto failed = client->next_event("phx_error");
    CHECK(failed.join_ref == client->join_ref("room:f"));
    CHECK(failed.ref == failed.join_ref);
  }
  CHECK(a.request("room:f", "count").reason() == "unmatched topic"); // the subscription is gone
  REQUIRE(a.join("room:f").is_ok());
  CHECK(a.request("room:f", "count").response().at("messages") == 0); // a fresh instance
}

TEST_CASE_METHOD(room_fixture, "a leave is answered when the channel fails before it let go") {
  test_client leaver{srv};
  REQUIRE(leaver.join("room:fl").is_ok());
  auto join_ref = leaver.join_ref("room:fl");
  // Together, so that the connection forwards the leave before the channel's end can reach it:
  // the channel dies on the crash with the leave in its mailbox.
  leaver.send_texts({R"([")" + join_ref + R"(","crash-1","room:fl","crash",{}])",
                     R"([")" + join_ref + R"(","leave-1","room:fl","phx_leave",{}])"});
  CHECK(leaver.reply_to("leave-1").is_ok());
  CHECK(leaver.next_event("phx_close").join_ref == join_ref);
  // Out, as it asked: a fresh channel takes the next join.
  REQUIRE(leaver.join("room:fl").is_ok());
  CHECK(leaver.request("room:fl", "count").response().at("messages") == 0);
}

TEST_CASE("a persistent channel that fails starts again at once") {
  server srv;
  srv.channel<test::test_room>("room:*").persistent();
  auto& instances = test::room_instances();
  int created_before;
  {
    std::lock_guard guard{instances.mutex};
    created_before = instances.created;
  }
  test_client client{srv};
  REQUIRE(client.join("room:p").is_ok());
  client.push("room:p", "crash");
  client.next_event("phx_error");
  // Nobody rejoined, yet a new instance runs: the registry restarted it.
  std::unique_lock lock{instances.mutex};
  CHECK(instances.changed.wait_for(lock, std::chrono::seconds{3},
                                   [&] { return instances.created == created_before + 2; }));
}

TEST_CASE("a stop that races first joins ends every channel they started") {
  // A join starts its topic's channel without asking the registry, so joins go on starting
  // channels while the stop runs: the stop has to refuse them, else it waits forever for the
  // persistent ones it never told to stop (others end with their last subscriber).
  using namespace std::chrono_literals;
  auto& rooms = test::room_instances();
  int live_before = rooms.live_now();
  {
    server_options options;
    options.threads = 2;
    server srv{options};
    srv.channel<test::test_room>("room:*").persistent();
    std::vector<std::unique_ptr<test_client>> clients;
    for (int i = 0; i < 50; ++i)
      clients.push_back(std::make_unique<test_client>(srv));
    auto stopped = std::async(std::launch::async, [&] { srv.stop(); });
    // Fresh topics, round after round, until a join is refused because the server is stopping.
    bool refused = false;
    auto deadline = std::chrono::steady_clock::now() + 5s;
    for (int round = 1; !refused && std::chrono::steady_clock::now() < deadline; ++round) {
      auto ref = std::to_string(round);
      for (std::size_t i = 0; i < clients.size(); ++i)
        clients[i]->send_text(R"([")" + ref + R"(",")" + ref + R"(","room:)" + ref + "-"
                              + std::to_string(i) + R"(","phx_join",{}])");
      auto reply = clients.back()->reply_to(ref);
      refused = !reply.is_ok() && reply.response().at("reason") == "the server is stopping";
    }
    CHECK(refused);
    for (auto& client : clients)
      client->disconnect();
    REQUIRE(stopped.wait_for(10s) == std::future_status::ready);
  }
  CHECK(rooms.wait_for_live(live_before));
}

TEST_CASE("clients that vanish right after their join leave no channel behind") {
  // The connection may be gone before its topic's channel takes the join: the channel still
  // learns of it, and ends with no subscriber.
  auto& rooms = test::room_instances();
  int live_before = rooms.live_now();
  {
    server_options options;
    options.threads = 2;
    server srv{options};
    srv.channel<test::test_room>("room:*");
    for (int round = 0; round < 20; ++round) {
      std::vector<std::unique_ptr<test_client>> clients;
      for (int i = 0; i < 20; ++i)
        clients.push_back(std::make_unique<test_client>(srv));
      for (std::size_t i = 0; i < clients.size(); ++i) {
        clients[i]->send_text(R"(["1","1","room:gone-)" + std::to_string(i % 5)
                              + R"(","phx_join",{}])");
        clients[i]->disconnect();
      }
    }
    CHECK(testing::eventually([&] { return srv.stats().channels == 0; }));
  }
  CHECK(rooms.wait_for_live(live_before));
}
