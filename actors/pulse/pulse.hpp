// The one header an application includes.
#pragma once

#include <pulse/auth.hpp>
#include <pulse/channel.hpp>
#include <pulse/channel_handle.hpp>
#include <pulse/context.hpp>
#include <pulse/errors.hpp>
#include <pulse/event.hpp>
#include <pulse/handlers.hpp>
#include <pulse/server.hpp>
#include <pulse/token.hpp>
#include <pulse/typed.hpp>
#include <pulse/typed_channel.hpp>
