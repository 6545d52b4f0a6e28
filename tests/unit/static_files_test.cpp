#include <pulse/transport/static_files.hpp>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using pulse::transport::static_files;
namespace fs = std::filesystem;

namespace {

/// A scratch directory tree, removed afterwards.
struct site {
  fs::path root = fs::temp_directory_path() / ("pulse-static-" + std::to_string(::getpid()));
  site() {
    fs::create_directories(root / "web" / "chat");
    fs::create_directories(root / "secret");
    std::ofstream{root / "web" / "index.html"} << "home";
    std::ofstream{root / "web" / "app.js"} << "js";
    std::ofstream{root / "web" / "chat" / "index.html"} << "chat";
    std::ofstream{root / "secret" / "key.txt"} << "secret";
  }
  ~site() { fs::remove_all(root); }
};

} // namespace

TEST_CASE("static files resolve under their mount and never leave it") {
  site s;
  static_files files;
  files.mount("/", s.root / "web");
  files.mount("/assets/", s.root / "web");

  CHECK(files.resolve("/") == s.root / "web" / "index.html");
  CHECK(files.resolve("/app.js") == s.root / "web" / "app.js");
  CHECK(files.resolve("/chat") == s.root / "web" / "chat" / "index.html");
  CHECK(files.resolve("/chat/") == s.root / "web" / "chat" / "index.html");
  CHECK(files.resolve("/assets/app.js") == s.root / "web" / "app.js");
  CHECK_FALSE(files.resolve("/missing.css"));
  CHECK(files.is_directory("/chat"));
  CHECK_FALSE(files.is_directory("/app.js"));
  SECTION("traversal attempts find nothing") {
    CHECK_FALSE(files.resolve("/../secret/key.txt"));
    CHECK_FALSE(files.resolve("/chat/../../secret/key.txt"));
    CHECK_FALSE(files.resolve("/..\\secret\\key.txt"));
    CHECK_FALSE(files.resolve(std::string{"/app.js\0.png", 12}));
  }
  SECTION("content types follow the extension") {
    CHECK(static_files::content_type("a.html") == "text/html; charset=utf-8");
    CHECK(static_files::content_type("a.js") == "text/javascript; charset=utf-8");
    CHECK(static_files::content_type("a.unknown") == "application/octet-stream");
  }
}
