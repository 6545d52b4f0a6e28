// expect: the handler must be Reply \(Channel::\*\)\(pulse::context&, const Payload&\)
// A handler whose signature is not the one its event declares.
#include "actors/typed_channel.hpp"

struct vote {
  int weight = 1;
};
BOOST_DESCRIBE_STRUCT(vote, (), (weight))

class poll : public pulse::typed_channel<poll> {
 public:
  using events = pulse::events<pulse::in<"vote", vote, int>>;
  pulse::handlers handlers() override { return {on<"vote">(&poll::on_vote)}; }

 private:
  void on_vote(pulse::context&, const vote&) {} // declared to reply an int
};

int main() {
  poll p;
  return static_cast<int>(p.handlers().size());
}
