/*
 * powercut.so: makes a SIGKILL of redis-server cost what a power cut would.
 *
 * Loaded with LD_PRELOAD into a test-owned redis-server. Every write() to a file whose path
 * contains "appendonly" (the AOF and its manifest) is held in this process's memory instead
 * of the kernel's page cache, and reaches the file only at the next fsync()/fdatasync() on
 * that descriptor (or at close()). A SIGKILL then loses exactly what a machine crash loses
 * when nothing but fsync reaches the disk: everything written since the last fsync. It is a
 * worst case (a real kernel also writes dirty pages back by itself within seconds).
 *
 * Used only by tests/server/redis_crash.py (--power-cut); built there with
 *   cc -shared -fPIC -O2 -o powercut.so powercut.c -ldl -lpthread
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 4096

struct held {
    char *data;
    size_t size, capacity;
    int tracked;
};

static struct held files[MAX_FD];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_open)(const char *, int, ...);
static int (*real_open64)(const char *, int, ...);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);

static void resolve(void) {
    if (real_write) return;
    real_open = dlsym(RTLD_NEXT, "open");
    real_open64 = dlsym(RTLD_NEXT, "open64");
    real_fsync = dlsym(RTLD_NEXT, "fsync");
    real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    real_close = dlsym(RTLD_NEXT, "close");
    real_write = dlsym(RTLD_NEXT, "write");
}

static int tracked(int fd) { return fd >= 0 && fd < MAX_FD && files[fd].tracked; }

static void track(int fd, const char *path) {
    if (fd < 0 || fd >= MAX_FD || strstr(path, "appendonly") == NULL) return;
    pthread_mutex_lock(&lock);
    files[fd].tracked = 1;
    files[fd].size = 0;
    pthread_mutex_unlock(&lock);
}

/* Push what is held for fd into the kernel; the caller holds the lock. */
static int flush(int fd) {
    size_t done = 0;
    while (done < files[fd].size) {
        ssize_t n = real_write(fd, files[fd].data + done, files[fd].size - done);
        if (n < 0) return -1;
        done += (size_t)n;
    }
    files[fd].size = 0;
    return 0;
}

static int opened(int fd, const char *path) {
    track(fd, path);
    return fd;
}

int open(const char *path, int flags, ...) {
    resolve();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return opened(real_open(path, flags, mode), path);
}

int open64(const char *path, int flags, ...) {
    resolve();
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return opened(real_open64(path, flags, mode), path);
}

ssize_t write(int fd, const void *buffer, size_t size) {
    resolve();
    if (!tracked(fd)) return real_write(fd, buffer, size);
    pthread_mutex_lock(&lock);
    struct held *held = &files[fd];
    if (held->size + size > held->capacity) {
        size_t capacity = (held->size + size) * 2;
        char *grown = realloc(held->data, capacity);
        if (grown == NULL) {
            pthread_mutex_unlock(&lock);
            return -1;
        }
        held->data = grown;
        held->capacity = capacity;
    }
    memcpy(held->data + held->size, buffer, size);
    held->size += size;
    pthread_mutex_unlock(&lock);
    return (ssize_t)size;
}

static int synced(int fd, int (*real)(int)) {
    if (tracked(fd)) {
        pthread_mutex_lock(&lock);
        int failed = flush(fd);
        pthread_mutex_unlock(&lock);
        if (failed) return -1;
    }
    return real(fd);
}

int fsync(int fd) {
    resolve();
    return synced(fd, real_fsync);
}

int fdatasync(int fd) {
    resolve();
    return synced(fd, real_fdatasync);
}

int close(int fd) {
    resolve();
    if (tracked(fd)) {
        pthread_mutex_lock(&lock);
        flush(fd);
        files[fd].tracked = 0;
        pthread_mutex_unlock(&lock);
    }
    return real_close(fd);
}
