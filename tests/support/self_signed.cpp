#include "tests/support/self_signed.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace pulse::test {

certificate_files make_self_signed(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_EC_gen("P-256"), EVP_PKEY_free};
  std::unique_ptr<X509, decltype(&X509_free)> cert{X509_new(), X509_free};
  if (!key || !cert)
    throw std::runtime_error("cannot make a key or a certificate");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0)
    throw std::runtime_error("cannot sign the certificate");
  certificate_files files{dir / "cert.pem", dir / "key.pem"};
  auto write = [](const std::filesystem::path& path, auto&& fn) {
    std::unique_ptr<FILE, decltype(&std::fclose)> out{std::fopen(path.c_str(), "w"), std::fclose};
    if (!out || !fn(out.get()))
      throw std::runtime_error("cannot write " + path.string());
  };
  write(files.certificate, [&](FILE* f) { return PEM_write_X509(f, cert.get()) == 1; });
  write(files.private_key, [&](FILE* f) {
    return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
  });
  return files;
}

} // namespace pulse::test
