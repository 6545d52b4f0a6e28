// JWT verification on libjwt 1.10, which checks a signature with the algorithm the token names and
// nothing else: the key's type pins the algorithm here, and the claims are checked here. JWKs
// become PEM public keys with OpenSSL 3.
#include <pulse/jwt.hpp>
#include <pulse/transport/base64.hpp>
#include <pulse/transport/log.hpp>

#include <boost/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <jwt.h>
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
using jwt_ptr = std::unique_ptr<jwt_t, freer<jwt_free>>;

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

/// One verification key: an HMAC secret or a public key in PEM, and the algorithms it verifies.
struct jwt_key {
  std::string kid; ///< empty: any kid
  std::string material;
  std::vector<jwt_alg_t> algorithms;

  bool verifies(jwt_alg_t alg) const {
    return std::find(algorithms.begin(), algorithms.end(), alg) != algorithms.end();
  }
};

} // namespace

struct jwt_verifier::key_set {
  std::vector<jwt_key> keys;
};

namespace {

/// The SubjectPublicKeyInfo PEM of `key` (what libjwt reads), and the algorithms its type and
/// curve allow.
jwt_key public_key(EVP_PKEY* key, const std::string& where) {
  jwt_key result;
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA: result.algorithms = {JWT_ALG_RS256, JWT_ALG_RS384, JWT_ALG_RS512}; break;
    case EVP_PKEY_EC: {
      char group[64] = {};
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         nullptr)
          != 1)
        fail(where, "an EC key without a named curve");
      std::string_view name{group};
      if (name == "prime256v1")
        result.algorithms = {JWT_ALG_ES256};
      else if (name == "secp384r1")
        result.algorithms = {JWT_ALG_ES384};
      else if (name == "secp521r1")
        result.algorithms = {JWT_ALG_ES512};
      else
        fail(where, "an EC key on curve " + std::string{name} + " (P-256, P-384, P-521 only)");
      break;
    }
    default: fail(where, "not an RSA or EC public key");
  }
  bio_ptr out{BIO_new(BIO_s_mem())};
  if (!out || PEM_write_bio_PUBKEY(out.get(), key) != 1)
    fail(where, "cannot write the key as PEM");
  char* data = nullptr;
  auto length = BIO_get_mem_data(out.get(), &data);
  result.material.assign(data, static_cast<std::size_t>(length));
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
  return public_key(key.get(), where);
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
  return {{}, std::move(text), {JWT_ALG_HS256, JWT_ALG_HS384, JWT_ALG_HS512}};
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

/// One JWK as a key; throws for a key that cannot be used.
jwt_key jwk_key(const json::object& jwk, const std::string& where) {
  auto* type = jwk.if_contains("kty");
  std::string_view kty = type && type->is_string() ? std::string_view{type->get_string()} : "";
  pkey_ptr key;
  if (kty == "RSA")
    key = rsa_jwk(jwk, where);
  else if (kty == "EC")
    key = ec_jwk(jwk, where);
  else
    fail(where, "kty \"" + std::string{kty} + "\" (RSA and EC only)");
  auto result = public_key(key.get(), where);
  if (auto* alg = jwk.if_contains("alg"); alg && alg->is_string()) {
    std::string name{alg->get_string()};
    auto pinned = jwt_str_alg(name.c_str());
    if (!result.verifies(pinned))
      fail(where, "alg " + name + " does not suit a " + std::string{kty} + " key");
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
    fail(where, "no usable key (RSA or EC public keys for signatures)");
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
  std::string alg_name{alg_value->get_string()};
  if (iequals(alg_name, "none"))
    return refuse("unsigned token (alg none)");
  auto alg = jwt_str_alg(alg_name.c_str());
  if (alg == JWT_ALG_INVAL || alg == JWT_ALG_NONE)
    return refuse("unsupported algorithm " + alg_name);

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
    return refuse("algorithm " + alg_name + " does not match the key");

  // Never a null key: libjwt would accept anything.
  std::string text{token};
  bool verified = false;
  for (auto* key : named) {
    jwt_t* decoded = nullptr;
    int status = jwt_decode(&decoded, text.c_str(),
                            reinterpret_cast<const unsigned char*>(key->material.data()),
                            static_cast<int>(key->material.size()));
    jwt_ptr owner{decoded};
    if (status == 0 && decoded && jwt_get_alg(decoded) == alg && key->verifies(alg)) {
      verified = true;
      break;
    }
  }
  if (!verified)
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
