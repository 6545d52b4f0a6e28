#include "tests/support/test_server.hpp"
#include "tests/support/ws_test_client.hpp"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace pulse;
using namespace pulse::test;

TEST_CASE("the server answers health checks") {
  test_server server;
  auto port = server.start();
  auto response = http_request(port, "GET", "/healthz");
  CHECK(response.status == 200);
  CHECK(response.headers["content-type"] == "application/json");
  CHECK(response.body == R"({"status":"ok"})");
}

TEST_CASE("the server serves static files and nothing outside them") {
  auto root = std::filesystem::temp_directory_path() / ("pulse-web-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "public");
  std::ofstream{root / "public" / "index.html"} << "<h1>home</h1>";
  std::ofstream{root / "public" / "app.js"} << "console.log(1)";
  std::ofstream{root / "private.txt"} << "secret";
  test_server server;
  server.srv.serve_files("/", root / "public");
  auto port = server.start();

  auto home = http_request(port, "GET", "/");
  CHECK(home.status == 200);
  CHECK(home.body == "<h1>home</h1>");
  CHECK(home.headers["content-type"] == "text/html; charset=utf-8");
  auto script = http_request(port, "GET", "/app.js");
  CHECK(script.headers["content-type"] == "text/javascript; charset=utf-8");
  auto head = http_request(port, "HEAD", "/app.js");
  CHECK(head.status == 200);
  CHECK(head.headers["content-length"] == "14");
  CHECK(http_request(port, "GET", "/missing.js").status == 404);
  CHECK(http_request(port, "GET", "/../private.txt").status == 404);
  CHECK(http_request(port, "GET", "/%2e%2e/private.txt").status == 404);
  CHECK(http_request(port, "POST", "/app.js").status == 405);
  SECTION("a directory without its slash is redirected to it, query and all") {
    std::filesystem::create_directories(root / "public" / "chat");
    std::ofstream{root / "public" / "chat" / "index.html"} << "chat";
    auto moved = http_request(port, "GET", "/chat?room=x");
    CHECK(moved.status == 301);
    CHECK(moved.headers["location"] == "/chat/?room=x");
    CHECK(http_request(port, "GET", "/chat/?room=x").body == "chat");
  }
  std::filesystem::remove_all(root);
}

TEST_CASE("the WebSocket endpoint refuses plain HTTP") {
  test_server server;
  auto port = server.start();
  auto response = http_request(port, "GET", "/socket/websocket");
  CHECK(response.status == 426);
}

TEST_CASE("garbage instead of HTTP gets a 400 and a closed connection") {
  test_server server;
  auto port = server.start();
  auto answer = raw_exchange(port, "HELLO THERE\r\n\r\n");
  CHECK(answer.starts_with("HTTP/1.1 400"));
  SECTION("and the server keeps serving") {
    CHECK(http_request(port, "GET", "/healthz").status == 200);
  }
}

namespace {

/// The value of a metric line "name value" (or name{labels} value) in Prometheus text.
double metric_value(const std::string& text, const std::string& line_start) {
  auto at = text.find("\n" + line_start + " ");
  if (at == std::string::npos)
    throw std::runtime_error("no metric " + line_start);
  return std::stod(text.substr(at + line_start.size() + 2));
}

} // namespace

TEST_CASE("the server's figures are in Prometheus' text format at /metrics") {
  test_server server;
  auto port = server.start();
  ws_test_client a{port}, b{port};
  REQUIRE(a.join("chat").is_ok());
  REQUIRE(b.join("chat").is_ok());
  a.push("chat", "message", boost::json::object{{"username", "a"}, {"text", "hi"}});
  CHECK(b.receive_event("new_message").payload.at("text") == "hi");
  CHECK(a.receive_event("new_message").payload.at("text") == "hi");
  CHECK_FALSE(a.request("nowhere", "x").is_ok()); // a rejected input
  auto response = http_request(port, "GET", "/metrics");
  CHECK(response.status == 200);
  CHECK_THAT(response.headers["content-type"], Catch::StartsWith("text/plain; version=0.0.4"));
  auto& text = response.body;
  CHECK(metric_value(text, "pulse_connections") == 2);
  CHECK(metric_value(text, "pulse_channels") >= 1);
  CHECK(metric_value(text, "pulse_joins_total") == 2);
  CHECK(metric_value(text, "pulse_broadcasts_total") == 1);
  CHECK(metric_value(text, "pulse_deliveries_total") == 2);
  CHECK(metric_value(text, "pulse_messages_in_total") >= 4);
  CHECK(metric_value(text, "pulse_messages_out_total") >= 4);
  CHECK(metric_value(text, "pulse_bytes_out_total") > 0);
  CHECK(metric_value(text, "pulse_rejected_inputs_total") == 1);
  CHECK(metric_value(text, "pulse_slow_consumer_disconnects_total") == 0);
  CHECK(metric_value(text, "pulse_broadcast_to_socket_seconds_count") >= 2);
  CHECK(metric_value(text, "pulse_broadcast_to_socket_seconds_bucket{le=\"+Inf\"}")
        == metric_value(text, "pulse_broadcast_to_socket_seconds_count"));
  CHECK_THAT(text, Catch::Contains("# TYPE pulse_broadcast_to_socket_seconds histogram"));
}

TEST_CASE("the server API broadcasts and lists channels and presence, behind its key") {
  server_options options;
  options.api_key = "s3cret-key";
  test_server server{options};
  server.srv.channel("lobby").on_subscribe([](context& ctx) {
    ctx.track(ctx.params().at("username").as_string(), {{"tab", 1}});
  });
  auto port = server.start();
  std::map<std::string, std::string> key{{"Authorization", "Bearer s3cret-key"}};
  auto post = [&](const std::string& body, std::map<std::string, std::string> headers) {
    headers["Content-Type"] = "application/json";
    return http_request(port, "POST", "/api/broadcast", headers, body);
  };

  ws_test_client alice{port}, bob{port};
  REQUIRE(alice.join("room:api").is_ok());
  REQUIRE(bob.join("lobby", boost::json::object{{"username", "bob"}}).is_ok());

  auto sent = post(R"({"channel":"room:api","event":"news","payload":{"n":1}})", key);
  CHECK(sent.status == 202);
  CHECK(alice.receive_event("news").payload == boost::json::value{{"n", 1}});

  auto listed = http_request(port, "GET", "/api/channels", key);
  CHECK(listed.status == 200);
  auto channels = boost::json::parse(listed.body).at("channels").as_array();
  std::map<std::string, std::int64_t> counts;
  for (auto& entry : channels)
    counts[entry.at("name").as_string().c_str()]
      = entry.at("subscribers").to_number<std::int64_t>();
  CHECK(counts["room:api"] == 1);
  CHECK(counts["lobby"] == 1);

  auto present = http_request(port, "GET", "/api/presence?channel=lobby", key);
  CHECK(present.status == 200);
  auto list = boost::json::parse(present.body);
  CHECK(list.at("channel") == "lobby");
  CHECK(list.at("presence").at("bob").at("metas").as_array().size() == 1);
  auto nobody = http_request(port, "GET", "/api/presence?channel=room:empty", key);
  CHECK(boost::json::parse(nobody.body).at("presence").as_object().empty());

  SECTION("without the key, or with another, nothing happens") {
    CHECK(post(R"({"channel":"room:api","event":"news"})", {}).status == 401);
    CHECK(post(R"({"channel":"room:api","event":"news"})", {{"Authorization", "Bearer s3cret-kez"}})
            .status
          == 401);
    CHECK(http_request(port, "GET", "/api/channels", {{"Authorization", "s3cret-key"}}).status
          == 401);
    CHECK(post(R"({"channel":"room:api","event":"news","payload":{"n":2}})", key).status == 202);
    CHECK(alice.receive_event("news").payload == boost::json::value{{"n", 2}}); // the first
  }
  SECTION("malformed requests get a 400 that says why, unknown channels a 404") {
    auto bad = post("{not json", key);
    CHECK(bad.status == 400);
    CHECK_THAT(bad.body, Catch::Contains("JSON object"));
    CHECK(post(R"({"event":"news"})", key).status == 400);
    CHECK(post(R"({"channel":"room:api","event":""})", key).status == 400);
    auto unknown = post(R"({"channel":"nowhere","event":"news"})", key);
    CHECK(unknown.status == 404);
    CHECK_THAT(unknown.body, Catch::Contains("nowhere"));
    CHECK(http_request(port, "GET", "/api/broadcast", key).status == 405);
    CHECK(http_request(port, "GET", "/api/presence", key).status == 400);
  }
}

TEST_CASE("without an API key the server API does not exist") {
  test_server server;
  auto port = server.start();
  CHECK(http_request(port, "GET", "/api/channels", {{"Authorization", "Bearer "}}).status == 404);
}
