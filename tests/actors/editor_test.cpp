// The editor app's document channel through the real actors, with y-protocols messages built by
// hand. Yjs itself is played by fake_editor: an update is a token, a document the set of tokens
// it has seen, and a state (sync step 2) all of them, so "the document reconstructs" means "a
// joiner receives every token ever written".
#include "apps/editor/document_channel.hpp"
#include "apps/editor/y_protocol.hpp"
#include <pulse/testing.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <sstream>

using namespace pulse;
using pulse::testing::frame;
using pulse::testing::test_client;
namespace json = boost::json;

namespace {

std::string varuint(std::uint64_t value) {
  std::string out;
  while (value > 0x7f) {
    out.push_back(static_cast<char>(0x80 | (value & 0x7f)));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string with_length(std::string_view bytes) {
  return varuint(bytes.size()) + std::string{bytes};
}

std::string step1(std::string_view state_vector = std::string_view{"\0", 1}) {
  return std::string{"\x00\x00", 2} + with_length(state_vector);
}
std::string step2(std::string_view update) {
  return std::string{"\x00\x01", 2} + with_length(update);
}
std::string update(std::string_view update) {
  return std::string{"\x00\x02", 2} + with_length(update);
}
const std::string empty_update{"\x00\x00", 2};
const std::string synced = step2(empty_update); // what ends a sync answer

struct client_state {
  std::uint64_t client;
  std::uint64_t clock;
  std::string state;
};

std::string awareness(const std::vector<client_state>& clients) {
  std::string body = varuint(clients.size());
  for (auto& c : clients)
    body += varuint(c.client) + varuint(c.clock) + with_length(c.state);
  return varuint(1) + with_length(body);
}

std::vector<editor::awareness_entry> awareness_of(const frame& f) {
  auto message = editor::y_message::parse(f.bytes);
  REQUIRE(message.kind == editor::y_message_kind::awareness);
  return editor::parse_awareness(message.body);
}

/// The `yjs` frames a joiner's sync step 1 brings, up to and including the empty step 2.
std::vector<std::string> sync_answer(test_client& client, const std::string& topic,
                                     std::string_view state_vector = std::string_view{"\0", 1}) {
  client.push_binary(topic, "yjs_sync", step1(state_vector));
  std::vector<std::string> frames;
  for (;;) {
    auto f = client.next_event("yjs");
    REQUIRE(f.is_binary);
    if (f.bytes == synced)
      return frames;
    frames.push_back(f.bytes);
  }
}

/// Plays a Yjs client: applies what arrives, answers sync step 1s with all it has.
class fake_editor {
 public:
  fake_editor(server& srv, std::string topic) : client(srv), topic_(std::move(topic)) {}

  void join() { REQUIRE(client.join(topic_).is_ok()); }

  /// Joins and syncs: the document so far, then the step 1 the channel asks with is answered.
  void join_and_sync() {
    join();
    sync();
  }

  void sync(std::string_view state_vector = std::string_view{"\0", 1}) {
    for (auto& bytes : sync_answer(client, topic_, state_vector))
      apply(bytes);
    for (auto sent = states_sent; states_sent == sent;)
      apply(client.next_event("yjs").bytes);
  }

  /// Writes `token` as an update; returns the push's ref.
  std::string write(const std::string& token) {
    tokens.insert(token);
    return client.push_binary(topic_, "yjs", update(token));
  }

  /// Handles every frame received so far.
  void handle_pending() {
    while (client.pending() > 0)
      handle(client.next());
  }

  void handle(const frame& f) {
    if (f.is_reply()) {
      if (!f.is_ok())
        refusals.push_back(f.reason());
      return;
    }
    if (f.event == "yjs")
      apply(f.bytes);
  }

  void apply(const std::string& bytes) {
    auto message = editor::y_message::parse(bytes);
    switch (message.kind) {
      case editor::y_message_kind::sync_step1:
        ++states_sent;
        client.push_binary(topic_, "yjs", step2(state()));
        break;
      case editor::y_message_kind::sync_step2:
      case editor::y_message_kind::sync_update: learn(message.body); break;
      default: break;
    }
  }

  /// All tokens, as one "state" (the empty update when there are none, as Yjs sends it).
  std::string state() const {
    if (tokens.empty())
      return empty_update;
    std::string out = "S";
    for (auto& token : tokens)
      out += "," + token;
    return out;
  }

  void learn(std::string_view body) {
    if (body == empty_update)
      return;
    if (body.starts_with("S")) {
      std::istringstream in{std::string{body.substr(1)}};
      std::string token;
      while (std::getline(in, token, ','))
        if (!token.empty())
          tokens.insert(token);
      return;
    }
    tokens.insert(std::string{body});
  }

  test_client client;
  std::set<std::string> tokens;
  std::vector<std::string> refusals;
  int states_sent = 0;

 private:
  std::string topic_;
};

struct editor_fixture {
  server srv;
  editor::editor_options options;
  void install() { editor::install(srv, options); }
};

/// The tokens a document's sync answer adds up to.
std::set<std::string> reconstruct(server& srv, const std::string& topic) {
  fake_editor reader{srv, topic};
  reader.join();
  for (auto& bytes : sync_answer(reader.client, topic))
    reader.apply(bytes);
  return reader.tokens;
}

} // namespace

TEST_CASE("y-protocols messages are read and written as lib0 encodes them") {
  using editor::y_message;
  using editor::y_message_kind;
  CHECK(y_message::parse(step1()).kind == y_message_kind::sync_step1);
  CHECK(y_message::parse(step2("ab")).body == "ab");
  CHECK(y_message::parse(update(std::string(300, 'x'))).body.size() == 300); // 2-byte length
  CHECK(y_message::parse(std::string{"\x03", 1}).kind == y_message_kind::query_awareness);
  CHECK(editor::encode_sync_step1_empty() == step1());
  CHECK(editor::encode_sync_step2_empty() == synced);
  CHECK(editor::as_update_message(y_message::parse(step2("ab"))) == update("ab"));
  auto entries = editor::parse_awareness(y_message::parse(awareness({{3000000000, 7, "{}"}})).body);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].client == 3000000000);
  CHECK(entries[0].clock == 7);
  CHECK(editor::encode_awareness(entries) == awareness({{3000000000, 7, "{}"}}));

  SECTION("anything else is refused, with what is wrong") {
    auto error_of = [](const std::string& bytes) {
      try {
        auto message = y_message::parse(bytes);
        if (message.kind == y_message_kind::awareness)
          editor::parse_awareness(message.body);
      } catch (const editor::y_protocol_error& e) {
        return std::string{e.what()};
      }
      return std::string{"accepted"};
    };
    CHECK_THAT(error_of(""), Catch::Contains("truncated message type"));
    CHECK_THAT(error_of(std::string{"\x02\x00", 2}), Catch::Contains("unknown message type"));
    CHECK_THAT(error_of(std::string{"\x00\x05\x00", 3}), Catch::Contains("unknown sync step"));
    CHECK_THAT(error_of(std::string{"\x00\x02\x05\x00", 4}), Catch::Contains("past the end"));
    CHECK_THAT(error_of(update("ab") + "x"), Catch::Contains("bytes after the sync message"));
    CHECK_THAT(error_of(std::string(9, '\xff')), Catch::Contains("out of range"));
    CHECK_THAT(error_of(awareness({{1, 1, "{nope"}})), Catch::Contains("not JSON"));
    CHECK_THAT(error_of(varuint(1) + with_length(varuint(50))), Catch::Contains("awareness count"));
  }
}

TEST_CASE_METHOD(editor_fixture, "an update reaches the document's other editors, byte for byte") {
  install();
  test_client ada{srv}, bob{srv}, elsewhere{srv};
  REQUIRE(ada.join("doc:notes").is_ok());
  REQUIRE(bob.join("doc:notes").is_ok());
  REQUIRE(elsewhere.join("doc:other").is_ok());
  auto bytes = update(std::string{"\x01\x00\xff", 3});
  ada.push_binary("doc:notes", "yjs", bytes);
  auto heard = bob.next_event("yjs");
  CHECK(heard.is_binary);
  CHECK(heard.bytes == bytes);
  // Not back to its sender, not to another document.
  CHECK_THROWS(ada.next_event("yjs", std::chrono::milliseconds{100}));
  CHECK_THROWS(elsewhere.next_event("yjs", std::chrono::milliseconds{100}));
}

TEST_CASE_METHOD(editor_fixture,
                 "a joiner's sync brings the document, then synced, then a step 1") {
  install();
  test_client ada{srv};
  REQUIRE(ada.join("doc:sync").is_ok());
  ada.push_binary("doc:sync", "yjs", update("one"));
  ada.push_binary("doc:sync", "yjs", update("two"));
  ada.push_binary("doc:sync", "yjs", awareness({{11, 1, R"({"user":{"name":"ada"}})"}}));
  // Ada's own sync is answered after her pushes (one sender, one order): then they are all in.
  ada.push_binary("doc:sync", "yjs_sync", step1());
  while (ada.next_event("yjs").bytes != synced) {
  }

  test_client bob{srv};
  REQUIRE(bob.join("doc:sync").is_ok());
  bob.push_binary("doc:sync", "yjs_sync", step1());
  CHECK(bob.next_event("yjs").bytes == update("one"));
  CHECK(bob.next_event("yjs").bytes == update("two"));
  CHECK(bob.next_event("yjs").bytes == synced);
  auto present = awareness_of(bob.next_event("yjs")); // who is here, though never kept
  REQUIRE(present.size() == 1);
  CHECK(present[0].client == 11);
  CHECK(present[0].state == R"({"user":{"name":"ada"}})");
  CHECK(bob.next_event("yjs").bytes == step1()); // "send me your whole document"
}

TEST_CASE_METHOD(editor_fixture, "edits made offline come back with the returning editor's state") {
  install();
  fake_editor ada{srv, "doc:offline"}, bob{srv, "doc:offline"};
  ada.join_and_sync();
  bob.join_and_sync();
  ada.write("before");
  REQUIRE(bob.client.next_event("yjs").bytes == update("before"));

  // Ada was away and wrote meanwhile: her rejoin's step 1 has a state vector; her answer to the
  // channel's step 1 carries the offline edit, to Bob and to the document.
  ada.client.disconnect();
  ada.tokens.insert("offline");
  fake_editor back{srv, "doc:offline"};
  back.tokens = ada.tokens;
  back.join();
  back.sync(std::string{"\x01\x05\x01", 3}); // client 5 is at clock 1
  REQUIRE(back.states_sent == 1);
  auto relayed = bob.client.next_event("yjs");
  CHECK(relayed.bytes == update(back.state())); // as an update: a step 2 would mean "synced"
  CHECK(reconstruct(srv, "doc:offline") == std::set<std::string>{"before", "offline"});
}

TEST_CASE_METHOD(editor_fixture,
                 "a new editor's state is not relayed or kept when it adds nothing") {
  install();
  fake_editor ada{srv, "doc:fresh"};
  ada.join_and_sync();
  ada.write("one");
  fake_editor bob{srv, "doc:fresh"};
  bob.join_and_sync(); // answers the channel's step 1 with "S,one"
  CHECK_THROWS(ada.client.next_event("yjs", std::chrono::milliseconds{150}));
  fake_editor cy{srv, "doc:fresh"};
  cy.join();
  CHECK(sync_answer(cy.client, "doc:fresh") == std::vector<std::string>{update("one")});
}

TEST_CASE_METHOD(editor_fixture, "a state already kept after what it covers is not kept again") {
  install();
  fake_editor ada{srv, "doc:same"};
  ada.join_and_sync();
  ada.write("one");
  // Editors coming back with a document of their own: their states are kept and relayed, as
  // they may hold offline edits; all three hold the same document.
  for (int i = 0; i < 3; ++i) {
    fake_editor back{srv, "doc:same"};
    back.tokens = {"one"};
    back.join();
    back.sync(std::string{"\x01\x05\x01", 3});
  }
  auto state = update("S,one");
  CHECK(ada.client.next_event("yjs").bytes == state); // bob's
  CHECK(ada.client.next_event("yjs").bytes == state); // cy's: after bob's, which it covers
  CHECK_THROWS(ada.client.next_event("yjs", std::chrono::milliseconds{150})); // dee's: no
  CHECK(reconstruct(srv, "doc:same") == std::set<std::string>{"one"});
}

TEST_CASE_METHOD(editor_fixture,
                 "a document edited far past its history still reconstructs completely") {
  options.history_updates = 32; // a state is asked for from 8 updates on, updates refused past 16
  install();
  constexpr int edits = 600;
  fake_editor writer{srv, "doc:long"}, watcher{srv, "doc:long"};
  writer.join_and_sync();
  watcher.join_and_sync();
  std::set<std::string> written;
  for (int i = 0; i < edits; ++i) {
    auto token = "t" + std::to_string(i);
    written.insert(token);
    writer.write(token);
    // Until the watcher has it or the writer was refused; meanwhile each answers step 1s.
    REQUIRE(pulse::testing::eventually([&] {
      writer.handle_pending();
      watcher.handle_pending();
      return watcher.tokens.contains(token) || !writer.refusals.empty();
    }));
    writer.refusals.clear();
  }
  CHECK(writer.states_sent > edits / 16); // compaction ran all along
  // A refused edit comes back within the writer's next state.
  REQUIRE(pulse::testing::eventually([&] {
    writer.handle_pending();
    watcher.handle_pending();
    return watcher.tokens == written;
  }));

  // A joiner gets the last state and the updates after it (a state is kept while they fill
  // three quarters of the history at most), and they add up to every edit.
  fake_editor reader{srv, "doc:long"};
  reader.join();
  auto answer = sync_answer(reader.client, "doc:long");
  CHECK(answer.size() <= 24);
  for (auto& bytes : answer)
    reader.apply(bytes);
  CHECK(reader.tokens == written);
}

TEST_CASE_METHOD(editor_fixture,
                 "without a state from its editors, a document refuses updates past half its "
                 "history, and the refused edit comes back with the next state") {
  options.history_updates = 16;
  install();
  fake_editor writer{srv, "doc:stuck"};
  writer.join_and_sync();
  // The writer ignores step 1s: the window fills up.
  for (int i = 0; i < 8; ++i)
    writer.write("t" + std::to_string(i));
  auto ref = writer.write("refused");
  auto reply = writer.client.reply_to(ref);
  CHECK_FALSE(reply.is_ok());
  CHECK_THAT(reply.reason(), Catch::Contains("8 updates since its last state"));

  // Once it answers, its state (with the refused edit) is kept, and updates go through again.
  writer.handle_pending();
  REQUIRE(writer.states_sent >= 1);
  CHECK_THROWS(writer.client.reply_to(writer.write("after"), std::chrono::milliseconds{150}));
  auto tokens = reconstruct(srv, "doc:stuck");
  CHECK(tokens.contains("refused"));
  CHECK(tokens.contains("after"));
  CHECK(tokens.size() == 10);
}

TEST_CASE_METHOD(editor_fixture,
                 "an edit refused while its editor's state was on its way still reaches everyone") {
  options.history_updates = 16;
  options.state_timeout = std::chrono::milliseconds{0}; // every update past 4 asks for a state
  install();
  fake_editor bob{srv, "doc:late"}, writer{srv, "doc:late"};
  bob.join_and_sync();
  writer.join();
  writer.client.push_binary("doc:late", "yjs_sync", step1());
  std::vector<frame> held; // what the writer gets, its join's step 1 among them: answered late
  auto hold_until = [&](const std::string& bytes) {
    for (auto f = writer.client.next_event("yjs");; f = writer.client.next_event("yjs")) {
      held.push_back(f);
      if (f.bytes == bytes)
        return;
    }
  };
  hold_until(step1()); // its sync is answered, and the step 1 waits
  for (int i = 0; i < 8; ++i)
    bob.write("u" + std::to_string(i));
  hold_until(update("u7"));
  CHECK_FALSE(writer.client.reply_to(writer.write("w")).is_ok()); // the window is full

  // Bob's states bring the window down; then the writer's answer to its join's step 1, made
  // after "w", arrives: it holds "w", so it is kept although the writer joined empty.
  REQUIRE(pulse::testing::eventually([&] {
    bob.handle_pending();
    return bob.states_sent == 1 + 4; // its join's, then one per update from u3 to u6
  }));
  auto after_states = awareness({{2, 1, "{}"}}); // relayed once Bob's states are in
  bob.client.push_binary("doc:late", "yjs", after_states);
  hold_until(after_states);
  for (auto& f : held)
    writer.apply(f.bytes);
  REQUIRE(pulse::testing::eventually([&] {
    bob.handle_pending();
    return bob.tokens.contains("w");
  }));
  CHECK(reconstruct(srv, "doc:late").contains("w"));
}

TEST_CASE_METHOD(editor_fixture, "updates and documents over their limits are refused with why") {
  options.max_update_bytes = 64;
  options.max_document_bytes = 200;
  install();
  fake_editor ada{srv, "doc:limits"}, bob{srv, "doc:limits"};
  ada.join_and_sync();
  bob.join_and_sync();
  auto big = ada.client.reply_to(ada.write(std::string(80, 'x')));
  CHECK_THAT(big.reason(), Catch::Contains("an update may take 64 bytes; this one takes 83"));
  for (int i = 0; i < 3; ++i)
    ada.write(std::string(50, 'a' + static_cast<char>(i)));
  auto full = ada.client.reply_to(ada.write(std::string(50, 'z')));
  CHECK_THAT(full.reason(), Catch::Contains("would take more than 200 bytes"));
  // The others got what fitted, and nothing else.
  for (int i = 0; i < 3; ++i)
    CHECK(bob.client.next_event("yjs").bytes
          == update(std::string(50, 'a' + static_cast<char>(i))));
  CHECK_THROWS(bob.client.next_event("yjs", std::chrono::milliseconds{100}));
}

TEST_CASE_METHOD(editor_fixture, "a document takes at most max_editors editors") {
  options.max_editors = 2;
  install();
  test_client a{srv}, b{srv}, c{srv};
  REQUIRE(a.join("doc:small").is_ok());
  REQUIRE(b.join("doc:small").is_ok());
  auto refused = c.join("doc:small");
  CHECK_FALSE(refused.is_ok());
  CHECK(refused.reason() == "document \"small\" has 2 editors already, the most it takes");
  // The leave's reply comes from the channel, once it counted a out: c fits at once.
  REQUIRE(a.leave("doc:small").is_ok());
  CHECK(c.join("doc:small").is_ok());
}

TEST_CASE_METHOD(editor_fixture, "what is not y-protocols is refused and reaches nobody") {
  install();
  test_client ada{srv}, bob{srv};
  REQUIRE(ada.join("doc:bad").is_ok());
  REQUIRE(bob.join("doc:bad").is_ok());
  auto reason = [&](const std::string& event, const std::string& bytes) {
    return ada.reply_to(ada.push_binary("doc:bad", event, bytes)).reason();
  };
  CHECK_THAT(reason("yjs", std::string{"\x00\x07\x00", 3}),
             Catch::Contains("not a y-protocols message: unknown sync step"));
  CHECK_THAT(reason("yjs", awareness({{1, 1, "not json"}})),
             Catch::Contains("an awareness state is not JSON"));
  CHECK_THAT(reason("yjs_sync", update("x")), Catch::Contains("yjs_sync expects a sync step 1"));
  auto json_push = ada.request("doc:bad", "yjs", json::object{});
  CHECK_THAT(json_push.reason(), Catch::Contains("expects a binary payload"));
  CHECK_THROWS(bob.next_event("yjs", std::chrono::milliseconds{100}));
}

TEST_CASE_METHOD(editor_fixture,
                 "awareness is relayed but never kept, and echoes of other clients are dropped") {
  install();
  test_client ada{srv}, bob{srv};
  REQUIRE(ada.join("doc:aw").is_ok());
  REQUIRE(bob.join("doc:aw").is_ok());
  auto ada_here = awareness({{100, 1, R"({"user":{"name":"ada"}})"}});
  ada.push_binary("doc:aw", "yjs", ada_here);
  CHECK(bob.next_event("yjs").bytes == ada_here);
  bob.push_binary("doc:aw", "yjs", awareness({{200, 1, R"({"user":{"name":"bob"}})"}}));
  CHECK(awareness_of(ada.next_event("yjs"))[0].client == 200);

  // Bob's client sends Ada's state on (y-phoenix-channel 0.1.1 does): only his own goes out.
  bob.push_binary("doc:aw", "yjs",
                  awareness({{100, 1, R"({"user":{"name":"ada"}})"}, {200, 2, R"({"x":1})"}}));
  auto relayed = awareness_of(ada.next_event("yjs"));
  REQUIRE(relayed.size() == 1);
  CHECK(relayed[0].client == 200);
  CHECK(relayed[0].clock == 2);
  bob.push_binary("doc:aw", "yjs", awareness({{100, 2, "null"}})); // not his to remove
  CHECK_THROWS(ada.next_event("yjs", std::chrono::milliseconds{100}));

  // A joiner's sync has it (from the cache), while the document itself holds none of it.
  test_client cy{srv};
  REQUIRE(cy.join("doc:aw").is_ok());
  cy.push_binary("doc:aw", "yjs_sync", step1());
  CHECK(cy.next_event("yjs").bytes == synced);
  auto present = awareness_of(cy.next_event("yjs"));
  REQUIRE(present.size() == 2);
  CHECK(present[0].client == 100);
  CHECK(present[1].client == 200);
  CHECK(present[1].state == R"({"x":1})");

  SECTION("an awareness query is answered with everyone present") {
    cy.push_binary("doc:aw", "yjs", std::string{"\x03", 1});
    CHECK(cy.next_event("yjs").bytes == step1());
    CHECK(awareness_of(cy.next_event("yjs")).size() == 2);
  }
}

TEST_CASE_METHOD(editor_fixture, "an editor that vanishes leaves everyone's awareness at once") {
  install();
  test_client ada{srv}, bob{srv};
  REQUIRE(ada.join("doc:gone").is_ok());
  REQUIRE(bob.join("doc:gone").is_ok());
  bob.push_binary("doc:gone", "yjs", awareness({{200, 5, R"({"user":{"name":"bob"}})"}}));
  REQUIRE(awareness_of(ada.next_event("yjs"))[0].clock == 5);

  SECTION("its connection drops") {
    bob.disconnect();
  }
  SECTION("it leaves the document") {
    bob.leave("doc:gone");
  }
  auto removal = awareness_of(ada.next_event("yjs"));
  REQUIRE(removal.size() == 1);
  CHECK(removal[0].client == 200);
  CHECK(removal[0].clock == 6); // newer than its last state, so every peer applies it
  CHECK(removal[0].is_removal());
}

TEST_CASE_METHOD(editor_fixture, "a client that reconnects keeps its awareness past its old "
                                 "connection's end") {
  install();
  test_client ada{srv}, old_bob{srv}, new_bob{srv};
  REQUIRE(ada.join("doc:again").is_ok());
  REQUIRE(old_bob.join("doc:again").is_ok());
  old_bob.push_binary("doc:again", "yjs", awareness({{200, 1, R"({"n":1})"}}));
  REQUIRE(awareness_of(ada.next_event("yjs"))[0].clock == 1);
  REQUIRE(new_bob.join("doc:again").is_ok());
  new_bob.push_binary("doc:again", "yjs", awareness({{200, 2, R"({"n":2})"}}));
  REQUIRE(awareness_of(ada.next_event("yjs"))[0].clock == 2);
  old_bob.disconnect(); // found out late: the client is on its new connection by now
  CHECK_THROWS(ada.next_event("yjs", std::chrono::milliseconds{150}));
  new_bob.disconnect();
  CHECK(awareness_of(ada.next_event("yjs"))[0].is_removal());
}

TEST_CASE_METHOD(editor_fixture, "with its relay switched off the channel passes nothing on") {
  options.relay = false;
  install();
  fake_editor ada{srv, "doc:quiet"}, bob{srv, "doc:quiet"};
  ada.join_and_sync();
  bob.join_and_sync();
  ada.write("unheard");
  ada.client.push_binary("doc:quiet", "yjs", awareness({{1, 1, "{}"}}));
  CHECK_THROWS(bob.client.next_event("yjs", std::chrono::milliseconds{150}));
  CHECK(reconstruct(srv, "doc:quiet").empty());
}
