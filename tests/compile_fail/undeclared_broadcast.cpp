// expect: no pulse::out<"name", T> of this channel's events carries this type
// A broadcast of a type that no outbound event declares.
#include "actors/typed_channel.hpp"

struct said {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(said, (), (text))
struct shouted {
  std::string text;
};
BOOST_DESCRIBE_STRUCT(shouted, (), (text))

class room : public pulse::typed_channel<room> {
 public:
  using events = pulse::events<pulse::in<"say", said>, pulse::out<"said", said>>;
  pulse::handlers handlers() override { return {on<"say">(&room::on_say)}; }

 private:
  void on_say(pulse::context&, const said& in) { broadcast(shouted{in.text}); }
};

int main() {
  room r;
  return static_cast<int>(r.handlers().size());
}
