// The threads the actors run on: their scheduling policy, as the server's options choose it.
#include <pulse/pulse.hpp>

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <catch2/catch.hpp>

#include <sched.h>

using namespace pulse;

TEST_CASE("actor threads run under SCHED_BATCH unless the options say otherwise") {
  for (bool batch : {true, false}) {
    server_options options;
    options.threads = 1;
    if (!batch)
      options.batch_scheduling = false; // the default asks for SCHED_BATCH
    server srv{options};
    // One argument: CAF 0.17 dereferences an empty argument tuple when a function actor has none.
    auto probe = srv.system().spawn(
      [](caf::event_based_actor*, int) -> caf::behavior {
        return {[](caf::get_atom) {
          return sched_getscheduler(0);
        }};
      },
      0);
    srv.adopt(probe);
    caf::scoped_actor self{srv.system()};
    int policy = -1;
    self->request(probe, std::chrono::seconds{10}, caf::get_atom::value)
      .receive([&](int answer) { policy = answer; }, [](const caf::error&) {});
    CHECK(policy == (batch ? SCHED_BATCH : SCHED_OTHER));
  }
}
