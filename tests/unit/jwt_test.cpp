#include "tests/support/jwt_tokens.hpp"
#include <pulse/jwt.hpp>
#include <pulse/transport/base64.hpp>

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

using namespace pulse;
using namespace pulse::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// Generated once per test program: RSA key generation is the slow part.
struct test_keys {
  key_pair rsa = make_rsa_key();
  key_pair other_rsa = make_rsa_key();
  key_pair ec = make_ec_key();
  key_pair other_ec = make_ec_key();
  key_pair ed25519 = make_ed25519_key();
  key_pair other_ed25519 = make_ed25519_key();
};

const test_keys& keys() {
  static const test_keys made;
  return made;
}

constexpr std::string_view issuer = "https://auth.example";
constexpr std::string_view secret = "a secret of thirty-two bytes....";

json::object claims(json::object more = {}) {
  json::object base{{"sub", "ada"},         {"iss", issuer},
                    {"aud", "pulse"},       {"iat", unix_time()},
                    {"exp", unix_time(1h)}, {"roles", json::array{"admin", "reader"}}};
  for (auto& [key, value] : more)
    base[key] = value;
  return base;
}

jwt_options checked(jwt_options options) {
  options.issuer = issuer;
  options.audience = "pulse";
  return options;
}

jwt_options with_key(std::string key) {
  jwt_options options;
  options.key = std::move(key);
  return checked(std::move(options));
}

std::string error_of(const jwt_verifier& verifier, const std::string& token) {
  auto result = verifier.verify(token);
  return result ? std::string{"accepted"} : result.error;
}

} // namespace

TEST_CASE("a JWT signed with the configured key is accepted and its claims come back") {
  temp_dir dir{"jwt-keys"};
  SECTION("HS256, the secret from a file (its trailing line break is not part of it)") {
    jwt_options options;
    options.key_file = dir.write("secret", std::string{secret} + "\n");
    jwt_verifier verifier{checked(options)};
    auto result = verifier.verify(sign_jwt(claims(), "HS256", secret));
    REQUIRE(result);
    CHECK(result.claims->at("sub") == "ada");
    CHECK(result.claims->at("roles").at(1) == "reader");
    CHECK(error_of(verifier, sign_jwt(claims(), "HS256", "another secret")) == "invalid signature");
  }
  SECTION("RS256, an RSA public key in PEM") {
    jwt_options options;
    options.key_file = dir.write("rsa.pem", keys().rsa.public_pem);
    jwt_verifier verifier{checked(options)};
    auto result = verifier.verify(sign_jwt(claims(), "RS256", keys().rsa.private_pem));
    REQUIRE(result);
    CHECK(result.claims->at("iss").as_string() == issuer);
  }
  SECTION("ES256, an EC P-256 public key in PEM") {
    jwt_options options;
    options.key_file = dir.write("ec.pem", keys().ec.public_pem);
    jwt_verifier verifier{checked(options)};
    CHECK(verifier.verify(sign_jwt(claims(), "ES256", keys().ec.private_pem)));
  }
  SECTION("RS384 to PS512 with the same RSA key (RSASSA-PSS signed by OpenSSL)") {
    jwt_verifier verifier{with_key(keys().rsa.public_pem)};
    for (std::string alg : {"RS384", "RS512", "PS256", "PS384", "PS512"}) {
      INFO(alg);
      CHECK(verifier.verify(sign_jws({{"alg", alg}}, claims(), keys().rsa.private_pem)));
      CHECK(error_of(verifier, sign_jws({{"alg", alg}}, claims(), keys().other_rsa.private_pem))
            == "invalid signature");
    }
  }
  SECTION("EdDSA (RFC 8037) with an Ed25519 key, in PEM or as an OKP JWK") {
    auto& k = keys();
    jwt_verifier pem{with_key(k.ed25519.public_pem)};
    auto token = sign_jws({{"alg", "EdDSA"}}, claims(), k.ed25519.private_pem);
    CHECK(error_of(pem, token) == "accepted");
    CHECK(error_of(pem, sign_jws({{"alg", "EdDSA"}}, claims(), k.other_ed25519.private_pem))
          == "invalid signature");
    CHECK(error_of(pem, sign_jwt(claims(), "RS256", k.rsa.private_pem))
          == "algorithm RS256 does not match the key");
    CHECK(error_of(jwt_verifier{with_key(k.rsa.public_pem)}, token)
          == "algorithm EdDSA does not match the key");
    jwt_options options;
    options.jwks = jwks_of({{"ed", &k.ed25519}, {"rsa", &k.rsa}});
    jwt_verifier jwks{checked(options)};
    CHECK(
      error_of(jwks, sign_jws({{"alg", "EdDSA"}, {"kid", "ed"}}, claims(), k.ed25519.private_pem))
      == "accepted");
    CHECK(
      error_of(jwks, sign_jws({{"alg", "EdDSA"}, {"kid", "rsa"}}, claims(), k.ed25519.private_pem))
      == "algorithm EdDSA does not match the key");
  }
  SECTION("an access token typed at+jwt (RFC 9068), a header of other fields") {
    jwt_verifier verifier{with_key(keys().rsa.public_pem)};
    CHECK(verifier.verify(sign_jws({{"alg", "RS256"}, {"typ", "at+jwt"}, {"x5t", "abc"}}, claims(),
                                   keys().rsa.private_pem)));
  }
  SECTION("aud may be an array that names the audience") {
    jwt_verifier verifier{with_key(keys().ec.public_pem)};
    auto token = sign_jwt(claims({{"aud", json::array{"other", "pulse"}}}), "ES256",
                          keys().ec.private_pem);
    CHECK(verifier.verify(token));
  }
  SECTION("without an issuer or an audience configured, any will do") {
    jwt_options options;
    options.key = keys().rsa.public_pem;
    jwt_verifier verifier{options};
    CHECK(verifier.verify(sign_jwt(claims({{"iss", "elsewhere"}, {"aud", "others"}}), "RS256",
                                   keys().rsa.private_pem)));
  }
}

TEST_CASE("a refused JWT says why") {
  jwt_verifier rsa{with_key(keys().rsa.public_pem)};
  jwt_verifier ec{with_key(keys().ec.public_pem)};
  jwt_verifier hmac{with_key(std::string{secret})};
  auto rs256 = [](json::object c) {
    return sign_jwt(c, "RS256", keys().rsa.private_pem);
  };

  SECTION("expired, beyond the leeway") {
    CHECK(error_of(rsa, rs256(claims({{"exp", unix_time(-40s)}}))) == "token expired");
    CHECK(error_of(rsa, rs256(claims({{"exp", unix_time(-10s)}}))) == "accepted"); // 30 s leeway
    auto strict = with_key(keys().rsa.public_pem);
    strict.leeway = 0s;
    CHECK(error_of(jwt_verifier{strict}, rs256(claims({{"exp", unix_time(-10s)}})))
          == "token expired");
  }
  SECTION("not yet valid, beyond the leeway") {
    CHECK(error_of(rsa, rs256(claims({{"nbf", unix_time(1h)}}))) == "token not yet valid");
    CHECK(error_of(rsa, rs256(claims({{"nbf", unix_time(10s)}}))) == "accepted");
  }
  SECTION("no expiry, unless the options allow it") {
    auto eternal = claims();
    eternal.erase("exp");
    CHECK(error_of(rsa, rs256(eternal)) == "token has no expiry");
    auto lenient = with_key(keys().rsa.public_pem);
    lenient.require_expiry = false;
    CHECK(error_of(jwt_verifier{lenient}, rs256(eternal)) == "accepted");
    CHECK(error_of(rsa, rs256(claims({{"exp", "tomorrow"}})))
          == "malformed token (exp and nbf must be numbers)");
  }
  SECTION("wrong issuer, or none") {
    CHECK(error_of(rsa, rs256(claims({{"iss", "https://evil.example"}}))) == "wrong issuer");
    auto anonymous = claims();
    anonymous.erase("iss");
    CHECK(error_of(rsa, rs256(anonymous)) == "wrong issuer");
  }
  SECTION("wrong audience, as a string or an array") {
    CHECK(error_of(rsa, rs256(claims({{"aud", "billing"}}))) == "wrong audience");
    CHECK(error_of(rsa, rs256(claims({{"aud", json::array{"billing", "mail"}}})))
          == "wrong audience");
    auto nobody = claims();
    nobody.erase("aud");
    CHECK(error_of(rsa, rs256(nobody)) == "wrong audience");
  }
  SECTION("signed with another key of the same type") {
    CHECK(error_of(rsa, sign_jwt(claims(), "RS256", keys().other_rsa.private_pem))
          == "invalid signature");
    CHECK(error_of(ec, sign_jwt(claims(), "ES256", keys().other_ec.private_pem))
          == "invalid signature");
  }
  SECTION("alg none, in any spelling") {
    CHECK(error_of(rsa, unsigned_jwt(claims())) == "unsigned token (alg none)");
    CHECK(error_of(hmac, unsigned_jwt(claims())) == "unsigned token (alg none)");
    auto shouting = transport::base64url_encode(R"({"alg":"NONE"})") + "."
                    + transport::base64url_encode(json::serialize(claims())) + ".";
    CHECK(error_of(rsa, shouting) == "unsigned token (alg none)");
  }
  SECTION("HS256 signed with the public key as its secret (the HS/RS confusion)") {
    auto forged = sign_jwt(claims(), "HS256", keys().rsa.public_pem);
    CHECK(error_of(rsa, forged) == "algorithm HS256 does not match the key");
    auto forged_ec = sign_jwt(claims(), "HS256", keys().ec.public_pem);
    CHECK(error_of(ec, forged_ec) == "algorithm HS256 does not match the key");
  }
  SECTION("an algorithm of another key type") {
    CHECK(error_of(hmac, rs256(claims())) == "algorithm RS256 does not match the key");
    CHECK(error_of(ec, rs256(claims())) == "algorithm RS256 does not match the key");
    CHECK(error_of(rsa, sign_jwt(claims(), "ES256", keys().ec.private_pem))
          == "algorithm ES256 does not match the key");
  }
  SECTION("a critical header (none is understood), an algorithm not spelt as RFC 7518 has it") {
    CHECK(error_of(rsa, sign_jws({{"alg", "RS256"}, {"crit", json::array{"b64"}}, {"b64", false}},
                                 claims(), keys().rsa.private_pem))
          == "unsupported critical header");
    CHECK(error_of(rsa, sign_jws({{"alg", "rs256"}}, claims(), keys().rsa.private_pem))
          == "unsupported algorithm rs256");
  }
  SECTION("a PS256 signature under alg RS256, an ECDSA signature of the wrong length") {
    auto pss = sign_jws({{"alg", "PS256"}}, claims(), keys().rsa.private_pem);
    auto as_rs256 = transport::base64url_encode(R"({"alg":"RS256"})") + pss.substr(pss.find('.'));
    CHECK(error_of(rsa, as_rs256) == "invalid signature");
    auto es256 = sign_jwt(claims(), "ES256", keys().ec.private_pem);
    CHECK(error_of(ec, es256) == "accepted");
    CHECK(error_of(ec, es256.substr(0, es256.size() - 4)) == "invalid signature");
    CHECK(error_of(ec, es256 + "AAAA") == "invalid signature");
  }
  SECTION("a tampered payload") {
    auto token = rs256(claims());
    auto first = token.find('.');
    auto second = token.find('.', first + 1);
    auto admin = transport::base64url_encode(json::serialize(claims({{"sub", "root"}})));
    auto tampered = token.substr(0, first + 1) + admin + token.substr(second);
    CHECK(error_of(rsa, tampered) == "invalid signature");
  }
  SECTION("garbage") {
    CHECK(error_of(rsa, "") == "missing token");
    for (std::string junk : std::vector<std::string>{
           "garbage", "a.b", "a.b.c", "a.b.c.d", "..", "...", "%%%.%%%.%%%", " " + rs256(claims()),
           transport::base64url_encode("{}") + ".e30.sig",
           transport::base64url_encode(R"({"alg":"RS256"})") + ".bm90IGpzb24.c2ln",
           transport::base64url_encode(R"({"alg":"ES256K"})") + ".e30.c2ln"}) {
      INFO(junk);
      auto error = error_of(rsa, junk);
      CHECK((error.starts_with("malformed token") || error == "unsupported algorithm ES256K"));
    }
  }
}

TEST_CASE("a key file that is not a usable key is refused at start with the reason") {
  temp_dir dir{"jwt-bad-keys"};
  auto refused = [](jwt_options options) {
    try {
      jwt_verifier verifier{std::move(options)};
    } catch (const std::exception& e) {
      return std::string{e.what()};
    }
    return std::string{"accepted"};
  };
  jwt_options options;
  options.key_file = dir.path / "missing.pem";
  CHECK_THAT(refused(options), Catch::Contains("cannot read the file"));
  options.key_file = dir.write("private.pem", keys().rsa.private_pem);
  CHECK_THAT(refused(options), Catch::Contains("a private key: give the server the public key"));
  options.key_file = dir.write("empty", "\n");
  CHECK_THAT(refused(options), Catch::Contains("an empty secret"));
  options.key_file = dir.write("broken.pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n");
  CHECK_THAT(refused(options), Catch::Contains("not a PEM public key"));
  options.key_file.clear();
  options.jwks_file = dir.write("jwks.json", "{\"keys\": [");
  CHECK_THAT(refused(options), Catch::Contains("not JSON"));
  options.jwks_file = dir.write("jwks.json", R"({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})");
  CHECK_THAT(refused(options), Catch::Contains("no usable key"));
  auto off_curve = keys().ec.jwk;
  off_curve["y"] = keys().other_ec.jwk.at("y");
  options.jwks_file = dir.write("jwks.json",
                                json::serialize(json::object{{"keys", json::array{off_curve}}}));
  CHECK_THAT(refused(options), Catch::Contains("no usable key"));
  auto short_x = keys().ed25519.jwk;
  short_x["x"] = transport::base64url_encode("too short");
  auto x25519 = keys().ed25519.jwk;
  x25519["crv"] = "X25519"; // for key agreement, not signatures
  options.jwks_file
    = dir.write("jwks.json", json::serialize(json::object{{"keys", json::array{short_x, x25519}}}));
  CHECK_THAT(refused(options), Catch::Contains("no usable key"));
  CHECK_THAT(refused(jwt_options{}), Catch::Contains("no JWT key"));
}

TEST_CASE("a JWKS picks the key by kid, and a reload swaps the whole set") {
  temp_dir dir{"jwks"};
  auto& k = keys();
  jwt_options options;
  options.jwks_file = dir.write("jwks.json", jwks_of({{"k1", &k.rsa}, {"k2", &k.ec}}));
  jwt_verifier verifier{checked(options)};
  REQUIRE(verifier.key_count() == 2);
  auto k1 = sign_jwt(claims(), "RS256", k.rsa.private_pem, "k1");
  auto k2 = sign_jwt(claims(), "ES256", k.ec.private_pem, "k2");
  auto k3 = sign_jwt(claims(), "RS256", k.other_rsa.private_pem, "k3");
  CHECK(error_of(verifier, k1) == "accepted");
  CHECK(error_of(verifier, k2) == "accepted");
  CHECK(error_of(verifier, k3) == "unknown key id");
  CHECK(error_of(verifier, sign_jwt(claims(), "RS256", k.rsa.private_pem)) == "accepted"); // no kid
  CHECK(error_of(verifier, sign_jwt(claims(), "RS256", k.other_rsa.private_pem, "k1"))
        == "invalid signature");
  CHECK(error_of(verifier, sign_jwt(claims(), "RS256", k.rsa.private_pem, "k2"))
        == "algorithm RS256 does not match the key");

  dir.write("jwks.json", jwks_of({{"k2", &k.ec}, {"k3", &k.other_rsa}}));
  CHECK(verifier.reload() == 2);
  CHECK(error_of(verifier, k1) == "unknown key id");
  CHECK(error_of(verifier, k2) == "accepted");
  CHECK(error_of(verifier, k3) == "accepted");

  SECTION("a file that no longer reads keeps the keys in use") {
    dir.write("jwks.json", "not json");
    CHECK_THROWS_WITH(verifier.reload(), Catch::Contains("not JSON"));
    CHECK(error_of(verifier, k3) == "accepted");
  }
  SECTION("a JWK's alg pins its algorithm; keys for encryption are passed over") {
    auto pinned = k.rsa.jwk;
    pinned["kid"] = "pinned";
    pinned["alg"] = "RS512";
    auto encryption = k.ec.jwk;
    encryption["kid"] = "enc";
    encryption["use"] = "enc";
    dir.write("jwks.json",
              json::serialize(json::object{{"keys", json::array{pinned, encryption}}}));
    CHECK(verifier.reload() == 1);
    CHECK(error_of(verifier, sign_jwt(claims(), "RS256", k.rsa.private_pem, "pinned"))
          == "algorithm RS256 does not match the key");
    CHECK(error_of(verifier, sign_jwt(claims(), "RS512", k.rsa.private_pem, "pinned"))
          == "accepted");
    CHECK(error_of(verifier, sign_jwt(claims(), "ES256", k.ec.private_pem, "enc"))
          == "unknown key id");
  }
}

TEST_CASE("tokens are verified on many threads while the keys reload") {
  temp_dir dir{"jwks-race"};
  auto& k = keys();
  jwt_options options;
  options.jwks_file = dir.write("jwks.json", jwks_of({{"k1", &k.ec}, {"k2", &k.rsa}}));
  jwt_verifier verifier{checked(options)};
  auto token = sign_jwt(claims(), "ES256", k.ec.private_pem, "k1");
  std::atomic<bool> done{false};
  std::atomic<int> accepted{0};
  std::atomic<int> refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      while (!done.load())
        (verifier.verify(token) ? accepted : refused).fetch_add(1);
    });
  for (int i = 0; i < 50; ++i) {
    dir.write("jwks.json",
              i % 2 ? jwks_of({{"k1", &k.ec}, {"k2", &k.rsa}}) : jwks_of({{"k1", &k.ec}}));
    verifier.reload();
  }
  done = true;
  for (auto& thread : threads)
    thread.join();
  CHECK(accepted.load() > 0);
  CHECK(refused.load() == 0); // k1 was in every set
}

TEST_CASE("a channel token names its topic and, for a known user, that user") {
  jwt_verifier verifier{with_key(keys().ec.public_pem)};
  auto token = [](json::object more) {
    return sign_jwt(claims(std::move(more)), "ES256", keys().ec.private_pem);
  };
  auto good = token({{"channel", "private:42"}});
  CHECK(verifier.verify_channel(good, "private:42", "ada"));
  CHECK(verifier.verify_channel(good, "private:42", "")); // an anonymous connection
  CHECK(verifier.verify_channel(good, "private:43", "ada").error == "token is for another channel");
  CHECK(verifier.verify_channel(good, "private:42", "bob").error == "token is for another user");
  CHECK(verifier.verify_channel(token({}), "private:42", "ada").error
        == "not a channel token (no channel claim)");
  CHECK(verifier.verify_channel("", "private:42", "ada").error == "channel token required");
  CHECK(verifier
          .verify_channel(token({{"channel", "private:42"}, {"exp", unix_time(-1h)}}), "private:42",
                          "ada")
          .error
        == "token expired");
}
