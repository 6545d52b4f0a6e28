// JWTs and their keys, made at test time (nothing secret in the repo): RSA and EC P-256 key pairs
// with OpenSSL, tokens signed with libjwt (a signer apart from the verifier) or, for what libjwt
// cannot make, with OpenSSL, the public keys as PEM and as JWKs.
#pragma once

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace pulse::test {

struct key_pair {
  std::string private_pem;
  std::string public_pem;
  boost::json::object jwk; ///< the public key, without kid
};

/// A fresh RSA 2048 key pair.
key_pair make_rsa_key();
/// A fresh EC P-256 key pair.
key_pair make_ec_key();
/// A fresh Ed25519 key pair (its JWK an OKP key, RFC 8037).
key_pair make_ed25519_key();

/// `claims` signed with `alg` ("HS256", "RS256", "ES256"): `key` is the secret for HS*, the
/// private key PEM otherwise; `kid` goes into the header when not empty.
std::string sign_jwt(const boost::json::object& claims, std::string_view alg, std::string_view key,
                     std::string_view kid = {});

/// `claims` under `header`, signed with OpenSSL and the private key PEM `key`: the header's "alg"
/// says how, RS256 to RS512, PS256 to PS512 or EdDSA (the last two libjwt 1.10 cannot sign).
std::string sign_jws(const boost::json::object& header, const boost::json::object& claims,
                     std::string_view key);

/// `claims` with header {"alg": "none"} and an empty signature.
std::string unsigned_jwt(const boost::json::object& claims);

/// Seconds since the epoch, now plus `offset`.
std::int64_t unix_time(std::chrono::seconds offset = std::chrono::seconds{0});

/// A JWKS document of `jwk`s, each with its kid.
std::string jwks_of(std::initializer_list<std::pair<std::string_view, const key_pair*>> keys);

/// A directory of its own under the system's temp directory, removed with its contents.
struct temp_dir {
  explicit temp_dir(std::string_view name);
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// Writes `contents` to `name` in the directory (atomically: a rename) and returns its path.
  std::filesystem::path write(std::string_view name, std::string_view contents) const;

  std::filesystem::path path;
};

} // namespace pulse::test
