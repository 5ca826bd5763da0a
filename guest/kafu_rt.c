/*
 * kafu_rt.c — guest-side support linked into every module by `kafu cc`.
 *
 * Reserves the Asyncify data region in .bss: the program never touches it, it
 * costs nothing in the module file, and its address is exported to Snapify via
 * `-Wl,--export=__kafu_asyncify_buf` (see docs/abi.md). The size comes from
 * `kafu cc --kafu-stack-size=BYTES`, which compiles this file with
 * -DKAFU_ASYNCIFY_BUF_SIZE=BYTES.
 */
#ifndef KAFU_ASYNCIFY_BUF_SIZE
#define KAFU_ASYNCIFY_BUF_SIZE (1024 * 1024)
#endif

__attribute__((used, aligned(16))) unsigned char __kafu_asyncify_buf[KAFU_ASYNCIFY_BUF_SIZE];

/* The size reserved above, exported (-Wl,--export=__kafu_asyncify_buf_size) so
 * Snapify can check it against --kafu-stack-size instead of trusting the flag. */
__attribute__((used)) const unsigned __kafu_asyncify_buf_size = KAFU_ASYNCIFY_BUF_SIZE;
