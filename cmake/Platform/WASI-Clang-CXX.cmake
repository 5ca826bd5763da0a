# Platform/WASI-Clang-CXX.cmake — object files are .o (CMake defaults to .obj on
# platforms it does not know to be UNIX-like).
set(CMAKE_CXX_OUTPUT_EXTENSION .o)
