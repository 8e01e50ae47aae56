# Every dependency comes from a Debian package (.ci/install-deps installs them).
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS context)

# libev ships neither a CMake package nor a pkg-config file.
find_path(LIBEV_INCLUDE_DIR ev.h REQUIRED)
find_library(LIBEV_LIBRARY ev REQUIRED)
add_library(green_libev UNKNOWN IMPORTED)
set_target_properties(green_libev PROPERTIES IMPORTED_LOCATION "${LIBEV_LIBRARY}"
                                             INTERFACE_INCLUDE_DIRECTORIES "${LIBEV_INCLUDE_DIR}")
