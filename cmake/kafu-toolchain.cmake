# kafu-toolchain.cmake — build a CMake project into Kafu modules.
#
#   cmake -S . -B build -DCMAKE_TOOLCHAIN_FILE=<prefix>/share/kafu/cmake/kafu-toolchain.cmake
#   cmake --build build          # add_executable(app ...) -> build/app.wasm
#
# The compilers are Kafu's single-path drivers kafu-cc / kafu-c++ (clang for
# wasm32-wasi + Snapify). They are looked up, in order:
#   1. KAFU_BIN_DIR (a -D cache variable or an environment variable);
#   2. <prefix>/bin next to this file, i.e. ../../../bin (installed layout);
#   3. PATH.
# Extra driver options go into the usual variables, e.g.
#   -DCMAKE_EXE_LINKER_FLAGS=--kafu-stack-size=4M   (Asyncify region at link)
#   -DCMAKE_EXE_LINKER_FLAGS=--no-snapify           (plain wasm32-wasi module)
# Static libraries are archived with llvm-ar (GNU ar writes no symbol index for
# wasm objects). Shared libraries are not supported on WASI.
cmake_minimum_required(VERSION 3.20)

set(CMAKE_SYSTEM_NAME WASI)
set(CMAKE_SYSTEM_VERSION 1)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
# CMake has no Platform/WASI module before 3.27-ish: ours sits next to this file.
list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}")

if(NOT KAFU_BIN_DIR AND DEFINED ENV{KAFU_BIN_DIR})
  set(KAFU_BIN_DIR "$ENV{KAFU_BIN_DIR}")
endif()
if(NOT KAFU_BIN_DIR)
  get_filename_component(_kafu_guess "${CMAKE_CURRENT_LIST_DIR}/../../../bin" ABSOLUTE)
  if(EXISTS "${_kafu_guess}/kafu-cc")
    set(KAFU_BIN_DIR "${_kafu_guess}")
  else()
    find_program(_kafu_cc_in_path kafu-cc)
    if(_kafu_cc_in_path)
      get_filename_component(KAFU_BIN_DIR "${_kafu_cc_in_path}" DIRECTORY)
    endif()
  endif()
endif()
if(NOT KAFU_BIN_DIR OR NOT EXISTS "${KAFU_BIN_DIR}/kafu-cc")
  message(FATAL_ERROR "kafu-toolchain.cmake: kafu-cc not found (looked in KAFU_BIN_DIR, "
                      "${CMAKE_CURRENT_LIST_DIR}/../../../bin and PATH). Install Kafu with "
                      "`make install PREFIX=...` or pass -DKAFU_BIN_DIR=<dir holding kafu-cc>.")
endif()
# try_compile projects re-read this file; hand them the same directory
set(KAFU_BIN_DIR "${KAFU_BIN_DIR}" CACHE PATH "Directory holding kafu, kafu-cc and kafu-c++")
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES KAFU_BIN_DIR)

set(CMAKE_C_COMPILER "${KAFU_BIN_DIR}/kafu-cc")
set(CMAKE_CXX_COMPILER "${KAFU_BIN_DIR}/kafu-c++")
set(CMAKE_EXECUTABLE_SUFFIX ".wasm")

find_program(KAFU_LLVM_AR NAMES llvm-ar llvm-ar-14)
find_program(KAFU_LLVM_RANLIB NAMES llvm-ranlib llvm-ranlib-14)
if(KAFU_LLVM_AR)
  set(CMAKE_AR "${KAFU_LLVM_AR}" CACHE FILEPATH "Archiver for wasm objects")
endif()
if(KAFU_LLVM_RANLIB)
  set(CMAKE_RANLIB "${KAFU_LLVM_RANLIB}" CACHE FILEPATH "Ranlib for wasm objects")
endif()

# `kafu run` executes modules for try_run() and add_test()
set(CMAKE_CROSSCOMPILING_EMULATOR "${KAFU_BIN_DIR}/kafu;run")

# find_* must not pick up native libraries and headers: only under the Kafu
# prefix (where wasm libraries can be installed) and never programs from it.
get_filename_component(_kafu_prefix "${KAFU_BIN_DIR}/.." ABSOLUTE)
list(APPEND CMAKE_FIND_ROOT_PATH "${_kafu_prefix}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
