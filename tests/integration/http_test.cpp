#include "tests/support/test_server.hpp"
#include "tests/support/ws_test_client.hpp"

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
