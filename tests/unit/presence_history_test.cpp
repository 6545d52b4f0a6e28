#include <pulse/history.hpp>
#include <pulse/presence.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace pulse;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("presence diffs and state have Phoenix.Presence's shape") {
  presence_table table{"n1:"};
  auto joined = table.track(1, "ada", {{"device", "phone"}});
  auto& metas = joined.at("joins").at("ada").at("metas").as_array();
  REQUIRE(metas.size() == 1);
  CHECK(metas[0].at("device") == "phone");
  CHECK(metas[0].at("phx_ref").as_string().starts_with("n1:"));
  CHECK(joined.at("leaves").as_object().empty());

  SECTION("one key, two connections: two metas with their own refs") {
    table.track(2, "ada", {{"device", "laptop"}});
    auto state = table.list();
    auto& both = state.at("ada").at("metas").as_array();
    REQUIRE(both.size() == 2);
    CHECK(both[0].at("phx_ref") != both[1].at("phx_ref"));
    SECTION("and one leaving leaves the other") {
      auto left = table.untrack_all(1);
      REQUIRE(left);
      CHECK(left->at("leaves").at("ada").at("metas").as_array()[0].at("device") == "phone");
      CHECK(table.list().at("ada").at("metas").as_array().size() == 1);
    }
  }
  SECTION("an update leaves the old meta and joins the new one, pointing back") {
    auto old_ref = metas[0].at("phx_ref");
    auto diff = table.update(1, "ada", {{"device", "phone"}, {"typing", true}});
    REQUIRE(diff);
    CHECK(diff->at("leaves").at("ada").at("metas").as_array()[0].at("phx_ref") == old_ref);
    auto& now = diff->at("joins").at("ada").at("metas").as_array()[0];
    CHECK(now.at("typing") == true);
    CHECK(now.at("phx_ref_prev") == old_ref);
    CHECK(now.at("phx_ref") != old_ref);
  }
  SECTION("untracking what is not tracked changes nothing") {
    CHECK_FALSE(table.untrack(2, "ada"));
    CHECK_FALSE(table.untrack(1, "bob"));
    CHECK_FALSE(table.untrack_all(3));
    CHECK_FALSE(table.update(2, "ada", {}));
  }
  SECTION("the last meta of a key takes the key with it") {
    REQUIRE(table.untrack(1, "ada"));
    CHECK(table.list().empty());
    CHECK(table.empty());
  }
}

namespace {

transport::outbound_frame frame(int n) {
  return transport::outbound_frame::text(std::to_string(n));
}

std::vector<std::string> payloads(const std::vector<transport::outbound_frame>& frames) {
  std::vector<std::string> out;
  for (auto& f : frames)
    out.emplace_back(f.payload());
  return out;
}

} // namespace

TEST_CASE("a history hands back exactly what a client missed") {
  message_history history{{.max_messages = 3}, "e1"};
  CHECK(history.next_offset() == 1);
  for (int i = 1; i <= 5; ++i)
    history.append(frame(i));
  CHECK(history.last_offset() == 5);
  CHECK(history.size() == 3);

  CHECK(payloads(*history.since("e1", 3)) == std::vector<std::string>{"4", "5"});
  CHECK(payloads(*history.since("e1", 2)) == std::vector<std::string>{"3", "4", "5"});
  CHECK(history.since("e1", 5)->empty()); // up to date
  CHECK_FALSE(history.since("e1", 1));    // offset 2 is gone: a gap
  CHECK_FALSE(history.since("e0", 4));    // another epoch: its offsets mean nothing here
  CHECK_FALSE(history.since("e1", 9));    // from the future
}

TEST_CASE("a history forgets what is older than its age limit") {
  message_history history{{.max_messages = 100, .max_age = 10s}, "e"};
  auto t0 = message_history::clock::time_point{} + 1h;
  history.append(frame(1), t0);
  history.append(frame(2), t0 + 8s);
  CHECK(payloads(*history.since("e", 0, t0 + 9s)) == std::vector<std::string>{"1", "2"});
  CHECK_FALSE(history.since("e", 0, t0 + 12s)); // 1 expired: the gap is no longer covered
  CHECK(payloads(*history.since("e", 1, t0 + 12s)) == std::vector<std::string>{"2"});
}

TEST_CASE("a replayed frame is the very frame that was broadcast") {
  message_history history{{.max_messages = 10}, "e"};
  auto original = frame(7);
  history.append(original);
  CHECK(history.since("e", 0)->front().identity() == original.identity());
}

TEST_CASE("a history numbered by someone else (Redis) recovers nothing across a gap") {
  message_history history{{.max_messages = 10}, "local"};
  history.reset("shared", 40); // what the shared history says: 40 broadcasts so far, none kept
  CHECK(history.epoch() == "shared");
  CHECK(history.since("shared", 40)->empty());
  CHECK_FALSE(history.since("shared", 39));
  history.append_at(41, frame(41));
  history.append_at(42, frame(42));
  CHECK(payloads(*history.since("shared", 40)) == std::vector<std::string>{"41", "42"});
  history.append_at(45, frame(45)); // 43 and 44 never came here
  CHECK(history.last_offset() == 45);
  CHECK_FALSE(history.since("shared", 42));
  CHECK(payloads(*history.since("shared", 44)) == std::vector<std::string>{"45"});
}

TEST_CASE("other nodes' presence: diffs applied, a vanished node's metas leave together") {
  presence_table node_a{"a:"}, node_b{"b:"};
  remote_presence seen; // what a third node knows of a and b
  auto joined_a = node_a.track(1, "alice", {{"tab", 1}});
  seen.apply(joined_a);
  seen.apply(node_b.track(2, "alice", {{"tab", 2}}));
  auto heard = seen.apply(node_b.track(3, "bob", {}));
  CHECK(heard == std::vector<std::string>{"b"});

  json::object list;
  seen.merge_into(list);
  CHECK(list.at("alice").at("metas").as_array().size() == 2);
  CHECK(list.at("bob").at("metas").as_array().size() == 1);

  auto gone = seen.drop("b"); // node b died
  REQUIRE(gone);
  CHECK(gone->at("leaves").at("alice").at("metas").as_array().size() == 1);
  CHECK(gone->at("leaves").at("bob").at("metas").as_array().size() == 1);
  CHECK_FALSE(seen.drop("b"));
  json::object after;
  seen.merge_into(after);
  CHECK(after.size() == 1);
  CHECK(after.at("alice").at("metas").at(0).at("tab") == 1);

  seen.apply(*node_a.untrack(1, "alice"));
  json::object empty;
  seen.merge_into(empty);
  CHECK(empty.empty());

  seen.replace("b", node_b.list()); // what b stored in Redis
  json::object restored;
  seen.merge_into(restored);
  CHECK(restored.at("alice").at("metas").as_array().size() == 1);
  CHECK(restored.at("bob").at("metas").as_array().size() == 1);
}
