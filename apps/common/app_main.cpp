#include "apps/common/app_main.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

namespace pulse::apps {

int run_app(int argc, char** argv, std::string_view description,
            const std::function<void(server&, const std::filesystem::path&)>& install) {
  CLI::App app{std::string{description}};
  server_options options;
  std::string web_root = PULSE_WEB_ROOT;
  app.add_option("--port", options.port, "TCP port; 0 picks a free one")->capture_default_str();
  app.add_option("--bind", options.bind, "address to listen on")->capture_default_str();
  app
    .add_option("--threads", options.threads,
                "threads for actors and for I/O, each (0: the CPUs this process may use)")
    ->capture_default_str();
  app.add_option("--web-root", web_root, "directory of the built web pages")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    server srv{options};
    install(srv, web_root);
    auto port = srv.start();
    std::printf("listening on http://%s:%u\n", options.bind.c_str(), unsigned{port});
    std::fflush(stdout);
    srv.run();
  } catch (const std::exception& e) {
    std::cerr << argv[0] << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

} // namespace pulse::apps
