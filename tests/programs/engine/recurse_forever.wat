;; recurse_forever.wat — recursion the C compiler could turn into a loop if
;; allowed (a self tail call, and f() + 1): both must trap with "call stack
;; exhausted", not spin forever (review finding; the AOT build passes
;; -fno-optimize-sibling-calls). Argument: 0 = tail form, else = non-tail form.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $tail (call $tail))
  (func $plus1 (result i32) (i32.add (call $plus1) (i32.const 1)))
  (func (export "_start")
    ;; argc > 1 selects the non-tail form
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 1))
      (then (drop (call $plus1)))
      (else (call $tail)))))
