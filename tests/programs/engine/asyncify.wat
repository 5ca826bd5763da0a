;; asyncify.wat — the core migration loop at engine level (tests/unit/test_engine.c):
;; after `wasm-opt --asyncify --pass-arg=asyncify-imports@kafu.migration_point`,
;; the host unwinds at every migration point, moves memory + kafu_global_0 into
;; a FRESH instance and rewinds there. 3 calls of $work = 6 migration points.
;; Exit code: sum (0+10+20) + acc (0+1+2) = 33.
(module
  (import "kafu" "migration_point" (func $mp (param i32 i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $acc (export "kafu_global_0") (mut i32) (i32.const 0))
  (func $work (param $x i32) (result i32)
    (call $mp (i32.const 0) (i32.const 0))
    (global.set $acc (i32.add (global.get $acc) (local.get $x)))
    (call $mp (i32.const 0) (i32.const 1))
    (i32.mul (local.get $x) (i32.const 10)))
  (func (export "_start")
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum) (call $work (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
    (call $exit (i32.add (local.get $sum) (global.get $acc))))
)
