/*
 * output.c — the driver's output file: checked before any work, written last.
 *
 * The module is linked and Snapified in a private temporary directory and only
 * then copied to its destination, so a failed build never leaves a half-written
 * or unsnapified file behind under the user's name. Like a linker, the output
 * replaces an existing file (temp + rename) and is executable (0777 & ~umask).
 * Special files (/dev/null) are written in place, never renamed over.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kafu/driver.h"

int kafu_drv_check_output(const char *path, kafu_err *err) {
  if (!strcmp(path, "-")) return 0;
  if (!*path) return kafu_err_set(err, KAFU_EINVAL, "empty output path (-o '')");
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode))
      return kafu_err_set(err, KAFU_EINVAL, "cannot write output '%s': it is a directory", path);
    if (!S_ISREG(st.st_mode)) {
      if (access(path, W_OK) != 0)
        return kafu_err_set(err, -errno, "cannot write output '%s': %s", path, strerror(errno));
      return 0; /* a device such as /dev/null: written in place */
    }
  }
  char *dir = kafu_path_dirname(path);
  if (!dir) return kafu_err_set(err, KAFU_ENOMEM, "out of memory");
  int rc = 0;
  if (stat(dir, &st) != 0) {
    rc = kafu_err_set(err, KAFU_ENOENT, "cannot write output '%s': directory '%s' does not exist", path, dir);
  } else if (!S_ISDIR(st.st_mode)) {
    rc = kafu_err_set(err, KAFU_EINVAL, "cannot write output '%s': '%s' is not a directory", path, dir);
  } else {
    /* the real test: can a file be created there? (access() says yes to root even
     * on /proc or a read-only bind mount) */
    char probe[PATH_MAX];
    snprintf(probe, sizeof probe, "%s/.kafu-probe-%d-XXXXXX", dir, (int)getpid());
    int fd = mkstemp(probe);
    if (fd < 0) {
      rc = kafu_err_set(err, -errno, "cannot write output '%s': cannot create files in directory '%s': %s",
                        path, dir, strerror(errno));
    } else {
      close(fd);
      unlink(probe);
    }
  }
  free(dir);
  return rc;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int kafu_drv_install_output(const char *tmp_path, const char *path, kafu_err *err) {
  uint8_t *data;
  size_t len;
  int rc = kafu_read_file(tmp_path, &data, &len, err);
  if (rc < 0) return rc;
  struct stat st;
  if (!strcmp(path, "-")) {
    if ((rc = write_all(1, data, len)) < 0)
      kafu_err_set(err, rc, "writing the module to stdout: %s", strerror(-rc));
  } else if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
      rc = kafu_err_set(err, -errno, "%s: cannot write: %s", path, strerror(errno));
    } else {
      if ((rc = write_all(fd, data, len)) < 0) kafu_err_set(err, rc, "%s: write: %s", path, strerror(-rc));
      close(fd);
    }
  } else if ((rc = kafu_write_file_atomic(path, data, len, err)) == 0) {
    mode_t mask = umask(0);
    umask(mask);
    if (chmod(path, 0777 & ~mask) != 0)
      rc = kafu_err_set(err, -errno, "%s: chmod: %s", path, strerror(errno));
  }
  free(data);
  return rc;
}
