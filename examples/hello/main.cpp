// hello: the greeter channel on ws://127.0.0.1:4000/socket (the official phoenix client's URL).
#include "greeter.hpp"

int main() {
  pulse::server server{{.bind = "127.0.0.1", .port = 4000}};
  server.channel<greeter>("greeter:*");
  server.run(); // until SIGINT or SIGTERM
}
