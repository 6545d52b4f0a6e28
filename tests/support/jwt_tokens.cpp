#include "tests/support/jwt_tokens.hpp"

#include <pulse/transport/base64.hpp>

#include <boost/json.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <jwt.h>
#include <memory>
#include <stdexcept>
#include <unistd.h>

namespace pulse::test {

namespace json = boost::json;

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

std::string to_pem(EVP_PKEY* key, bool private_key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> out{BIO_new(BIO_s_mem()), BIO_free};
  int written = private_key
                  ? PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr)
                  : PEM_write_bio_PUBKEY(out.get(), key);
  if (written != 1)
    throw std::runtime_error("cannot write a PEM key");
  char* data = nullptr;
  auto length = BIO_get_mem_data(out.get(), &data);
  return {data, static_cast<std::size_t>(length)};
}

/// A big-endian number parameter of `key`, base64url, left-padded with zeros to `size` bytes.
std::string number(EVP_PKEY* key, const char* name, int size = 0) {
  BIGNUM* value = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &value) != 1)
    throw std::runtime_error(std::string{"no key parameter "} + name);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> owner{value, BN_free};
  std::string bytes(static_cast<std::size_t>(size ? size : BN_num_bytes(value)), '\0');
  BN_bn2binpad(value, reinterpret_cast<unsigned char*>(bytes.data()),
               static_cast<int>(bytes.size()));
  return transport::base64url_encode(bytes);
}

key_pair pair_of(EVP_PKEY* key, json::object jwk) {
  if (!key)
    throw std::runtime_error("cannot generate a key");
  pkey_ptr owner{key, EVP_PKEY_free};
  return {to_pem(key, true), to_pem(key, false), std::move(jwk)};
}

} // namespace

key_pair make_rsa_key() {
  auto* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{2048});
  if (!key)
    throw std::runtime_error("cannot generate an RSA key");
  json::object jwk{{"kty", "RSA"},
                   {"n", number(key, OSSL_PKEY_PARAM_RSA_N)},
                   {"e", number(key, OSSL_PKEY_PARAM_RSA_E)}};
  return pair_of(key, std::move(jwk));
}

key_pair make_ed25519_key() {
  auto* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!key)
    throw std::runtime_error("cannot generate an Ed25519 key");
  std::string x(32, '\0');
  std::size_t size = x.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(x.data()), &size) != 1)
    throw std::runtime_error("no raw Ed25519 public key");
  json::object jwk{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", transport::base64url_encode(x)}};
  return pair_of(key, std::move(jwk));
}

key_pair make_ec_key() {
  auto* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!key)
    throw std::runtime_error("cannot generate an EC key");
  json::object jwk{{"kty", "EC"},
                   {"crv", "P-256"},
                   {"x", number(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)},
                   {"y", number(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)}};
  return pair_of(key, std::move(jwk));
}

std::string sign_jwt(const json::object& claims, std::string_view alg, std::string_view key,
                     std::string_view kid) {
  jwt_t* token = nullptr;
  if (jwt_new(&token) != 0)
    throw std::runtime_error("jwt_new failed");
  std::unique_ptr<jwt_t, decltype(&jwt_free)> owner{token, jwt_free};
  auto body = json::serialize(claims);
  if (jwt_add_grants_json(token, body.c_str()) != 0)
    throw std::runtime_error("jwt_add_grants_json failed");
  if (!kid.empty() && jwt_add_header(token, "kid", std::string{kid}.c_str()) != 0)
    throw std::runtime_error("jwt_add_header failed");
  auto algorithm = jwt_str_alg(std::string{alg}.c_str());
  if (jwt_set_alg(token, algorithm, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size()))
      != 0)
    throw std::runtime_error("jwt_set_alg failed");
  std::unique_ptr<char, decltype(&std::free)> encoded{jwt_encode_str(token), std::free};
  if (!encoded)
    throw std::runtime_error("jwt_encode_str failed");
  return encoded.get();
}

std::string sign_jws(const json::object& header, const json::object& claims, std::string_view key) {
  std::string alg{header.at("alg").as_string()};
  auto bits = alg.substr(2);
  const EVP_MD* digest = alg == "EdDSA"  ? nullptr
                         : bits == "256" ? EVP_sha256()
                         : bits == "384" ? EVP_sha384()
                                         : EVP_sha512();
  std::unique_ptr<BIO, decltype(&BIO_free)> in{
    BIO_new_mem_buf(key.data(), static_cast<int>(key.size())), BIO_free};
  pkey_ptr private_key{PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr), EVP_PKEY_free};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context{EVP_MD_CTX_new(),
                                                                  EVP_MD_CTX_free};
  EVP_PKEY_CTX* key_context = nullptr;
  if (!private_key || !context
      || EVP_DigestSignInit(context.get(), &key_context, digest, nullptr, private_key.get()) != 1)
    throw std::runtime_error("cannot sign with that key");
  if (alg.starts_with("PS")
      && (EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PSS_PADDING) != 1
          || EVP_PKEY_CTX_set_rsa_pss_saltlen(key_context, RSA_PSS_SALTLEN_DIGEST) != 1))
    throw std::runtime_error("cannot set PSS padding");
  auto input = transport::base64url_encode(json::serialize(header)) + "."
               + transport::base64url_encode(json::serialize(claims));
  auto* data = reinterpret_cast<const unsigned char*>(input.data());
  std::size_t size = 0;
  if (EVP_DigestSign(context.get(), nullptr, &size, data, input.size()) != 1)
    throw std::runtime_error("EVP_DigestSign failed");
  std::string signature(size, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size, data,
                     input.size())
      != 1)
    throw std::runtime_error("EVP_DigestSign failed");
  signature.resize(size);
  return input + "." + transport::base64url_encode(signature);
}

std::string unsigned_jwt(const json::object& claims) {
  return transport::base64url_encode(R"({"alg":"none","typ":"JWT"})") + "."
         + transport::base64url_encode(json::serialize(claims)) + ".";
}

std::int64_t unix_time(std::chrono::seconds offset) {
  auto now = std::chrono::system_clock::now() + offset;
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

std::string jwks_of(std::initializer_list<std::pair<std::string_view, const key_pair*>> keys) {
  json::array list;
  for (auto& [kid, key] : keys) {
    auto jwk = key->jwk;
    jwk["kid"] = kid;
    list.push_back(std::move(jwk));
  }
  return json::serialize(json::object{{"keys", std::move(list)}});
}

temp_dir::temp_dir(std::string_view name) {
  static std::atomic<int> made{0};
  path = std::filesystem::temp_directory_path()
         / ("pulse-" + std::string{name} + "-" + std::to_string(::getpid()) + "-"
            + std::to_string(++made));
  std::filesystem::create_directories(path);
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path, ignored);
}

std::filesystem::path temp_dir::write(std::string_view name, std::string_view contents) const {
  auto target = path / name;
  auto staged = path / (std::string{name} + ".new");
  {
    std::ofstream out{staged, std::ios::binary | std::ios::trunc};
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out.flush())
      throw std::runtime_error("cannot write " + staged.string());
  }
  std::filesystem::rename(staged, target);
  return target;
}

} // namespace pulse::test
