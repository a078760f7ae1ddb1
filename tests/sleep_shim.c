/* Preloaded before libfaketime in skewed test processes: libfaketime's
   clock_nanosleep fails with EINVAL when FAKETIME_DONT_FAKE_MONOTONIC=1, which
   breaks Python's time.sleep. The monotonic clock is not faked, so the real
   system call is right. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
                    struct timespec *rem) {
    return syscall(SYS_clock_nanosleep, clock, flags, req, rem) == 0 ? 0 : errno;
}
