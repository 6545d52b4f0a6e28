// JSON Web Tokens from an identity provider (Auth0, Keycloak, an OAuth server of your own),
// verified with OpenSSL: the signature with a key the server was given (decoded once, when it is
// read), the algorithm pinned to that key's type (never `none`, never HS256 with an RSA or EC
// key), then exp, nbf, iss and aud within a leeway.
//
//   pulse::server_options options;
//   options.jwt.key_file = "issuer-public.pem";     // or jwks_file = "jwks.json"
//   options.jwt.issuer = "https://auth.example.com/";
//   options.jwt.audience = "pulse";
//   pulse::server server{options};                   // connections need a valid token now
//
// The claims become the connection's identity (ctx.identity(), ctx.user_id() for `sub`); a channel
// defined with .require_channel_token() also wants a join token for its topic.
#pragma once

#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace pulse {

/// Where the keys come from and what a token must say. Set a key file or a JWKS file (or both)
/// to turn JWT authentication on.
struct jwt_options {
  /// An HS256 secret (the file's bytes, less trailing line breaks), or an RSA or EC public key
  /// in PEM (RS256 or PS256, ES256), or an Ed25519 or Ed448 one (EdDSA); a certificate's key
  /// will do.
  std::filesystem::path key_file;
  /// A JWKS file (`{"keys": [...]}`): RSA, EC (P-256, P-384, P-521) and OKP (Ed25519, Ed448)
  /// public keys, picked by the token's `kid`. Read again by reload() (SIGHUP in server::run()).
  std::filesystem::path jwks_file;
  /// The same two, given as text instead of files (tests, keys from a vault).
  std::string key;
  std::string jwks;
  /// When set, the token's `iss` must be this.
  std::string issuer;
  /// When set, the token's `aud` (a string or an array of them) must name this.
  std::string audience;
  /// Clock skew allowed on `exp` and `nbf`.
  std::chrono::seconds leeway{30};
  /// Refuse tokens without `exp` (they would never expire).
  bool require_expiry = true;

  /// A key of some kind is configured.
  bool is_enabled() const noexcept {
    return !key_file.empty() || !jwks_file.empty() || !key.empty() || !jwks.empty();
  }
};

/// A verification's outcome: the claims, or why not.
struct jwt_verified {
  std::optional<boost::json::object> claims;
  /// Otherwise: "missing token", "malformed token", "unsigned token (alg none)", "unsupported
  /// algorithm ES256K", "unsupported critical header", "algorithm HS256 does not match the key",
  /// "unknown key id", "invalid signature", "token expired", "token not yet valid", "token has no
  /// expiry", "wrong issuer", "wrong audience"; for a channel token also "token is for another
  /// channel", "token is for another user".
  std::string error;

  explicit operator bool() const noexcept { return claims.has_value(); }
};

/// Verifies tokens against a set of keys that reload() replaces atomically: verify() may run on
/// any number of threads while a reload happens.
class jwt_verifier {
 public:
  /// Reads the keys; throws std::runtime_error naming the file and what is wrong with it.
  explicit jwt_verifier(jwt_options options);
  ~jwt_verifier();

  jwt_verifier(const jwt_verifier&) = delete;
  jwt_verifier& operator=(const jwt_verifier&) = delete;

  /// Checks `token` and returns its claims.
  jwt_verified verify(std::string_view token, std::chrono::system_clock::time_point now
                                              = std::chrono::system_clock::now()) const;

  /// A channel token: verify(), then its `channel` claim must be `topic` and, when `user` is not
  /// empty, its `sub` must be `user`.
  jwt_verified verify_channel(std::string_view token, std::string_view topic, std::string_view user,
                              std::chrono::system_clock::time_point now
                              = std::chrono::system_clock::now()) const;

  /// Reads the key files again. On failure throws std::runtime_error and keeps the keys it had.
  /// Returns how many keys there are now.
  std::size_t reload();

  /// Keys in use.
  std::size_t key_count() const;
  const jwt_options& options() const noexcept { return options_; }

 private:
  struct key_set;
  std::shared_ptr<const key_set> read_keys() const;

  jwt_options options_;
  std::atomic<std::shared_ptr<const key_set>> keys_;
};

} // namespace pulse
