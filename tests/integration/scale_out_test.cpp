// Scale-out without a real Redis: what a node does when its Redis does not answer. (Three nodes
// behind a real redis-server: tests/scale/.)
#include "tests/support/test_server.hpp"
#include "tests/support/ws_test_client.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace pulse;
using namespace pulse::test;
using namespace std::chrono_literals;

namespace {

/// A TCP port on loopback that accepts connections (the kernel does) and never answers.
class silent_listener {
 public:
  silent_listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
  }
  ~silent_listener() { ::close(fd_); }

  std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

} // namespace

TEST_CASE("a silent Redis: joins wait 3 s, node-local ones not, broadcasts arrive after the hold") {
  silent_listener redis;
  server_options options;
  options.redis_url = "redis://127.0.0.1:" + std::to_string(redis.port());
  options.redis_hold = 1s;
  test_server server{options};
  server.srv.channel("here").node_local().on("say", [](context& ctx, const boost::json::value& p) {
    ctx.broadcast("said", p);
  });
  auto port = server.start();
  ws_test_client a{port}, b{port};

  auto started = std::chrono::steady_clock::now();
  REQUIRE(a.join("here").is_ok());
  REQUIRE(b.join("here").is_ok());
  CHECK(std::chrono::steady_clock::now() - started < 1s);
  a.push("here", "say", boost::json::object{{"n", 1}});
  CHECK(b.receive_event("said").payload == boost::json::value{{"n", 1}});

  started = std::chrono::steady_clock::now();
  CHECK(a.join("room:shared").is_ok()); // waits for the broker, then serves alone
  CHECK(std::chrono::steady_clock::now() - started >= 2s);
  REQUIRE(b.join("room:shared").is_ok());
  // Held for Redis, which never answers: once the hold is over, this node's subscribers get it.
  started = std::chrono::steady_clock::now();
  a.push("room:shared", "message", boost::json::object{{"text", "still here"}});
  CHECK(b.receive_event("new_message").payload.at("text") == "still here");
  CHECK(std::chrono::steady_clock::now() - started >= 900ms);
}

TEST_CASE("Redis settings that do not fit together are refused at once") {
  auto refused = [](auto change) {
    server_options options;
    change(options);
    CHECK_THROWS_AS(server{options}, std::invalid_argument);
  };
  refused([](server_options& o) {
    o.redis_url = "redis://127.0.0.1:6379";
    o.redis_cluster = "127.0.0.1:7000";
  });
  refused([](server_options& o) { o.redis_sentinels = "127.0.0.1:26379"; }); // no master name
  refused([](server_options& o) { o.redis_master = "mymaster"; });           // no sentinels
  refused([](server_options& o) { o.redis_cluster = "127.0.0.1"; });         // no port
  refused([](server_options& o) { o.redis_cluster = ","; });
}

TEST_CASE("a Redis address that is not redis://HOST:PORT is refused at once") {
  for (auto url : {"http://127.0.0.1:6379", "redis://", "redis://host:0", "redis://host:99999",
                   "redis://host:port"}) {
    server_options options;
    options.redis_url = url;
    CHECK_THROWS_AS(server{options}, std::invalid_argument);
  }
}
