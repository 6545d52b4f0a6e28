// The Redis broker's per-topic logic without Redis: order, exactly once, catching up after a
// reconnection, holding what is published during an outage, giving up past the hold.
#include <pulse/redis_wire.hpp>
#include <pulse/topic_sync.hpp>

#include <catch2/catch.hpp>

using namespace pulse;
using namespace std::chrono_literals;
using entry = topic_sync::entry;

namespace {

/// A broadcast from node "other" (count, offset), or from `origin`.
entry from(std::uint64_t count, std::uint64_t offset, std::string tail,
           std::string origin = "other", std::uint64_t n = 0) {
  return {count, offset, std::move(origin), n == 0 ? count : n, 0, std::move(tail), 0ms};
}

topic_sync::loaded loaded(std::string epoch, std::uint64_t count, std::uint64_t offset,
                          std::vector<entry> entries = {}, bool since = false) {
  return {std::move(epoch), count, offset, std::move(entries), since, {}};
}

/// What the channel got: "b:tail" per broadcast (":own" for its own), "gap", "loaded:epoch",
/// "here:tail" for what was given up.
std::vector<std::string> seen(topic_sync& sync) {
  std::vector<std::string> out;
  for (auto& effect : sync.take_effects()) {
    if (auto* b = std::get_if<messages::remote_broadcast>(&effect))
      out.push_back("b:" + b->tail + (b->own ? ":own" : ""));
    else if (std::holds_alternative<messages::stream_gap>(effect))
      out.push_back("gap");
    else if (auto* h = std::get_if<messages::history_loaded>(&effect))
      out.push_back("loaded:" + h->epoch);
    else
      out.push_back("here:" + std::get<messages::shared_broadcast>(effect).tail);
  }
  return out;
}

using strings = std::vector<std::string>;

messages::shared_broadcast item(std::string tail, bool keep = true) {
  return {0, keep, std::move(tail)};
}

} // namespace

TEST_CASE("a topic's broadcasts reach its channel in Redis's order, each once") {
  topic_sync sync{"me", 100, 1000};
  sync.subscribed();
  sync.on_message(from(1, 1, "early")); // heard while loading, and in the history loaded
  sync.on_loaded(loaded("e1", 1, 1, {from(1, 1, "early")}));
  CHECK(seen(sync) == strings{"loaded:e1"});
  sync.on_message(from(2, 2, "a"));
  sync.on_message(from(2, 2, "a"));
  CHECK(seen(sync) == strings{"b:a"});

  SECTION("a broadcast ahead of a gap waits for the stream to fill it") {
    sync.on_message(from(4, 4, "c"));
    CHECK(seen(sync).empty());
    REQUIRE(sync.wants_fill() == 2u);
    CHECK_FALSE(sync.wants_fill()); // once
    sync.on_fetched(std::vector{from(3, 3, "b"), from(4, 4, "c")});
    CHECK(seen(sync) == strings{"b:b", "b:c"});
  }
  SECTION("what the stream no longer has is reported as a gap, once, before what follows") {
    sync.on_message(from(5, 5, "e"));
    REQUIRE(sync.wants_fill());
    sync.on_fetched(std::vector<entry>{});
    CHECK(seen(sync) == strings{"gap", "b:e"});
  }
  SECTION("broadcasts that were not kept and went missing are no gap in the history") {
    sync.on_message(from(4, 3, "c")); // count 3 was not kept (a presence diff, say)
    CHECK(seen(sync) == strings{"b:c"});
  }
}

TEST_CASE("after a reconnection, what was missed comes from the stream before anything newer") {
  topic_sync sync{"me", 100, 1000};
  sync.subscribed();
  sync.on_loaded(loaded("e1", 3, 3));
  seen(sync);
  sync.lost();
  sync.on_message(from(9, 9, "ignored while lost")); // not subscribed: cannot be heard
  sync.subscribed();
  sync.on_message(from(6, 6, "f")); // published after the subscription, before the load
  sync.on_message(from(7, 7, "g"));

  SECTION("same epoch: the missed ones, then the newer ones, each once") {
    sync.on_loaded(loaded("e1", 6, 6, {from(4, 4, "d"), from(5, 5, "e"), from(6, 6, "f")}, true));
    CHECK(seen(sync) == strings{"b:d", "b:e", "b:f", "b:g"});
    CHECK(sync.where().offset == 7);
  }
  SECTION("a stream trimmed past what was missed: a gap first") {
    sync.on_loaded(loaded("e1", 6, 6, {from(6, 6, "f")}, true));
    CHECK(seen(sync) == strings{"gap", "b:f", "b:g"});
  }
  SECTION("Redis lost its data (another epoch): the channel starts over") {
    sync.on_loaded(loaded("e2", 1, 1, {from(1, 1, "new")}));
    CHECK(seen(sync) == strings{"loaded:e2"});
  }
  SECTION("it asks Redis to compare with what it saw last") {
    auto where = sync.where();
    CHECK(where.epoch == "e1");
    CHECK(where.count == 3);
    CHECK(where.offset == 3);
  }
}

TEST_CASE("a channel without history gets its own broadcasts after a reconnection, and a gap "
          "for anyone else's") {
  topic_sync sync{"me", 0, 1000};
  sync.subscribed();
  sync.on_loaded(loaded("e1", 2, 0));
  seen(sync);
  sync.publish({item("mine", false)}, topic_sync::clock::now());
  auto batch = sync.take_batch();
  REQUIRE(batch);
  sync.lost();                                   // its echo never comes
  sync.on_published(batch->first_n, {{{4, 0}}}); // Redis took it as broadcast 4
  sync.subscribed();
  sync.on_loaded(loaded("e1", 5, 0, {}, true)); // 3 and 5 were someone else's
  CHECK(seen(sync) == strings{"gap", "b:mine:own"});
  CHECK(sync.is_drained());
}

TEST_CASE("broadcasts are held while Redis is out of reach, then sent in order, and applied once") {
  topic_sync sync{"me", 100, 1000};
  auto now = topic_sync::clock::now();
  sync.publish({item("one"), item("two")}, now);
  CHECK_FALSE(sync.take_batch()); // not live
  sync.subscribed();
  sync.on_loaded(loaded("e1", 0, 0));
  auto batch = sync.take_batch();
  REQUIRE(batch);
  CHECK(batch->first_n == 1);
  REQUIRE(batch->broadcasts.size() == 2);
  CHECK(batch->broadcasts[1].tail == "two");
  CHECK_FALSE(sync.take_batch()); // one batch in flight

  SECTION("an answer lost with its connection: the same numbers go again") {
    sync.on_published(1, std::nullopt);
    auto again = sync.take_batch();
    REQUIRE(again);
    CHECK(again->first_n == 1);
    CHECK(again->broadcasts.size() == 2);
  }
  SECTION("taken: the topic is drained once both came back") {
    sync.on_published(1, {{{1, 1}, {2, 2}}});
    CHECK_FALSE(sync.is_drained());
    sync.on_message(from(1, 1, "one", "me", 1));
    sync.on_message(from(2, 2, "two", "me", 2));
    CHECK(sync.is_drained());
    CHECK(seen(sync) == strings{"loaded:e1", "b:one:own", "b:two:own"});
  }
}

TEST_CASE("past the hold a node serves alone, and what Redis took anyway is not delivered twice") {
  topic_sync sync{"me", 100, 1000};
  auto now = topic_sync::clock::now();
  sync.subscribed();
  sync.on_loaded(loaded("e1", 0, 0));
  seen(sync);
  sync.publish({item("sent")}, now);
  auto batch = sync.take_batch();
  REQUIRE(batch);
  sync.lost(); // the connection dropped with it: taken or not, nobody knows
  sync.on_published(1, std::nullopt);
  sync.publish({item("held")}, now);
  sync.give_up(now + 5s, 10s);
  CHECK(seen(sync).empty()); // not yet
  sync.give_up(now + 10s, 10s);
  CHECK(seen(sync) == strings{"here:sent", "here:held"});
  sync.publish({item("alone")}, now + 11s);
  CHECK(seen(sync) == strings{"here:alone"});
  CHECK(sync.is_drained());

  sync.subscribed(); // Redis is back: it had taken "sent"
  sync.on_loaded(loaded("e1", 2, 2, {from(1, 1, "sent", "me", 1), from(2, 2, "b")}, true));
  CHECK(seen(sync) == strings{"b:b", "gap"}); // others' broadcasts while alone are lost here
  sync.publish({item("shared again")}, now + 12s);
  CHECK(sync.take_batch());
}

TEST_CASE("the bound on held broadcasts makes a topic serve alone") {
  topic_sync sync{"me", 100, 2};
  auto now = topic_sync::clock::now();
  sync.publish({item("1"), item("2")}, now);
  CHECK(seen(sync).empty());
  sync.publish({item("3")}, now);
  CHECK(seen(sync) == strings{"here:1", "here:2", "here:3"});
}

TEST_CASE("a pub/sub message of the publish script reads back as written") {
  std::vector<entry> written{from(7, 3, R"("t","e",{"a":1}])", "node.1", 5),
                             from(8, 0, "bytes\nwith\nnewlines", "node.1", 6)};
  written[0].except = 42;
  auto text = redis_wire::write_message("node.1", written);
  auto read = redis_wire::read_message(text);
  REQUIRE(read);
  REQUIRE(read->size() == 2);
  CHECK((*read)[0].count == 7);
  CHECK((*read)[0].offset == 3);
  CHECK((*read)[0].n == 5);
  CHECK((*read)[0].except == 42);
  CHECK((*read)[0].origin == "node.1");
  CHECK((*read)[1].tail == "bytes\nwith\nnewlines");
  for (std::size_t cut = 0; cut + 1 < text.size(); ++cut)
    CHECK_FALSE(redis_wire::read_message(std::string_view{text}.substr(0, cut)));
}
