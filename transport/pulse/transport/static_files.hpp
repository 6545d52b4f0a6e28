// Static files under URL prefixes ("/" -> web/, "/chat" -> apps/chat/web), safe from traversal.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulse::transport {

class static_files {
 public:
  /// Serves `directory` under `url_prefix`; the longest matching prefix wins.
  void mount(std::string url_prefix, std::filesystem::path directory);

  /// The file a request path names, or nothing. A directory serves its index.html; paths with
  /// `..`, backslashes or NUL never leave their mount.
  std::optional<std::filesystem::path> resolve(std::string_view path) const;

  /// True when `path` names a directory under a mount: served at `path` + "/", so that the
  /// page's relative links work.
  bool is_directory(std::string_view path) const;

  /// The Content-Type for a file, by extension.
  static std::string_view content_type(const std::filesystem::path& file);

 private:
  /// What `path` names under its mount (file or directory), without following `..`.
  std::optional<std::filesystem::path> locate(std::string_view path) const;

  struct mount_point {
    std::string prefix;
    std::filesystem::path directory;
  };
  std::vector<mount_point> mounts_;
};

} // namespace pulse::transport
