// The one header an application includes.
#pragma once

#include "actors/auth.hpp"
#include "actors/channel.hpp"
#include "actors/channel_handle.hpp"
#include "actors/context.hpp"
#include "actors/errors.hpp"
#include "actors/event.hpp"
#include "actors/handlers.hpp"
#include "actors/server.hpp"
#include "actors/token.hpp"
#include "actors/typed.hpp"
#include "actors/typed_channel.hpp"
