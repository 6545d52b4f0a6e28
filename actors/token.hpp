// Signed tokens out of the box, for apps without an auth system of their own: data with an
// expiry, signed with HMAC-SHA256. Not encrypted: anyone can read the data, nobody can change it.
//
//   auto token = pulse::token::sign(secret, {{"user_id", 42}}, std::chrono::hours{24});
//   auto checked = pulse::token::verify(secret, token);   // checked.data, or checked.error
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pulse::token {

/// `data` and an expiry `max_age` from now, signed with `secret`: "<any_payload>.<signature>", both
/// base64url. `now` is for tests.
std::string sign(std::string_view secret, const boost::json::value& data,
                 std::chrono::seconds max_age,
                 std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

struct verified {
  std::optional<boost::json::value> data; ///< the signed data, when the token is good
  std::string error; ///< otherwise: "malformed token", "invalid signature", "expired"

  explicit operator bool() const noexcept { return data.has_value(); }
};

/// Checks `token`'s signature (in constant time) and expiry.
verified verify(std::string_view secret, std::string_view token,
                std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

} // namespace pulse::token
