# Platform/WASI-Clang-C.cmake — object files are .o (CMake defaults to .obj on
# platforms it does not know to be UNIX-like).
set(CMAKE_C_OUTPUT_EXTENSION .o)
