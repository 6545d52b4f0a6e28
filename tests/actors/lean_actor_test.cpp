// lean_actor: a CAF actor with one FIFO mailbox, as every connection is one. It must keep what
// CAF promises any actor: each sender's order, monitors, exit, requests answered.
#include <pulse/lean_actor.hpp>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/exit_reason.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>
#include <caf/system_messages.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

/// What a test actor saw.
struct record {
  std::vector<std::vector<int>> per_sender; // the sequence numbers each sender's messages carried
  int handled = 0;
  bool exited = false;
};

/// Counts (sender, sequence) pairs; quits after `expected` of them, or on "stop".
class counter final : public pulse::lean_actor {
 public:
  counter(caf::actor_config& config, record& seen, int senders, int expected)
      : lean_actor(config), seen_(seen), expected_(expected) {
    seen_.per_sender.resize(senders);
  }

  void on_exit() override { seen_.exited = true; }

 protected:
  void handle(caf::type_erased_tuple& content) override {
    if (content.match_elements<int, int>()) {
      seen_.per_sender[content.get_as<int>(0)].push_back(content.get_as<int>(1));
      if (++seen_.handled == expected_)
        quit();
    } else if (content.match_elements<std::string>() && content.get_as<std::string>(0) == "stop") {
      quit(caf::make_error(caf::sec::runtime_error));
    }
  }

 private:
  record& seen_;
  int expected_;
};

/// A counter in an actor system of its own (two workers), watched by a scoped actor.
struct watched_counter {
  enum class start { at_once, lazily };

  watched_counter(std::size_t max_throughput, int senders, int expected, start how = start::at_once)
      : system{with_workers(config, max_throughput)},
        actor{how == start::lazily
                ? system.spawn<counter, caf::lazy_init>(std::ref(seen), senders, expected)
                : system.spawn<counter>(std::ref(seen), senders, expected)},
        self{system} {
    self->monitor(actor);
  }

  /// Waits for the counter's end; why it ended.
  caf::error exit_reason() {
    caf::error reason = caf::sec::runtime_error; // overwritten by the down message
    self->receive([&reason](caf::down_msg& down) { reason = down.reason; });
    return reason;
  }

  record seen; // outlives the system and its actors
  caf::actor_system_config config;
  caf::actor_system system;
  caf::actor actor;
  caf::scoped_actor self;

 private:
  static caf::actor_system_config& with_workers(caf::actor_system_config& config,
                                                std::size_t max_throughput) {
    config.set("scheduler.max-threads", 2);
    config.set("scheduler.max-throughput", max_throughput);
    return config;
  }
};

} // namespace

TEST_CASE("a lean actor handles each sender's messages in the order sent, from many threads") {
  // Throughput 1 and 7: the actor yields its worker often and picks up where it left off.
  auto throughput = GENERATE(std::size_t{1}, std::size_t{7}, std::size_t{1000});
  constexpr int senders = 4;
  constexpr int per_sender = 5'000;
  watched_counter watched{throughput, senders, senders * per_sender,
                          watched_counter::start::lazily};
  auto& seen = watched.seen;
  auto& actor = watched.actor;

  std::vector<std::thread> threads;
  for (int sender = 0; sender < senders; ++sender)
    threads.emplace_back([&actor, sender] {
      for (int i = 0; i < per_sender; ++i)
        caf::anon_send(actor, sender, i);
    });
  for (auto& thread : threads)
    thread.join();

  CHECK(watched.exit_reason() == caf::error{}); // it quit normally, after the last one
  CHECK(seen.exited);
  REQUIRE(seen.handled == senders * per_sender);
  for (auto& sequence : seen.per_sender) {
    REQUIRE(sequence.size() == per_sender);
    for (int i = 0; i < per_sender; ++i)
      REQUIRE(sequence[i] == i);
  }
}

TEST_CASE("a lean actor answers a request it does not serve with an error, and so does CAF once "
          "it is gone") {
  watched_counter watched{100, 1, 1'000};
  auto& seen = watched.seen;
  auto& actor = watched.actor;
  auto& self = watched.self;

  caf::error answered;
  self->request(actor, std::chrono::seconds(10), 0, 1)
    .receive([] { FAIL("a lean actor sends no response"); },
             [&answered](caf::error& error) { answered = std::move(error); });
  INFO(watched.system.render(answered));
  CHECK(answered == caf::sec::unexpected_message);
  CHECK(seen.handled == 1); // handled all the same

  caf::anon_send(actor, std::string{"stop"});
  CHECK(watched.exit_reason() == caf::sec::runtime_error);
  CHECK(seen.exited);

  self->request(actor, std::chrono::seconds(10), 0, 2)
    .receive([] { FAIL("a gone actor sends no response"); },
             [&answered](caf::error& error) { answered = std::move(error); });
  CHECK(answered == caf::sec::request_receiver_down); // as from any actor that is gone
  CHECK(seen.handled == 1);
}

TEST_CASE("an exit message with an error ends a lean actor, and a normal one does not") {
  watched_counter watched{100, 1, 1'000};
  auto& seen = watched.seen;
  auto& actor = watched.actor;
  auto& self = watched.self;

  self->send_exit(actor, caf::exit_reason::normal);
  caf::anon_send(actor, 0, 1);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
  CHECK(watched.exit_reason() == caf::exit_reason::user_shutdown);
  CHECK(seen.handled == 1); // the message between the two exits was handled
  CHECK(seen.exited);
}

namespace {

/// The threads that handled a message, and a way to wait until `count` of them did.
struct threads_seen {
  std::mutex mutex;
  std::condition_variable changed;
  std::set<std::thread::id> ids;

  /// Records this thread; true once `count` threads are in, waiting up to 10 s for them.
  bool arrive_and_wait(std::size_t count) {
    std::unique_lock lock{mutex};
    if (ids.insert(std::this_thread::get_id()).second)
      changed.notify_all();
    return changed.wait_for(lock, std::chrono::seconds{10}, [&] { return ids.size() >= count; });
  }
};

/// Records the rounds it gets; its first message waits until both workers handled one, so that
/// one worker cannot run every share before the other wakes.
class round_recorder final : public pulse::lean_actor {
 public:
  round_recorder(caf::actor_config& config, std::vector<int>& rounds, threads_seen& threads)
      : lean_actor(config), rounds_(rounds), threads_(threads) {}

 protected:
  void handle(caf::type_erased_tuple& content) override {
    if (!content.match_elements<int>())
      return;
    if (rounds_.empty() && !threads_.arrive_and_wait(2))
      return; // one worker ran everything: the test sees a round missing
    rounds_.push_back(content.get_as<int>(0));
  }

 private:
  std::vector<int>& rounds_;
  threads_seen& threads_;
};

} // namespace

TEST_CASE("the actors one burst woke run in shares on every worker, each message once, in order") {
  auto throughput = GENERATE(std::size_t{1}, std::size_t{1000}); // 1: each actor yields often
  constexpr int actors = 300;
  constexpr int rounds = 20;
  std::vector<std::vector<int>> seen(actors); // outlives the system and its actors
  threads_seen threads;
  caf::actor_system_config config;
  config.set("scheduler.max-threads", 2);
  config.set("scheduler.max-throughput", throughput);
  caf::actor_system system{config};
  std::vector<caf::actor> handles;
  for (auto& rounds_seen : seen)
    handles.push_back(
      system.spawn<round_recorder, caf::lazy_init>(std::ref(rounds_seen), std::ref(threads)));
  auto deliver = [&](int round, pulse::wake_list& woken) {
    for (auto& handle : handles)
      static_cast<pulse::lean_actor*>(caf::actor_cast<caf::abstract_actor*>(handle))
        ->enqueue(caf::make_mailbox_element(nullptr, caf::make_message_id(), {}, round), woken);
  };
  {
    pulse::wake_list woken; // two rounds before the actors run: each is woken once
    deliver(0, woken);
    deliver(1, woken);
    woken.schedule(nullptr);
  }
  for (int round = 2; round < rounds; ++round) { // while they run: some are still awake
    pulse::wake_list woken;
    deliver(round, woken);
    if (round % 2 == 0)
      woken.schedule(nullptr); // odd rounds: scheduled as the list goes
  }
  caf::scoped_actor self{system};
  for (auto& handle : handles) {
    self->send_exit(handle, caf::exit_reason::user_shutdown); // after every round in its mailbox
    self->wait_for(handle);
  }
  CHECK(threads.ids.size() == 2);
  for (auto& rounds_seen : seen) {
    REQUIRE(rounds_seen.size() == rounds);
    for (int round = 0; round < rounds; ++round)
      REQUIRE(rounds_seen[round] == round);
  }
}
