// The long-poll transport (/socket/longpoll) over real HTTP: sessions, tokens, held GETs, POSTed
// messages, bounds and the graceful stop; first through the real actors, then against a handler
// the tests script, for what no channel does (binary frames, floods).
#include "tests/support/http_test_client.hpp"
#include "tests/support/test_server.hpp"
#include "tests/support/ws_test_client.hpp"
#include "transport/base64.hpp"
#include "transport/http_server.hpp"
#include "transport/longpoll_endpoint.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <future>
#include <mutex>
#include <stdexcept>
#include <vector>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view ndjson = "application/x-ndjson";

/// A long-poll answer, parsed: its `status`, `token` and `messages` (each parsed too).
struct poll_answer {
  http_result http;
  json::object body;
  std::int64_t status() const { return body.at("status").as_int64(); }
  std::string token() const { return std::string{body.at("token").as_string()}; }
  std::vector<json::value> messages() const {
    std::vector<json::value> out;
    for (auto& message : body.at("messages").as_array())
      out.push_back(json::parse(message.as_string()));
    return out;
  }
};

poll_answer get(std::uint16_t port, const std::string& query,
                std::map<std::string, std::string> headers = {}) {
  http_test_client client{port};
  poll_answer answer{client.request("GET", "/socket/longpoll?" + query, std::move(headers)), {}};
  // The client reads the status from the body only. (No assertion here: tests call this from a
  // second thread too, and Catch2's assertions are for one thread.)
  if (answer.http.status != 200)
    throw std::runtime_error("a long-poll GET answered HTTP " + std::to_string(answer.http.status));
  answer.body = json::parse(answer.http.body).as_object();
  return answer;
}

json::object post(std::uint16_t port, const std::string& query, std::string body,
                  std::string_view content_type = ndjson) {
  http_test_client client{port};
  auto result = client.request("POST", "/socket/longpoll?" + query,
                               {{"Content-Type", std::string{content_type}}}, std::move(body));
  REQUIRE(result.status == 200);
  return json::parse(result.body).as_object();
}

/// Opens a session as the official client does and returns its token.
std::string open_session(std::uint16_t port, const std::string& query = "vsn=2.0.0&") {
  auto answer = get(port, query);
  REQUIRE(answer.status() == 410);
  REQUIRE(answer.messages().empty());
  return answer.token();
}

/// Polls until `count` messages arrived (a bounded number of GETs).
std::vector<json::value> poll_messages(std::uint16_t port, const std::string& token,
                                       std::size_t count) {
  std::vector<json::value> all;
  for (int polls = 0; polls < 20 && all.size() < count; ++polls) {
    auto answer = get(port, "vsn=2.0.0&token=" + token);
    REQUIRE((answer.status() == 200 || answer.status() == 204));
    for (auto& message : answer.messages())
      all.push_back(std::move(message));
  }
  return all;
}

server_options with_limits(const std::function<void(transport::limits&)>& edit) {
  server_options options;
  edit(options.limits);
  return options;
}

} // namespace

TEST_CASE("a long-poll client opens a session with 410 and gets its join reply from a held GET") {
  test_server server{with_limits([](auto& limits) { limits.longpoll_window = 5s; })};
  auto port = server.start();
  auto first = get(port, "vsn=2.0.0&");
  CHECK(first.status() == 410);
  CHECK(first.http.headers["content-type"] == "application/json; charset=utf-8");
  CHECK(first.http.headers["access-control-allow-origin"] == "*");
  auto token = first.token();
  CHECK(token.size() >= 22); // 128 bits or more
  CHECK(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        == std::string::npos);
  CHECK(server.srv.connection_count() == 1);
  CHECK(server.srv.stats().longpoll_sessions == 1);

  auto started = std::chrono::steady_clock::now();
  auto held = std::async(std::launch::async, [&] { return get(port, "vsn=2.0.0&token=" + token); });
  auto posted = post(port, "vsn=2.0.0&token=" + token, R"(["1","1","echo","phx_join",{}])");
  CHECK(posted == json::object{{"status", 200}});
  auto answer = held.get();
  CHECK(std::chrono::steady_clock::now() - started < 4s); // the reply, not the window, ended it
  CHECK(answer.status() == 200);
  CHECK(answer.token() == token);
  auto messages = answer.messages();
  REQUIRE(messages.size() == 1);
  CHECK(messages[0]
        == json::parse(R"(["1","1","echo","phx_reply",{"status":"ok","response":{}}])"));

  SECTION("a broadcast reaches a held GET") {
    auto waiting = std::async(std::launch::async,
                              [&] { return get(port, "vsn=2.0.0&token=" + token); });
    server.srv.topic("echo").broadcast("news", json::object{{"n", 1}});
    auto news = waiting.get();
    REQUIRE(news.status() == 200);
    REQUIRE(news.messages().size() == 1);
    CHECK(news.messages()[0] == json::parse(R"([null,null,"echo","news",{"n":1}])"));
  }
}

TEST_CASE("messages POSTed as ndjson reach the channel in order, and so do their replies") {
  test_server server;
  auto port = server.start();
  auto token = open_session(port);
  auto query = "vsn=2.0.0&token=" + token;
  auto lines = R"(["1","1","echo","phx_join",{}])"
               "\r\n"
               R"(["1","2","echo","ping",{"n":1}])"
               "\n"
               R"(["1","3","echo","ping",{"n":2}])";
  CHECK(post(port, query, lines) == json::object{{"status", 200}});
  auto messages = poll_messages(port, token, 3);
  REQUIRE(messages.size() == 3);
  CHECK(messages[1]
        == json::parse(R"(["1","2","echo","phx_reply",{"status":"ok","response":{"n":1}}])"));
  CHECK(messages[2]
        == json::parse(R"(["1","3","echo","phx_reply",{"status":"ok","response":{"n":2}}])"));

  SECTION("without the ndjson content type the whole body is one message") {
    CHECK(post(port, query, R"(["1","4","echo","ping",{"text":"a"}])", "application/json")
          == json::object{{"status", 200}});
    auto reply = poll_messages(port, token, 1);
    REQUIRE(reply.size() == 1);
    CHECK(reply[0].as_array()[1] == "4");
  }
  SECTION("a V1 client (vsn=1.0.0, or none) speaks V1 objects") {
    for (auto version : {"vsn=1.0.0", "user=ada"}) {
      auto v1 = open_session(port, std::string{version} + "&");
      CHECK(post(port, std::string{version} + "&token=" + v1,
                 R"({"topic":"echo","event":"phx_join","payload":{},"ref":"1"})")
            == json::object{{"status", 200}});
      auto reply = poll_messages(port, v1, 1);
      REQUIRE(reply.size() == 1);
      CHECK(reply[0].as_object().at("event") == "phx_reply");
      CHECK(reply[0].as_object().at("ref") == "1");
    }
  }
}

TEST_CASE(
  "a binary push POSTed in base64 reaches its channel, and binary frames back are dropped") {
  test_server server;
  auto port = server.start();
  auto token = open_session(port);
  auto query = "vsn=2.0.0&token=" + token;
  REQUIRE(post(port, query, R"(["1","1","room:1","phx_join",{}])")
          == json::object{{"status", 200}});
  REQUIRE(poll_messages(port, token, 2).size() == 2); // the join's reply and the channel's hello
  // A V2 push frame (kind 0): sizes of join_ref, ref, topic and event, then each, then bytes.
  auto push = [](std::string ref, std::string event) {
    std::string frame{'\0', '\1', static_cast<char>(ref.size()), '\6',
                      static_cast<char>(event.size())};
    return transport::base64url_encode(frame + "1" + ref + "room:1" + event + "\x01\x02");
  };
  // "kind" answers in JSON whether it got bytes; "blob" broadcasts them and answers in bytes.
  CHECK(
    post(port, query,
         push("2", "kind") + "\n" + push("3", "blob") + "\n" + R"(["1","4","room:1","count",{}])")
    == json::object{{"status", 200}});
  auto messages = poll_messages(port, token, 2);
  REQUIRE(messages.size() == 2);
  CHECK(
    messages[0]
    == json::parse(R"(["1","2","room:1","phx_reply",{"status":"ok","response":{"binary":true}}])"));
  CHECK(messages[1].as_array()[1] == "4"); // after the two binary frames, which were dropped
  CHECK(server.srv.stats().longpoll_sessions == 1);
  auto metrics = http_request(port, "GET", "/metrics").body;
  CHECK(metrics.find("\npulse_longpoll_binary_dropped_total 2\n") != std::string::npos);
}

TEST_CASE("a GET with nothing to deliver is answered 204 once the poll window passed") {
  test_server server{with_limits([](auto& limits) { limits.longpoll_window = 300ms; })};
  auto port = server.start();
  auto token = open_session(port);
  auto started = std::chrono::steady_clock::now();
  auto answer = get(port, "vsn=2.0.0&token=" + token);
  CHECK(std::chrono::steady_clock::now() - started >= 300ms);
  CHECK(answer.status() == 204);
  CHECK(answer.token() == token);
  CHECK(answer.messages().empty());
  CHECK(server.srv.connection_count() == 1); // polling keeps the session
}

TEST_CASE("a token that names no session gets a new session on GET and 410 on POST") {
  test_server server;
  auto port = server.start();
  auto answer = get(port, "vsn=2.0.0&token=nosuchsession");
  CHECK(answer.status() == 410);
  CHECK(answer.token() != "nosuchsession");
  CHECK(post(port, "vsn=2.0.0&token=nosuchsession", R"(["1","1","echo","phx_join",{}])")
        == json::object{{"status", 410}});
  CHECK(post(port, "vsn=2.0.0", "[]") == json::object{{"status", 410}});
}

TEST_CASE("a long-poll connect is refused with 403 as a WebSocket upgrade would be") {
  server_options options;
  options.allowed_origins = {"https://good.example"};
  test_server server{options};
  auto port = server.start();
  SECTION("a version the server does not speak") {
    auto answer = get(port, "vsn=3.0.0&");
    CHECK(answer.status() == 403);
    CHECK(!answer.body.contains("token"));
  }
  SECTION("an origin that is not allowed") {
    CHECK(get(port, "vsn=2.0.0&", {{"Origin", "https://evil.example"}}).status() == 403);
    CHECK(get(port, "vsn=2.0.0&", {{"Origin", "https://good.example"}}).status() == 410);
  }
  CHECK(server.srv.connection_count() <= 1);
}

TEST_CASE("the session token is the last token param, and only the user's reaches the "
          "authenticator") {
  test_server server;
  std::mutex mutex;
  std::vector<std::string> seen; // the tokens the authenticator was shown
  server.srv.authenticate([&](const connect_info& client) {
    std::lock_guard guard{mutex};
    seen.push_back(client.token);
    return client.token == "user-secret" ? connect_result::accept(json::object{{"user", "ada"}})
                                         : connect_result::reject("bad token");
  });
  auto port = server.start();
  auto token = open_session(port, "token=user-secret&vsn=2.0.0&");
  // Every later request carries the user's token first and the session's last.
  auto query = "token=user-secret&vsn=2.0.0&token=" + token;
  CHECK(post(port, query, R"(["1","1","room:1","phx_join",{}])") == json::object{{"status", 200}});
  auto reply = poll_messages(port, token, 1);
  REQUIRE(!reply.empty());
  CHECK(reply[0].as_array()[4].at("status") == "ok");
  SECTION("a session that ended is replaced with the user's token, not the old session's") {
    auto fresh = get(port, "token=user-secret&vsn=2.0.0&token=ended-session");
    CHECK(fresh.status() == 410);
  }
  SECTION("the official client's authToken comes as X-Phoenix-AuthToken") {
    CHECK(get(port, "vsn=2.0.0&", {{"X-Phoenix-AuthToken", "user-secret"}}).status() == 410);
    CHECK(get(port, "vsn=2.0.0&", {{"X-Phoenix-AuthToken", "forged"}}).status() == 403);
  }
  std::lock_guard guard{mutex};
  for (auto& shown : seen)
    CHECK((shown == "user-secret" || shown == "forged"));
}

TEST_CASE("the session token is told from the user's token by its place in the query") {
  auto index = [](std::vector<std::pair<std::string, std::string>> query) {
    transport::http_request request;
    request.query = std::move(query);
    return transport::longpoll_endpoint::session_token_index(request);
  };
  // The official client: the user's params, vsn, then the session token (none at first).
  CHECK(index({{"token", "user"}, {"vsn", "2.0.0"}}) == std::nullopt);
  CHECK(index({{"token", "user"}, {"vsn", "2.0.0"}, {"token", "session"}}) == 2u);
  CHECK(index({{"vsn", "2.0.0"}, {"token", "session"}}) == 1u);
  CHECK(index({{"vsn", "2.0.0"}}) == std::nullopt);
  // Without vsn, only a second token can be the session's.
  CHECK(index({{"token", "user"}}) == std::nullopt);
  CHECK(index({{"token", "user"}, {"token", "session"}}) == 1u);
}

TEST_CASE("long-poll sessions count as connections, within the connection limits") {
  test_server server{with_limits([](auto& limits) { limits.max_connections = 1; })};
  auto port = server.start();
  open_session(port);
  auto refused = get(port, "vsn=2.0.0&");
  CHECK(refused.status() == 500); // the client retries with backoff
  CHECK(server.srv.connection_count() == 1);
  auto metrics = http_request(port, "GET", "/metrics").body;
  CHECK(metrics.find("\npulse_longpoll_sessions 1\n") != std::string::npos);
  CHECK(metrics.find("\npulse_connections 1\n") != std::string::npos);
}

TEST_CASE("a session that no GET asks for ends after the idle timeout") {
  test_server server{with_limits([](auto& limits) { limits.longpoll_idle_timeout = 200ms; })};
  auto port = server.start();
  auto token = open_session(port);
  REQUIRE(post(port, "vsn=2.0.0&token=" + token, R"(["1","1","echo","phx_join",{}])")
          == json::object{{"status", 200}});
  REQUIRE(testing::eventually([&] { return server.srv.connection_count() == 0; }, 3s));
  CHECK(server.srv.stats().longpoll_sessions == 0);
  auto again = get(port, "vsn=2.0.0&token=" + token);
  CHECK(again.status() == 410);
  CHECK(again.token() != token);
}

TEST_CASE("a server that stops answers the held GET and ends every long-poll session") {
  test_server server;
  auto port = server.start();
  auto token = open_session(port);
  REQUIRE(post(port, "vsn=2.0.0&token=" + token, R"(["1","1","echo","phx_join",{}])")
          == json::object{{"status", 200}});
  REQUIRE(poll_messages(port, token, 1).size() == 1);
  auto held = std::async(std::launch::async, [&] { return get(port, "vsn=2.0.0&token=" + token); });
  auto metric = [&](const std::string& line) {
    return http_request(port, "GET", "/metrics").body.find("\n" + line + "\n") != std::string::npos;
  };
  REQUIRE(testing::eventually([&] { return metric("pulse_longpoll_held_requests 1"); }, 3s));
  auto started = std::chrono::steady_clock::now();
  server.srv.stop();
  CHECK(std::chrono::steady_clock::now() - started < 4s); // well within the drain timeout
  CHECK(held.get().status() == 410); // the session is gone: the client starts over
  CHECK(server.srv.connection_count() == 0);
}

TEST_CASE("the long-poll endpoint answers CORS preflights, refuses other methods, and answers "
          "oversized POSTs in JSON") {
  test_server server{with_limits([](auto& limits) { limits.max_http_body_bytes = 1000; })};
  auto port = server.start();
  http_test_client client{port};
  auto preflight = client.request("OPTIONS", "/socket/longpoll?vsn=2.0.0",
                                  {{"Access-Control-Request-Headers", "content-type"},
                                   {"Access-Control-Request-Method", "POST"}});
  CHECK(preflight.status == 200);
  CHECK(preflight.body.empty());
  CHECK(preflight.headers["access-control-allow-origin"] == "*");
  CHECK(preflight.headers["access-control-allow-headers"] == "content-type");
  CHECK(preflight.headers["access-control-allow-methods"] == "get, post, options");
  CHECK(preflight.headers["access-control-max-age"] == "3600");
  CHECK(client.request("PUT", "/socket/longpoll?vsn=2.0.0").status == 400);
  CHECK(client.request("DELETE", "/socket/longpoll?vsn=2.0.0").status == 400);
  auto token = open_session(port);
  CHECK(post(port, "vsn=2.0.0&token=" + token, std::string(2000, 'x'))
        == json::object{{"status", 413}, {"reason", "request body too large"}});
}

// ---- against a scripted handler ----------------------------------------------------------------

namespace {

/// A connection handler the tests script with JSON commands (a long-poll line that is not JSON
/// is base64): ["send",X] sends X back, ["binary",X] sends X as a binary frame, ["flood",N] sends
/// N messages, ["close"] closes; everything is recorded. On shutdown it says "bye" and closes.
class scripted_handler final : public transport::connection_handler {
 public:
  explicit scripted_handler(std::shared_ptr<transport::websocket_connection> socket)
      : socket_(std::move(socket)) {}

  void on_text(std::string&& message) override {
    auto socket = connection();
    record([&] { texts.push_back(message); });
    auto command = json::parse(message).as_array();
    auto& verb = command.at(0).as_string();
    if (!socket)
      return;
    if (verb == "send")
      socket->send(transport::outbound_frame::text(command.at(1).as_string()));
    else if (verb == "binary")
      socket->send(transport::outbound_frame::binary(command.at(1).as_string()));
    else if (verb == "flood")
      for (std::int64_t i = 0; i < command.at(1).as_int64(); ++i)
        socket->send(transport::outbound_frame::text(std::to_string(i)));
    else if (verb == "close")
      socket->close(1000, "done");
  }

  void on_binary(std::string&& message) override {
    record([&] { binaries.push_back(message); });
  }

  void on_closed() override {
    record([&] {
      ++closed;
      socket_ = nullptr; // the session must not outlive the server through its handler
    });
  }

  void on_shutdown() override {
    if (auto socket = connection()) {
      socket->send(transport::outbound_frame::text("bye"));
      socket->close(1001, "going away");
    }
  }

  std::shared_ptr<transport::websocket_connection> connection() {
    std::lock_guard guard{mutex};
    return socket_;
  }

  template<class Fn>
  void record(Fn fn) {
    std::lock_guard guard{mutex};
    fn();
  }

  std::mutex mutex;
  std::vector<std::string> texts;
  std::vector<std::string> binaries;
  int closed = 0;

 private:
  std::shared_ptr<transport::websocket_connection> socket_;
};

/// A transport server alone (no actors) whose connections go to scripted handlers.
struct scripted_server {
  std::mutex mutex;
  std::vector<std::shared_ptr<scripted_handler>> handlers; // outlives the server
  transport::http_server http;
  std::uint16_t port;

  explicit scripted_server(const transport::limits& limits = {}) : http(limits) {
    http.on_upgrade([this](const transport::http_request&) {
      return transport::upgrade_decision::accept(
        [this](std::shared_ptr<transport::websocket_connection> socket) {
          auto handler = std::make_shared<scripted_handler>(std::move(socket));
          std::lock_guard guard{mutex};
          handlers.push_back(handler);
          return handler;
        });
    });
    port = http.start("127.0.0.1", 0, 2);
  }

  scripted_handler& handler(std::size_t i = 0) {
    std::lock_guard guard{mutex};
    return *handlers.at(i);
  }

  int closed(std::size_t i = 0) {
    auto& h = handler(i);
    std::lock_guard guard{h.mutex};
    return h.closed;
  }
};

std::vector<std::string> message_texts(const poll_answer& answer) {
  std::vector<std::string> out;
  for (auto& message : answer.body.at("messages").as_array())
    out.emplace_back(message.as_string());
  return out;
}

} // namespace

TEST_CASE("binary frames do not reach a long-poll client, and a base64 line arrives as binary") {
  scripted_server server;
  auto token = open_session(server.port);
  auto query = "vsn=2.0.0&token=" + token;
  // What the official client POSTs for a binary push (btoa of a V2 push frame).
  auto pushed = "AAEBBQM2OWJlbmNoYmluAQID+g==";
  std::string frame{"\x00\x01\x01\x05\x03"
                    "69bench"
                    "bin\x01\x02\x03\xfa",
                    19};
  CHECK(post(server.port, query,
             std::string{R"(["binary","\u0001\u0002"])"} + "\n" + R"(["binary","again"])" + "\n"
               + R"(["send","after"])" + "\n" + pushed)
        == json::object{{"status", 200}});
  auto answer = get(server.port, query);
  CHECK(message_texts(answer) == std::vector<std::string>{"after"});
  CHECK(server.http.traffic().binary_dropped == 2);
  auto& handler = server.handler();
  std::lock_guard guard{handler.mutex};
  CHECK(handler.binaries == std::vector<std::string>{frame});
  CHECK(handler.texts.size() == 3);
}

TEST_CASE("a long-poll session is bounded: past its buffer or its message size it is closed, and "
          "its client starts over") {
  transport::limits limits;
  limits.max_longpoll_messages = 5;
  limits.max_queued_bytes = 100;
  limits.max_message_bytes = 128;
  scripted_server server{limits};
  auto token = open_session(server.port);
  auto query = "vsn=2.0.0&token=" + token;
  auto send = [](std::size_t bytes) {
    return R"(["send",")" + std::string(bytes, 'a') + R"("])";
  };
  SECTION("more messages than the bound") {
    CHECK(post(server.port, query, R"(["flood",6])") == json::object{{"status", 200}});
    CHECK(server.http.traffic().slow_consumers == 1);
  }
  SECTION("more bytes than the bound") {
    CHECK(post(server.port, query, send(60) + "\n" + send(50)) == json::object{{"status", 200}});
    CHECK(server.http.traffic().slow_consumers == 1);
  }
  SECTION("a message larger than max_message_bytes") {
    CHECK(post(server.port, query, send(200)) == json::object{{"status", 413}});
  }
  SECTION("a line that is neither JSON nor base64") {
    CHECK(post(server.port, query, "not base64!") == json::object{{"status", 400}});
  }
  REQUIRE(testing::eventually([&] { return server.closed() == 1; }, 3s));
  auto again = get(server.port, query);
  CHECK(again.status() == 410);
  CHECK(again.token() != token);
  CHECK(post(server.port, query, send(1)) == json::object{{"status", 410}});
  CHECK(server.closed() == 1); // once
}

TEST_CASE("within its buffer bound a session keeps everything for the next GET, in order") {
  transport::limits limits;
  limits.max_longpoll_messages = 5;
  scripted_server server{limits};
  auto token = open_session(server.port);
  auto query = "vsn=2.0.0&token=" + token;
  CHECK(post(server.port, query, R"(["flood",5])") == json::object{{"status", 200}});
  CHECK(message_texts(get(server.port, query))
        == std::vector<std::string>{"0", "1", "2", "3", "4"});
  CHECK(post(server.port, query, R"(["flood",5])") == json::object{{"status", 200}});
  CHECK(get(server.port, query).status() == 200); // the bound is between two GETs
  CHECK(server.closed() == 0);
}

TEST_CASE("a stopping server still hands a session's last messages to a GET that comes in time") {
  scripted_server server;
  http_test_client client{server.port}; // kept alive, as a browser's
  auto opened = client.request("GET", "/socket/longpoll?vsn=2.0.0&");
  auto token = std::string{json::parse(opened.body).at("token").as_string()};
  auto stopped = std::async(std::launch::async, [&] { server.http.stop(5s); });
  auto last = client.request("GET", "/socket/longpoll?vsn=2.0.0&token=" + token);
  auto body = json::parse(last.body).as_object();
  CHECK(body.at("status") == 200);
  CHECK(body.at("messages") == json::array{"bye"});
  CHECK(last.headers["connection"] == "close");
  stopped.get();
  CHECK(server.http.connection_count() == 0);
  CHECK(server.closed() == 1);
}
