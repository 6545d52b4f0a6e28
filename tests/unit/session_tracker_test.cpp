// session_tracker's admission: the limits on connections in all and per client address.
#include <pulse/transport/session_tracker.hpp>

#include <catch2/catch.hpp>

#include <string>

using pulse::transport::session_tracker;
using admission = session_tracker::admission;

TEST_CASE("admission keeps to the limits, and counts addresses only under a per-address limit") {
  session_tracker sessions;
  SECTION("no per-address limit: only the total counts, and no address is kept") {
    for (int i = 0; i < 3; ++i)
      CHECK(sessions.admit("10.0.0." + std::to_string(i), 3, 0) == admission::admitted);
    CHECK(sessions.admit("10.0.0.9", 3, 0) == admission::server_full);
    CHECK(sessions.tracked_addresses() == 0);
    sessions.release("10.0.0.1");
    CHECK(sessions.admit("10.0.0.9", 3, 0) == admission::admitted);
  }
  SECTION("a per-address limit: each address on its own, forgotten once it has no connection") {
    CHECK(sessions.admit("10.0.0.1", 100, 2) == admission::admitted);
    CHECK(sessions.admit("10.0.0.1", 100, 2) == admission::admitted);
    CHECK(sessions.admit("10.0.0.1", 100, 2) == admission::address_full);
    CHECK(sessions.admit("10.0.0.2", 100, 2) == admission::admitted);
    CHECK(sessions.tracked_addresses() == 2);
    sessions.release("10.0.0.1");
    CHECK(sessions.admit("10.0.0.1", 100, 2) == admission::admitted);
    sessions.release("10.0.0.1");
    sessions.release("10.0.0.1");
    sessions.release("10.0.0.2");
    CHECK(sessions.tracked_addresses() == 0);
  }
}
