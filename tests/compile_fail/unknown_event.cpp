// expect: no pulse::in<"name", \.\.\.> of this channel's events has this name
// A handler for an event the channel does not declare.
#include "actors/typed_channel.hpp"

class room : public pulse::typed_channel<room> {
 public:
  using events = pulse::events<pulse::in<"say", pulse::none>>;
  pulse::handlers handlers() override { return {on<"shout">(&room::on_shout)}; }

 private:
  void on_shout(pulse::context&, const pulse::none&) {}
};

int main() {
  room r;
  return static_cast<int>(r.handlers().size());
}
