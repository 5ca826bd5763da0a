/* nn_internal.h — shared by the files of src/nn. */
#ifndef KAFU_NN_INTERNAL_H
#define KAFU_NN_INTERNAL_H

#include "kafu/nn.h"

/* The negative KAFU_E* code that goes with a wasi-nn status (for err->code). */
int kafu_nn_status_code(int status);

/* Put a message into err and evaluate to the wasi-nn status:
 *   return NN_FAIL(err, KAFU_NN_TOO_LARGE, "input '%s' ...", name); */
#define NN_FAIL(err, status, ...) (kafu_err_set((err), kafu_nn_status_code(status), __VA_ARGS__), (status))

/* Current reference count of m (the model cache drops models only it holds). */
int kafu_nn_model_refs(const kafu_nn_model *m);

#endif
