// Errors a handler throws on purpose: the client gets them as an error reply, verbatim.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>
#include <string>

namespace pulse {

/// Thrown from a handler to answer the client's push with `{"status": "error", "response":
/// {"reason": what}}` (or with `response` when one is given). Any other exception becomes a
/// generic "internal error" reply and a log line: internals never leak to clients.
class reply_error : public std::runtime_error {
 public:
  explicit reply_error(const std::string& reason)
      : std::runtime_error(reason), response_(boost::json::object{{"reason", reason}}) {}
  reply_error(const std::string& reason, boost::json::value response)
      : std::runtime_error(reason), response_(std::move(response)) {}

  const boost::json::value& response() const noexcept { return response_; }

 private:
  boost::json::value response_;
};

} // namespace pulse
