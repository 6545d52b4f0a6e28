# The dependencies that ship no CMake targets, as imported targets: CAF 0.17 (Debian's has no
# CMake package) and hiredis 0.14 (its package sets variables only). Used by Pulse's build and by
# its installed package (PulseConfig.cmake), so that Pulse::pulse links the same way in both.
if(NOT TARGET Pulse::caf)
  if(PULSE_CAF_ROOT)
    # A CAF source and build tree of its own (scripts/build-tsan-caf).
    add_library(Pulse::caf STATIC IMPORTED GLOBAL)
    set_target_properties(Pulse::caf PROPERTIES
      IMPORTED_LOCATION ${PULSE_CAF_ROOT}/build/lib/libcaf_core_static.a
      INTERFACE_INCLUDE_DIRECTORIES "${PULSE_CAF_ROOT}/build/libcaf_core;${PULSE_CAF_ROOT}/src/libcaf_core"
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  else()
    find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
    find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
    add_library(Pulse::caf SHARED IMPORTED GLOBAL)
    set_target_properties(Pulse::caf PROPERTIES
      IMPORTED_LOCATION ${CAF_CORE_LIBRARY}
      INTERFACE_INCLUDE_DIRECTORIES ${CAF_INCLUDE_DIR}
      INTERFACE_LINK_LIBRARIES Threads::Threads)
  endif()
endif()

if(NOT TARGET Pulse::hiredis)
  add_library(Pulse::hiredis UNKNOWN IMPORTED GLOBAL)
  set_target_properties(Pulse::hiredis PROPERTIES
    IMPORTED_LOCATION ${HIREDIS_LIBRARIES}
    INTERFACE_INCLUDE_DIRECTORIES ${HIREDIS_INCLUDE_DIRS})
endif()
