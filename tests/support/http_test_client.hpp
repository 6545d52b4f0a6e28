// A blocking HTTP/1.1 client on one kept-alive connection, for tests that send several requests
// over the same connection (as a browser does) or must not wait forever: every request has a
// timeout.
#pragma once

#include "tests/support/ws_test_client.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace pulse::test {

class http_test_client {
 public:
  /// Connects to 127.0.0.1:`port`; throws on failure.
  explicit http_test_client(std::uint16_t port);
  ~http_test_client();

  /// One request and its response; throws after `timeout` or when the server closed first.
  http_result request(const std::string& method, const std::string& target,
                      std::map<std::string, std::string> headers = {}, std::string body = {},
                      std::chrono::milliseconds timeout = io_timeout);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace pulse::test
