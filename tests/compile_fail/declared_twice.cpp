// expect: an inbound event \(pulse::in\) is declared twice
// Two declarations of one event name.
#include "actors/typed_channel.hpp"

using events = pulse::events<pulse::in<"vote", pulse::none>, pulse::in<"vote", pulse::none, int>>;
static_assert(sizeof(events) > 0);

int main() {}
