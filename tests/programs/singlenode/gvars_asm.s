# gvars_asm.s — three mutable wasm globals (i32, i64, f64) and their accessors
# for gvars.c: C cannot declare wasm globals directly.
  .globaltype g_counter, i32
g_counter:
  .globaltype g_big, i64
g_big:
  .globaltype g_real, f64
g_real:

  .globl get_counter
  .type get_counter,@function
get_counter:
  .functype get_counter () -> (i32)
  global.get g_counter
  end_function

  .globl set_counter
  .type set_counter,@function
set_counter:
  .functype set_counter (i32) -> ()
  local.get 0
  global.set g_counter
  end_function

  .globl get_big
  .type get_big,@function
get_big:
  .functype get_big () -> (i64)
  global.get g_big
  end_function

  .globl set_big
  .type set_big,@function
set_big:
  .functype set_big (i64) -> ()
  local.get 0
  global.set g_big
  end_function

  .globl get_real
  .type get_real,@function
get_real:
  .functype get_real () -> (f64)
  global.get g_real
  end_function

  .globl set_real
  .type set_real,@function
set_real:
  .functype set_real (f64) -> ()
  local.get 0
  global.set g_real
  end_function
