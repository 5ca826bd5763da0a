;; bad_calls.wat — hostile and broken calls into wasi_ephemeral_nn and
;; kafu_helper (tests/shell/nn_bad_input.sh). Every call must come back with
;; the expected wasi-nn error code, never a trap or a crash of the host. Run
;; with --nn-preload m:<a 2x3 float Relu model> and --dir <dir>::/ where dir
;; holds nothing readable. Exits 0 when all matched, else the number of the
;; first check that did not.
(module
  (import "wasi_ephemeral_nn" "load" (func $load (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "load_by_name" (func $load_by_name (param i32 i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "init_execution_context" (func $init (param i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "set_input" (func $set_input (param i32 i32 i32) (result i32)))
  (import "wasi_ephemeral_nn" "compute" (func $compute (param i32) (result i32)))
  (import "wasi_ephemeral_nn" "get_output" (func $get_output (param i32 i32 i32 i32 i32) (result i32)))
  (import "kafu_helper" "image_to_tensor" (func $img (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  ;; 0x000 builder {0x010, 8}   0x010 "notonnx!"   0x020 name "m"
  ;; 0x030 builder {0x10000, 100} (past memory)
  ;; 0x040 "nope.jpg"  0x050 "../../../etc/passwd"  0x070 "/etc/passwd"
  ;; 0x100 dims [2,3]   0x108 dims [3,2]   0x110 dims [0xffffffff,0xffffffff]
  ;; 0x200 tensor {dims 0x100, rank 2, fp32, data 0x300, 24}
  ;; 0x220 tensor {dims 0xfff0, rank 2, ...}       (dims outside memory)
  ;; 0x240 tensor {dims 0x100, rank 99, ...}
  ;; 0x260 tensor {dims 0x108, rank 2, fp32, data 0x300, 24}   (wrong shape)
  ;; 0x280 tensor {dims 0x100, rank 2, i32, data 0x300, 24}    (wrong type)
  ;; 0x2a0 tensor {dims 0x110, rank 2, fp32, data 0x300, 24}   (huge dims)
  ;; 0x2c0 tensor {dims 0x100, rank 2, fp32, data 0xfff0, 24}  (data outside memory)
  ;; 0x300 data: six floats
  (data (i32.const 0x000) "\10\00\00\00\08\00\00\00")
  (data (i32.const 0x010) "notonnx!")
  (data (i32.const 0x020) "m")
  (data (i32.const 0x030) "\00\00\01\00\64\00\00\00")
  (data (i32.const 0x040) "nope.jpg")
  (data (i32.const 0x050) "../../../etc/passwd")
  (data (i32.const 0x070) "/etc/passwd")
  (data (i32.const 0x100) "\02\00\00\00\03\00\00\00")
  (data (i32.const 0x108) "\03\00\00\00\02\00\00\00")
  (data (i32.const 0x110) "\ff\ff\ff\ff\ff\ff\ff\ff")
  (data (i32.const 0x200) "\00\01\00\00\02\00\00\00\01\00\00\00\00\03\00\00\18\00\00\00")
  (data (i32.const 0x220) "\f0\ff\00\00\02\00\00\00\01\00\00\00\00\03\00\00\18\00\00\00")
  (data (i32.const 0x240) "\00\01\00\00\63\00\00\00\01\00\00\00\00\03\00\00\18\00\00\00")
  (data (i32.const 0x260) "\08\01\00\00\02\00\00\00\01\00\00\00\00\03\00\00\18\00\00\00")
  (data (i32.const 0x280) "\00\01\00\00\02\00\00\00\04\00\00\00\00\03\00\00\18\00\00\00")
  (data (i32.const 0x2a0) "\10\01\00\00\02\00\00\00\01\00\00\00\00\03\00\00\18\00\00\00")
  (data (i32.const 0x2c0) "\00\01\00\00\02\00\00\00\01\00\00\00\f0\ff\00\00\18\00\00\00")
  (data (i32.const 0x300) "\00\00\80\bf\00\00\00\40\00\00\40\c0\00\00\80\40\00\00\00\00\00\00\a0\40")

  (func $expect (param $check i32) (param $got i32) (param $want i32)
    (if (i32.ne (local.get $got) (local.get $want)) (then (call $exit (local.get $check)))))

  (func (export "_start")
    (local $g i32) (local $c i32)
    ;; load: array, builder bytes, result pointer outside memory; too many builders
    (call $expect (i32.const 1) (call $load (i32.const 0xfffffff0) (i32.const 1) (i32.const 1) (i32.const 0) (i32.const 0x400)) (i32.const 1))
    (call $expect (i32.const 2) (call $load (i32.const 0x030) (i32.const 1) (i32.const 1) (i32.const 0) (i32.const 0x400)) (i32.const 1))
    (call $expect (i32.const 3) (call $load (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 0) (i32.const 0xfffe)) (i32.const 1))
    (call $expect (i32.const 4) (call $load (i32.const 0) (i32.const 100) (i32.const 1) (i32.const 0) (i32.const 0x400)) (i32.const 1))
    ;; not a model; other encodings and targets; unknown values
    (call $expect (i32.const 5) (call $load (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 0) (i32.const 0x400)) (i32.const 2))
    (call $expect (i32.const 6) (call $load (i32.const 0) (i32.const 1) (i32.const 2) (i32.const 0) (i32.const 0x400)) (i32.const 6))
    (call $expect (i32.const 7) (call $load (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1) (i32.const 0x400)) (i32.const 6))
    (call $expect (i32.const 8) (call $load (i32.const 0) (i32.const 1) (i32.const 77) (i32.const 0) (i32.const 0x400)) (i32.const 1))
    ;; names
    (call $expect (i32.const 9) (call $load_by_name (i32.const 0xfff0) (i32.const 100) (i32.const 0x400)) (i32.const 1))
    (call $expect (i32.const 10) (call $load_by_name (i32.const 0x040) (i32.const 4) (i32.const 0x400)) (i32.const 8))
    ;; unknown handles
    (call $expect (i32.const 11) (call $init (i32.const 7) (i32.const 0x400)) (i32.const 1))
    (call $expect (i32.const 12) (call $set_input (i32.const 5) (i32.const 0) (i32.const 0x200)) (i32.const 1))
    (call $expect (i32.const 13) (call $compute (i32.const 5)) (i32.const 1))
    (call $expect (i32.const 14) (call $get_output (i32.const 5) (i32.const 0) (i32.const 0x500) (i32.const 64) (i32.const 0x404)) (i32.const 1))
    ;; a real graph and context
    (call $expect (i32.const 15) (call $load_by_name (i32.const 0x020) (i32.const 1) (i32.const 0x400)) (i32.const 0))
    (local.set $g (i32.load (i32.const 0x400)))
    (call $expect (i32.const 16) (call $init (local.get $g) (i32.const 0x404)) (i32.const 0))
    (local.set $c (i32.load (i32.const 0x404)))
    ;; bad tensors
    (call $expect (i32.const 17) (call $set_input (local.get $c) (i32.const 0) (i32.const 0xfff0)) (i32.const 1))
    (call $expect (i32.const 18) (call $set_input (local.get $c) (i32.const 0) (i32.const 0x220)) (i32.const 1))
    (call $expect (i32.const 19) (call $set_input (local.get $c) (i32.const 0) (i32.const 0x240)) (i32.const 7))
    (call $expect (i32.const 20) (call $set_input (local.get $c) (i32.const 0) (i32.const 0x260)) (i32.const 1))
    (call $expect (i32.const 21) (call $set_input (local.get $c) (i32.const 0) (i32.const 0x280)) (i32.const 1))
    (call $expect (i32.const 22) (call $set_input (local.get $c) (i32.const 0) (i32.const 0x2a0)) (i32.const 7))
    (call $expect (i32.const 23) (call $set_input (local.get $c) (i32.const 0) (i32.const 0x2c0)) (i32.const 1))
    (call $expect (i32.const 24) (call $set_input (local.get $c) (i32.const 3) (i32.const 0x200)) (i32.const 1))
    (call $expect (i32.const 25) (call $compute (local.get $c)) (i32.const 1))
    (call $expect (i32.const 26) (call $get_output (local.get $c) (i32.const 0) (i32.const 0x500) (i32.const 64) (i32.const 0x408)) (i32.const 1))
    ;; then a good one, and output buffers that are too small or outside memory
    (call $expect (i32.const 27) (call $set_input (local.get $c) (i32.const 0) (i32.const 0x200)) (i32.const 0))
    (call $expect (i32.const 28) (call $compute (local.get $c)) (i32.const 0))
    (call $expect (i32.const 29) (call $get_output (local.get $c) (i32.const 0) (i32.const 0xfff0) (i32.const 64) (i32.const 0x408)) (i32.const 1))
    (call $expect (i32.const 30) (call $get_output (local.get $c) (i32.const 0) (i32.const 0x500) (i32.const 4) (i32.const 0x408)) (i32.const 7))
    (call $expect (i32.const 31) (call $get_output (local.get $c) (i32.const 1) (i32.const 0x500) (i32.const 64) (i32.const 0x408)) (i32.const 1))
    (call $expect (i32.const 32) (call $get_output (local.get $c) (i32.const 0) (i32.const 0x500) (i32.const 64) (i32.const 0x408)) (i32.const 0))
    (call $expect (i32.const 33) (i32.load (i32.const 0x408)) (i32.const 24))
    ;; relu(-1) = 0 (OpenCV gives -0), relu(2) = 2
    (call $expect (i32.const 34) (i32.and (i32.load (i32.const 0x500)) (i32.const 0x7fffffff)) (i32.const 0))
    (call $expect (i32.const 35) (i32.load (i32.const 0x504)) (i32.const 0x40000000))
    ;; image_to_tensor: pointers outside memory, sizes, paths outside the sandbox
    (call $expect (i32.const 36) (call $img (i32.const 0xfff0) (i32.const 100) (i32.const 4) (i32.const 4) (i32.const 0x600) (i32.const 0x40c)) (i32.const 1))
    (call $expect (i32.const 37) (call $img (i32.const 0x040) (i32.const 8) (i32.const 4) (i32.const 4) (i32.const 0xffd0) (i32.const 0x40c)) (i32.const 1))
    (call $expect (i32.const 38) (call $img (i32.const 0x040) (i32.const 8) (i32.const 100000) (i32.const 100000) (i32.const 0x600) (i32.const 0x40c)) (i32.const 7))
    (call $expect (i32.const 39) (call $img (i32.const 0x040) (i32.const 8) (i32.const 0) (i32.const 4) (i32.const 0x600) (i32.const 0x40c)) (i32.const 1))
    (call $expect (i32.const 40) (call $img (i32.const 0x040) (i32.const 8) (i32.const 4) (i32.const 4) (i32.const 0x600) (i32.const 0x40c)) (i32.const 8))
    (call $expect (i32.const 41) (call $img (i32.const 0x050) (i32.const 19) (i32.const 4) (i32.const 4) (i32.const 0x600) (i32.const 0x40c)) (i32.const 1))
    (call $expect (i32.const 42) (call $img (i32.const 0x070) (i32.const 11) (i32.const 4) (i32.const 4) (i32.const 0x600) (i32.const 0x40c)) (i32.const 8))
    (call $expect (i32.const 43) (i32.load (i32.const 0x40c)) (i32.const 0))
  )
)
