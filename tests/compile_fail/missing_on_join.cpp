// expect: a channel that declares join_with<Params> defines void on_join
// Join params declared, but nothing to receive them.
#include "actors/typed_channel.hpp"

struct login {
  std::string name;
};
BOOST_DESCRIBE_STRUCT(login, (), (name))

class room : public pulse::typed_channel<room> {
 public:
  using events = pulse::events<pulse::join_with<login>>;
};

int main() {
  room r;
  (void)r;
}
