/* config_internal.h — helpers shared by the files of src/config (not public). */
#ifndef KAFU_CONFIG_INTERNAL_H
#define KAFU_CONFIG_INTERNAL_H

/* Absolute, lexically normalized directory for `dir` (NULL or "" = cwd);
 * symlinks resolved when the directory exists. malloc'd; NULL on ENOMEM. */
char *kafu_config_abs_dir(const char *dir);
/* `p` if absolute, else dir/p; then lexically normalized ("a/./b/../c" -> "a/c").
 * malloc'd; NULL on ENOMEM. */
char *kafu_config_resolve(const char *dir, const char *p);

#endif
