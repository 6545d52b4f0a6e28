// A self-signed certificate for localhost, made at test time (nothing secret in the repo).
#pragma once

#include <filesystem>

namespace pulse::test {

struct certificate_files {
  std::filesystem::path certificate; ///< PEM
  std::filesystem::path private_key; ///< PEM
};

/// Writes a fresh EC P-256 key and a certificate for CN=localhost, valid for a day, into `dir`.
certificate_files make_self_signed(const std::filesystem::path& dir);

} // namespace pulse::test
