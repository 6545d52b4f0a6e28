// The fan-out through connection actors: a channel hands each subscriber's connection actor one
// shared batch per flush, and each connection writes its own socket, on whichever worker runs it.
#include "tests/support/test_channels.hpp"
#include <pulse/testing.hpp>

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

using namespace pulse;
using pulse::testing::frame;
using pulse::testing::test_client;
namespace json = boost::json;

namespace {

/// A socket as the server sees one, that keeps what it is sent and which threads wrote it.
class recording_socket final : public transport::websocket_connection {
 public:
  bool send(transport::outbound_frame frame) override {
    queue(std::move(frame));
    return true;
  }

  bool queue(transport::outbound_frame frame) override {
    std::lock_guard guard{mutex_};
    writers_.insert(std::this_thread::get_id());
    frames_.push_back(frame::parse(frame.payload()));
    changed_.notify_all();
    return false;
  }

  void flush() override {}
  void close(std::uint16_t, std::string_view) override {}
  const std::string& remote_address() const noexcept override { return address_; }

  std::set<std::thread::id> writers() const {
    std::lock_guard guard{mutex_};
    return writers_;
  }

  /// Waits until `count` frames of `event` arrived; returns all frames so far.
  std::vector<frame> wait_for(const std::string& event, std::size_t count) {
    std::unique_lock lock{mutex_};
    changed_.wait_for(lock, std::chrono::seconds{10}, [&] {
      return std::count_if(frames_.begin(), frames_.end(),
                           [&](const frame& f) { return f.event == event; })
             >= static_cast<std::ptrdiff_t>(count);
    });
    return frames_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::set<std::thread::id> writers_;
  std::vector<frame> frames_;
  std::string address_ = "memory";
};

} // namespace

TEST_CASE("racing first joins of a fresh topic meet one channel actor") {
  server_options options;
  options.threads = 4; // more workers than cores: joins really race
  server srv{options};
  srv.channel<test::test_room>("room:*");
  auto created_before = test::room_instances().created;
  std::vector<std::unique_ptr<test_client>> clients;
  for (int i = 0; i < 1000; ++i)
    clients.push_back(std::make_unique<test_client>(srv));
  // Every join goes out before any reply is awaited.
  for (auto& client : clients)
    client->send_text(R"(["1","1","room:race","phx_join",{}])");
  for (auto& client : clients)
    CHECK(client->reply_to("1", std::chrono::seconds{10}).is_ok());
  CHECK(test::room_instances().created - created_before == 1);
  CHECK(srv.stats().channels == 1);
  CHECK(clients.front()->request("room:race", "count").is_ok());
}

TEST_CASE("one topic's broadcasts are written to its subscribers' sockets from both workers") {
  server_options options;
  options.threads = 2;
  server srv{options};
  auto bench = srv.channel("hot");
  constexpr std::size_t subscriber_count = 300;
  std::vector<std::shared_ptr<recording_socket>> sockets;
  std::vector<std::shared_ptr<transport::connection_handler>> handlers;
  for (std::size_t i = 0; i < subscriber_count; ++i) {
    sockets.push_back(std::make_shared<recording_socket>());
    handlers.push_back(srv.attach(sockets.back()));
    handlers.back()->on_text(R"(["1","1","hot","phx_join",{}])");
  }
  for (auto& socket : sockets)
    REQUIRE(socket->wait_for("phx_reply", 1).front().is_ok());

  // Bursts until both workers have written to some socket (bounded: a few rounds suffice).
  std::set<std::thread::id> writers;
  int sent = 0;
  for (int round = 0; round < 50 && writers.size() < 2; ++round) {
    for (int i = 0; i < 20; ++i, ++sent)
      bench.broadcast("tick", json::object{{"seq", sent}});
    sockets.back()->wait_for("tick", static_cast<std::size_t>(sent));
    for (auto& socket : sockets)
      for (auto id : socket->writers())
        writers.insert(id);
  }
  CHECK(writers.size() == 2);

  // Every subscriber got every broadcast, once, in order.
  for (auto& socket : sockets) {
    std::int64_t expected = 0;
    for (auto& f : socket->wait_for("tick", static_cast<std::size_t>(sent)))
      if (f.event == "tick")
        CHECK(f.payload.at("seq").as_int64() == expected++);
    CHECK(expected == sent);
  }
  for (auto& handler : handlers)
    handler->on_closed();
}

TEST_CASE("a flush reaches each subscriber as one shared message, broadcast_from skipping its "
          "sender") {
  server srv;
  srv.channel<test::test_room>("room:*");
  test_client a{srv}, b{srv}, c{srv};
  for (auto* client : {&a, &b, &c}) {
    REQUIRE(client->join("room:flush").is_ok());
    REQUIRE(client->next().event == "hello");
  }
  // A shout is a broadcast_from and a reply: the shouter gets only its reply, the others only
  // the broadcast, and the two listeners share the broadcast's bytes.
  auto ref = a.push("room:flush", "shout", json::object{{"n", 1}});
  CHECK(a.reply_to(ref).is_ok());
  auto fb = b.next_raw(), fc = c.next_raw();
  CHECK(fb.identity() == fc.identity());
  CHECK(frame::parse(fb.payload()).event == "shouted");
  CHECK(a.request("room:flush", "count").is_ok());
  CHECK(a.pending() == 0);
}
