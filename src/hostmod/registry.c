/*
 * registry.c — the host modules kafu provides (kafu/hostmod.h).
 *
 * The engine looks every import module up here. Built-in modules are the list
 * below: to add one, define its kafu_hostmod in its own file and add it to
 * g_builtin. An embedder (or a test) can add its own at run time with
 * kafu_hostmod_register(). (The engine's own "kafu" module, i.e.
 * kafu.migration_point, is not listed: it belongs to the migration protocol,
 * see src/engine/engine.c.)
 */
#include <pthread.h>
#include <string.h>

#include "kafu/hostmod.h"

static const kafu_hostmod *const g_builtin[] = {
    &kafu_hostmod_wasi,
    &kafu_hostmod_spectest,
    &kafu_hostmod_wasi_nn,
    &kafu_hostmod_kafu_helper,
};
#define NBUILTIN (sizeof g_builtin / sizeof g_builtin[0])
#define MAX_REGISTERED 16

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static const kafu_hostmod *g_registered[MAX_REGISTERED];
static size_t g_nregistered;

const kafu_hostmod *kafu_hostmod_at(size_t i) {
  if (i < NBUILTIN) return g_builtin[i];
  pthread_mutex_lock(&g_mu);
  const kafu_hostmod *hm = i - NBUILTIN < g_nregistered ? g_registered[i - NBUILTIN] : NULL;
  pthread_mutex_unlock(&g_mu);
  return hm;
}

const kafu_hostmod *kafu_hostmod_find(const char *module) {
  const kafu_hostmod *hm;
  for (size_t i = 0; (hm = kafu_hostmod_at(i)); i++)
    if (!strcmp(hm->name, module)) return hm;
  return NULL;
}

const kafu_hostfn *kafu_hostmod_fn(const kafu_hostmod *hm, const char *name) {
  for (size_t i = 0; hm && i < hm->nfns; i++)
    if (!strcmp(hm->fns[i].name, name)) return &hm->fns[i];
  return NULL;
}

static bool valid_sig(const char *s, size_t max) {
  if (!s || strlen(s) > max) return false;
  for (; *s; s++)
    if (!strchr("iIfF", *s)) return false;
  return true;
}

int kafu_hostmod_register(const kafu_hostmod *hm, kafu_err *err) {
  if (!hm || !hm->name || !hm->name[0] || !strcmp(hm->name, "kafu") || (hm->nfns && !hm->fns))
    return kafu_err_set(err, KAFU_EINVAL, "host module: missing name or function table");
  for (size_t i = 0; i < hm->nfns; i++) {
    const kafu_hostfn *f = &hm->fns[i];
    if (!f->name || !f->fn || !valid_sig(f->params, 32) || !valid_sig(f->results, 1))
      return kafu_err_set(err, KAFU_EINVAL,
                          "host module %s: function #%zu: missing name or handler, or a "
                          "signature other than up to 32 of i I f F -> at most one",
                          hm->name, i);
  }
  pthread_mutex_lock(&g_mu);
  bool exists = false;
  for (size_t i = 0; i < NBUILTIN; i++) exists |= !strcmp(g_builtin[i]->name, hm->name);
  for (size_t i = 0; i < g_nregistered; i++) exists |= !strcmp(g_registered[i]->name, hm->name);
  int rc = 0;
  if (!exists && g_nregistered < MAX_REGISTERED)
    g_registered[g_nregistered++] = hm;
  else
    rc = kafu_err_set(err, KAFU_EINVAL, "host module %s: %s", hm->name,
                      exists ? "a module of that name exists" : "too many host modules");
  pthread_mutex_unlock(&g_mu);
  return rc;
}
