/* Power-cut shim for scripts/crash-harness --power-cut.
 *
 * Loaded with LD_PRELOAD into one breakglass process. It records, in order,
 * every call that changes a file or a directory, and every call that makes
 * something durable, and lets each call proceed unchanged:
 *
 *   W ino off len dat    data written to a regular file (bytes in the .dat
 *                        file at offset dat)
 *   T ino len            the file's size set (ftruncate, O_TRUNC, fallocate)
 *   F ino                fsync or fdatasync of a file or a directory
 *   S ino                sync_file_range (recorded; it makes nothing durable)
 *   C pino name ino      open(O_CREAT) made a new file `name` in directory pino
 *   M pino name ino      mkdir
 *   R pino name qino new rename of pino/name to qino/new
 *   U pino name          unlink or rmdir
 *   O n                  a write to something that is not a regular file
 *                        (stdout, a pipe): n bytes
 *
 * Every such call, the writes to stdout included, is one operation. With
 * BG_POWERCUT_CUT=K the process kills itself with SIGKILL just before its
 * K-th operation: the power is cut there, and operations 1..K-1 happened.
 * All recorded calls are serialised under one lock, so the record is the
 * order in which they took effect. scripts/crash-harness then rebuilds "the
 * disk after the cut" from the record (see docs/RELIABILITY.md).
 *
 * The shim is active only in the process that loaded it: it removes its
 * variables (and LD_PRELOAD) from the environment at load time, so an
 * alert hook the vault starts runs without it.
 *
 * Built by the harness at run time: cc -shared -fPIC -O1 -o shim.so shim.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1, dat_fd = -1;
static pid_t owner;
static long long ops, cut_at, dat_off;

static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite64)(int, const void *, size_t, off_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);
static int (*real_openat64)(int, const char *, int, ...);
static int (*real_creat)(const char *, mode_t);
static int (*real_ftruncate)(int, off_t);
static int (*real_ftruncate64)(int, off_t);
static int (*real_fallocate)(int, int, off_t, off_t);
static int (*real_fallocate64)(int, int, off_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_sync_file_range)(int, off_t, off_t, unsigned int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_renameat2)(int, const char *, int, const char *, unsigned int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);
static int (*real_rmdir)(const char *);
static int (*real_mkdir)(const char *, mode_t);
static int (*real_mkdirat)(int, const char *, mode_t);

#define REAL(name) real_##name = dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void init(void) {
  REAL(write); REAL(pwrite64); REAL(writev); REAL(pwritev);
  REAL(open); REAL(open64); REAL(openat); REAL(openat64); REAL(creat);
  REAL(ftruncate); REAL(ftruncate64); REAL(fallocate); REAL(fallocate64);
  REAL(fsync); REAL(fdatasync); REAL(sync_file_range);
  REAL(rename); REAL(renameat); REAL(renameat2);
  REAL(unlink); REAL(unlinkat); REAL(rmdir); REAL(mkdir); REAL(mkdirat);
  const char *prefix = getenv("BG_POWERCUT_LOG");
  const char *cut = getenv("BG_POWERCUT_CUT");
  if (prefix) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s.log", prefix);
    log_fd = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    snprintf(p, sizeof p, "%s.dat", prefix);
    dat_fd = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0 || dat_fd < 0) {
      static const char m[] = "powercut shim: cannot open its log\n";
      real_write(2, m, sizeof m - 1);
      _exit(97);
    }
    cut_at = cut ? atoll(cut) : 0;
    owner = getpid();
  }
  unsetenv("BG_POWERCUT_LOG");
  unsetenv("BG_POWERCUT_CUT");
  unsetenv("LD_PRELOAD");
}

static int active(void) { return log_fd >= 0 && getpid() == owner; }

static void put_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = real_write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(98);
    p += w;
    n -= (size_t)w;
  }
}

static void logf_(const char *fmt, ...) {
  char line[3 * PATH_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0 || n >= (int)sizeof line - 1) _exit(98);
  line[n++] = '\n';
  put_all(log_fd, line, (size_t)n);
}

/* One more operation; the power goes out before the K-th. Called with the
 * lock held, so no other thread's operation can slip in after it. */
static void step(void) {
  ops++;
  if (cut_at > 0 && ops >= cut_at) {
    kill(getpid(), SIGKILL);
    for (;;) pause();
  }
}

/* Regular file or directory inode behind fd, or 0. */
static unsigned long long fd_ino(int fd, int *is_reg) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  if (is_reg) *is_reg = S_ISREG(st.st_mode);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return 0;
  return (unsigned long long)st.st_ino;
}

/* Splits the absolute form of (dirfd, path) into its parent directory's
 * inode and its last name. Returns 0 if it cannot. */
static int parent_of(int dirfd, const char *path, unsigned long long *pino, char *name) {
  char full[2 * PATH_MAX];
  if (path[0] == '/') {
    snprintf(full, sizeof full, "%s", path);
  } else {
    char base[PATH_MAX];
    if (dirfd == AT_FDCWD) {
      if (!getcwd(base, sizeof base)) return 0;
    } else {
      char l[64];
      snprintf(l, sizeof l, "/proc/self/fd/%d", dirfd);
      ssize_t n = readlink(l, base, sizeof base - 1);
      if (n < 0) return 0;
      base[n] = 0;
    }
    snprintf(full, sizeof full, "%s/%s", base, path);
  }
  size_t len = strlen(full);
  while (len > 1 && full[len - 1] == '/') full[--len] = 0;
  char *slash = strrchr(full, '/');
  if (!slash) return 0;
  snprintf(name, PATH_MAX, "%s", slash + 1);
  if (slash == full) slash[1] = 0; else *slash = 0;
  struct stat st;
  if (stat(full, &st) != 0) return 0;
  *pino = (unsigned long long)st.st_ino;
  return 1;
}

static void log_data(int fd, const void *buf, size_t n, off_t off) {
  int reg = 0;
  unsigned long long ino = fd_ino(fd, &reg);
  if (!ino || !reg) {
    logf_("O %zu", n);
    return;
  }
  put_all(dat_fd, buf, n);
  logf_("W %llu %lld %zu %lld", ino, (long long)off, n, dat_off);
  dat_off += (long long)n;
}

ssize_t write(int fd, const void *buf, size_t n) {
  if (!active()) return real_write(fd, buf, n);
  pthread_mutex_lock(&mu);
  step();
  ssize_t r = real_write(fd, buf, n);
  if (r > 0) {
    off_t end = lseek(fd, 0, SEEK_CUR);
    log_data(fd, buf, (size_t)r, end < 0 ? 0 : end - r);
  }
  pthread_mutex_unlock(&mu);
  return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
  if (!active()) return real_pwrite64(fd, buf, n, off);
  pthread_mutex_lock(&mu);
  step();
  ssize_t r = real_pwrite64(fd, buf, n, off);
  if (r > 0) log_data(fd, buf, (size_t)r, off);
  pthread_mutex_unlock(&mu);
  return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) { return pwrite64(fd, buf, n, off); }

static void log_iov(int fd, const struct iovec *iov, int cnt, ssize_t r, off_t off) {
  for (int i = 0; i < cnt && r > 0; i++) {
    size_t n = iov[i].iov_len < (size_t)r ? iov[i].iov_len : (size_t)r;
    if (n) log_data(fd, iov[i].iov_base, n, off);
    off += (off_t)n;
    r -= (ssize_t)n;
  }
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  if (!active()) return real_writev(fd, iov, cnt);
  pthread_mutex_lock(&mu);
  step();
  ssize_t r = real_writev(fd, iov, cnt);
  if (r > 0) {
    off_t end = lseek(fd, 0, SEEK_CUR);
    log_iov(fd, iov, cnt, r, end < 0 ? 0 : end - r);
  }
  pthread_mutex_unlock(&mu);
  return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  if (!active()) return real_pwritev(fd, iov, cnt, off);
  pthread_mutex_lock(&mu);
  step();
  ssize_t r = real_pwritev(fd, iov, cnt, off);
  if (r > 0) log_iov(fd, iov, cnt, r, off);
  pthread_mutex_unlock(&mu);
  return r;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) { return pwritev(fd, iov, cnt, off); }

static int do_open(int (*real)(), int use_at, int dirfd, const char *path, int flags, mode_t mode) {
  int r;
#define CALL() (use_at ? ((int (*)(int, const char *, int, ...))real)(dirfd, path, flags, mode) \
                       : ((int (*)(const char *, int, ...))real)(path, flags, mode))
  if (!active() || !(flags & (O_CREAT | O_TRUNC))) return CALL();
  pthread_mutex_lock(&mu);
  step();
  struct stat st;
  int existed = fstatat(use_at ? dirfd : AT_FDCWD, path, &st, 0) == 0;
  unsigned long long pino = 0;
  char name[PATH_MAX];
  int have_parent = !existed && parent_of(use_at ? dirfd : AT_FDCWD, path, &pino, name);
  r = CALL();
  if (r >= 0) {
    int reg = 0;
    unsigned long long ino = fd_ino(r, &reg);
    if (ino && reg) {
      if (!existed && have_parent) logf_("C %llu %s %llu", pino, name, ino);
      else if (existed && (flags & O_TRUNC)) logf_("T %llu 0", ino);
    }
  }
  pthread_mutex_unlock(&mu);
  return r;
#undef CALL
}

#define OPEN_MODE(flags) \
  mode_t mode = 0; \
  if ((flags) & (O_CREAT | O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }

int open(const char *path, int flags, ...) { OPEN_MODE(flags); return do_open((int (*)())real_open, 0, 0, path, flags, mode); }
int open64(const char *path, int flags, ...) { OPEN_MODE(flags); return do_open((int (*)())real_open64, 0, 0, path, flags, mode); }
int openat(int d, const char *path, int flags, ...) { OPEN_MODE(flags); return do_open((int (*)())real_openat, 1, d, path, flags, mode); }
int openat64(int d, const char *path, int flags, ...) { OPEN_MODE(flags); return do_open((int (*)())real_openat64, 1, d, path, flags, mode); }
int creat(const char *path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

static int do_truncate(int (*real)(int, off_t), int fd, off_t len) {
  if (!active()) return real(fd, len);
  pthread_mutex_lock(&mu);
  step();
  int r = real(fd, len);
  int reg = 0;
  unsigned long long ino = fd_ino(fd, &reg);
  if (r == 0 && ino && reg) logf_("T %llu %lld", ino, (long long)len);
  pthread_mutex_unlock(&mu);
  return r;
}

int ftruncate(int fd, off_t len) { return do_truncate(real_ftruncate, fd, len); }
int ftruncate64(int fd, off_t len) { return do_truncate(real_ftruncate64, fd, len); }

static int do_fallocate(int (*real)(int, int, off_t, off_t), int fd, int mode, off_t off, off_t len) {
  if (!active()) return real(fd, mode, off, len);
  pthread_mutex_lock(&mu);
  step();
  struct stat before;
  int had = fstat(fd, &before) == 0;
  int r = real(fd, mode, off, len);
  struct stat after;
  if (r == 0 && had && fstat(fd, &after) == 0 && S_ISREG(after.st_mode) && after.st_size != before.st_size)
    logf_("T %llu %lld", (unsigned long long)after.st_ino, (long long)after.st_size);
  pthread_mutex_unlock(&mu);
  return r;
}

int fallocate(int fd, int mode, off_t off, off_t len) { return do_fallocate(real_fallocate, fd, mode, off, len); }
int fallocate64(int fd, int mode, off_t off, off_t len) { return do_fallocate(real_fallocate64, fd, mode, off, len); }

static int do_sync(int (*real)(int), int fd) {
  if (!active()) return real(fd);
  pthread_mutex_lock(&mu);
  step();
  int r = real(fd);
  unsigned long long ino = fd_ino(fd, NULL);
  /* Durable once the call has returned 0. */
  if (r == 0 && ino) logf_("F %llu", ino);
  pthread_mutex_unlock(&mu);
  return r;
}

int fsync(int fd) { return do_sync(real_fsync, fd); }
int fdatasync(int fd) { return do_sync(real_fdatasync, fd); }

int sync_file_range(int fd, off_t off, off_t n, unsigned int flags) {
  if (!active()) return real_sync_file_range(fd, off, n, flags);
  pthread_mutex_lock(&mu);
  step();
  int r = real_sync_file_range(fd, off, n, flags);
  unsigned long long ino = fd_ino(fd, NULL);
  if (r == 0 && ino) logf_("S %llu", ino);
  pthread_mutex_unlock(&mu);
  return r;
}

static int do_rename(int od, const char *o, int nd, const char *n, unsigned int flags, int how) {
  if (!active()) goto plain;
  pthread_mutex_lock(&mu);
  step();
  unsigned long long p1 = 0, p2 = 0;
  char n1[PATH_MAX], n2[PATH_MAX];
  int ok = parent_of(od, o, &p1, n1) && parent_of(nd, n, &p2, n2);
  int r = how == 0 ? real_rename(o, n) : how == 1 ? real_renameat(od, o, nd, n) : real_renameat2(od, o, nd, n, flags);
  if (r == 0 && ok) logf_("R %llu %s %llu %s", p1, n1, p2, n2);
  pthread_mutex_unlock(&mu);
  return r;
plain:
  return how == 0 ? real_rename(o, n) : how == 1 ? real_renameat(od, o, nd, n) : real_renameat2(od, o, nd, n, flags);
}

int rename(const char *o, const char *n) { return do_rename(AT_FDCWD, o, AT_FDCWD, n, 0, 0); }
int renameat(int od, const char *o, int nd, const char *n) { return do_rename(od, o, nd, n, 0, 1); }
int renameat2(int od, const char *o, int nd, const char *n, unsigned int f) { return do_rename(od, o, nd, n, f, 2); }

static int do_unlink(int d, const char *path, int flags, int how) {
  if (!active()) goto plain;
  pthread_mutex_lock(&mu);
  step();
  unsigned long long p = 0;
  char name[PATH_MAX];
  int ok = parent_of(d, path, &p, name);
  int r = how == 0 ? real_unlink(path) : how == 1 ? real_rmdir(path) : real_unlinkat(d, path, flags);
  if (r == 0 && ok) logf_("U %llu %s", p, name);
  pthread_mutex_unlock(&mu);
  return r;
plain:
  return how == 0 ? real_unlink(path) : how == 1 ? real_rmdir(path) : real_unlinkat(d, path, flags);
}

int unlink(const char *path) { return do_unlink(AT_FDCWD, path, 0, 0); }
int rmdir(const char *path) { return do_unlink(AT_FDCWD, path, 0, 1); }
int unlinkat(int d, const char *path, int flags) { return do_unlink(d, path, flags, 2); }

static int do_mkdir(int d, const char *path, mode_t mode, int how) {
  if (!active()) return how == 0 ? real_mkdir(path, mode) : real_mkdirat(d, path, mode);
  pthread_mutex_lock(&mu);
  step();
  int r = how == 0 ? real_mkdir(path, mode) : real_mkdirat(d, path, mode);
  unsigned long long p = 0;
  char name[PATH_MAX];
  struct stat st;
  if (r == 0 && parent_of(d, path, &p, name) && fstatat(d, path, &st, 0) == 0)
    logf_("M %llu %s %llu", p, name, (unsigned long long)st.st_ino);
  pthread_mutex_unlock(&mu);
  return r;
}

int mkdir(const char *path, mode_t mode) { return do_mkdir(AT_FDCWD, path, mode, 0); }
int mkdirat(int d, const char *path, mode_t mode) { return do_mkdir(d, path, mode, 1); }
