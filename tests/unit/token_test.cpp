#include "actors/token.hpp"
#include "transport/base64.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

using namespace pulse;
using pulse::transport::base64_decode;
using pulse::transport::base64url_encode;
namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("base64 round-trips every byte, in both alphabets, with or without padding") {
  std::string all;
  for (int c = 0; c < 256; ++c)
    all.push_back(static_cast<char>(c));
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 255u, 256u}) {
    auto text = all.substr(0, n);
    auto encoded = base64url_encode(text);
    CHECK(encoded.find_first_of("+/=") == std::string::npos);
    CHECK(base64_decode(encoded) == text);
  }
  CHECK(base64_decode("dG9rZW4=") == "token"); // what a browser's btoa gives, padded
  CHECK(base64_decode("dG9rZW4") == "token");
  CHECK(base64_decode("+/+/") == base64_decode("-_-_"));
  CHECK_FALSE(base64_decode("not base64!"));
  CHECK_FALSE(base64_decode("A"));
}

TEST_CASE("a signed token gives its data back until it expires") {
  auto now = std::chrono::system_clock::now();
  auto token = token::sign("s3cret", json::object{{"user_id", 42}}, 60s, now);
  auto checked = token::verify("s3cret", token, now + 59s);
  REQUIRE(checked);
  CHECK(checked.data->at("user_id") == 42);
  SECTION("expired") {
    auto late = token::verify("s3cret", token, now + 61s);
    CHECK_FALSE(late);
    CHECK(late.error == "expired");
  }
  SECTION("another secret") {
    CHECK(token::verify("other", token, now).error == "invalid signature");
  }
  SECTION("tampered data") {
    auto dot = token.find('.');
    auto forged_payload = base64url_encode(
      json::serialize(json::object{{"data", {{"user_id", 1}}}, {"exp", 9999999999}}));
    CHECK(token::verify("s3cret", forged_payload + token.substr(dot), now).error
          == "invalid signature");
    auto flipped = token;
    flipped[dot + 3] = flipped[dot + 3] == 'A' ? 'B' : 'A';
    CHECK(token::verify("s3cret", flipped, now).error == "invalid signature");
  }
  SECTION("not a token at all") {
    CHECK(token::verify("s3cret", "", now).error == "malformed token");
    CHECK(token::verify("s3cret", "abc", now).error == "malformed token");
    CHECK(token::verify("s3cret", ".", now).error == "malformed token");
  }
}
