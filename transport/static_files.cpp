#include <pulse/transport/static_files.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace pulse::transport {

namespace fs = std::filesystem;

void static_files::mount(std::string url_prefix, fs::path directory) {
  while (url_prefix.size() > 1 && url_prefix.back() == '/')
    url_prefix.pop_back();
  if (url_prefix.empty() || url_prefix.front() != '/')
    url_prefix.insert(url_prefix.begin(), '/');
  mounts_.push_back({std::move(url_prefix), std::move(directory)});
  std::sort(mounts_.begin(), mounts_.end(),
            [](auto& a, auto& b) { return a.prefix.size() > b.prefix.size(); });
}

std::optional<fs::path> static_files::locate(std::string_view path) const {
  if (path.find('\0') != std::string_view::npos || path.find('\\') != std::string_view::npos)
    return std::nullopt;
  for (auto& mount : mounts_) {
    std::string_view rest;
    if (mount.prefix == "/") {
      rest = path.substr(1);
    } else if (path == mount.prefix) {
      rest = {};
    } else if (path.size() > mount.prefix.size() && path.starts_with(mount.prefix)
               && path[mount.prefix.size()] == '/') {
      rest = path.substr(mount.prefix.size() + 1);
    } else {
      continue;
    }
    fs::path relative;
    for (std::size_t start = 0; start <= rest.size();) {
      auto end = std::min(rest.find('/', start), rest.size());
      auto segment = rest.substr(start, end - start);
      if (segment == "..")
        return std::nullopt;
      if (!segment.empty() && segment != ".")
        relative /= fs::path{std::string{segment}};
      start = end + 1;
    }
    return mount.directory / relative;
  }
  return std::nullopt;
}

std::optional<fs::path> static_files::resolve(std::string_view path) const {
  auto candidate = locate(path);
  if (!candidate)
    return std::nullopt;
  std::error_code ec;
  if (fs::is_directory(*candidate, ec))
    *candidate /= "index.html";
  if (fs::is_regular_file(*candidate, ec))
    return candidate;
  return std::nullopt;
}

bool static_files::is_directory(std::string_view path) const {
  auto candidate = locate(path);
  std::error_code ec;
  return candidate && fs::is_directory(*candidate, ec);
}

std::string_view static_files::content_type(const fs::path& file) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> types{{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
    {".webmanifest", "application/manifest+json"},
    {".wasm", "application/wasm"},
  }};
  auto extension = file.extension().string();
  for (auto& [ext, type] : types)
    if (ext == extension)
      return type;
  return "application/octet-stream";
}

} // namespace pulse::transport
