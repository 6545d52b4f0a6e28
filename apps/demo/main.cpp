// pulse-demo: one server hosting the sample channels and their pages.
#include "apps/demo/seed_channels.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"Pulse demo server: the sample channels and their web pages"};
  pulse::server_options options;
  std::string web_root = PULSE_DEMO_WEB_ROOT;
  app.add_option("--port", options.port, "TCP port; 0 picks a free one")->capture_default_str();
  app.add_option("--bind", options.bind, "address to listen on")->capture_default_str();
  app
    .add_option("--threads", options.threads, "threads for actors and for I/O (0: the CPUs usable)")
    ->capture_default_str();
  app.add_option("--web-root", web_root, "directory of the web pages")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    pulse::server server{options};
    pulse::demo::install_seed_channels(server);
    server.serve_files("/", web_root);
    auto port = server.start();
    std::printf("listening on http://%s:%u\n", options.bind.c_str(), unsigned{port});
    std::fflush(stdout);
    server.run();
  } catch (const std::exception& e) {
    std::cerr << "pulse-demo: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
