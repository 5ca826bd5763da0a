;; mp_noop.wat — a Snapified-style module (imports kafu.migration_point and has
;; Asyncify-like exports); under `kafu run` its migration points are no-ops:
;; the program calls the import three times and exits with 5 + 3 = 8.
(module
  (import "kafu" "migration_point" (func $mp (param i32 i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (global $n (export "kafu_global_0") (mut i32) (i32.const 5))
  (func $step (call $mp (i32.const 0) (i32.const 0))
              (global.set $n (i32.add (global.get $n) (i32.const 1))))
  (func (export "_start") (call $step) (call $step) (call $step) (call $exit (global.get $n))))
