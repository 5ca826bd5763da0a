# aarch64-linux-gnu.cmake — cross-build kafu itself for 64-bit ARM Linux with
# Debian's cross toolchain and arm64 multiarch libraries (`make deps-cross`).
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build-aarch64          # or simply: make build-aarch64
#   qemu-aarch64 -L / build-aarch64/bin/kafu serve ...
#
# Binaryen is not Multi-Arch in Debian (its arm64 package cannot be installed
# next to the host's), so this build defaults to KAFU_WITH_BINARYEN=OFF: a node
# build without the Snapify transform (`kafu cc`/`kafu snapify` explain that
# they are unavailable); modules are compiled elsewhere. See
# docs/heterogeneous.md. Not installed with kafu (it builds kafu, not modules).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(KAFU_TRIPLE aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${KAFU_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${KAFU_TRIPLE}-g++)

# Multiarch layout: libraries under /usr/lib/aarch64-linux-gnu, headers shared
# in /usr/include (+ /usr/include/aarch64-linux-gnu). pkg-config must only see
# the arm64 .pc files.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${KAFU_TRIPLE}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
set(CMAKE_LIBRARY_ARCHITECTURE ${KAFU_TRIPLE})
set(CMAKE_FIND_ROOT_PATH /usr/${KAFU_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# Run target programs (tests, try_run) under user-mode emulation.
find_program(KAFU_QEMU_AARCH64 qemu-aarch64)
if(KAFU_QEMU_AARCH64)
  # -L /: the arm64 multiarch libc6 (a dependency of the -dev libraries) and its
  # ld.so must be used together; the cross toolchain's copy in /usr/${KAFU_TRIPLE}
  # is another glibc build, and mixing the two hangs fork() in the child.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${KAFU_QEMU_AARCH64} -L /)
endif()

set(KAFU_WITH_BINARYEN OFF CACHE BOOL "link libbinaryen (Snapify, kafu cc)")
