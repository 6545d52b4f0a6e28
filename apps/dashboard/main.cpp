// pulse-dashboard: the dashboard app alone.
#include "apps/common/app_main.hpp"
#include "apps/dashboard/dashboard.hpp"

int main(int argc, char** argv) {
  return pulse::apps::run_app(argc, argv, "Pulse dashboard: the server's own figures, live",
                              [](pulse::server& server, const std::filesystem::path& web) {
                                pulse::dashboard::install(server);
                                server.serve_files("/", web / "dashboard");
                              });
}
