/*
 * kafu.h — the only header a Kafu application includes.
 *
 * KAFU_DEST(fn, "node")  marks fn to run on the node with that id. It emits an
 *                        empty wasm custom section named ".kafu_dest.<fn>.<node>"
 *                        (the same encoding as the original Kafu header, so
 *                        existing sources compile unchanged).
 * KAFU_EXPORT(fn)        exports fn under its own name and keeps the compiler
 *                        from inlining or discarding it. Place it right before
 *                        the declaration or definition. fn must not be static.
 *
 * On wasm, KAFU_EXPORT also makes fn a weak definition. A weak definition may
 * be replaced at link time, so the optimizer cannot reason about its body from
 * the call site: at -O2/-O3 (and with LTO) clang would otherwise infer that a
 * side-effect-free annotated function is pure, fold its result into the
 * caller and delete the call, and the migration would silently vanish. (A
 * second definition of the same function in another file is therefore not a
 * link error; `kafu cc` still reports an annotated function that is never
 * defined.)
 *
 * Both expand to nothing useful outside a wasm32 target, so the same source can
 * also be built natively for testing.
 */
#ifndef KAFU_H
#define KAFU_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__wasm__)
/* A custom section is created by an assembler .section directive whose name
 * starts with ".custom_section."; wasm-ld keeps such sections in the output. */
#define KAFU_DEST(fn, node) \
  __asm__(".section \".custom_section..kafu_dest." #fn "." node "\",\"\",@\n");
#ifdef __cplusplus
#define KAFU_EXPORT(fn) extern "C" __attribute__((used, export_name(#fn), noinline, weak))
#else
#define KAFU_EXPORT(fn) __attribute__((used, export_name(#fn), noinline, weak))
#endif
#else /* native build: annotations have no effect */
#define KAFU_DEST(fn, node)
#ifdef __cplusplus
#define KAFU_EXPORT(fn) extern "C" __attribute__((used, noinline))
#else
#define KAFU_EXPORT(fn) __attribute__((used, noinline))
#endif
#endif

#ifdef __cplusplus
}
#endif

#endif /* KAFU_H */
