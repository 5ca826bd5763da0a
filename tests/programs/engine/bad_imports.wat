;; bad_imports.wat — imports kafu does not provide; loading must fail naming them.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (import "env" "get_time" (func (result i64)))
  (import "env" "table" (table 1 funcref))
  (func (export "_start")))
