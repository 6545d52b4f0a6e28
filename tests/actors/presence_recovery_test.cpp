#include "actors/testing.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

using namespace pulse;
using pulse::testing::frame;
using pulse::testing::test_client;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

/// A room that tracks each member under its name and keeps history.
class tracked_room : public channel {
 public:
  void on_subscribe(context& ctx) override {
    auto name = ctx.params().contains("name") ? ctx.params().at("name") : json::value("anon");
    ctx.assign("name", name);
    track(ctx, name.as_string(), {{"status", "here"}});
  }
  pulse::handlers handlers() override {
    return {{"say", &tracked_room::on_say},
            {"away", &tracked_room::on_away},
            {"quiet", &tracked_room::on_quiet}};
  }

 private:
  void on_say(context&, const json::value& payload) { broadcast("said", payload); }
  void on_away(context& ctx, const json::value&) {
    update(ctx, ctx.assigns().at("name").as_string(), {{"status", "away"}});
  }
  void on_quiet(context& ctx, const json::value&) {
    untrack(ctx, ctx.assigns().at("name").as_string());
  }
};

struct fixture {
  server srv;
  fixture() {
    srv.channel<tracked_room>("room:*").history(5).linger(10s);
    srv.channel<tracked_room>("gone:*").history(5); // stops when its last subscriber leaves
  }
};

std::vector<std::string> names(const json::value& section) {
  std::vector<std::string> out;
  for (auto& [key, _] : section.as_object())
    out.emplace_back(key);
  return out;
}

/// Says `count` things on `topic` through `client`, numbered from `first`.
void say(test_client& client, const std::string& topic, int first, int count) {
  for (int i = first; i < first + count; ++i)
    client.push(topic, "say", json::object{{"n", i}});
}

} // namespace

TEST_CASE_METHOD(fixture, "a joiner gets the presence state, and everyone the diffs") {
  test_client ada{srv}, bob{srv};
  REQUIRE(ada.join("room:p", {{"name", "ada"}}).is_ok());
  auto state = ada.next_event("presence_state");
  CHECK(names(state.payload) == std::vector<std::string>{"ada"});
  CHECK(state.join_ref == ada.join_ref("room:p"));

  REQUIRE(bob.join("room:p", {{"name", "bob"}}).is_ok());
  CHECK(names(bob.next_event("presence_state").payload) == std::vector<std::string>{"ada", "bob"});
  auto diff = ada.next_event("presence_diff");
  CHECK(names(diff.payload.at("joins")) == std::vector<std::string>{"bob"});
  CHECK(diff.payload.at("leaves").as_object().empty());

  SECTION("an update is a leave and a join of the same key") {
    bob.push("room:p", "away");
    auto change = ada.next_event("presence_diff");
    CHECK(change.payload.at("leaves").at("bob").at("metas").as_array()[0].at("status") == "here");
    CHECK(change.payload.at("joins").at("bob").at("metas").as_array()[0].at("status") == "away");
  }
  SECTION("untrack, leave and disconnect all leave presence") {
    bob.push("room:p", "quiet");
    CHECK(names(ada.next_event("presence_diff").payload.at("leaves"))
          == std::vector<std::string>{"bob"});
    test_client cy{srv};
    REQUIRE(cy.join("room:p", {{"name", "cy"}}).is_ok());
    CHECK(names(ada.next_event("presence_diff").payload.at("joins"))
          == std::vector<std::string>{"cy"});
    cy.disconnect();
    CHECK(names(ada.next_event("presence_diff").payload.at("leaves"))
          == std::vector<std::string>{"cy"});
  }
}

TEST_CASE_METHOD(fixture,
                 "two connections of one key are two metas, and one leaving keeps the key") {
  test_client tab1{srv}, tab2{srv}, watcher{srv};
  REQUIRE(watcher.join("room:tabs", {{"name", "watcher"}}).is_ok());
  REQUIRE(tab1.join("room:tabs", {{"name", "ada"}}).is_ok());
  REQUIRE(tab2.join("room:tabs", {{"name", "ada"}}).is_ok());
  auto state = tab2.next_event("presence_state").payload;
  CHECK(state.at("ada").at("metas").as_array().size() == 2);
  watcher.next_event("presence_diff");
  watcher.next_event("presence_diff");
  REQUIRE(tab1.leave("room:tabs").is_ok());
  auto left = watcher.next_event("presence_diff").payload;
  CHECK(left.at("leaves").at("ada").at("metas").as_array().size() == 1);
  test_client late{srv};
  REQUIRE(late.join("room:tabs", {{"name", "late"}}).is_ok());
  CHECK(late.next_event("presence_state").payload.at("ada").at("metas").as_array().size() == 1);
}

TEST_CASE_METHOD(fixture, "broadcasts of a channel with history carry increasing offsets") {
  test_client client{srv};
  auto joined = client.join("room:o", {{"name", "ada"}});
  CHECK(joined.response().at("offset") == 0);
  CHECK(joined.response().at("epoch").as_string().size() == 16);
  CHECK_FALSE(joined.response().as_object().contains("recovered"));
  say(client, "room:o", 1, 3);
  for (int i = 1; i <= 3; ++i)
    CHECK(client.next_event("said").ref == "o" + std::to_string(i));
}

TEST_CASE_METHOD(fixture, "a client that rejoins gets what it missed, in order, before live ones") {
  test_client speaker{srv}, listener{srv};
  REQUIRE(speaker.join("room:r", {{"name", "speaker"}}).is_ok());
  auto joined = listener.join("room:r", {{"name", "listener"}});
  auto epoch = joined.response().at("epoch");
  say(speaker, "room:r", 1, 2);
  CHECK(listener.next_event("said").ref == "o1");
  CHECK(listener.next_event("said").ref == "o2");
  listener.disconnect();

  say(speaker, "room:r", 3, 3); // missed: offsets 3, 4, 5
  for (int n = 1; n <= 5; ++n)  // the speaker heard them all: they are in the history now
    CHECK(speaker.next_event("said").payload.at("n") == n);
  test_client back{srv};
  auto rejoined = back.join("room:r", {{"name", "listener"}, {"last_offset", 2}, {"epoch", epoch}});
  CHECK(rejoined.response().at("recovered") == true);
  CHECK(rejoined.response().at("offset") == 5);
  say(speaker, "room:r", 6, 1); // live
  for (int n = 3; n <= 6; ++n) {
    auto f = back.next_event("said");
    CHECK(f.payload.at("n") == n);
    CHECK(f.ref == "o" + std::to_string(n));
  }
}

TEST_CASE_METHOD(fixture, "a gap no longer in history is reported as not recovered") {
  test_client speaker{srv};
  auto epoch = speaker.join("room:gap", {{"name", "s"}}).response().at("epoch");
  say(speaker, "room:gap", 1, 8); // history keeps 5: offsets 4..8
  for (int i = 1; i <= 8; ++i)
    speaker.next_event("said");
  test_client back{srv};
  auto rejoined = back.join("room:gap", {{"name", "b"}, {"last_offset", 1}, {"epoch", epoch}});
  CHECK(rejoined.response().at("recovered") == false);
  CHECK(rejoined.response().at("offset") == 8);
  SECTION("but a client that saw offset 3 still recovers 4..8") {
    test_client other{srv};
    auto again = other.join("room:gap", {{"name", "o"}, {"last_offset", "3"}, {"epoch", epoch}});
    CHECK(again.response().at("recovered") == true);
    for (int n = 4; n <= 8; ++n)
      CHECK(other.next_event("said").payload.at("n") == n);
  }
}

TEST_CASE_METHOD(fixture, "a channel that restarted has a new epoch, and says so") {
  json::value epoch;
  {
    test_client first{srv};
    epoch = first.join("gone:1", {{"name", "f"}}).response().at("epoch");
    say(first, "gone:1", 1, 1);
    first.next_event("said");
  } // the last subscriber leaves: gone:* does not linger, so the actor stops
  REQUIRE(pulse::testing::eventually([&] { return srv.stats().channels == 0; }));
  test_client back{srv};
  auto rejoined = back.join("gone:1", {{"name", "b"}, {"last_offset", 1}, {"epoch", epoch}});
  CHECK(rejoined.response().at("epoch") != epoch);
  CHECK(rejoined.response().at("recovered") == false);
  CHECK(rejoined.response().at("offset") == 0);
}

TEST_CASE_METHOD(fixture, "a lingering channel keeps history for clients that come back") {
  json::value epoch;
  {
    test_client only{srv};
    epoch = only.join("room:linger", {{"name", "x"}}).response().at("epoch");
    say(only, "room:linger", 1, 2);
    only.next_event("said");
    only.next_event("said");
  }
  test_client back{srv};
  auto rejoined = back.join("room:linger", {{"name", "x"}, {"last_offset", 1}, {"epoch", epoch}});
  CHECK(rejoined.response().at("recovered") == true);
  CHECK(back.next_event("said").payload.at("n") == 2);
}

TEST_CASE_METHOD(fixture,
                 "every rejoin is answered: an offset that is no number is not recovered") {
  test_client speaker{srv};
  auto epoch = speaker.join("room:odd", {{"name", "s"}}).response().at("epoch");
  say(speaker, "room:odd", 1, 2);
  for (int i = 1; i <= 2; ++i)
    speaker.next_event("said");
  auto not_offsets = json::parse(R"([-1, "abc", "", "-1", "1.5", 1.5, 1e30, {}, [], true,
                                     18446744073709551616, "18446744073709551616", " 1"])");
  for (auto& offset : not_offsets.as_array()) {
    CAPTURE(json::serialize(offset));
    test_client back{srv};
    auto rejoined = back.join("room:odd",
                              {{"name", "b"}, {"last_offset", offset}, {"epoch", epoch}});
    REQUIRE(rejoined.is_ok());
    CHECK(rejoined.response().at("recovered") == false);
    CHECK(rejoined.response().at("offset") == 2);
    CHECK(rejoined.response().at("epoch") == epoch);
  }
  SECTION("while a first join, or a null offset, asks nothing") {
    test_client first{srv};
    auto joined = first.join("room:odd", {{"name", "f"}, {"last_offset", nullptr}});
    CHECK_FALSE(joined.response().as_object().contains("recovered"));
  }
}
