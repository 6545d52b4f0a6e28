#include "actors/token.hpp"

#include "transport/base64.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pulse::token {

namespace json = boost::json;

namespace {

std::string signature(std::string_view secret, std::string_view payload) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), digest, &length);
  return transport::base64url_encode({reinterpret_cast<const char*>(digest), length});
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

} // namespace

std::string sign(std::string_view secret, const json::value& data, std::chrono::seconds max_age,
                 std::chrono::system_clock::time_point now) {
  auto payload = transport::base64url_encode(
    json::serialize(json::object{{"data", data}, {"exp", unix_seconds(now + max_age)}}));
  return payload + "." + signature(secret, payload);
}

verified verify(std::string_view secret, std::string_view token,
                std::chrono::system_clock::time_point now) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == token.size())
    return {std::nullopt, "malformed token"};
  auto payload = token.substr(0, dot);
  auto given = token.substr(dot + 1);
  auto expected = signature(secret, payload);
  if (given.size() != expected.size()
      || CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0)
    return {std::nullopt, "invalid signature"};
  auto decoded = transport::base64_decode(payload);
  json::error_code ec;
  auto contents = decoded ? json::parse(*decoded, ec) : json::value{};
  auto* object = ec ? nullptr : contents.if_object();
  auto* expiry = object ? object->if_contains("exp") : nullptr;
  auto* data = object ? object->if_contains("data") : nullptr;
  if (!expiry || !expiry->is_int64() || !data)
    return {std::nullopt, "malformed token"};
  if (unix_seconds(now) >= expiry->get_int64())
    return {std::nullopt, "expired"};
  return {std::move(*data), {}};
}

} // namespace pulse::token
