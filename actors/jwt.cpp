// JWT verification with OpenSSL 3. Keys are decoded once, when they are read (an HMAC secret, or
// an EVP_PKEY from PEM or a JWK), so a connection's token costs one signature check and no key
// parsing; the key's type pins the algorithm (RFC 8725 section 3.1), and the claims are checked
// here.
#include <pulse/jwt.hpp>
#include <pulse/transport/base64.hpp>
#include <pulse/transport/log.hpp>

#include <boost/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace pulse {

namespace json = boost::json;

namespace {

template<auto Free>
struct freer {
  template<class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, freer<EVP_PKEY_free>>;
using pkey_ctx_ptr = std::unique_ptr<EVP_PKEY_CTX, freer<EVP_PKEY_CTX_free>>;
using bio_ptr = std::unique_ptr<BIO, freer<BIO_free>>;
using bignum_ptr = std::unique_ptr<BIGNUM, freer<BN_free>>;
using param_bld_ptr = std::unique_ptr<OSSL_PARAM_BLD, freer<OSSL_PARAM_BLD_free>>;
using params_ptr = std::unique_ptr<OSSL_PARAM, freer<OSSL_PARAM_free>>;
using decoder_ptr = std::unique_ptr<OSSL_DECODER_CTX, freer<OSSL_DECODER_CTX_free>>;
using x509_ptr = std::unique_ptr<X509, freer<X509_free>>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, freer<EVP_MD_CTX_free>>;
using ecdsa_sig_ptr = std::unique_ptr<ECDSA_SIG, freer<ECDSA_SIG_free>>;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    fail(path.string(), "cannot read the file");
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

/// The JWS algorithms (RFC 7518 section 3.1) that Pulse verifies.
struct algorithm {
  enum class family { hmac, rsa_pkcs1, rsa_pss, ecdsa, eddsa };

  std::string_view name;
  family kind;
  int bits; ///< of the digest; 0: none apart from the signature's own (EdDSA)

  const EVP_MD* digest() const {
    switch (bits) {
      case 256: return EVP_sha256();
      case 384: return EVP_sha384();
      case 512: return EVP_sha512();
      default: return nullptr;
    }
  }
};

using family = algorithm::family;

constexpr std::array<algorithm, 13> algorithms{{
  {"HS256", family::hmac, 256},
  {"HS384", family::hmac, 384},
  {"HS512", family::hmac, 512},
  {"RS256", family::rsa_pkcs1, 256},
  {"RS384", family::rsa_pkcs1, 384},
  {"RS512", family::rsa_pkcs1, 512},
  {"PS256", family::rsa_pss, 256},
  {"PS384", family::rsa_pss, 384},
  {"PS512", family::rsa_pss, 512},
  {"ES256", family::ecdsa, 256},
  {"ES384", family::ecdsa, 384},
  {"ES512", family::ecdsa, 512},
  {"EdDSA", family::eddsa, 0}, // RFC 8037: Ed25519 or Ed448, as the key says
}};

/// The algorithm of that name (case-sensitive, as RFC 7515 has it), or nullptr.
const algorithm* algorithm_named(std::string_view name) {
  auto it = std::find_if(algorithms.begin(), algorithms.end(),
                         [name](const algorithm& alg) { return alg.name == name; });
  return it == algorithms.end() ? nullptr : &*it;
}

/// The algorithms of one family.
std::vector<const algorithm*> family_of(family kind) {
  std::vector<const algorithm*> result;
  for (auto& alg : algorithms)
    if (alg.kind == kind)
      result.push_back(&alg);
  return result;
}

/// One verification key, decoded: an HMAC secret or a public key, and the algorithms it verifies.
struct jwt_key {
  std::string kid;     ///< empty: any kid
  std::string secret;  ///< HMAC
  pkey_ptr public_key; ///< RSA, EC or OKP; shared by every verifying thread, never modified
  std::vector<const algorithm*> algorithms;

  bool verifies(const algorithm* alg) const {
    return std::find(algorithms.begin(), algorithms.end(), alg) != algorithms.end();
  }
};

/// An ECDSA signature as JWS writes it (R and S, `half` bytes each: RFC 7518 section 3.4) in the
/// DER that OpenSSL verifies; empty when it cannot be.
std::string ecdsa_der(std::string_view signature, std::size_t half) {
  auto* bytes = reinterpret_cast<const unsigned char*>(signature.data());
  auto size = static_cast<int>(half);
  ecdsa_sig_ptr sig{ECDSA_SIG_new()};
  BIGNUM* r = BN_bin2bn(bytes, size, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + half, size, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return {};
  }
  unsigned char* der = nullptr;
  auto length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0)
    return {};
  std::string result(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return result;
}

/// Whether `signature` signs `input` with `key` under `alg` (which the key verifies).
bool signature_matches(const jwt_key& key, const algorithm& alg, std::string_view input,
                       std::string_view signature) {
  auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (alg.kind == family::hmac) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int size = 0;
    if (HMAC(alg.digest(), key.secret.data(), static_cast<int>(key.secret.size()), data,
             input.size(), mac.data(), &size)
        == nullptr)
      return false;
    return signature.size() == size && CRYPTO_memcmp(mac.data(), signature.data(), size) == 0;
  }
  std::string der;
  if (alg.kind == family::ecdsa) {
    std::size_t half = alg.bits == 512 ? 66 : static_cast<std::size_t>(alg.bits) / 8; // P-521
    if (signature.size() != 2 * half || (der = ecdsa_der(signature, half)).empty())
      return false;
    signature = der;
  }
  md_ctx_ptr context{EVP_MD_CTX_new()};
  EVP_PKEY_CTX* key_context = nullptr; // owned by `context`
  if (!context
      || EVP_DigestVerifyInit(context.get(), &key_context, alg.digest(), nullptr,
                              key.public_key.get())
           != 1)
    return false;
  if (alg.kind == family::rsa_pss // RFC 7518 section 3.5: MGF1 with the same hash, salt as long
      && (EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) != 1
          || EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, RSA_PSS_SALTLEN_DIGEST) != 1))
    return false;
  return EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), data, input.size())
         == 1;
}

} // namespace

struct jwt_verifier::key_set {
  std::vector<jwt_key> keys;
};

namespace {

/// `key`, with the algorithms its type and curve allow.
jwt_key public_key(pkey_ptr key, const std::string& where) {
  jwt_key result;
  switch (EVP_PKEY_get_base_id(key.get())) {
    case EVP_PKEY_RSA:
      result.algorithms = family_of(family::rsa_pkcs1);
      for (auto* pss : family_of(family::rsa_pss))
        result.algorithms.push_back(pss);
      break;
    case EVP_PKEY_EC: {
      char group[64] = {};
      if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         nullptr)
          != 1)
        fail(where, "an EC key without a named curve");
      std::string_view name{group};
      if (name == "prime256v1")
        result.algorithms = {algorithm_named("ES256")};
      else if (name == "secp384r1")
        result.algorithms = {algorithm_named("ES384")};
      else if (name == "secp521r1")
        result.algorithms = {algorithm_named("ES512")};
      else
        fail(where, "an EC key on curve " + std::string{name} + " (P-256, P-384, P-521 only)");
      break;
    }
    case EVP_PKEY_ED25519:
    case EVP_PKEY_ED448: result.algorithms = family_of(family::eddsa); break;
    default: fail(where, "not an RSA, EC, Ed25519 or Ed448 public key");
  }
  result.public_key = std::move(key);
  return result;
}

/// A PEM public key, PKCS#1 RSA public key or certificate.
jwt_key pem_key(const std::string& text, const std::string& where) {
  if (text.find("PRIVATE KEY-----") != std::string::npos)
    fail(where, "a private key: give the server the public key "
                "(openssl pkey -in KEY -pubout -out public.pem)");
  bio_ptr in{BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))};
  pkey_ptr key;
  if (text.find("CERTIFICATE-----") != std::string::npos) {
    x509_ptr certificate{PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)};
    if (certificate)
      key.reset(X509_get_pubkey(certificate.get()));
  } else {
    EVP_PKEY* decoded = nullptr;
    decoder_ptr decoder{OSSL_DECODER_CTX_new_for_pkey(&decoded, "PEM", nullptr, nullptr,
                                                      EVP_PKEY_PUBLIC_KEY, nullptr, nullptr)};
    if (decoder && OSSL_DECODER_from_bio(decoder.get(), in.get()) == 1)
      key.reset(decoded);
  }
  if (!key)
    fail(where, "not a PEM public key or certificate");
  return public_key(std::move(key), where);
}

/// The key file's contents: a PEM key, or else an HMAC secret.
jwt_key file_key(std::string text, const std::string& where) {
  auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text.compare(first, 11, "-----BEGIN ") == 0)
    return pem_key(text, where);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (text.empty())
    fail(where, "an empty secret");
  return {{}, std::move(text), nullptr, family_of(family::hmac)};
}

pkey_ptr key_from_params(const char* type, OSSL_PARAM_BLD* builder) {
  params_ptr params{OSSL_PARAM_BLD_to_param(builder)};
  pkey_ctx_ptr context{EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr)};
  EVP_PKEY* key = nullptr;
  if (!params || !context || EVP_PKEY_fromdata_init(context.get()) <= 0
      || EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return nullptr;
  return pkey_ptr{key};
}

std::string jwk_bytes(const json::object& jwk, std::string_view name, const std::string& where) {
  auto* value = jwk.if_contains(name);
  auto decoded = value && value->is_string() ? transport::base64_decode(value->get_string())
                                             : std::nullopt;
  if (!decoded || decoded->empty())
    fail(where, "no base64url \"" + std::string{name} + "\"");
  return std::move(*decoded);
}

bignum_ptr to_bignum(const std::string& bytes) {
  return bignum_ptr{BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                              static_cast<int>(bytes.size()), nullptr)};
}

pkey_ptr rsa_jwk(const json::object& jwk, const std::string& where) {
  auto n = to_bignum(jwk_bytes(jwk, "n", where));
  auto e = to_bignum(jwk_bytes(jwk, "e", where));
  param_bld_ptr builder{OSSL_PARAM_BLD_new()};
  if (!n || !e || !builder
      || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1
      || OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1)
    fail(where, "cannot build the RSA key");
  auto key = key_from_params("RSA", builder.get());
  if (!key)
    fail(where, "not a valid RSA public key");
  return key;
}

pkey_ptr ec_jwk(const json::object& jwk, const std::string& where) {
  auto* curve = jwk.if_contains("crv");
  std::string_view name = curve && curve->is_string() ? std::string_view{curve->get_string()} : "";
  const char* group = nullptr;
  std::size_t size = 0;
  if (name == "P-256")
    group = "prime256v1", size = 32;
  else if (name == "P-384")
    group = "secp384r1", size = 48;
  else if (name == "P-521")
    group = "secp521r1", size = 66;
  else
    fail(where, "curve \"" + std::string{name} + "\" (P-256, P-384, P-521 only)");
  auto x = jwk_bytes(jwk, "x", where);
  auto y = jwk_bytes(jwk, "y", where);
  if (x.size() != size || y.size() != size)
    fail(where, "x and y must be " + std::to_string(size) + " bytes each on " + std::string{name});
  std::string point = "\x04" + x + y; // uncompressed
  param_bld_ptr builder{OSSL_PARAM_BLD_new()};
  if (!builder
      || OSSL_PARAM_BLD_push_utf8_string(builder.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1
      || OSSL_PARAM_BLD_push_octet_string(builder.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                          point.size())
           != 1)
    fail(where, "cannot build the EC key");
  auto key = key_from_params("EC", builder.get());
  pkey_ctx_ptr check{key ? EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr) : nullptr};
  if (!key || !check || EVP_PKEY_public_check(check.get()) != 1)
    fail(where, "not a valid EC public key (the point is not on the curve)");
  return key;
}

/// An OKP JWK (RFC 8037): an Ed25519 or Ed448 public key.
pkey_ptr okp_jwk(const json::object& jwk, const std::string& where) {
  auto* curve = jwk.if_contains("crv");
  std::string_view name = curve && curve->is_string() ? std::string_view{curve->get_string()} : "";
  int type = 0;
  std::size_t size = 0;
  if (name == "Ed25519")
    type = EVP_PKEY_ED25519, size = 32;
  else if (name == "Ed448")
    type = EVP_PKEY_ED448, size = 57;
  else
    fail(where, "OKP curve \"" + std::string{name} + "\" (Ed25519 and Ed448 only)");
  auto x = jwk_bytes(jwk, "x", where);
  if (x.size() != size)
    fail(where, "x must be " + std::to_string(size) + " bytes on " + std::string{name});
  pkey_ptr key{EVP_PKEY_new_raw_public_key(
    type, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size())};
  if (!key)
    fail(where, "not a valid " + std::string{name} + " public key");
  return key;
}

/// One JWK as a key; throws for a key that cannot be used.
jwt_key jwk_key(const json::object& jwk, const std::string& where) {
  auto* type = jwk.if_contains("kty");
  std::string_view kty = type && type->is_string() ? std::string_view{type->get_string()} : "";
  pkey_ptr key;
  if (kty == "RSA")
    key = rsa_jwk(jwk, where);
  else if (kty == "EC")
    key = ec_jwk(jwk, where);
  else if (kty == "OKP")
    key = okp_jwk(jwk, where);
  else
    fail(where, "kty \"" + std::string{kty} + "\" (RSA, EC and OKP only)");
  auto result = public_key(std::move(key), where);
  if (auto* alg = jwk.if_contains("alg"); alg && alg->is_string()) {
    std::string_view name = alg->get_string();
    auto* pinned = algorithm_named(name);
    if (!pinned || !result.verifies(pinned))
      fail(where, "alg " + std::string{name} + " does not suit a " + std::string{kty} + " key");
    result.algorithms = {pinned};
  }
  return result;
}

/// Every usable key of a JWKS; keys for encryption and keys of other types are passed over (and
/// logged). Throws when none is left.
std::vector<jwt_key> jwks_keys(std::string_view text, const std::string& where) {
  json::error_code ec;
  auto document = json::parse(text, ec);
  if (ec)
    fail(where, "not JSON (" + ec.message() + ")");
  auto* root = document.if_object();
  auto* keys = root ? root->if_contains("keys") : nullptr;
  if (!keys || !keys->is_array())
    fail(where, "not a JWKS (no \"keys\" array)");
  std::vector<jwt_key> result;
  std::size_t index = 0;
  for (auto& entry : keys->get_array()) {
    auto* jwk = entry.if_object();
    std::string kid;
    if (auto* id = jwk ? jwk->if_contains("kid") : nullptr; id && id->is_string())
      kid = id->get_string();
    auto name = where + " key " + (kid.empty() ? "#" + std::to_string(index) : kid);
    ++index;
    if (!jwk) {
      log().warn("{}: not an object, passed over", name);
      continue;
    }
    if (auto* use = jwk->if_contains("use"); use && *use == "enc")
      continue; // for encryption, not signatures
    try {
      auto key = jwk_key(*jwk, name);
      key.kid = std::move(kid);
      result.push_back(std::move(key));
    } catch (const std::runtime_error& e) {
      log().warn("{}, passed over", e.what());
    }
  }
  if (result.empty())
    fail(where, "no usable key (RSA, EC or OKP public keys for signatures)");
  return result;
}

jwt_verified refuse(std::string reason) {
  return {std::nullopt, std::move(reason)};
}

std::optional<json::value> decoded_json(std::string_view base64) {
  auto bytes = transport::base64_decode(base64);
  if (!bytes)
    return std::nullopt;
  json::error_code ec;
  auto value = json::parse(*bytes, ec);
  if (ec)
    return std::nullopt;
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x))
           == std::tolower(static_cast<unsigned char>(y));
  });
}

bool names(const json::value& audience, std::string_view wanted) {
  if (audience.is_string())
    return audience.get_string() == wanted;
  if (auto* list = audience.if_array())
    return std::any_of(list->begin(), list->end(), [&](const json::value& entry) {
      return entry.is_string() && entry.get_string() == wanted;
    });
  return false;
}

} // namespace

jwt_verifier::jwt_verifier(jwt_options options)
    : options_(std::move(options)), keys_(read_keys()) {}

jwt_verifier::~jwt_verifier() = default;

std::shared_ptr<const jwt_verifier::key_set> jwt_verifier::read_keys() const {
  auto keys = std::make_shared<key_set>();
  if (!options_.key_file.empty())
    keys->keys.push_back(file_key(read_file(options_.key_file), options_.key_file.string()));
  if (!options_.key.empty())
    keys->keys.push_back(file_key(options_.key, "the JWT key"));
  auto add = [&](std::vector<jwt_key> more) {
    std::move(more.begin(), more.end(), std::back_inserter(keys->keys));
  };
  if (!options_.jwks_file.empty())
    add(jwks_keys(read_file(options_.jwks_file), options_.jwks_file.string()));
  if (!options_.jwks.empty())
    add(jwks_keys(options_.jwks, "the JWKS"));
  if (keys->keys.empty())
    throw std::invalid_argument("no JWT key: set a key file or a JWKS file");
  return keys;
}

std::size_t jwt_verifier::reload() {
  auto fresh = read_keys();
  auto count = fresh->keys.size();
  keys_.store(std::move(fresh));
  return count;
}

std::size_t jwt_verifier::key_count() const {
  return keys_.load()->keys.size();
}

jwt_verified jwt_verifier::verify(std::string_view token,
                                  std::chrono::system_clock::time_point now) const {
  if (token.empty())
    return refuse("missing token");
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos
      || first == 0 || second == first + 1)
    return refuse("malformed token");
  auto header = decoded_json(token.substr(0, first));
  auto payload = decoded_json(token.substr(first + 1, second - first - 1));
  auto* alg_value = header && header->is_object() ? header->get_object().if_contains("alg")
                                                  : nullptr;
  if (!alg_value || !alg_value->is_string() || !payload || !payload->is_object())
    return refuse("malformed token");
  std::string_view alg_name = alg_value->get_string();
  if (iequals(alg_name, "none"))
    return refuse("unsigned token (alg none)");
  auto* alg = algorithm_named(alg_name);
  if (!alg)
    return refuse("unsupported algorithm " + std::string{alg_name});
  // RFC 7515 section 4.1.11: extensions it names must be understood, and none is.
  if (header->get_object().contains("crit"))
    return refuse("unsupported critical header");
  auto signature = transport::base64_decode(token.substr(second + 1));
  if (!signature)
    return refuse("malformed token");

  // The key: by kid (keys without one match any), then by the algorithm its type allows.
  auto keys = keys_.load();
  const json::string* kid = nullptr;
  if (auto* id = header->get_object().if_contains("kid"); id && id->is_string())
    kid = &id->get_string();
  std::vector<const jwt_key*> named;
  for (auto& key : keys->keys)
    if (key.kid.empty() || !kid || key.kid == *kid)
      named.push_back(&key);
  if (named.empty())
    return refuse("unknown key id");
  std::erase_if(named, [alg](const jwt_key* key) { return !key->verifies(alg); });
  if (named.empty())
    return refuse("algorithm " + std::string{alg_name} + " does not match the key");
  auto signed_part = token.substr(0, second);
  if (std::none_of(named.begin(), named.end(), [&](const jwt_key* key) {
        return signature_matches(*key, *alg, signed_part, *signature);
      }))
    return refuse("invalid signature");

  auto& claims = payload->get_object();
  auto seconds = std::chrono::duration<double>(now.time_since_epoch()).count();
  auto leeway = static_cast<double>(options_.leeway.count());
  auto* exp = claims.if_contains("exp");
  auto* nbf = claims.if_contains("nbf");
  if ((exp && !exp->is_number()) || (nbf && !nbf->is_number()))
    return refuse("malformed token (exp and nbf must be numbers)");
  if (!exp && options_.require_expiry)
    return refuse("token has no expiry");
  if (exp && seconds >= exp->to_number<double>() + leeway)
    return refuse("token expired");
  if (nbf && seconds + leeway < nbf->to_number<double>())
    return refuse("token not yet valid");
  if (!options_.issuer.empty()) {
    auto* iss = claims.if_contains("iss");
    if (!iss || !iss->is_string() || iss->get_string() != options_.issuer)
      return refuse("wrong issuer");
  }
  if (!options_.audience.empty()) {
    auto* aud = claims.if_contains("aud");
    if (!aud || !names(*aud, options_.audience))
      return refuse("wrong audience");
  }
  return {std::move(claims), {}};
}

jwt_verified jwt_verifier::verify_channel(std::string_view token, std::string_view topic,
                                          std::string_view user,
                                          std::chrono::system_clock::time_point now) const {
  if (token.empty())
    return refuse("channel token required");
  auto result = verify(token, now);
  if (!result)
    return result;
  auto* channel = result.claims->if_contains("channel");
  if (!channel || !channel->is_string())
    return refuse("not a channel token (no channel claim)");
  if (channel->get_string() != topic)
    return refuse("token is for another channel");
  if (!user.empty()) {
    auto* sub = result.claims->if_contains("sub");
    if (!sub || !sub->is_string() || sub->get_string() != user)
      return refuse("token is for another user");
  }
  return result;
}

} // namespace pulse
